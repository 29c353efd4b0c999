namespace GrpcImages.Gateway;

/// <summary>"Gateway" settings.</summary>
public sealed class GatewayOptions
{
    public const string Section = "Gateway";

    /// <summary>The plain HTTP port the ECS API is served on (0: the kernel picks; see <see cref="HttpPortFile"/>).</summary>
    public int HttpPort { get; set; } = 5105;

    /// <summary>Where to write the HTTP port once listening (tests and scripts that pass port 0).</summary>
    public string? HttpPortFile { get; set; }

    /// <summary>The deadline of the gRPC calls one ECS request makes.</summary>
    public TimeSpan Deadline { get; set; } = TimeSpan.FromSeconds(30);
}
