using System.Buffers.Binary;
using System.Security.Cryptography;

namespace GrpcImages.Transfer.Content;

/// <summary>
/// Seals chunks of encrypted content (R23): AES-256-GCM with the content's data key, a random
/// nonce per chunk, and the chunk's position as associated data so a sealed chunk cannot be moved
/// to another place. Stored form: nonce (12) | ciphertext | tag (16).
/// </summary>
public sealed class ChunkCipher(byte[] dataKey) : IDisposable
{
    public const int Overhead = NonceSize + TagSize;
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private readonly AesGcm _aes = new(dataKey, TagSize);

    public byte[] Seal(ReadOnlySpan<byte> plaintext, int index)
    {
        var output = new byte[plaintext.Length + Overhead];
        RandomNumberGenerator.Fill(output.AsSpan(0, NonceSize));
        Span<byte> position = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(position, index);
        _aes.Encrypt(output.AsSpan(0, NonceSize), plaintext, output.AsSpan(NonceSize, plaintext.Length), output.AsSpan(NonceSize + plaintext.Length), position);
        return output;
    }

    /// <summary>Opens a sealed chunk into <paramref name="plaintext"/>; throws when it was altered or moved.</summary>
    public void Open(ReadOnlySpan<byte> stored, int index, Span<byte> plaintext)
    {
        Span<byte> position = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(position, index);
        _aes.Decrypt(stored[..NonceSize], stored[NonceSize..^TagSize], stored[^TagSize..], plaintext, position);
    }

    public void Dispose() => _aes.Dispose();
}
