using GrpcImages.Contracts.Catalog.V1;
using StackExchange.Redis;
using static GrpcImages.Catalog.Storage.Records;

namespace GrpcImages.Catalog.Storage;

/// <summary>
/// The seeded platform catalog (keys in <see cref="CatalogKeys"/>): public and marketplace images
/// (<c>pimg:</c>, <c>img:</c> under the platform's tag, indexed in <c>imgs:system:</c> and
/// <c>imgs:marketplace:</c>) with their snapshots, and which regions have which catalog version
/// (<c>{seed}:done</c>, <c>{seed}:runs</c>).
/// </summary>
public sealed class PlatformCatalogStore(IDatabase redis)
{
    public async Task PutPlatformImageAsync(Image image, string indexOwner, Snapshot snapshot, string manifestId, double score)
    {
        var tx = redis.CreateTransaction();
        _ = tx.HashSetAsync(CatalogKeys.Image(image.RegionId, image.ImageId), [.. ImageFields(image).Select(f => new HashEntry(f.Key, f.Value)), new HashEntry("v", 1)]);
        _ = tx.SortedSetAddAsync(CatalogKeys.Images(indexOwner, image.RegionId), image.ImageId, score);
        _ = tx.HashSetAsync(CatalogKeys.Snapshot(snapshot.SnapshotId),
            [new HashEntry("d", Bytes(snapshot)), new HashEntry("s", (int)snapshot.Status), new HashEntry("m", manifestId), new HashEntry("v", 1)]);
        _ = tx.SetAddAsync(CatalogKeys.SnapshotImages(snapshot.SnapshotId), image.ImageId);
        await tx.ExecuteAsync();
    }

    /// <summary>The regions seeded with each catalog version.</summary>
    public async Task<IReadOnlyDictionary<string, int>> SeededRegionsAsync() =>
        (await redis.HashGetAllAsync(CatalogKeys.SeedDone)).ToDictionary(e => (string)e.Name!, e => (int)e.Value);

    /// <summary>Marks a region seeded with a catalog version and counts the seeding (tests check it happens once).</summary>
    public async Task MarkSeededAsync(string region, int version)
    {
        var tx = redis.CreateTransaction();
        _ = tx.HashSetAsync(CatalogKeys.SeedDone, region, version);
        _ = tx.StringIncrementAsync(CatalogKeys.SeedRuns);
        await tx.ExecuteAsync();
    }
}
