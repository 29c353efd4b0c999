using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using GrpcImages.ServiceDefaults.Errors;

namespace GrpcImages.Catalog.Domain;

/// <summary>
/// SSH public keys in the OpenSSH one-line form ("ssh-rsa AAAA... comment"), read strictly: the blob's own type must be the
/// line's, every field must be there and nothing after them, RSA moduli of 1024-16384 bits, Ed25519 keys of 32 bytes,
/// ECDSA points of their curve's size. Fingerprints are MD5 over the blob (RFC 4716), as ECS shows them.
/// </summary>
public static class SshKeys
{
    public const int MaxLineLength = 4096;

    private static readonly Dictionary<string, int> EcdsaPointLengths = new(StringComparer.Ordinal)
    {
        ["nistp256"] = 65,
        ["nistp384"] = 97,
        ["nistp521"] = 133,
    };

    /// <summary>A new 2048-bit RSA pair: its PKCS#1 PEM private key and its OpenSSH public key line.</summary>
    public static (string PrivateKeyPem, string PublicKey) NewRsaPair()
    {
        using var rsa = RSA.Create(2048);
        var parameters = rsa.ExportParameters(false);
        var blob = new List<byte>();
        WriteString(blob, Encoding.ASCII.GetBytes("ssh-rsa"));
        WriteString(blob, Mpint(parameters.Exponent!));
        WriteString(blob, Mpint(parameters.Modulus!));
        return (rsa.ExportRSAPrivateKeyPem(), $"ssh-rsa {Convert.ToBase64String([.. blob])}");
    }

    /// <summary>The canonical line ("type base64", the comment dropped) and the blob of a public key, or InvalidPublicKeyBody.Malformed.</summary>
    public static (string Line, byte[] Blob) Parse(string text)
    {
        if (text.Length is 0 or > MaxLineLength)
        {
            throw Malformed($"A public key is one OpenSSH line of at most {MaxLineLength} characters.");
        }
        var parts = text.Trim().Split(' ', 3, StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 2)
        {
            throw Malformed("A public key is \"<type> <base64 key> [comment]\".");
        }
        var type = parts[0];
        byte[] blob;
        try
        {
            blob = Convert.FromBase64String(parts[1]);
        }
        catch (FormatException)
        {
            throw Malformed("The key is not base64.");
        }
        var reader = new BlobReader(blob);
        if (reader.String() is not { } named || Encoding.ASCII.GetString(named) != type)
        {
            throw Malformed("The key's blob is not of the type the line names.");
        }
        switch (type)
        {
            case "ssh-rsa":
                var exponent = reader.String();
                var modulus = reader.String();
                if (exponent is null || modulus is null || exponent.Length is 0 or > 8 || (exponent[^1] & 1) == 0)
                {
                    throw Malformed("The RSA key's exponent is missing or not a small odd number.");
                }
                var bits = Bits(modulus);
                if (bits is < 1024 or > 16384)
                {
                    throw Malformed("An RSA key's modulus is 1024 to 16384 bits.");
                }
                break;
            case "ssh-ed25519":
                if (reader.String() is not { Length: 32 })
                {
                    throw Malformed("An Ed25519 key is 32 bytes.");
                }
                break;
            case "ecdsa-sha2-nistp256" or "ecdsa-sha2-nistp384" or "ecdsa-sha2-nistp521":
                var curve = reader.String();
                var point = reader.String();
                if (curve is null || Encoding.ASCII.GetString(curve) != type["ecdsa-sha2-".Length..] || point is null ||
                    point.Length != EcdsaPointLengths[type["ecdsa-sha2-".Length..]] || point[0] != 4)
                {
                    throw Malformed("The ECDSA key's curve or point does not match its type.");
                }
                break;
            default:
                throw Malformed("The key type is ssh-rsa, ssh-ed25519 or ecdsa-sha2-nistp256/384/521.");
        }
        if (!reader.AtEnd)
        {
            throw Malformed("The key's blob has bytes after its fields.");
        }
        return ($"{type} {Convert.ToBase64String(blob)}", blob);
    }

    /// <summary>The MD5 fingerprint of a key blob, as colon-separated hex (RFC 4716).</summary>
    public static string Fingerprint(byte[] blob) =>
#pragma warning disable CA5351 // MD5 is what RFC 4716 fingerprints and ECS's KeyPairFingerPrint are made of; it protects nothing here
        string.Join(':', MD5.HashData(blob).Select(b => b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture)));
#pragma warning restore CA5351

    private static DomainException Malformed(string why) => Fault.InvalidArgument("InvalidPublicKeyBody.Malformed", "public_key_body", why);

    private static int Bits(byte[] mpint)
    {
        var i = 0;
        while (i < mpint.Length && mpint[i] == 0)
        {
            i++;
        }
        return i == mpint.Length ? 0 : ((mpint.Length - i - 1) * 8) + (8 - System.Numerics.BitOperations.LeadingZeroCount((uint)mpint[i]) + 24);
    }

    /// <summary>An unsigned big-endian integer as an SSH mpint: a leading zero when its top bit is set.</summary>
    private static byte[] Mpint(byte[] value)
    {
        var start = 0;
        while (start < value.Length - 1 && value[start] == 0)
        {
            start++;
        }
        var trimmed = value[start..];
        return (trimmed[0] & 0x80) != 0 ? [0, .. trimmed] : trimmed;
    }

    private static void WriteString(List<byte> blob, byte[] value)
    {
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(length, (uint)value.Length);
        blob.AddRange(length.ToArray());
        blob.AddRange(value);
    }

    /// <summary>Reads the length-prefixed strings of a key blob; null when one runs past the end.</summary>
    private sealed class BlobReader(byte[] blob)
    {
        private int _at;

        public bool AtEnd => _at == blob.Length;

        public byte[]? String()
        {
            if (blob.Length - _at < 4)
            {
                return null;
            }
            var length = BinaryPrimitives.ReadUInt32BigEndian(blob.AsSpan(_at));
            if (length > (uint)(blob.Length - _at - 4))
            {
                return null;
            }
            var value = blob.AsSpan(_at + 4, (int)length).ToArray();
            _at += 4 + (int)length;
            return value;
        }
    }
}
