using GrpcImages.Catalog.Storage;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.ServiceDefaults.Errors;
using GrpcImages.ServiceDefaults.Hosting;
using GrpcImages.ServiceDefaults.Identity;
using GrpcImages.ServiceDefaults.Validation;

namespace GrpcImages.Catalog.Domain;

/// <summary>What the transfer service asks of the catalog: an image's content, and the images copies and imports make.</summary>
public sealed class ImageControl(ImageAccess access, OwnedResources owned, SnapshotStore snapshotStore, ImageHoldStore holds, ImageStore imageStore,
    Regions regions)
{
    /// <summary>The most share changes one RecordShareChanges call carries (the sharing outbox's batch).</summary>
    public const int MaxShareChanges = 100;

    /// <summary>
    /// The sharing service's grants and revokes to accounts, recorded beside each image so a recipient's shared images
    /// are counted by status without reading them (<see cref="ImageQueries"/>). Every change is checked before any is
    /// written; writing is idempotent, so a batch the outbox hands on twice counts once.
    /// </summary>
    public async Task RecordShareChangesAsync(RecordShareChangesRequest request)
    {
        if (request.Changes.Count > MaxShareChanges)
        {
            throw Fault.InvalidArgument("InvalidParameter", "changes", $"At most {MaxShareChanges} share changes at once.");
        }
        for (var i = 0; i < request.Changes.Count; i++)
        {
            var change = request.Changes[i];
            regions.Require(change.RegionId);
            Check.AccountId(change.OwnerAccountId, $"changes[{i}].owner_account_id");
            Check.AccountId(change.RecipientAccountId, $"changes[{i}].recipient_account_id");
            if (!ResourceIds.IsValid(change.ImageId, 'm') || ResourceIds.TagOf(change.ImageId) != ResourceIds.OwnerTag(change.OwnerAccountId))
            {
                throw Fault.InvalidArgument("InvalidImageId.Malformed", $"changes[{i}].image_id", "Not an image id of the owner.");
            }
        }
        await imageStore.RecordShareChangesAsync(request.Changes);
    }

    /// <summary>An image as <paramref name="accountId"/> (or the caller, when empty) sees it, with the content of each disk.</summary>
    public async Task<GetImageContentResponse> GetImageContentAsync(Caller caller, string regionId, string imageId, string accountId)
    {
        var region = regions.Require(regionId);
        var viewer = Check.IsAccountId(accountId) ? Caller.Root(accountId, default) : caller;
        var image = await access.RequireAsync(viewer, region, imageId);
        var response = new GetImageContentResponse { Image = image };
        var snapshots = await snapshotStore.GetSnapshotsAsync(image.DiskDeviceMappings.Select(m => m.SnapshotId).ToList());
        foreach (var (mapping, found) in image.DiskDeviceMappings.Zip(snapshots))
        {
            if (found is null && image.Status != ImageStatus.Available && image.Status != ImageStatus.Deprecated)
            {
                continue; // a pending or failed image has no content yet
            }
            var snapshot = found ?? throw CatalogErrors.ImageNotFound(image.ImageId);
            response.Disks.Add(new DiskContent
            {
                DiskType = mapping.DiskType,
                Device = mapping.Device,
                SizeGib = mapping.SizeGib,
                SnapshotId = mapping.SnapshotId,
                ManifestId = snapshot.ManifestId,
                ContentBytes = mapping.ContentBytes,
                Encryption = snapshot.Snapshot.Encryption,
            });
        }
        return response;
    }

    /// <summary>An account's accomplished snapshot with its content (R11: what CopySnapshot copies).</summary>
    public async Task<GetSnapshotContentResponse> GetSnapshotContentAsync(GetSnapshotContentRequest request)
    {
        var region = regions.Require(request.RegionId);
        var account = Check.AccountId(request.AccountId, "account_id");
        var stored = await owned.RequireAccomplishedSnapshotAsync(account, region, request.SnapshotId);
        var snapshot = stored.Snapshot;
        return new GetSnapshotContentResponse
        {
            Snapshot = snapshot,
            Disk = new DiskContent
            {
                DiskType = snapshot.SourceDiskType,
                SizeGib = snapshot.SourceDiskSizeGib,
                SnapshotId = snapshot.SnapshotId,
                ManifestId = stored.ManifestId,
                ContentBytes = snapshot.ContentBytes,
                Encryption = snapshot.Encryption,
            },
        };
    }

    /// <summary>Holds an image the account sees for a copy or an export; R9: a second copy of the same source is refused.</summary>
    public async Task HoldAsync(HoldImageRequest request)
    {
        var region = regions.Require(request.RegionId);
        var account = Check.AccountId(request.AccountId, "account_id");
        if (!ResourceIds.IsValid(request.TaskId, 't') || request.Kind is not (ImageHoldKind.CopySource or ImageHoldKind.Export))
        {
            throw Fault.InvalidArgument("InvalidParameter", "task_id", "A hold names its task and its kind.");
        }
        var image = await access.RequireAsync(Caller.Root(account, default), region, request.ImageId);
        switch (await holds.HoldImageAsync(region, image.ImageId, request.TaskId, request.Kind))
        {
            case HoldResult.Missing:
                throw CatalogErrors.ImageNotFound(request.ImageId);
            case HoldResult.WrongStatus:
                throw CatalogErrors.IncorrectImageStatus(image.Status == ImageStatus.Deprecated
                    ? "A deprecated image cannot be copied or exported."
                    : $"Only an Available image can be copied or exported; this one is {image.Status}.");
            case HoldResult.CopyConflict:
                throw CatalogErrors.ImageCopyConflict();
            case HoldResult.Released:
                throw CatalogErrors.TaskAbandoned();
        }
    }

    public Task ReleaseHoldAsync(ReleaseImageHoldRequest request)
    {
        regions.Require(request.RegionId);
        return ResourceIds.IsValid(request.ImageId, 'm') && ResourceIds.IsValid(request.TaskId, 't')
            ? holds.ReleaseHoldAsync(request.ImageId, request.TaskId)
            : Task.CompletedTask;
    }
}
