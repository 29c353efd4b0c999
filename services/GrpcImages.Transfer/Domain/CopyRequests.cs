using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Common.V1;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.ServiceDefaults.Errors;
using GrpcImages.ServiceDefaults.Hosting;
using GrpcImages.ServiceDefaults.Identity;
using GrpcImages.ServiceDefaults.Peers;
using GrpcImages.ServiceDefaults.Storage;
using GrpcImages.ServiceDefaults.Validation;
using GrpcImages.Transfer.Storage;

namespace GrpcImages.Transfer.Domain;

/// <summary>
/// Copy requests (R5-R12, R17, R20, R21, R35): checked at once, so a refusal comes back with its rule's
/// code; accepted ones become a task in the destination region's copy queue and an image (or snapshot)
/// in the destination that exists from the first moment. The task is written first (with a guard delay
/// in its queue): if the request dies before it is accepted, a worker later finds the task half made
/// and undoes it, so nothing stays held.
/// </summary>
public sealed class CopyRequests(
    TaskStore store,
    TaskQueues queues,
    TaskSetups setups,
    PeerClient<ImageControlService.ImageControlServiceClient> catalogPeer,
    KeyService.KeyServiceClient kms,
    RegionPeers<ContentService.ContentServiceClient> transfers,
    Regions regions,
    TimeProvider time)
{
    /// <summary>R11: images larger than this copy faster as snapshots.</summary>
    public const long LargeImageGib = 2048;

    private const string CopyScope = "copy";
    private const string SnapshotCopyScope = "snapcopy";

    public async Task<CopyImageResponse> CopyImageAsync(Caller caller, CopyImageRequest request)
    {
        var account = caller.RequireAccount();
        var sourceRegion = regions.Require(request.RegionId);
        var destination = regions.Require(request.DestinationRegionId, "destination_region_id");
        if (request.DestinationImageName.Length > 0)
        {
            Check.Name(request.DestinationImageName, "destination_image_name", "InvalidImageName.Malformed");
        }
        Check.Description(request.DestinationDescription, "destination_description");
        Check.Tags(request.Tags);
        CheckEncryptionShape(request.Encryption);
        var token = ClientToken.Of(request, request.ClientToken);
        if (token.Resolve(await store.FindClientTokenAsync(account, CopyScope, token)) is { } prior)
        {
            var existing = await RequireOwnAsync(account, prior);
            return new CopyImageResponse { ImageId = existing.Task.ResourceId, Task = existing.Task };
        }
        if (!IsImageId(request.ImageId))
        {
            throw Fault.NotFound("InvalidImageId.NotFound", $"The specified image {Check.Echo(request.ImageId)} does not exist in this region.");
        }

        // R4, R7, R36: what the caller sees (its own images, or images shared with it).
        var content = await catalogPeer.Client.GetImageContentAsync(new GetImageContentRequest { RegionId = sourceRegion, ImageId = request.ImageId, AccountId = account });
        var image = content.Image;
        if (image.OwnerAccountId.Length == 0)
        {
            throw TransferErrors.OnlyCustomImages(); // R6: public and marketplace images
        }
        RequireCopyable(image.Status, "image");
        var encryption = await DecideEncryptionAsync(account, destination, request.Encryption, image.Encryption);
        var disks = await DiskPlansAsync(sourceRegion, content.Disks);

        var task = NewTasks.Waiting(TaskAction.CopyImage, account, destination, image.ImageId, sourceRegion, disks, time.GetUtcNow());
        if (image.DiskDeviceMappings.Sum(m => m.SizeGib) > LargeImageGib)
        {
            task.Advice = "This image is larger than 2 TiB: copying its snapshots (CopySnapshot) and making the image from the copies in the destination region is faster.";
        }
        var plan = new TaskPlan
        {
            Kind = "image", SourceRegion = sourceRegion, SourceId = image.ImageId, DestinationRegion = destination, Disks = disks, Encryption = encryption,
        };
        var (created, stored) = await setups.BeginAsync(task, plan, CopyScope, token);
        if (created == CreateStatus.TokenUsed)
        {
            var existing = await RequireOwnAsync(account, ClientTokens.ResolveStored(stored, token.Fingerprint));
            return new CopyImageResponse { ImageId = existing.Task.ResourceId, Task = existing.Task };
        }
        try
        {
            // R9: a second copy of the same source is refused here, and the source cannot be deleted while held.
            await catalogPeer.Client.HoldImageAsync(new HoldImageRequest
            {
                RegionId = sourceRegion, ImageId = image.ImageId, Kind = ImageHoldKind.CopySource, TaskId = task.TaskId, AccountId = account,
            });
            var pending = await catalogPeer.Client.CreatePendingImageAsync(new CreatePendingImageRequest
            {
                OwnerAccountId = account,
                RegionId = destination,
                ImageName = request.DestinationImageName,
                Description = request.DestinationDescription,
                ImageFamily = image.ImageFamily,
                Tags = { request.Tags },
                SourceKind = ImageSourceKind.Copy,
                SourceImageId = image.ImageId,
                SourceRegionId = sourceRegion,
                TaskId = task.TaskId,
                OsType = image.OsType,
                OsName = image.OsName,
                Architecture = image.Architecture,
                LicenseType = image.LicenseType,
                ProductCode = image.ProductCode, // R12: the catalog refuses regions without the product
                Encryption = ToInfo(encryption),
                SizeGib = image.SizeGib,
                DiskDeviceMappings = { image.DiskDeviceMappings.Select(m => new DiskDeviceMapping { DiskType = m.DiskType, Device = m.Device, SizeGib = m.SizeGib, ContentBytes = m.ContentBytes }) },
            });
            plan.DestinationId = pending.Image.ImageId;
        }
        catch (Exception ex) when (ex is RpcException or DomainException)
        {
            await setups.UndoAsync(ex, task, CopyScope, token, image.ImageId, sourceRegion);
            throw;
        }
        var accepted = await queues.AcceptAsync(task, plan);
        return new CopyImageResponse { ImageId = plan.DestinationId, Task = accepted };
    }

    public async Task<CopySnapshotResponse> CopySnapshotAsync(Caller caller, CopySnapshotRequest request)
    {
        var account = caller.RequireAccount();
        var sourceRegion = regions.Require(request.RegionId);
        var destination = regions.Require(request.DestinationRegionId, "destination_region_id");
        if (request.DestinationSnapshotName.Length > 0)
        {
            Check.Name(request.DestinationSnapshotName, "destination_snapshot_name", "InvalidSnapshotName.Malformed");
        }
        Check.Description(request.DestinationDescription, "destination_description");
        CheckEncryptionShape(request.Encryption);
        var token = ClientToken.Of(request, request.ClientToken);
        if (token.Resolve(await store.FindClientTokenAsync(account, SnapshotCopyScope, token)) is { } prior)
        {
            var existing = await RequireOwnAsync(account, prior);
            return new CopySnapshotResponse { SnapshotId = existing.Task.ResourceId, Task = existing.Task };
        }
        if (!ResourceIds.IsValid(request.SnapshotId, 's'))
        {
            throw Fault.NotFound("InvalidSnapshotId.NotFound", $"The specified snapshot {Check.Echo(request.SnapshotId)} does not exist in this region.");
        }
        var content = await catalogPeer.Client.GetSnapshotContentAsync(new GetSnapshotContentRequest { RegionId = sourceRegion, SnapshotId = request.SnapshotId, AccountId = account });
        var snapshot = content.Snapshot;
        var encryption = await DecideEncryptionAsync(account, destination, request.Encryption, snapshot.Encryption);
        var disks = await DiskPlansAsync(sourceRegion, [content.Disk]);
        var task = NewTasks.Waiting(TaskAction.CopySnapshot, account, destination, snapshot.SnapshotId, sourceRegion, disks, time.GetUtcNow());
        var plan = new TaskPlan
        {
            Kind = "snapshot", SourceRegion = sourceRegion, SourceId = snapshot.SnapshotId, DestinationRegion = destination, Disks = disks, Encryption = encryption,
        };
        var (created, stored) = await setups.BeginAsync(task, plan, SnapshotCopyScope, token);
        if (created == CreateStatus.TokenUsed)
        {
            var existing = await RequireOwnAsync(account, ClientTokens.ResolveStored(stored, token.Fingerprint));
            return new CopySnapshotResponse { SnapshotId = existing.Task.ResourceId, Task = existing.Task };
        }
        try
        {
            var pending = await catalogPeer.Client.CreatePendingSnapshotAsync(new CreatePendingSnapshotRequest
            {
                OwnerAccountId = account,
                RegionId = destination,
                SnapshotName = request.DestinationSnapshotName,
                Description = request.DestinationDescription,
                SourceSnapshotId = snapshot.SnapshotId,
                SourceRegionId = sourceRegion,
                TaskId = task.TaskId,
                DiskType = snapshot.SourceDiskType,
                DiskSizeGib = snapshot.SourceDiskSizeGib,
                ContentBytes = snapshot.ContentBytes,
                ProductCode = snapshot.ProductCode,
                Encryption = ToInfo(encryption),
                Tags = { snapshot.Tags },
            });
            plan.DestinationId = pending.Snapshot.SnapshotId;
        }
        catch (Exception ex) when (ex is RpcException or DomainException)
        {
            await setups.UndoAsync(ex, task, SnapshotCopyScope, token);
            throw;
        }
        var accepted = await queues.AcceptAsync(task, plan);
        return new CopySnapshotResponse { SnapshotId = plan.DestinationId, Task = accepted };
    }

    /// <summary>R20, R21, R7: a copy may add encryption, never remove it; the key must be usable in the destination.</summary>
    private async Task<EncryptionPlan?> DecideEncryptionAsync(string account, string destination, EncryptionSpec? requested, EncryptionInfo? source)
    {
        if (source is { Encrypted: true } && requested is not { Encrypted: true })
        {
            throw TransferErrors.EncryptionRemoved();
        }
        if (requested is not { Encrypted: true })
        {
            return null;
        }
        var decided = await kms.ResolveEncryptionAsync(new ResolveEncryptionRequest
        {
            AccountId = account,
            RegionId = destination,
            Encrypted = true,
            KmsKeyId = requested.KmsKeyId,
            SourceEncrypted = source?.Encrypted ?? false,
            SourceKmsKeyId = source?.KmsKeyId ?? "",
            SourceKeyForeign = true,
        });
        return new EncryptionPlan { AccountId = account, KmsKeyId = decided.KmsKeyId, ServiceKey = decided.ServiceKey };
    }

    private async Task<List<DiskPlan>> DiskPlansAsync(string region, IEnumerable<DiskContent> disks)
    {
        var plans = new List<DiskPlan>();
        foreach (var disk in disks)
        {
            var info = (await transfers.In(region).GetContentInfoAsync(new GetContentInfoRequest { RegionId = region, ManifestId = disk.ManifestId })).Content;
            plans.Add(new DiskPlan
            {
                DiskType = (int)disk.DiskType,
                Device = disk.Device,
                SizeGib = disk.SizeGib,
                ContentBytes = disk.ContentBytes,
                SourceManifest = disk.ManifestId,
                StoredBytes = info.StoredBytes,
            });
        }
        return plans;
    }

    private async Task<StoredTask> RequireOwnAsync(string account, string taskId) =>
        await store.GetAsync(taskId) is { } stored && stored.Task.OwnerAccountId == account ? stored : throw TransferErrors.TaskNotFound(taskId);

    /// <summary>R6: only an Available image copies; a deprecated one does not.</summary>
    private static void RequireCopyable(ImageStatus status, string what)
    {
        if (status == ImageStatus.Deprecated)
        {
            throw TransferErrors.IncorrectImageStatus($"A deprecated {what} cannot be copied.");
        }
        if (status != ImageStatus.Available)
        {
            throw TransferErrors.IncorrectImageStatus($"Only an Available {what} can be copied; this one is {status}.");
        }
    }

    private static void CheckEncryptionShape(EncryptionSpec? spec)
    {
        if (spec is { Encrypted: false, KmsKeyId.Length: > 0 })
        {
            throw TransferErrors.EncryptedIllegal("encryption.kms_key_id");
        }
    }

    internal static bool IsImageId(string imageId) =>
        ResourceIds.IsValid(imageId, 'm') || (imageId.Length is > 0 and <= 128 && imageId.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.'));

    public static EncryptionInfo ToInfo(EncryptionPlan? plan) =>
        plan is null ? new EncryptionInfo() : new EncryptionInfo { Encrypted = true, KmsKeyId = plan.KmsKeyId, ServiceKey = plan.ServiceKey, KmsKeyOwnerAccountId = plan.AccountId };
}
