namespace GrpcImages.Kms.Domain;

/// <summary>The "Kms" configuration section: the cluster's root key, which wraps every key's material.</summary>
public sealed class KmsOptions
{
    public const string Section = "Kms";

    /// <summary>The root key, base64 of 32 bytes.</summary>
    public string? RootKey { get; set; }

    /// <summary>A file holding the root key in base64 (a Kubernetes secret, or .data/ locally).</summary>
    public string? RootKeyFile { get; set; }

    internal byte[] LoadRootKey()
    {
        var text = RootKey;
        if (string.IsNullOrWhiteSpace(text) && !string.IsNullOrWhiteSpace(RootKeyFile))
        {
            text = File.ReadAllText(RootKeyFile);
        }
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new InvalidOperationException("Set Kms:RootKey or Kms:RootKeyFile to the cluster's KMS root key.");
        }
        var key = Convert.FromBase64String(text.Trim());
        return key.Length == 32 ? key : throw new InvalidOperationException("The KMS root key must be 32 bytes.");
    }
}
