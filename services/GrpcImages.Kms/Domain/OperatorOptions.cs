namespace GrpcImages.Kms.Domain;

/// <summary>The bootstrap operator ("Operator" section): its name and credential come from configuration only.</summary>
public sealed class OperatorOptions
{
    public const string Section = "Operator";

    public string Name { get; set; } = "admin";

    /// <summary>The operator's credential, exchanged for a token by IssueToken.</summary>
    public string? Credential { get; set; }

    /// <summary>A file holding the credential (a Kubernetes secret, or .data/ locally).</summary>
    public string? CredentialFile { get; set; }

    internal string? LoadCredential()
    {
        if (!string.IsNullOrWhiteSpace(Credential))
        {
            return Credential.Trim();
        }
        return !string.IsNullOrWhiteSpace(CredentialFile) && File.Exists(CredentialFile)
            ? File.ReadAllText(CredentialFile).Trim()
            : null;
    }
}
