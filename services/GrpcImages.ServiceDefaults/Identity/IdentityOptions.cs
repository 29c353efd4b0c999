namespace GrpcImages.ServiceDefaults.Identity;

/// <summary>The "Identity" configuration section. Secrets come from configuration, never from code.</summary>
public sealed class IdentityOptions
{
    public const string Section = "Identity";

    /// <summary>The cluster's token signing key, base64, at least 32 bytes.</summary>
    public string? SigningKey { get; set; }

    /// <summary>A file holding the signing key in base64 (a Kubernetes secret, or .data/ locally).</summary>
    public string? SigningKeyFile { get; set; }

    public string Issuer { get; set; } = "grpcimages";

    public string Audience { get; set; } = "grpcimages";

    /// <summary>A key for one purpose (e.g. signing download links) derived from the cluster key, so no token key is reused for it.</summary>
    public byte[] DeriveKey(string purpose) =>
        System.Security.Cryptography.HMACSHA256.HashData(LoadSigningKey(), System.Text.Encoding.UTF8.GetBytes("grpcimages/" + purpose));

    internal byte[] LoadSigningKey()
    {
        var text = SigningKey;
        if (string.IsNullOrWhiteSpace(text) && !string.IsNullOrWhiteSpace(SigningKeyFile))
        {
            text = File.ReadAllText(SigningKeyFile);
        }
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new InvalidOperationException("Set Identity:SigningKey or Identity:SigningKeyFile to the cluster's signing key.");
        }
        var key = Convert.FromBase64String(text.Trim());
        if (key.Length < 32)
        {
            throw new InvalidOperationException("The cluster's signing key must be at least 32 bytes.");
        }
        return key;
    }
}
