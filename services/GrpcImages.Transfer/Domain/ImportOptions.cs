namespace GrpcImages.Transfer.Domain;

/// <summary>The "Import" settings: where imports may read from (qemu-img's limits are <see cref="Formats.QemuOptions"/>, in the same section).</summary>
public sealed class ImportOptions
{
    public const string Section = "Import";

    /// <summary>Whether http(s) sources may be on loopback, private, link-local or other non-public addresses (R26).</summary>
    public bool AllowPrivateNetworks { get; set; }

    /// <summary>The ports http(s) sources may use.</summary>
    public List<int> AllowedPorts { get; set; } = [80, 443];

    /// <summary>"address:port" endpoints allowed whatever their address and port (an on-premises mirror; tests' servers).</summary>
    public List<string> AllowedEndpoints { get; set; } = [];

    /// <summary>Redirects followed at most, each checked like the first address.</summary>
    public int MaxRedirects { get; set; } = 5;

    /// <summary>How long the request may spend looking at an http(s) source before it answers.</summary>
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromSeconds(15);
}
