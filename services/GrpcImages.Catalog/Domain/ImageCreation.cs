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

/// <summary>CreateImage: from an instance's disks (R1) or from snapshots (R2), one quota unit (R3), client tokens (R35).</summary>
public sealed class ImageCreation(
    CreationClaimStore claims,
    ImageStore imageStore,
    ImageAccess access,
    OwnedResources owned,
    ContentClient content,
    SharingClient sharing,
    EncryptionPolicy encryption,
    CreationJobs jobs,
    CatalogMetrics metrics,
    Regions regions,
    TimeProvider time)
{
    public const int MaxDataDisks = 16;

    public async Task<Image> CreateAsync(Caller caller, CreateImageRequest request)
    {
        var account = caller.RequireAccount();
        var region = regions.Require(request.RegionId);
        Check.Name(request.ImageName, "image_name", "InvalidImageName.Malformed");
        Check.Description(request.Description, "description");
        if (request.ImageFamily.Length > 0)
        {
            Check.Name(request.ImageFamily, "image_family", "InvalidImageFamily.Malformed");
        }
        Check.Tags(request.Tags);
        var token = ClientToken.Of(request, request.ClientToken);
        EncryptionPolicy.CheckShape(request.Encryption, "encryption");
        if (request.InstanceId.Length > 0 == request.DiskDeviceMappings.Count > 0)
        {
            throw Fault.InvalidArgument("InvalidParameter", "instance_id", "Give either instance_id or disk_device_mappings.");
        }

        while (true)
        {
            if (token.Resolve(await claims.FindClientTokenAsync(account, "img", token)) is { } prior &&
                await AwaitPriorAsync(caller, region, prior, token) is { } made)
            {
                return made;
            }
            if (await TryCreateAsync(caller, account, region, request, token) is { } created)
            {
                return created;
            }
            // Another call with the token gave up its image: try again, perhaps as the one that creates it.
        }
    }

    /// <summary>
    /// One attempt: the job is recorded first (it gives back whatever a failed or killed call holds),
    /// then the client token claimed, the quota unit reserved, content held, the record created.
    /// Null when another call holds the token and did not create its image.
    /// </summary>
    private async Task<Image?> TryCreateAsync(Caller caller, string account, string region, CreateImageRequest request, ClientToken token)
    {
        var now = Timestamp.FromDateTimeOffset(time.GetUtcNow());
        var image = new Image
        {
            ImageId = ResourceIds.New('m', ResourceIds.OwnerTag(account)),
            RegionId = region,
            ImageName = request.ImageName,
            Description = request.Description,
            ImageFamily = request.ImageFamily,
            OwnerAccountId = account,
            Status = ImageStatus.Creating,
            CreateTime = now,
            UpdateTime = now,
            Tags = { request.Tags },
        };
        return await jobs.CreateAsync(CreationJob.Image(image.ImageId), account, region, token,
            () => HoldAndCreateAsync(caller, region, request, token, image));
    }

    /// <summary>The steps of one create after its job is recorded; whatever a failure leaves held is given back here and, if in doubt, by the job.</summary>
    private async Task<CreationJobs.Made<Image?>> HoldAndCreateAsync(Caller caller, string region, CreateImageRequest request, ClientToken token, Image image)
    {
        var account = image.OwnerAccountId;
        var created = false;
        var claimed = false;
        var reserved = false;
        var retained = new List<(string, string)>();
        try
        {
            // R35 before R3: calls racing with one token make one image and take one quota unit.
            if (token.IsSet)
            {
                var holder = await claims.ClaimClientTokenAsync(account, "img", token, image.ImageId);
                if (holder is not null)
                {
                    return new(await AwaitPriorAsync(caller, region, ClientTokens.ResolveStored(holder, token.Fingerprint), token), false);
                }
                claimed = true;
            }
            await sharing.ReserveImageAsync(account, region, image.ImageId); // R3
            reserved = true;
            // Each new snapshot holds its disk's content (re-sealed when the image's encryption
            // differs, R20); the image holds every snapshot's content too.
            var snapshots = request.InstanceId.Length > 0
                ? await FromInstanceAsync(account, region, request, image, retained)
                : await FromSnapshotsAsync(account, region, request, image);
            foreach (var snapshot in snapshots)
            {
                if (snapshot.New is not null && !retained.Contains((snapshot.ManifestId, snapshot.SnapshotId)))
                {
                    await content.RetainAsync(region, snapshot.ManifestId, snapshot.SnapshotId);
                    retained.Add((snapshot.ManifestId, snapshot.SnapshotId));
                }
                await content.RetainAsync(region, snapshot.ManifestId, image.ImageId);
                retained.Add((snapshot.ManifestId, image.ImageId));
            }
            var (result, detail) = await imageStore.CreateImageAsync(image, account, snapshots, token);
            switch (result)
            {
                case CreateResult.Created:
                    created = true;
                    metrics.ImageCreated(image);
                    image.OwnerAlias = ImageOwnerAlias.Self;
                    return new(image, true);
                case CreateResult.DuplicateName:
                    throw CatalogErrors.NameDuplicated(image.ImageName);
                case CreateResult.SnapshotMissing:
                    throw CatalogErrors.SnapshotNotFound(detail);
                case CreateResult.SnapshotNotReady:
                    throw CatalogErrors.SnapshotNotReady(detail);
                case CreateResult.Abandoned:
                    throw CatalogErrors.CreateAbandoned();
                default: // TokenUsed: a token claimed before this call's claim
                    return new(await AwaitPriorAsync(caller, region, ClientTokens.ResolveStored(detail, token.Fingerprint), token), false);
            }
        }
        finally
        {
            if (!created)
            {
                await content.ReleaseAsync(region, retained);
                if (reserved)
                {
                    await sharing.ReleaseImageAsync(account, region, image.ImageId);
                }
                if (claimed)
                {
                    await claims.UnclaimClientTokenAsync(account, "img", token, image.ImageId);
                }
            }
        }
    }

    /// <summary>
    /// The image another call with the same client token makes, once it exists (that call may still be
    /// reserving and holding); null when that call gave it up, so this one may make it.
    /// </summary>
    private async Task<Image?> AwaitPriorAsync(Caller caller, string region, string imageId, ClientToken token)
    {
        var until = time.GetUtcNow() + PriorWait;
        while (true)
        {
            if (await imageStore.GetImageAsync(region, imageId) is not null)
            {
                return await access.RequireAsync(caller, region, imageId);
            }
            var holder = await claims.FindClientTokenAsync(caller.RequireAccount(), "img", token);
            if (holder is null || ClientTokens.ResolveStored(holder, token.Fingerprint) != imageId)
            {
                return null;
            }
            if (!await jobs.IsPendingAsync(CreationJob.Image(imageId)))
            {
                return await access.RequireAsync(caller, region, imageId); // made and deleted since: as any missing image
            }
            if (time.GetUtcNow() > until)
            {
                throw Fault.Unavailable("ServiceUnavailable", "Another request with this client token is still creating the image; retry it.");
            }
            await Task.Delay(PriorPoll, time);
        }
    }

    private static readonly TimeSpan PriorWait = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan PriorPoll = TimeSpan.FromMilliseconds(20);

    /// <summary>R1: a snapshot of every disk of the instance; re-sealed content goes to <paramref name="held"/>.</summary>
    private async Task<List<ImageSnapshotRef>> FromInstanceAsync(string account, string region, CreateImageRequest request, Image image,
        List<(string, string)> held)
    {
        var stored = await owned.RequireInstanceAsync(account, region, request.InstanceId);
        var instance = stored.Instance;
        image.SourceKind = ImageSourceKind.Instance;
        image.SourceInstanceId = instance.InstanceId;
        image.SizeGib = instance.SystemDisk.SizeGib;
        image.OsType = instance.OsType;
        image.OsName = instance.OsName;
        image.Architecture = instance.Architecture;
        image.LicenseType = instance.LicenseType;
        image.ProductCode = instance.ProductCode;

        var disks = new[] { instance.SystemDisk }.Concat(instance.DataDisks).ToList();
        var sealings = new List<EncryptionInfo>();
        foreach (var disk in disks)
        {
            // R23: a disk's own key must still be usable; another account's key must be replaced (R21, R22).
            sealings.Add(await encryption.DecideAsync(account, region, request.Encryption, disk.Encryption, mayKeepOwnersKey: false));
        }
        image.Encryption = sealings[0];

        var snapshots = new List<ImageSnapshotRef>();
        for (var d = 0; d < disks.Count; d++)
        {
            var disk = disks[d];
            var snapshot = new Snapshot
            {
                SnapshotId = PendingResources.SnapshotIdOf(image.ImageId, d), // known to the job, which releases its holds if the call dies
                RegionId = region,
                OwnerAccountId = account,
                Description = $"Created for image {image.ImageId}",
                Status = SnapshotStatus.Progressing,
                SourceDiskId = disk.DiskId,
                SourceDiskType = disk.DiskType,
                SourceDiskSizeGib = disk.SizeGib,
                SourceInstanceId = instance.InstanceId,
                ProductCode = disk.DiskType == DiskType.System ? instance.ProductCode : "",
                Encryption = sealings[d],
                ContentBytes = disk.SizeGib * ContentClient.GiB,
                CreateTime = image.CreateTime,
            };
            var manifest = stored.Manifests[disk.DiskId];
            if (!EncryptionPolicy.SameSealing(disk.Encryption, sealings[d]))
            {
                manifest = await content.TransformAsync(region, manifest, disk.SizeGib, EncryptionPolicy.ForContent(sealings[d]), snapshot.SnapshotId);
                held.Add((manifest, snapshot.SnapshotId));
            }
            snapshots.Add(new ImageSnapshotRef(snapshot.SnapshotId, snapshot, manifest));
            image.DiskDeviceMappings.Add(new DiskDeviceMapping
            {
                DiskType = disk.DiskType,
                Device = disk.Device,
                SizeGib = disk.SizeGib,
                SnapshotId = snapshot.SnapshotId,
                ContentBytes = snapshot.ContentBytes,
            });
        }
        return snapshots;
    }

    /// <summary>R2: exactly one system-disk snapshot and up to 16 data-disk snapshots, all accomplished.</summary>
    private async Task<List<ImageSnapshotRef>> FromSnapshotsAsync(string account, string region, CreateImageRequest request, Image image)
    {
        if (request.DiskDeviceMappings.Count > MaxDataDisks + 1)
        {
            throw CatalogErrors.MappingDenied("disk_device_mappings", "An image has one system disk and at most 16 data disks.");
        }
        var disks = new List<(DiskType Type, StoredSnapshot Snapshot, long SizeGib, string Device)>();
        for (var i = 0; i < request.DiskDeviceMappings.Count; i++)
        {
            var spec = request.DiskDeviceMappings[i];
            var field = $"disk_device_mappings[{i}]";
            Devices.Check(spec.Device, $"{field}.device");
            if (spec.SizeGib is < 0 or > InstanceManager.MaxDataDiskGib)
            {
                throw Fault.InvalidArgument("InvalidParameter.DiskSize", $"{field}.size_gib", $"A disk is at most {InstanceManager.MaxDataDiskGib} GiB.");
            }
            var stored = await owned.RequireAccomplishedSnapshotAsync(account, region, spec.SnapshotId);
            var snapshot = stored.Snapshot;
            var type = spec.DiskType == DiskType.Unspecified ? snapshot.SourceDiskType : spec.DiskType;
            if (type == DiskType.System && snapshot.SourceDiskType != DiskType.System)
            {
                throw CatalogErrors.MappingDenied($"{field}.snapshot_id", "The specified snapshot is not from system disk.");
            }
            var size = spec.SizeGib == 0 ? snapshot.SourceDiskSizeGib : spec.SizeGib;
            if (size < snapshot.SourceDiskSizeGib || (type == DiskType.System && size > InstanceManager.MaxSystemDiskGib))
            {
                throw Fault.InvalidArgument("InvalidParameter.DiskSize", $"{field}.size_gib",
                    $"A disk is at least as large as its snapshot, and a system disk at most {InstanceManager.MaxSystemDiskGib} GiB.");
            }
            // The image uses the snapshots as they are: their keys must be usable (R23) and theirs (R21).
            var sealing = await encryption.DecideAsync(account, region, request.Encryption, snapshot.Encryption, mayKeepOwnersKey: false);
            if (!EncryptionPolicy.SameSealing(snapshot.Encryption, sealing))
            {
                throw Fault.InvalidArgument("InvalidParameter.EncryptedNotSupported", "encryption",
                    "An image made from snapshots keeps their encryption; make the image, then copy it with encryption.");
            }
            disks.Add((type, stored, size, spec.Device));
        }
        var systems = disks.Count(d => d.Type == DiskType.System);
        if (systems == 0)
        {
            throw CatalogErrors.MappingDenied("disk_device_mappings[0].snapshot_id", "The specified snapshot is not from system disk.");
        }
        if (systems > 1)
        {
            throw CatalogErrors.MappingDenied("disk_device_mappings", "An image has exactly one system disk snapshot.");
        }

        var ordered = disks.OrderBy(d => d.Type == DiskType.System ? 0 : 1).ToList();
        var system = ordered[0].Snapshot.Snapshot;
        image.SourceKind = ImageSourceKind.Snapshots;
        image.SizeGib = ordered[0].SizeGib;
        image.Architecture = request.Architecture == Architecture.Unspecified ? Architecture.X8664 : request.Architecture;
        image.LicenseType = LicenseType.Aliyun;
        image.ProductCode = system.ProductCode;
        image.Encryption = system.Encryption?.Clone() ?? new EncryptionInfo();
        for (var i = 0; i < ordered.Count; i++)
        {
            var (type, stored, size, device) = ordered[i];
            image.DiskDeviceMappings.Add(new DiskDeviceMapping
            {
                DiskType = type,
                Device = device.Length > 0 ? device : Devices.Name(i),
                SizeGib = size,
                SnapshotId = stored.Snapshot.SnapshotId,
                ContentBytes = stored.Snapshot.ContentBytes,
            });
        }
        return ordered.Select(d => new ImageSnapshotRef(d.Snapshot.Snapshot.SnapshotId, null, d.Snapshot.ManifestId)).ToList();
    }
}
