using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace GrpcImages.Transfer.Content;

/// <summary>
/// Seals chunks of encrypted content (R23): AES-256-GCM with the content's data key, a random
/// nonce per chunk, and the chunk's position as associated data so a sealed chunk cannot be moved
/// to another place. Stored form: nonce (12) | ciphertext | tag (16). One cipher serves the several
/// writers of a copy at once: an <see cref="AesGcm"/> keeps per-operation state and may not be used
/// by two threads together, so each operation takes one of its own from a small pool.
/// </summary>
public sealed class ChunkCipher(byte[] dataKey) : IDisposable
{
    public const int Overhead = NonceSize + TagSize;
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private readonly byte[] _key = (byte[])dataKey.Clone();
    private readonly ConcurrentBag<AesGcm> _idle = [];
    private bool _disposed;

    public byte[] Seal(ReadOnlySpan<byte> plaintext, int index)
    {
        var output = new byte[plaintext.Length + Overhead];
        Seal(plaintext, index, output);
        return output;
    }

    /// <summary>Seals <paramref name="plaintext"/> into <paramref name="output"/> (at least <see cref="Overhead"/> bytes longer); returns the sealed length.</summary>
    public int Seal(ReadOnlySpan<byte> plaintext, int index, Span<byte> output)
    {
        var length = plaintext.Length + Overhead;
        RandomNumberGenerator.Fill(output[..NonceSize]);
        Span<byte> position = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(position, index);
        var aes = Rent();
        try
        {
            aes.Encrypt(output[..NonceSize], plaintext, output.Slice(NonceSize, plaintext.Length), output.Slice(NonceSize + plaintext.Length, TagSize), position);
        }
        finally
        {
            Return(aes);
        }
        return length;
    }

    /// <summary>Opens a sealed chunk into <paramref name="plaintext"/>; throws when it was altered or moved.</summary>
    public void Open(ReadOnlySpan<byte> stored, int index, Span<byte> plaintext)
    {
        Span<byte> position = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(position, index);
        var aes = Rent();
        try
        {
            aes.Decrypt(stored[..NonceSize], stored[NonceSize..^TagSize], stored[^TagSize..], plaintext, position);
        }
        finally
        {
            Return(aes);
        }
    }

    public void Dispose()
    {
        _disposed = true;
        while (_idle.TryTake(out var aes))
        {
            aes.Dispose();
        }
        CryptographicOperations.ZeroMemory(_key);
    }

    private AesGcm Rent()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _idle.TryTake(out var aes) ? aes : new AesGcm(_key, TagSize);
    }

    private void Return(AesGcm aes)
    {
        if (_disposed)
        {
            aes.Dispose();
            return;
        }
        _idle.Add(aes);
    }
}
