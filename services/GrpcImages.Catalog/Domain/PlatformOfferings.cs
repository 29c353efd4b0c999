using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Common.V1;
using GrpcImages.ServiceDefaults.Errors;
using GrpcImages.ServiceDefaults.Hosting;

namespace GrpcImages.Catalog.Domain;

/// <summary>
/// What the platform offers in each region, the same for every account (issue 21): the zones of each
/// served region and the instance types of each zone. Regions ECS names zones for keep those zone ids
/// (so templates written for ECS, e.g. "cn-hangzhou-h", work here); any other region gets zones a, b and c.
/// Every zone offers every x86_64 type; arm64 types are offered in a region's first two zones only, as
/// ECS offers them in some zones and not others.
/// </summary>
public sealed class PlatformOfferings(Regions regions)
{
    private static readonly Dictionary<string, string[]> KnownZones = new(StringComparer.Ordinal)
    {
        ["cn-hangzhou"] = ["b", "g", "h", "i", "j", "k"],
        ["cn-shanghai"] = ["b", "e", "f", "g", "l", "m"],
        ["cn-beijing"] = ["a", "c", "f", "g", "h", "i"],
        ["ap-northeast-1"] = ["a", "b", "c"],
        ["ap-southeast-1"] = ["a", "b", "c"],
        ["us-west-1"] = ["a", "b"],
        ["eu-central-1"] = ["a", "b", "c"],
    };

    /// <summary>The instance types offered, by family then size.</summary>
    public static readonly IReadOnlyList<InstanceType> InstanceTypes =
    [
        Type("ecs.t6-c1m1.large", 2, 2),
        Type("ecs.c7.large", 2, 4),
        Type("ecs.c7.xlarge", 4, 8),
        Type("ecs.c7.2xlarge", 8, 16),
        Type("ecs.g7.large", 2, 8),
        Type("ecs.g7.xlarge", 4, 16),
        Type("ecs.g7.2xlarge", 8, 32),
        Type("ecs.r7.large", 2, 16),
        Type("ecs.r7.xlarge", 4, 32),
        Type("ecs.g8y.large", 2, 8, Architecture.Arm64),
        Type("ecs.g8y.xlarge", 4, 16, Architecture.Arm64),
    ];

    /// <summary>What an instance gets when it asks for no type.</summary>
    public static string DefaultType(Architecture architecture) => architecture == Architecture.Arm64 ? "ecs.g8y.large" : "ecs.g7.large";

    private static readonly string[] ResourceTypes = ["Instance", "VSwitch", "Disk", "IoOptimized"];
    private static readonly string[] DiskCategories = ["cloud_efficiency", "cloud_ssd", "cloud_essd"];

    /// <summary>The zones of a served region.</summary>
    public IReadOnlyList<Zone> Zones(string regionId)
    {
        regions.Require(regionId);
        var letters = KnownZones.TryGetValue(regionId, out var known) ? known : ["a", "b", "c"];
        var name = regions.All.First(r => r.Id == regionId).Name;
        return letters.Select((letter, index) => new Zone
        {
            ZoneId = ZoneId(regionId, letter),
            LocalName = $"{name} Zone {letter.ToUpperInvariant()}",
            AvailableResourceTypes = { ResourceTypes },
            AvailableInstanceTypes = { InstanceTypes.Where(t => t.Architecture != Architecture.Arm64 || index < 2).Select(t => t.InstanceTypeId) },
            AvailableDiskCategories = { DiskCategories },
        }).ToList();
    }

    /// <summary>
    /// A zone's id as ECS spells it: a dash before the letter after a region id ending in a letter ("cn-hangzhou-h"), none
    /// after one ending in a digit ("ap-northeast-1a", "us-west-1b").
    /// </summary>
    public static string ZoneId(string regionId, string letter) =>
        regionId.Length > 0 && char.IsAsciiDigit(regionId[^1]) ? $"{regionId}{letter}" : $"{regionId}-{letter}";

    /// <summary>A zone of the region, or InvalidZoneId.NotFound.</summary>
    public Zone RequireZone(string regionId, string zoneId, string field = "zone_id") =>
        Zones(regionId).FirstOrDefault(z => z.ZoneId == zoneId)
        ?? throw Fault.NotFound("InvalidZoneId.NotFound", $"The zone '{ServiceDefaults.Validation.Check.Echo(zoneId)}' is not a zone of {regionId}.");

    /// <summary>A known instance type, or InvalidInstanceType.ValueNotSupported.</summary>
    public static InstanceType RequireType(string instanceTypeId, string field = "instance_type") =>
        InstanceTypes.FirstOrDefault(t => t.InstanceTypeId == instanceTypeId)
        ?? throw Fault.InvalidArgument("InvalidInstanceType.ValueNotSupported", field,
            $"The instance type '{ServiceDefaults.Validation.Check.Echo(instanceTypeId)}' is not offered here (see ListInstanceTypes).");

    private static InstanceType Type(string id, int cpu, double memoryGib, Architecture architecture = Architecture.X8664) => new()
    {
        InstanceTypeId = id,
        InstanceTypeFamily = id[..id.LastIndexOf('.')],
        CpuCoreCount = cpu,
        MemorySize = memoryGib,
        Architecture = architecture,
    };
}
