using Google.Protobuf.WellKnownTypes;
using GrpcImages.Catalog.Storage;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Common.V1;
using GrpcImages.ServiceDefaults.Hosting;
using Medallion.Threading.Redis;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace GrpcImages.Catalog.Domain;

/// <summary>
/// Writes the platform catalog (public and marketplace images with real, deterministic content)
/// into every region once: under a Redis lock, so replicas starting together seed it once, and
/// marked per region and catalog version, so a restart seeds nothing twice.
/// </summary>
public sealed class CatalogSeeder(
    IDatabase redis,
    CatalogStore store,
    ContentClient content,
    Regions regions,
    IOptions<CatalogOptions> options,
    ILogger<CatalogSeeder> logger) : BackgroundService
{
    private static readonly DateTimeOffset Epoch = new(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private volatile bool _seeded;

    /// <summary>Whether every configured region has the current catalog (readiness waits for it).</summary>
    public async Task<bool> IsSeededAsync()
    {
        if (!_seeded)
        {
            var done = await redis.HashGetAllAsync(CatalogKeys.SeedDone);
            var current = done.Where(e => (int)e.Value == PlatformCatalog.Version).Select(e => (string)e.Name!).ToHashSet();
            _seeded = regions.All.All(r => current.Contains(r.Id));
        }
        return _seeded;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        for (var attempt = 1; !stoppingToken.IsCancellationRequested; attempt++)
        {
            try
            {
                await SeedAsync(stoppingToken);
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogWarning(ex, "Seeding the platform catalog failed (attempt {Attempt}); retrying", attempt);
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(5000, 200 * attempt)), stoppingToken);
            }
        }
    }

    private async Task SeedAsync(CancellationToken cancellationToken)
    {
        if (await IsSeededAsync())
        {
            return;
        }
        var seedLock = new RedisDistributedLock(CatalogKeys.SeedLock, redis);
        await using var handle = await seedLock.AcquireAsync(TimeSpan.FromMinutes(10), cancellationToken);
        foreach (var region in regions.All)
        {
            // Another replica may have seeded the region while this one waited for the lock.
            if ((int?)await redis.HashGetAsync(CatalogKeys.SeedDone, region.Id) == PlatformCatalog.Version)
            {
                continue;
            }
            await SeedRegionAsync(region.Id, cancellationToken);
            await redis.HashSetAsync(CatalogKeys.SeedDone, region.Id, PlatformCatalog.Version);
            await redis.StringIncrementAsync(CatalogKeys.SeedRuns);
            logger.LogInformation("Seeded the platform catalog in {Region}", region.Id);
        }
        _seeded = true;
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
            await store.PutPlatformImageAsync(image, indexOwner, snapshot, seeded.ManifestId, created.ToDateTimeOffset().ToUnixTimeMilliseconds());
        }
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
        catch (RedisException)
        {
            return HealthCheckResult.Unhealthy("Redis does not answer.");
        }
    }
}
