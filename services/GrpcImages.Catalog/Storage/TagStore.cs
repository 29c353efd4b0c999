using GrpcImages.Contracts.Catalog.V1;
using StackExchange.Redis;
using static GrpcImages.Catalog.Storage.Records;

namespace GrpcImages.Catalog.Storage;

/// <summary>
/// Tag changes of images, snapshots and instances (their records' tags, keys in <see cref="CatalogKeys"/>): the records of
/// one call are written in one script, each only if unchanged since read, so a call tags all of them or none.
/// </summary>
public sealed class TagStore(IDatabase redis)
{
    public async Task<bool> SaveImagesAsync(IReadOnlyList<(StoredImage Stored, Image Updated)> changes) =>
        await RecordScripts.SaveAsync(redis, null, [.. changes.Select(c => ImageWrite(c.Stored, c.Updated))]) == SaveResult.Saved;

    public async Task<bool> SaveSnapshotsAsync(IReadOnlyList<(StoredSnapshot Stored, Snapshot Updated)> changes) =>
        await RecordScripts.SaveAsync(redis, null, [.. changes.Select(c => new RecordWrite(CatalogKeys.Snapshot(c.Updated.SnapshotId), c.Stored.Version,
            SnapshotFields(c.Updated)))]) == SaveResult.Saved;

    public async Task<bool> SaveInstancesAsync(IReadOnlyList<(StoredInstance Stored, Instance Updated)> changes) =>
        await RecordScripts.SaveAsync(redis, null, [.. changes.Select(c => new RecordWrite(CatalogKeys.Instance(c.Updated.InstanceId), c.Stored.Version,
            [new("d", Bytes(c.Updated))]))]) == SaveResult.Saved;

    /// <summary>The owner's custom images in the region (the first <see cref="IndexPages.ReadAllLimit"/>), newest first.</summary>
    public async Task<IReadOnlyList<Image>> AllImagesAsync(string owner, string region) =>
        (await IndexPages.ReadAllAsync(redis, CatalogKeys.Images(owner, region), CatalogKeys.ImageRecordPrefix(owner, region))).Select(Image.Parser.ParseFrom).ToList();

    public async Task<IReadOnlyList<Snapshot>> AllSnapshotsAsync(string owner, string region) =>
        (await IndexPages.ReadAllAsync(redis, CatalogKeys.Snapshots(owner, region), CatalogKeys.SnapshotRecordPrefix(owner))).Select(Snapshot.Parser.ParseFrom).ToList();

    public async Task<IReadOnlyList<Instance>> AllInstancesAsync(string owner, string region) =>
        (await IndexPages.ReadAllAsync(redis, CatalogKeys.Instances(owner, region), CatalogKeys.InstanceRecordPrefix(owner))).Select(Instance.Parser.ParseFrom).ToList();
}
