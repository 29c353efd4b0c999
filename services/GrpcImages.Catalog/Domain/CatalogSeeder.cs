using Google.Protobuf.WellKnownTypes;
using GrpcImages.Catalog.Storage;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Common.V1;
using GrpcImages.ServiceDefaults.Hosting;
using GrpcImages.ServiceDefaults.Redis;
using GrpcImages.ServiceDefaults.Work;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace GrpcImages.Catalog.Domain;

/// <summary>
/// Writes the platform catalog (public and marketplace images with real, deterministic content)
/// into every region once: each region is an item of the "seed" queue ("region|version"), queued by
/// every replica as it starts, so replicas starting together seed it once, and a region marked with
/// the catalog's version is never seeded again. Readiness waits for every region.
/// </summary>
public sealed partial class CatalogSeeder(
    PlatformCatalogStore platform,
    ContentClient content,
    Regions regions,
    IOptions<CatalogOptions> options,
    ILogger<CatalogSeeder> logger) : IWorkHandler
{
    private static readonly DateTimeOffset Epoch = new(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private volatile bool _seeded;

    /// <summary>The items that seed every region (queued whenever a catalog replica starts; a seeded region's item just ends).</summary>
    public static IReadOnlyList<string> Items(Regions regions) => regions.All.Select(r => new SeedItem(r.Id, PlatformCatalog.Version).Format()).ToList();

    /// <summary>Whether every configured region has the current catalog (readiness waits for it).</summary>
    public async Task<bool> IsSeededAsync()
    {
        if (!_seeded)
        {
            var done = await platform.SeededRegionsAsync();
            _seeded = regions.All.All(r => done.TryGetValue(r.Id, out var version) && version == PlatformCatalog.Version);
        }
        return _seeded;
    }

    public async Task<WorkOutcome> HandleAsync(WorkLease lease, CancellationToken cancellationToken)
    {
        var region = SeedItem.Parse(lease.Id).Region;
        var done = await platform.SeededRegionsAsync();
        if (regions.Exists(region) && (!done.TryGetValue(region, out var version) || version != PlatformCatalog.Version))
        {
            await SeedRegionAsync(region, cancellationToken);
            await platform.MarkSeededAsync(region, PlatformCatalog.Version);
            LogSeeded(region);
        }
        return WorkOutcome.Done;
    }

    private async Task SeedRegionAsync(string region, CancellationToken cancellationToken)
    {
        var definitions = PlatformCatalog.Images.Where(i => i.IsIn(region)).ToList();
        for (var i = 0; i < definitions.Count; i++)
        {
            var definition = definitions[i];
            var imageId = definition.ImageId(region);
            var snapshotId = definition.SnapshotId(region);
            var sizeBytes = definition.SizeGib * ContentClient.GiB;
            var seeded = await content.SeedAsync(region, definition.Name, sizeBytes, options.Value.SeedDataBytes, snapshotId, cancellationToken);
            var created = Timestamp.FromDateTimeOffset(Epoch.AddDays(i));
            var snapshot = new Snapshot
            {
                SnapshotId = snapshotId,
                RegionId = region,
                Status = SnapshotStatus.Accomplished,
                Progress = 100,
                SourceDiskType = DiskType.System,
                SourceDiskSizeGib = definition.SizeGib,
                ProductCode = definition.ProductCode,
                Encryption = new EncryptionInfo(),
                ContentBytes = sizeBytes,
                CreateTime = created,
            };
            var image = new Image
            {
                ImageId = imageId,
                RegionId = region,
                ImageName = definition.IsMarketplace ? definition.Name : imageId,
                Description = definition.OsName,
                Status = ImageStatus.Available,
                Progress = 100,
                SizeGib = definition.SizeGib,
                OsType = definition.OsType,
                OsName = definition.OsName,
                Architecture = Architecture.X8664,
                LicenseType = LicenseType.Aliyun,
                ProductCode = definition.ProductCode,
                SourceKind = ImageSourceKind.Platform,
                Encryption = new EncryptionInfo(),
                CreateTime = created,
                UpdateTime = created,
                DiskDeviceMappings =
                {
                    new DiskDeviceMapping
                    {
                        DiskType = DiskType.System, Device = Devices.Name(0), SizeGib = definition.SizeGib,
                        SnapshotId = snapshotId, ContentBytes = sizeBytes,
                    },
                },
            };
            var indexOwner = definition.IsMarketplace ? CatalogKeys.MarketplaceIndexOwner : CatalogKeys.SystemIndexOwner;
            await platform.PutPlatformImageAsync(image, indexOwner, snapshot, seeded.ManifestId, created.ToDateTimeOffset().ToUnixTimeMilliseconds());
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Seeded the platform catalog in {Region}")]
    private partial void LogSeeded(string region);
}

/// <summary>An item of the "seed" queue: a region to seed with a catalog version, "&lt;region&gt;|&lt;version&gt;".</summary>
public readonly record struct SeedItem(string Region, int Version)
{
    public string Format() => $"{Region}|{Version}";

    /// <summary>The item an id names; the version reads as 0 when missing (a seeded region is checked against the current one anyway).</summary>
    public static SeedItem Parse(string id)
    {
        var bar = id.IndexOf('|');
        return bar < 0 ? new SeedItem(id, 0) : new SeedItem(id[..bar], int.TryParse(id.AsSpan(bar + 1), out var version) ? version : 0);
    }
}

/// <summary>The catalog is ready once its regions are seeded.</summary>
public sealed class SeededHealthCheck(CatalogSeeder seeder) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            return await seeder.IsSeededAsync() ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy("The platform catalog is being seeded.");
        }
        catch (Exception ex) when (RedisFailures.IsUnavailable(ex))
        {
            return HealthCheckResult.Unhealthy("Redis does not answer.");
        }
    }
}
