using GrpcImages.ServiceDefaults.Errors;
using Microsoft.Extensions.Configuration;

namespace GrpcImages.ServiceDefaults.Hosting;

/// <summary>A region the cluster serves (R4).</summary>
public sealed record RegionInfo(string Id, string Name);

/// <summary>The configured regions ("Regions:N:Id", "Regions:N:Name"); a default set when none is configured.</summary>
public sealed class Regions
{
    public static readonly IReadOnlyList<RegionInfo> Defaults =
    [
        new("cn-hangzhou", "China (Hangzhou)"),
        new("cn-shanghai", "China (Shanghai)"),
        new("cn-beijing", "China (Beijing)"),
        new("ap-northeast-1", "Japan (Tokyo)"),
        new("ap-southeast-1", "Singapore"),
        new("us-west-1", "US (Silicon Valley)"),
        new("eu-central-1", "Germany (Frankfurt)"),
    ];

    private readonly Dictionary<string, RegionInfo> _byId;

    public Regions(IConfiguration configuration)
    {
        var configured = configuration.GetSection("Regions").GetChildren()
            .Select(s => new RegionInfo(s["Id"] ?? "", s["Name"] ?? s["Id"] ?? ""))
            .Where(r => r.Id.Length > 0)
            .ToList();
        All = configured.Count > 0 ? configured : Defaults;
        _byId = All.ToDictionary(r => r.Id, StringComparer.Ordinal);
    }

    public IReadOnlyList<RegionInfo> All { get; }

    public bool Exists(string regionId) => _byId.ContainsKey(regionId);

    /// <summary>The region id, or INVALID_ARGUMENT when the cluster does not serve it.</summary>
    public string Require(string regionId, string field = "region_id")
    {
        if (!_byId.ContainsKey(regionId))
        {
            throw Fault.InvalidArgument("InvalidRegionId.Malformed", field,
                regionId.Length == 0 ? "The region is required." : $"The region '{Validation.Check.Echo(regionId)}' is not served by this cluster.");
        }
        return regionId;
    }
}
