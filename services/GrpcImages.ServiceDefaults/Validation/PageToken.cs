using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using GrpcImages.ServiceDefaults.Errors;

namespace GrpcImages.ServiceDefaults.Validation;

/// <summary>
/// Opaque page tokens: the position a List call stopped at, with a MAC under a key every replica
/// shares, base64url-encoded. Stores read a position straight into Redis commands (a stream id,
/// a sorted-set member), so a forged one is refused here as INVALID_ARGUMENT instead of failing
/// there as INTERNAL.
/// </summary>
public static class PageToken
{
    private const int MacLength = 12;
    private static readonly UTF8Encoding StrictUtf8 = new(false, true);
    private static readonly object Gate = new();
    private static byte[][] s_keys = [RandomNumberGenerator.GetBytes(32)];

    /// <summary>
    /// Adds the MAC key derived from the cluster's signing key, so any replica accepts any
    /// replica's token. A service process has one; a test process hosting several clusters
    /// accepts each one's tokens.
    /// </summary>
    public static void UseKey(byte[] key)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(key.Length, 32, nameof(key));
        lock (Gate)
        {
            if (!s_keys.Any(k => k.AsSpan().SequenceEqual(key)))
            {
                s_keys = [key, .. s_keys];
            }
        }
    }

    public static string Encode(string position)
    {
        if (position.Length == 0)
        {
            return "";
        }
        var text = Encoding.UTF8.GetBytes(position);
        var bytes = new byte[MacLength + text.Length];
        Mac(s_keys[0], text).CopyTo(bytes, 0);
        text.CopyTo(bytes, MacLength);
        return Base64Url.EncodeToString(bytes);
    }

    public static string Decode(string token, string field = "page_token")
    {
        if (token.Length == 0)
        {
            return "";
        }
        if (token.Length <= 4096)
        {
            try
            {
                var bytes = Base64Url.DecodeFromChars(token);
                if (bytes.Length > MacLength && s_keys.Any(key => CryptographicOperations.FixedTimeEquals(bytes.AsSpan(0, MacLength), Mac(key, bytes.AsSpan(MacLength)))))
                {
                    return StrictUtf8.GetString(bytes, MacLength, bytes.Length - MacLength);
                }
            }
            catch (Exception ex) when (ex is FormatException or ArgumentException)
            {
            }
        }
        throw Fault.InvalidArgument("InvalidNextToken", field, "The page token is not one this service returned.");
    }

    private static byte[] Mac(byte[] key, ReadOnlySpan<byte> text) => HMACSHA256.HashData(key, text)[..MacLength];
}
