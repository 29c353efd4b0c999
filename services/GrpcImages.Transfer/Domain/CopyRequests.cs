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
using GrpcImages.Transfer.Tasks;

namespace GrpcImages.Transfer.Domain;

/// <summary>
/// Copy requests (R5-R12, R17, R20, R21, R35): checked and planned here, so a refusal comes back with its
/// rule's code; a copy accepted is a task in the destination region's copy queue and an image (or
/// snapshot) there from the first moment. What the task does, and what undoes it, is its kind's list of
/// steps (<see cref="ImageCopyTask"/>, <see cref="SnapshotCopyTask"/>), carried out by <see cref="TaskLifecycle"/>.
/// </summary>
public sealed class CopyRequests(
    TaskLifecycle lifecycle,
    PeerClient<ImageControlService.ImageControlServiceClient> catalogPeer,
    KeyService.KeyServiceClient kms,
    RegionPeers<ContentService.ContentServiceClient> transfers,
    Regions regions)
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
        if (await lifecycle.FindByTokenAsync(account, CopyScope, token) is { } prior)
        {
            return new CopyImageResponse { ImageId = prior.ResourceId, Task = prior };
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
        var plan = new ImageCopyPlan
        {
            Region = destination, SourceRegion = sourceRegion, SourceId = image.ImageId, Disks = await DiskPlansAsync(sourceRegion, content.Disks), Encryption = encryption,
        };
        var task = lifecycle.NewTask(TaskAction.CopyImage, account, destination, image.ImageId, sourceRegion, plan);
        if (image.DiskDeviceMappings.Sum(m => m.SizeGib) > LargeImageGib)
        {
            task.Advice = "This image is larger than 2 TiB: copying its snapshots (CopySnapshot) and making the image from the copies in the destination region is faster.";
        }
        var pending = new CreatePendingImageRequest
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
            OsType = image.OsType,
            OsName = image.OsName,
            Architecture = image.Architecture,
            LicenseType = image.LicenseType,
            ProductCode = image.ProductCode, // R12: the catalog refuses regions without the product
            Encryption = TaskCatalog.ToInfo(encryption),
            SizeGib = image.SizeGib,
            DiskDeviceMappings = { image.DiskDeviceMappings.Select(m => new DiskDeviceMapping { DiskType = m.DiskType, Device = m.Device, SizeGib = m.SizeGib, ContentBytes = m.ContentBytes }) },
        };
        var started = await lifecycle.StartAsync(task, plan, pending, CopyScope, token);
        return new CopyImageResponse { ImageId = started.ResourceId, Task = started };
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
        if (await lifecycle.FindByTokenAsync(account, SnapshotCopyScope, token) is { } prior)
        {
            return new CopySnapshotResponse { SnapshotId = prior.ResourceId, Task = prior };
        }
        if (!ResourceIds.IsValid(request.SnapshotId, 's'))
        {
            throw Fault.NotFound("InvalidSnapshotId.NotFound", $"The specified snapshot {Check.Echo(request.SnapshotId)} does not exist in this region.");
        }
        var content = await catalogPeer.Client.GetSnapshotContentAsync(new GetSnapshotContentRequest { RegionId = sourceRegion, SnapshotId = request.SnapshotId, AccountId = account });
        var snapshot = content.Snapshot;
        var encryption = await DecideEncryptionAsync(account, destination, request.Encryption, snapshot.Encryption);
        var plan = new SnapshotCopyPlan
        {
            Region = destination, SourceRegion = sourceRegion, SourceId = snapshot.SnapshotId, Disks = await DiskPlansAsync(sourceRegion, [content.Disk]), Encryption = encryption,
        };
        var task = lifecycle.NewTask(TaskAction.CopySnapshot, account, destination, snapshot.SnapshotId, sourceRegion, plan);
        var pending = new CreatePendingSnapshotRequest
        {
            OwnerAccountId = account,
            RegionId = destination,
            SnapshotName = request.DestinationSnapshotName,
            Description = request.DestinationDescription,
            SourceSnapshotId = snapshot.SnapshotId,
            SourceRegionId = sourceRegion,
            DiskType = snapshot.SourceDiskType,
            DiskSizeGib = snapshot.SourceDiskSizeGib,
            ContentBytes = snapshot.ContentBytes,
            ProductCode = snapshot.ProductCode,
            Encryption = TaskCatalog.ToInfo(encryption),
            Tags = { snapshot.Tags },
        };
        var started = await lifecycle.StartAsync(task, plan, pending, SnapshotCopyScope, token);
        return new CopySnapshotResponse { SnapshotId = started.ResourceId, Task = started };
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

    private async Task<List<CopyDiskPlan>> DiskPlansAsync(string region, IEnumerable<DiskContent> disks)
    {
        var plans = new List<CopyDiskPlan>();
        foreach (var disk in disks)
        {
            var info = (await transfers.In(region).GetContentInfoAsync(new GetContentInfoRequest { RegionId = region, ManifestId = disk.ManifestId })).Content;
            plans.Add(new CopyDiskPlan
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
}
