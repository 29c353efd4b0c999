using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.ServiceDefaults.Storage;
using GrpcImages.ServiceDefaults.Validation;
using StackExchange.Redis;
using static GrpcImages.Catalog.Storage.Records;

namespace GrpcImages.Catalog.Storage;

/// <summary>A snapshot with its content ("" while a task copies it), version and, while a task makes it, that task.</summary>
public sealed record StoredSnapshot(Snapshot Snapshot, string ManifestId, long Version, string? Task = null);

/// <summary>
/// Snapshots (keys in <see cref="CatalogKeys"/>): their records (<c>snap:</c>), each owner's index
/// (<c>snaps:</c>) and the images using each (<c>simgs:</c>, which a delete must find empty). Snapshots an
/// image creation makes are written by <see cref="ImageStore"/>, in the image's script.
/// </summary>
public sealed class SnapshotStore(IDatabase redis)
{
    public async Task<StoredSnapshot?> GetSnapshotAsync(string snapshotId) => (await GetSnapshotsAsync([snapshotId]))[0];

    /// <summary>
    /// Snapshots in the order asked, null where missing: one pipelined round trip. Their image_ids are
    /// not read (a snapshot that made thousands of images would cost every create that many ids);
    /// <see cref="FillSnapshotImagesAsync"/> adds them for a response.
    /// </summary>
    public async Task<IReadOnlyList<StoredSnapshot?>> GetSnapshotsAsync(IReadOnlyList<string> snapshotIds)
    {
        var batch = redis.CreateBatch();
        // A pending image's disks name no snapshot yet: those read as missing.
        var reads = snapshotIds.Select(id => ResourceIds.IsValid(id, 's') ? batch.HashGetAsync(CatalogKeys.Snapshot(id), ["d", "m", "v", "task"]) : null).ToList();
        batch.Execute();
        var snapshots = new List<StoredSnapshot?>(reads.Count);
        foreach (var fields in reads)
        {
            if (fields is null)
            {
                snapshots.Add(null);
                continue;
            }
            var values = await fields;
            if (!values[0].HasValue)
            {
                snapshots.Add(null);
                continue;
            }
            var snapshot = Snapshot.Parser.ParseFrom((byte[])values[0]!);
            snapshots.Add(new StoredSnapshot(snapshot, values[1].HasValue ? (string)values[1]! : "", (long)values[2],
                values[3].HasValue ? (string)values[3]! : null));
        }
        return snapshots;
    }

    /// <summary>Fills each snapshot's image_ids (one pipelined round trip).</summary>
    public async Task FillSnapshotImagesAsync(IReadOnlyList<Snapshot> snapshots)
    {
        var batch = redis.CreateBatch();
        var reads = snapshots.Select(s => batch.SetMembersAsync(CatalogKeys.SnapshotImages(s.SnapshotId))).ToList();
        batch.Execute();
        for (var i = 0; i < snapshots.Count; i++)
        {
            snapshots[i].ImageIds.Clear();
            snapshots[i].ImageIds.AddRange((await reads[i]).Select(v => (string)v!).Order(StringComparer.Ordinal));
        }
    }

    /// <summary>A page of an owner's snapshots, newest first, after skipping <paramref name="skip"/>; the total is the index's size.</summary>
    public Task<StoredPage> ListSnapshotsAsync(string owner, string region, string position, int skip, int limit) =>
        IndexPages.ListAsync(redis, CatalogKeys.Snapshots(owner, region), CatalogKeys.SnapshotRecordPrefix(owner), position, skip, limit);

    public Task<(CreateResult Result, string Detail)> CreateSnapshotAsync(StoredSnapshot snapshot, ClientToken token)
    {
        var s = snapshot.Snapshot;
        return RecordScripts.CreateAsync(redis, CatalogKeys.Snapshot(s.SnapshotId), CatalogKeys.Snapshots(s.OwnerAccountId, s.RegionId),
            CatalogKeys.ClientToken(s.OwnerAccountId, "snap", token.Token), s.SnapshotId, Score(s.CreateTime), token, [],
            [new("d", Bytes(s)), new("s", (int)s.Status), new("m", snapshot.ManifestId)]);
    }

    /// <summary>A snapshot job's step, fenced like <see cref="ImageStore.SaveCreationStepAsync"/>.</summary>
    public Task<SaveResult> SaveSnapshotStepAsync(StoredSnapshot stored, Snapshot updated, long fence) =>
        RecordScripts.SaveAsync(redis, fence, new RecordWrite(CatalogKeys.Snapshot(updated.SnapshotId), stored.Version, SnapshotFields(updated)));

    /// <summary>Deletes a snapshot no image uses.</summary>
    public Task<DeleteResult> DeleteSnapshotAsync(StoredSnapshot stored)
    {
        var s = stored.Snapshot;
        return RecordScripts.DeleteAsync(redis, CatalogKeys.Snapshot(s.SnapshotId), CatalogKeys.Snapshots(s.OwnerAccountId, s.RegionId), s.SnapshotId,
            stored.Version, CatalogKeys.SnapshotImages(s.SnapshotId), []);
    }
}
