using GrpcImages.Catalog.Storage;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.ServiceDefaults.Validation;

namespace GrpcImages.Catalog.Domain;

/// <summary>
/// An account's own instances and snapshots in a region. Anything else (malformed id, missing,
/// another region, another account's) is missing to the caller (R4, R36).
/// </summary>
public sealed class OwnedResources(SnapshotStore snapshotStore, InstanceStore instanceStore)
{
    public async Task<StoredInstance?> FindInstanceAsync(string account, string region, string instanceId)
    {
        var stored = ResourceIds.IsValid(instanceId, 'i') ? await instanceStore.GetInstanceAsync(instanceId) : null;
        return stored is not null && stored.Instance.OwnerAccountId == account && stored.Instance.RegionId == region ? stored : null;
    }

    public async Task<StoredInstance> RequireInstanceAsync(string account, string region, string instanceId) =>
        await FindInstanceAsync(account, region, instanceId) ?? throw CatalogErrors.InstanceNotFound(instanceId);

    public async Task<StoredSnapshot?> FindSnapshotAsync(string account, string region, string snapshotId)
    {
        var stored = ResourceIds.IsValid(snapshotId, 's') ? await snapshotStore.GetSnapshotAsync(snapshotId) : null;
        return stored is not null && stored.Snapshot.OwnerAccountId == account && stored.Snapshot.RegionId == region ? stored : null;
    }

    public async Task<StoredSnapshot> RequireSnapshotAsync(string account, string region, string snapshotId) =>
        await FindSnapshotAsync(account, region, snapshotId) ?? throw CatalogErrors.SnapshotNotFound(snapshotId);

    /// <summary>An own snapshot that is accomplished, as images and disks made from snapshots need (R2).</summary>
    public async Task<StoredSnapshot> RequireAccomplishedSnapshotAsync(string account, string region, string snapshotId)
    {
        var stored = await RequireSnapshotAsync(account, region, snapshotId);
        return stored.Snapshot.Status == SnapshotStatus.Accomplished ? stored : throw CatalogErrors.SnapshotNotReady(snapshotId);
    }
}
