using Google.Protobuf.WellKnownTypes;
using GrpcImages.Catalog.Storage;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Common.V1;
using GrpcImages.ServiceDefaults.Errors;
using GrpcImages.ServiceDefaults.Hosting;
using GrpcImages.ServiceDefaults.Storage;
using GrpcImages.ServiceDefaults.Validation;

namespace GrpcImages.Catalog.Domain;

/// <summary>
/// The images and snapshots that copies and imports make (R5-R12, R24): they exist from the first
/// moment (Waiting), follow their task's progress, and end Available, CreateFailed or deleted. Every
/// change names the task and its claim's fencing token; ids are derived from the task, so a retried
/// step makes the same resource and takes the same quota unit and holds.
/// </summary>
public sealed partial class PendingResources(
    ImageStore imageStore,
    SnapshotStore snapshotStore,
    PendingResourceStore pendingStore,
    SharingClient sharing,
    ContentClient content,
    CatalogMetrics metrics,
    Regions regions,
    TimeProvider time,
    ILogger<PendingResources> logger)
{
    public async Task<Image> CreateImageAsync(CreatePendingImageRequest request)
    {
        var owner = Check.AccountId(request.OwnerAccountId, "owner_account_id");
        var region = regions.Require(request.RegionId);
        var tag = ResourceIds.OwnerTag(owner);
        RequireTask(request.TaskId, tag);
        if (request.SourceKind is not (ImageSourceKind.Copy or ImageSourceKind.Import))
        {
            throw Fault.InvalidArgument("InvalidParameter", "source_kind", "A pending image comes from a copy or an import.");
        }
        var name = request.ImageName.Length > 0
            ? Check.Name(request.ImageName, "image_name", "InvalidImageName.Malformed")
            : $"{(request.SourceKind == ImageSourceKind.Copy ? "copy" : "import")}-{request.TaskId}";
        Check.Description(request.Description, "description");
        if (request.ImageFamily.Length > 0)
        {
            Check.Name(request.ImageFamily, "image_family", "InvalidImageFamily.Malformed");
        }
        Check.Tags(request.Tags);
        if (request.DiskDeviceMappings.Count is 0 or > ImageCreation.MaxDataDisks + 1)
        {
            throw Fault.InvalidArgument("InvalidParameter", "disk_device_mappings", "An image has one system disk and at most 16 data disks.");
        }
        // R12: a marketplace-derived image goes only where its product is published.
        if (request.ProductCode.Length > 0 && PlatformCatalog.ByProductCode(request.ProductCode)?.IsIn(region) != true)
        {
            throw CatalogErrors.NotPublished();
        }

        var now = Timestamp.FromDateTimeOffset(time.GetUtcNow());
        var image = new Image
        {
            ImageId = PendingImageId(tag, request.TaskId),
            RegionId = region,
            ImageName = name,
            Description = request.Description,
            ImageFamily = request.ImageFamily,
            OwnerAccountId = owner,
            Status = ImageStatus.Waiting,
            SizeGib = request.SizeGib,
            OsType = request.OsType,
            OsName = request.OsName,
            Architecture = request.Architecture == Architecture.Unspecified ? Architecture.X8664 : request.Architecture,
            LicenseType = request.LicenseType == LicenseType.Unspecified ? LicenseType.Aliyun : request.LicenseType,
            ProductCode = request.ProductCode,
            SourceKind = request.SourceKind,
            SourceImageId = request.SourceImageId,
            SourceRegionId = request.SourceRegionId,
            IsCopied = request.SourceKind == ImageSourceKind.Copy,
            Encryption = request.Encryption ?? new EncryptionInfo(),
            TaskId = request.TaskId,
            QueuePosition = request.QueuePosition,
            CreateTime = now,
            UpdateTime = now,
            Tags = { request.Tags },
            DiskDeviceMappings = { request.DiskDeviceMappings.Select(m => new DiskDeviceMapping { DiskType = m.DiskType, Device = m.Device, SizeGib = m.SizeGib, ContentBytes = m.ContentBytes }) },
        };
        await sharing.ReserveImageAsync(owner, region, image.ImageId); // R3; the same unit on a retry
        var (result, prior) = await pendingStore.CreatePendingImageAsync(image, request.TaskId);
        switch (result)
        {
            case CreateResult.Created:
                metrics.ImageCreated(image);
                return image;
            case CreateResult.TokenUsed:
                return (await imageStore.GetImageAsync(region, prior))?.Image ?? throw CatalogErrors.ImageNotFound(prior);
            case CreateResult.Abandoned:
                await sharing.ReleaseImageAsync(owner, region, image.ImageId);
                throw CatalogErrors.TaskAbandoned();
            default:
                await sharing.ReleaseImageAsync(owner, region, image.ImageId);
                throw CatalogErrors.NameDuplicated(name);
        }
    }

    public async Task<Snapshot> CreateSnapshotAsync(CreatePendingSnapshotRequest request)
    {
        var owner = Check.AccountId(request.OwnerAccountId, "owner_account_id");
        var region = regions.Require(request.RegionId);
        var tag = ResourceIds.OwnerTag(owner);
        RequireTask(request.TaskId, tag);
        if (request.SnapshotName.Length > 0)
        {
            Check.Name(request.SnapshotName, "snapshot_name", "InvalidSnapshotName.Malformed");
        }
        Check.Description(request.Description, "description");
        Check.Tags(request.Tags);
        var snapshot = new Snapshot
        {
            SnapshotId = ResourceIds.Derived('s', tag, $"pending|{request.TaskId}"),
            RegionId = region,
            OwnerAccountId = owner,
            SnapshotName = request.SnapshotName,
            Description = request.Description,
            Status = SnapshotStatus.Progressing,
            SourceDiskType = request.DiskType,
            SourceDiskSizeGib = request.DiskSizeGib,
            ProductCode = request.ProductCode,
            Encryption = request.Encryption ?? new EncryptionInfo(),
            ContentBytes = request.ContentBytes,
            SourceSnapshotId = request.SourceSnapshotId,
            SourceRegionId = request.SourceRegionId,
            TaskId = request.TaskId,
            CreateTime = Timestamp.FromDateTimeOffset(time.GetUtcNow()),
            Tags = { request.Tags },
        };
        var (result, prior) = await pendingStore.CreatePendingSnapshotAsync(snapshot, request.TaskId);
        return result switch
        {
            CreateResult.Created => snapshot,
            CreateResult.Abandoned => throw CatalogErrors.TaskAbandoned(),
            _ => (await snapshotStore.GetSnapshotAsync(prior))?.Snapshot ?? throw CatalogErrors.SnapshotNotFound(prior),
        };
    }

    public async Task UpdateAsync(UpdatePendingRequest request)
    {
        if (request.Progress is < 0 or > 99)
        {
            throw Fault.InvalidArgument("InvalidParameter", "progress", "Progress is 0-99 until the resource completes.");
        }
        if (request.TaskRevision < 0)
        {
            throw Fault.InvalidArgument("InvalidParameter", "task_revision", "A task revision is 0 or more.");
        }
        if (IsImage(request.ResourceId))
        {
            if (request.Status is not (ImageStatus.Waiting or ImageStatus.Creating))
            {
                throw Fault.InvalidArgument("InvalidParameter", "status", "A pending image is Waiting or Creating.");
            }
            await ConflictRetry.RunAsync<bool>(async () =>
            {
                var stored = await RequireImageAsync(request.ResourceId);
                var image = stored.Image.Clone();
                image.Status = request.Status;
                image.Progress = Math.Max(image.Progress, request.Progress);
                image.TimeLeft = request.TimeLeft;
                image.QueuePosition = request.Status == ImageStatus.Waiting ? request.QueuePosition : 0;
                image.UpdateTime = Timestamp.FromDateTimeOffset(time.GetUtcNow());
                return Settled(await pendingStore.SavePendingImageAsync(stored, image, request.TaskId, request.Fence, taskRevision: request.TaskRevision),
                    request.ResourceId);
            });
            return;
        }
        await ConflictRetry.RunAsync<bool>(async () =>
        {
            var stored = await RequireSnapshotAsync(request.ResourceId);
            var snapshot = stored.Snapshot.Clone();
            snapshot.Progress = Math.Max(snapshot.Progress, request.Progress);
            return Settled(await pendingStore.SavePendingSnapshotAsync(stored, snapshot, request.TaskId, request.Fence, done: false, taskRevision: request.TaskRevision),
                request.ResourceId);
        });
    }

    /// <summary>Gives the resource its content: the catalog holds each manifest for the new snapshots and the image, then makes it usable.</summary>
    public async Task CompleteAsync(CompletePendingRequest request)
    {
        if (IsImage(request.ResourceId))
        {
            await CompleteImageAsync(request);
            return;
        }
        var disk = request.Disks.Count == 1 ? request.Disks[0] : throw Fault.InvalidArgument("InvalidParameter", "disks", "A snapshot has one disk.");
        await ConflictRetry.RunAsync<bool>(async () =>
        {
            var stored = await RequireSnapshotAsync(request.ResourceId);
            var snapshot = stored.Snapshot.Clone();
            snapshot.Status = SnapshotStatus.Accomplished;
            snapshot.Progress = 100;
            snapshot.TaskId = "";
            return Settled(await pendingStore.SavePendingSnapshotAsync(stored, snapshot, request.TaskId, request.Fence, done: true, disk.ManifestId), request.ResourceId);
        });
    }

    /// <summary>Ends a resource whose task will not complete it: deleted when cancelled (R10), else failed; its quota unit and content go back.</summary>
    public async Task FailAsync(FailPendingRequest request)
    {
        if (request.Reason.Length > 512)
        {
            throw Fault.InvalidArgument("InvalidParameter", "reason", "A reason is at most 512 characters.");
        }
        if (request.ResourceId.Length == 0)
        {
            if (await GiveUpTaskAsync(request) is not { } made)
            {
                return;
            }
            request = new FailPendingRequest(request) { ResourceId = made };
        }
        if (IsImage(request.ResourceId))
        {
            await FailImageAsync(request);
            return;
        }
        await ConflictRetry.RunAsync<bool>(async () =>
        {
            var stored = await snapshotStore.GetSnapshotAsync(request.ResourceId);
            if (stored is null)
            {
                return true;
            }
            SaveResult result;
            if (request.Cancelled)
            {
                result = await pendingStore.DeletePendingSnapshotAsync(stored, request.TaskId, request.Fence);
            }
            else
            {
                var snapshot = stored.Snapshot.Clone();
                snapshot.Status = SnapshotStatus.Failed;
                snapshot.TaskId = "";
                result = await pendingStore.SavePendingSnapshotAsync(stored, snapshot, request.TaskId, request.Fence, done: true);
            }
            var settled = Settled(result, request.ResourceId);
            if (settled.Finished)
            {
                await content.ReleaseHoldersAsync(stored.Snapshot.RegionId, [stored.Snapshot.SnapshotId]);
            }
            return settled;
        });
    }

    private async Task CompleteImageAsync(CompletePendingRequest request)
    {
        await ConflictRetry.RunAsync<bool>(async () =>
        {
            var stored = await RequireImageAsync(request.ResourceId);
            var image = stored.Image.Clone();
            if (stored.Task is null)
            {
                return Settled(await pendingStore.SavePendingImageAsync(stored, image, request.TaskId, request.Fence), request.ResourceId); // reports AlreadyDone or NotPending
            }
            if (request.Disks.Count != image.DiskDeviceMappings.Count)
            {
                throw Fault.InvalidArgument("InvalidParameter", "disks", $"The image has {image.DiskDeviceMappings.Count} disks.");
            }
            var snapshots = new List<(Snapshot, string)>();
            for (var i = 0; i < request.Disks.Count; i++)
            {
                var disk = request.Disks[i];
                var mapping = image.DiskDeviceMappings[i];
                // An import learns its disks' sizes only from their content.
                mapping.SizeGib = disk.SizeGib > 0 ? disk.SizeGib : mapping.SizeGib;
                mapping.ContentBytes = disk.ContentBytes > 0 ? disk.ContentBytes : mapping.ContentBytes;
                // The caller held the content for these ids before it asked (a failure path gives such holds back).
                var snapshotId = SnapshotIdOf(image.ImageId, i);
                mapping.SnapshotId = snapshotId;
                snapshots.Add((new Snapshot
                {
                    SnapshotId = snapshotId,
                    RegionId = image.RegionId,
                    OwnerAccountId = image.OwnerAccountId,
                    Description = $"Created for image {image.ImageId}",
                    Status = SnapshotStatus.Accomplished,
                    Progress = 100,
                    SourceDiskType = mapping.DiskType,
                    SourceDiskSizeGib = mapping.SizeGib,
                    ProductCode = mapping.DiskType == DiskType.System ? image.ProductCode : "",
                    Encryption = disk.Encryption ?? image.Encryption,
                    ContentBytes = disk.ContentBytes,
                    CreateTime = Timestamp.FromDateTimeOffset(time.GetUtcNow()),
                }, disk.ManifestId));
            }
            image.SizeGib = image.DiskDeviceMappings[0].SizeGib;
            image.Status = ImageStatus.Available;
            image.Progress = 100;
            image.TimeLeft = null;
            image.QueuePosition = 0;
            image.TaskId = "";
            image.UpdateTime = Timestamp.FromDateTimeOffset(time.GetUtcNow());
            var settled = Settled(await pendingStore.CompletePendingImageAsync(stored, image, snapshots, request.TaskId, request.Fence), request.ResourceId);
            if (settled.Finished)
            {
                LogCompleted(image.ImageId, request.TaskId);
            }
            return settled;
        });
    }

    private async Task FailImageAsync(FailPendingRequest request)
    {
        await ConflictRetry.RunAsync<bool>(async () =>
        {
            var stored = await imageStore.GetImageAsync("", request.ResourceId);
            if (stored is null)
            {
                return true; // cancelled and deleted before
            }
            var image = stored.Image;
            SaveResult result;
            if (request.Cancelled)
            {
                // An image being made may have been shared already (Packer shares copies before they end): its grants go first.
                if (await sharing.ShareCountAsync(image.ImageId, image.OwnerAccountId) > 0)
                {
                    await sharing.RevokeAllAsync(image.ImageId, image.OwnerAccountId, image.RegionId);
                }
                result = await pendingStore.DeletePendingImageAsync(stored, request.TaskId, request.Fence);
            }
            else
            {
                var failed = image.Clone();
                failed.Status = ImageStatus.CreateFailed;
                failed.FailureReason = request.Reason;
                failed.TimeLeft = null;
                failed.QueuePosition = 0;
                failed.TaskId = "";
                failed.UpdateTime = Timestamp.FromDateTimeOffset(time.GetUtcNow());
                result = await pendingStore.SavePendingImageAsync(stored, failed, request.TaskId, request.Fence, done: true);
            }
            var settled = Settled(result, request.ResourceId);
            if (settled.Finished)
            {
                // Whatever the image or its snapshots might hold goes back (releasing what is not held is a no-op).
                var holders = Enumerable.Range(0, image.DiskDeviceMappings.Count).Select(i => SnapshotIdOf(image.ImageId, i)).Append(image.ImageId).ToList();
                await content.ReleaseHoldersAsync(image.RegionId, holders);
                await sharing.ReleaseImageAsync(image.OwnerAccountId, image.RegionId, image.ImageId);
                LogFailed(image.ImageId, request.TaskId, request.Cancelled);
            }
            return settled;
        });
    }

    /// <summary>
    /// Gives a task up as a whole: returns what it made (for the caller to end), or, when it made nothing,
    /// makes sure it never will (a create still on its way is refused) and gives back the quota unit a
    /// create that died half way may have taken (R3).
    /// </summary>
    private async Task<string?> GiveUpTaskAsync(FailPendingRequest request)
    {
        var tag = ResourceIds.IsValid(request.TaskId, 't') ? ResourceIds.TagOf(request.TaskId) : "";
        RequireTask(request.TaskId, tag);
        var owner = request.OwnerAccountId.Length > 0 ? Check.AccountId(request.OwnerAccountId, "owner_account_id") : null;
        var region = owner is null ? null : regions.Require(request.RegionId);
        if (owner is not null && ResourceIds.OwnerTag(owner) != tag)
        {
            throw Fault.InvalidArgument("InvalidParameter", "owner_account_id", "The task is not this account's.");
        }
        var made = await pendingStore.AbandonTaskAsync(request.TaskId);
        if (made is null && owner is not null)
        {
            await sharing.ReleaseImageAsync(owner, region!, PendingImageId(tag, request.TaskId));
        }
        return made;
    }

    /// <summary>The image a task makes (the same on every retry, and known to an undo that finds none).</summary>
    private static string PendingImageId(string ownerTag, string taskId) => ResourceIds.Derived('m', ownerTag, $"pending|{taskId}");

    /// <summary>The snapshot an image made by a task gets for its disk <paramref name="index"/> (the same on every retry).</summary>
    public static string SnapshotIdOf(string imageId, int index) => ResourceIds.ImageSnapshot(imageId, index);

    private static bool IsImage(string resourceId)
    {
        if (ResourceIds.IsValid(resourceId, 'm'))
        {
            return true;
        }
        return ResourceIds.IsValid(resourceId, 's')
            ? false
            : throw Fault.InvalidArgument("InvalidParameter", "resource_id", "A pending resource is an image (m-) or a snapshot (s-).");
    }

    private async Task<StoredImage> RequireImageAsync(string imageId) =>
        await imageStore.GetImageAsync("", imageId) ?? throw CatalogErrors.ImageNotFound(imageId);

    private async Task<StoredSnapshot> RequireSnapshotAsync(string snapshotId) =>
        await snapshotStore.GetSnapshotAsync(snapshotId) ?? throw CatalogErrors.SnapshotNotFound(snapshotId);

    /// <summary>What a pending step's save means: done, to be read again, or refused.</summary>
    private static Attempt<bool> Settled(SaveResult result, string resourceId) => result switch
    {
        SaveResult.Saved or SaveResult.AlreadyDone or SaveResult.Stale => true, // a newer state of the task is shown already
        SaveResult.Conflict => Attempt<bool>.Again,
        SaveResult.Fenced => throw CatalogErrors.TaskFenced(),
        SaveResult.Absent => throw CatalogErrors.ImageNotFound(resourceId),
        _ => throw CatalogErrors.NotPending(resourceId),
    };

    private static void RequireTask(string taskId, string ownerTag)
    {
        if (!ResourceIds.IsValid(taskId, 't') || ResourceIds.TagOf(taskId) != ownerTag)
        {
            throw Fault.InvalidArgument("InvalidTaskId.Malformed", "task_id", "A task id is \"t-\" and 20 lowercase letters or digits, made for the owner.");
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Image {ImageId} of task {TaskId} is available")]
    private partial void LogCompleted(string imageId, string taskId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Image {ImageId} of task {TaskId} ended (cancelled: {Cancelled})")]
    private partial void LogFailed(string imageId, string taskId, bool cancelled);
}
