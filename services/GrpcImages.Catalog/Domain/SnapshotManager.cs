using Google.Protobuf.WellKnownTypes;
using GrpcImages.Catalog.Storage;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Common.V1;
using GrpcImages.ServiceDefaults.Errors;
using GrpcImages.ServiceDefaults.Hosting;
using GrpcImages.ServiceDefaults.Identity;
using GrpcImages.ServiceDefaults.Storage;
using GrpcImages.ServiceDefaults.Validation;

namespace GrpcImages.Catalog.Domain;

/// <summary>Snapshots of the caller's disks (R1, R2): progressing, then accomplished; kept while an image uses them.</summary>
public sealed class SnapshotManager(
    CreationClaimStore claims,
    SnapshotStore snapshotStore,
    InstanceStore instanceStore,
    OwnedResources owned,
    ContentClient content,
    CreationJobs jobs,
    Regions regions,
    TimeProvider time)
{
    public async Task<Snapshot> CreateAsync(Caller caller, CreateSnapshotRequest request)
    {
        var account = caller.RequireAccount();
        var region = regions.Require(request.RegionId);
        if (request.SnapshotName.Length > 0)
        {
            Check.Name(request.SnapshotName, "snapshot_name", "InvalidSnapshotName.Malformed");
        }
        Check.Description(request.Description, "description");
        Check.Tags(request.Tags);
        var token = ClientToken.Of(request, request.ClientToken);
        if (token.Resolve(await claims.FindClientTokenAsync(account, "snap", token)) is { } prior)
        {
            return await GetAsync(caller, region, prior);
        }

        var instanceId = ResourceIds.IsValid(request.DiskId, 'd') ? await instanceStore.FindInstanceOfDiskAsync(request.DiskId) : null;
        var instance = instanceId is null ? null : await instanceStore.GetInstanceAsync(instanceId);
        if (instance is null || instance.Instance.OwnerAccountId != account || instance.Instance.RegionId != region ||
            !instance.Manifests.TryGetValue(request.DiskId, out var manifest))
        {
            throw CatalogErrors.DiskNotFound(request.DiskId);
        }
        var disk = new[] { instance.Instance.SystemDisk }.Concat(instance.Instance.DataDisks).Single(d => d.DiskId == request.DiskId);
        var snapshot = new Snapshot
        {
            SnapshotId = ResourceIds.New('s', ResourceIds.OwnerTag(account)),
            RegionId = region,
            OwnerAccountId = account,
            SnapshotName = request.SnapshotName,
            Description = request.Description,
            Status = SnapshotStatus.Progressing,
            SourceDiskId = disk.DiskId,
            SourceDiskType = disk.DiskType,
            SourceDiskSizeGib = disk.SizeGib,
            SourceInstanceId = instance.Instance.InstanceId,
            ProductCode = disk.DiskType == DiskType.System ? instance.Instance.ProductCode : "",
            Encryption = disk.Encryption?.Clone() ?? new EncryptionInfo(),
            ContentBytes = disk.SizeGib * ContentClient.GiB,
            CreateTime = Timestamp.FromDateTimeOffset(time.GetUtcNow()),
            Tags = { request.Tags },
        };

        // Intent first: if this call dies after the hold, or the hold's reply is lost, the job gives it back.
        return await jobs.CreateAsync(CreationJob.Snapshot(snapshot.SnapshotId), account, region, ClientToken.None, async () =>
        {
            var created = false;
            try
            {
                await content.RetainAsync(region, manifest, snapshot.SnapshotId);
                var (result, detail) = await snapshotStore.CreateSnapshotAsync(new StoredSnapshot(snapshot, manifest, 1), token);
                created = result == CreateResult.Created;
                return result switch
                {
                    CreateResult.Created => new CreationJobs.Made<Snapshot>(snapshot, true),
                    CreateResult.Abandoned => throw CatalogErrors.CreateAbandoned(),
                    _ => new(await GetAsync(caller, region, ClientTokens.ResolveStored(detail, token.Fingerprint)), false),
                };
            }
            finally
            {
                if (!created)
                {
                    await content.ReleaseAsync(region, [(manifest, snapshot.SnapshotId)]);
                }
            }
        });
    }

    public async Task<Snapshot> GetAsync(Caller caller, string regionId, string snapshotId)
    {
        var snapshot = (await RequireOwnAsync(caller, regions.Require(regionId), snapshotId)).Snapshot;
        await snapshotStore.FillSnapshotImagesAsync([snapshot]);
        return snapshot;
    }

    /// <summary>A page of the caller's snapshots, newest first, after skipping <c>skip</c>, with how many there are.</summary>
    public async Task<ListSnapshotsResponse> ListAsync(Caller caller, ListSnapshotsRequest request)
    {
        var account = caller.RequireAccount();
        var region = regions.Require(request.RegionId);
        var size = Check.PageSize(request.PageSize);
        var skip = Check.Skip(request.Skip);
        var position = IndexListPosition.Parse(PageToken.Decode(request.PageToken));
        var page = await snapshotStore.ListSnapshotsAsync(account, region, position.At, position.Skip + skip, size);
        var snapshots = page.Records.Select(Snapshot.Parser.ParseFrom).ToList();
        await snapshotStore.FillSnapshotImagesAsync(snapshots);
        return new ListSnapshotsResponse
        {
            Snapshots = { snapshots },
            NextPageToken = PageToken.Encode(page.Next.Length > 0 ? new IndexListPosition(page.Next, position.Skip + skip - page.Skipped).Format() : ""),
            TotalSize = page.Total,
        };
    }

    public async Task<bool> DeleteAsync(Caller caller, string regionId, string snapshotId)
    {
        var account = caller.RequireAccount();
        var region = regions.Require(regionId);
        return await ConflictRetry.RunAsync<bool>(async () =>
        {
            var stored = await owned.FindSnapshotAsync(account, region, snapshotId);
            if (stored is null)
            {
                return false;
            }
            switch (await snapshotStore.DeleteSnapshotAsync(stored))
            {
                case DeleteResult.Deleted:
                    await content.ReleaseAsync(region, [(stored.ManifestId, snapshotId)]);
                    return true;
                case DeleteResult.InUse:
                    throw CatalogErrors.SnapshotCreatedImage();
                default:
                    return Attempt<bool>.Again;
            }
        });
    }

    private Task<StoredSnapshot> RequireOwnAsync(Caller caller, string region, string snapshotId) =>
        owned.RequireSnapshotAsync(caller.RequireAccount(), region, snapshotId);
}
