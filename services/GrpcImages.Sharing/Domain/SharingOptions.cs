namespace GrpcImages.Sharing.Domain;

/// <summary>The "Quotas" configuration section: default limits and the self-service ceiling.</summary>
public sealed class SharingOptions
{
    public const string Section = "Quotas";

    /// <summary>Custom images per account and region (R3).</summary>
    public int Images { get; set; } = 100;

    /// <summary>Images an account may have shared at once (R14).</summary>
    public int SharedImages { get; set; } = 100;

    /// <summary>Accounts one image may be shared with (R15).</summary>
    public int AccountsPerImage { get; set; } = 50;

    /// <summary>How high an account may raise its shared-images quota itself (R14); beyond it an operator decides.</summary>
    public int SharedImagesSelfServiceCeiling { get; set; } = 500;
}
