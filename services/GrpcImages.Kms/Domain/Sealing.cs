using System.Security.Cryptography;
using System.Text;

namespace GrpcImages.Kms.Domain;

/// <summary>
/// AES-256-GCM sealing: the root key seals key material and AccessKey secrets, a key's material
/// seals data keys. The associated data binds each sealed value to its account, region and key
/// (or AccessKey), so a value moved to another record does not open.
/// </summary>
public static class Sealing
{
    public const int NonceSize = 12;
    public const int TagSize = 16;

    public static byte[] Seal(ReadOnlySpan<byte> key, ReadOnlySpan<byte> plaintext, string context)
    {
        var output = new byte[NonceSize + plaintext.Length + TagSize];
        var nonce = output.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var gcm = new AesGcm(key, TagSize);
        gcm.Encrypt(nonce, plaintext, output.AsSpan(NonceSize, plaintext.Length), output.AsSpan(NonceSize + plaintext.Length), Encoding.UTF8.GetBytes(context));
        return output;
    }

    /// <summary>Opens a sealed value, or returns null when it was not sealed with this key and context.</summary>
    public static byte[]? Open(ReadOnlySpan<byte> key, ReadOnlySpan<byte> sealedValue, string context)
    {
        if (sealedValue.Length < NonceSize + TagSize)
        {
            return null;
        }
        var plaintext = new byte[sealedValue.Length - NonceSize - TagSize];
        using var gcm = new AesGcm(key, TagSize);
        try
        {
            gcm.Decrypt(sealedValue[..NonceSize], sealedValue.Slice(NonceSize, plaintext.Length), sealedValue[^TagSize..], plaintext, Encoding.UTF8.GetBytes(context));
            return plaintext;
        }
        catch (AuthenticationTagMismatchException)
        {
            return null;
        }
    }
}
