namespace GrpcImages.Sharing.Domain;

/// <summary>The "Quotas" configuration section: default limits, the self-service ceiling, and the outbox's guard.</summary>
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

    /// <summary>How long after a grant change a replica applies its recipient-index changes if the request that made it did not.</summary>
    public int OutboxGuardMilliseconds { get; set; } = 10_000;
}
