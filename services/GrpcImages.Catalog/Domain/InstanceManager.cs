using System.Text;
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

/// <summary>
/// Instances made from images (R19, R28, R31, R32). Each instance's first boot writes its
/// identity into its system disk (copy-on-write), so every instance has bytes of its own.
/// </summary>
public sealed class InstanceManager(
    CreationClaimStore claims,
    ImageStore imageStore,
    SnapshotStore snapshotStore,
    InstanceStore instanceStore,
    ImageAccess access,
    OwnedResources owned,
    ContentClient content,
    EncryptionPolicy encryption,
    CreationJobs jobs,
    CatalogMetrics metrics,
    InstancePlacement placement,
    AddressManager addresses,
    Regions regions,
    TimeProvider time)
{
    public const long IdentityOffset = 1L << 20;
    public const long MinDiskGib = 20;
    public const long MaxSystemDiskGib = 2048;
    public const long MaxDataDiskGib = 32768;

    /// <summary>How many times a create picks another private address when the one it picked was taken meanwhile.</summary>
    private const int AddressAttempts = 10;

    public async Task<Instance> CreateAsync(Caller caller, CreateInstanceRequest request)
    {
        var account = caller.RequireAccount();
        var region = regions.Require(request.RegionId);
        if (request.InstanceName.Length > 0)
        {
            Check.Name(request.InstanceName, "instance_name", "InvalidInstanceName.Malformed");
        }
        Check.Tags(request.Tags);
        InstancePlacement.CheckShape(request);
        var token = ClientToken.Of(request, request.ClientToken);
        EncryptionPolicy.CheckShape(request.SystemDiskEncryption, "system_disk_encryption");
        if (request.DataDisks.Count > ImageCreation.MaxDataDisks)
        {
            throw Fault.InvalidArgument("InvalidDataDiskCount", "data_disks", "An instance has at most 16 data disks.");
        }
        var dataSources = new List<(long SizeGib, StoredSnapshot? Snapshot)>();
        for (var i = 0; i < request.DataDisks.Count; i++)
        {
            var spec = request.DataDisks[i];
            EncryptionPolicy.CheckShape(spec.Encryption, $"data_disks[{i}].encryption");
            StoredSnapshot? snapshot = null;
            if (spec.SnapshotId.Length > 0)
            {
                snapshot = await owned.RequireAccomplishedSnapshotAsync(account, region, spec.SnapshotId);
            }
            var size = spec.SizeGib == 0 && snapshot is not null ? snapshot.Snapshot.SourceDiskSizeGib : spec.SizeGib;
            if (size is < MinDiskGib or > MaxDataDiskGib || size < (snapshot?.Snapshot.SourceDiskSizeGib ?? 0))
            {
                throw Fault.InvalidArgument("InvalidDataDiskSize", $"data_disks[{i}].size_gib",
                    $"A data disk is {MinDiskGib}-{MaxDataDiskGib} GiB and at least as large as its snapshot.");
            }
            dataSources.Add((size, snapshot));
        }

        if (token.Resolve(await claims.FindClientTokenAsync(account, "inst", token)) is { } prior)
        {
            return await GetAsync(caller, region, prior);
        }

        var image = await access.RequireAsync(caller, region, request.ImageId);
        RequireUsable(image);
        var place = await placement.DecideAsync(account, region, request, image);
        var systemSize = SystemDiskSize(request.SystemDiskSizeGib, image.SizeGib, 0, "system_disk_size_gib");
        // R20-R23: decided before anything is written, so a refused key leaves nothing behind.
        var systemEncryption = await encryption.DecideAsync(account, region, request.SystemDiskEncryption, image.Encryption, mayKeepOwnersKey: true);
        var dataEncryption = new List<EncryptionInfo>();
        for (var i = 0; i < dataSources.Count; i++)
        {
            dataEncryption.Add(await encryption.DecideAsync(account, region, request.DataDisks[i].Encryption, dataSources[i].Snapshot?.Snapshot.Encryption, mayKeepOwnersKey: false));
        }

        var tag = ResourceIds.OwnerTag(account);
        var now = Timestamp.FromDateTimeOffset(time.GetUtcNow());
        var instance = new Instance
        {
            InstanceId = ResourceIds.New('i', tag),
            RegionId = region,
            OwnerAccountId = account,
            Status = request.CreateStopped ? InstanceStatus.Stopped : InstanceStatus.Running,
            CreateTime = now,
            UpdateTime = now,
            Tags = { request.Tags },
            Description = request.Description,
            InternetMaxBandwidthOut = request.InternetMaxBandwidthOut,
        };
        instance.InstanceName = request.InstanceName.Length > 0 ? request.InstanceName : instance.InstanceId;
        instance.HostName = request.HostName.Length > 0 ? request.HostName : instance.InstanceId;
        place.ApplyTo(instance);
        FollowImage(instance, image);

        // Intent first: if this call dies (or a reply is lost) after the use is registered or content
        // held, the job gives them back; disk ids are derived from the instance's so the job knows them.
        return await jobs.CreateAsync(CreationJob.Instance(instance.InstanceId), account, region, token,
            () => HoldAndCreateAsync(caller, image, instance, token, systemSize, systemEncryption, dataSources, dataEncryption), image.ImageId);
    }

    private async Task<CreationJobs.Made<Instance>> HoldAndCreateAsync(Caller caller, Image image, Instance instance, ClientToken token, long systemSize,
        EncryptionInfo systemEncryption, List<(long SizeGib, StoredSnapshot? Snapshot)> dataSources, List<EncryptionInfo> dataEncryption)
    {
        var region = instance.RegionId;
        var tag = ResourceIds.OwnerTag(instance.OwnerAccountId);
        var manifests = new Dictionary<string, string>();
        var registered = false;
        try
        {
            await RegisterUseAsync(region, image, instance.InstanceId);
            registered = true;
            instance.SystemDisk = await NewSystemDiskAsync(instance, image, systemSize, tag, systemEncryption, manifests, DiskIdOf(instance.InstanceId, 0));
            for (var i = 0; i < dataSources.Count; i++)
            {
                var (size, snapshot) = dataSources[i];
                var disk = new Disk
                {
                    DiskId = DiskIdOf(instance.InstanceId, i + 1),
                    DiskType = DiskType.Data,
                    Device = Devices.Name(i + 1),
                    SizeGib = size,
                    Encryption = dataEncryption[i],
                    SourceSnapshotId = snapshot?.Snapshot.SnapshotId ?? "",
                    CreateTime = instance.CreateTime,
                };
                var sealing = EncryptionPolicy.ForContent(disk.Encryption);
                manifests[disk.DiskId] = snapshot is null
                    ? await content.BlankAsync(region, size, disk.DiskId, sealing)
                    : await content.DeriveAsync(region, snapshot.ManifestId, !EncryptionPolicy.SameSealing(snapshot.Snapshot.Encryption, disk.Encryption),
                        sealing, size, 0, ReadOnlyMemory<byte>.Empty, disk.DiskId);
                instance.DataDisks.Add(disk);
            }

            var (result, detail) = await CreateRecordAsync(instance, manifests, token);
            switch (result)
            {
                case CreateResult.Created:
                    manifests.Clear();
                    registered = false;
                    metrics.InstanceCreated(region);
                    return new(instance, true);
                case CreateResult.Abandoned:
                    throw CatalogErrors.CreateAbandoned();
                case CreateResult.LinkMissing:
                    throw InstancePlacement.LinkGone(instance, int.Parse(detail, System.Globalization.CultureInfo.InvariantCulture));
                case CreateResult.TokenUsed:
                    return new(await GetAsync(caller, region, ClientTokens.ResolveStored(detail, token.Fingerprint)), false);
                default:
                    throw CatalogErrors.Conflict();
            }
        }
        finally
        {
            if (registered)
            {
                await imageStore.UnregisterImageUseAsync(region, image.ImageId, instance.InstanceId);
            }
            await content.ReleaseAsync(region, manifests.Select(m => (m.Value, m.Key)));
        }
    }

    /// <summary>
    /// Writes the instance's record with its links, with the lowest free private address of its vSwitch (or of the owner's
    /// classic network); an address another create took meanwhile makes it pick again.
    /// </summary>
    private async Task<(CreateResult Result, string Detail)> CreateRecordAsync(Instance instance, Dictionary<string, string> manifests, ClientToken token)
    {
        for (var attempt = 0; ; attempt++)
        {
            instance.PrivateIpAddress = await placement.FreeAddressAsync(instance, attempt);
            var created = await instanceStore.CreateInstanceAsync(new StoredInstance(instance, manifests, 1), token);
            if (created.Result != CreateResult.ClaimTaken || attempt + 1 == AddressAttempts)
            {
                return created.Result == CreateResult.ClaimTaken ? (CreateResult.GuardChanged, "") : created;
            }
        }
    }

    /// <summary>The id of an instance's disk at <paramref name="index"/> (0: system) when the instance is made (the same for its job).</summary>
    public static string DiskIdOf(string instanceId, int index) => ResourceIds.Derived('d', ResourceIds.TagOf(instanceId), $"{instanceId}|{index}");

    public async Task<Instance> GetAsync(Caller caller, string regionId, string instanceId) =>
        (await RequireOwnAsync(caller, regions.Require(regionId), instanceId)).Instance;

    /// <summary>A page of the caller's instances, newest first, after skipping <c>skip</c>, with how many there are.</summary>
    public async Task<ListInstancesResponse> ListAsync(Caller caller, ListInstancesRequest request)
    {
        var account = caller.RequireAccount();
        var region = regions.Require(request.RegionId);
        var size = Check.PageSize(request.PageSize);
        var skip = Check.Skip(request.Skip);
        var position = IndexListPosition.Parse(PageToken.Decode(request.PageToken));
        var page = await instanceStore.ListInstancesAsync(account, region, position.At, position.Skip + skip, size);
        return new ListInstancesResponse
        {
            Instances = { page.Records.Select(Instance.Parser.ParseFrom) },
            NextPageToken = PageToken.Encode(page.Next.Length > 0 ? new IndexListPosition(page.Next, position.Skip + skip - page.Skipped).Format() : ""),
            TotalSize = page.Total,
        };
    }

    public Task<Instance> StopAsync(Caller caller, string regionId, string instanceId) =>
        ChangeStatusAsync(caller, regionId, instanceId, InstanceStatus.Running, InstanceStatus.Stopped);

    public Task<Instance> StartAsync(Caller caller, string regionId, string instanceId) =>
        ChangeStatusAsync(caller, regionId, instanceId, InstanceStatus.Stopped, InstanceStatus.Running);

    /// <summary>A new system disk from the instance's own image, while it is still there and visible (R31, R32).</summary>
    public async Task<Instance> ReinitializeSystemDiskAsync(Caller caller, ReinitializeSystemDiskRequest request)
    {
        var region = regions.Require(request.RegionId);
        var stored = await RequireOwnAsync(caller, region, request.InstanceId);
        RequireStopped(stored.Instance);
        var image = await access.FindAsync(caller, region, stored.Instance.ImageId);
        if (image is null || image.Status is not (ImageStatus.Available or ImageStatus.Deprecated))
        {
            throw CatalogErrors.SourceImageGone(stored.Instance.ImageId);
        }
        var instance = stored.Instance.Clone();
        var old = instance.SystemDisk;
        var manifest = await NewContentAsync(instance, image, old.SizeGib, old.DiskId, old.Encryption ?? new EncryptionInfo());
        instance.UpdateTime = Timestamp.FromDateTimeOffset(time.GetUtcNow());
        var saved = await instanceStore.SaveInstanceAsync(stored, instance, new Dictionary<string, string> { [old.DiskId] = manifest });
        var oldManifest = stored.Manifests[old.DiskId];
        if (manifest != oldManifest)
        {
            // The disk holds whichever content is not in the record now.
            await content.ReleaseAsync(region, [(saved ? oldManifest : manifest, old.DiskId)]);
        }
        return saved ? instance : throw CatalogErrors.Conflict();
    }

    /// <summary>Replaces the system disk with one from another image; the license type follows that image (R28).</summary>
    public async Task<Instance> ReplaceSystemDiskAsync(Caller caller, ReplaceSystemDiskRequest request)
    {
        var region = regions.Require(request.RegionId);
        var token = ClientToken.Of(request, request.ClientToken);
        EncryptionPolicy.CheckShape(request.SystemDiskEncryption, "system_disk_encryption");
        // R35: a retried replace returns the instance as the first one left it, not a third disk.
        if (token.Resolve(await claims.FindClientTokenAsync(caller.RequireAccount(), "replace", token)) is { } prior)
        {
            return await GetAsync(caller, region, prior);
        }
        var stored = await RequireOwnAsync(caller, region, request.InstanceId);
        RequireStopped(stored.Instance);
        var image = await access.RequireAsync(caller, region, request.ImageId);
        RequireUsable(image);
        var size = SystemDiskSize(request.SystemDiskSizeGib, image.SizeGib, stored.Instance.SystemDisk.SizeGib, "system_disk_size_gib");
        var systemEncryption = await encryption.DecideAsync(stored.Instance.OwnerAccountId, region, request.SystemDiskEncryption, image.Encryption, mayKeepOwnersKey: true);

        var instance = stored.Instance.Clone();
        var oldImage = instance.ImageId;
        var oldDisk = instance.SystemDisk;
        var manifests = new Dictionary<string, string>();
        var registered = false;
        try
        {
            await RegisterUseAsync(region, image, instance.InstanceId);
            registered = oldImage != image.ImageId;
            instance.SystemDisk = await NewSystemDiskAsync(instance, image, size, ResourceIds.OwnerTag(instance.OwnerAccountId), systemEncryption, manifests);
            FollowImage(instance, image);
            instance.UpdateTime = Timestamp.FromDateTimeOffset(time.GetUtcNow());
            if (!await instanceStore.SaveReplacedSystemDiskAsync(stored, instance, manifests[instance.SystemDisk.DiskId], oldDisk.DiskId))
            {
                throw CatalogErrors.Conflict();
            }
            manifests.Clear();
            registered = false;
        }
        finally
        {
            if (registered)
            {
                await imageStore.UnregisterImageUseAsync(region, image.ImageId, instance.InstanceId);
            }
            await content.ReleaseAsync(region, manifests.Select(m => (m.Value, m.Key)));
        }
        if (oldImage != image.ImageId)
        {
            await imageStore.UnregisterImageUseAsync(region, oldImage, instance.InstanceId);
        }
        await content.ReleaseAsync(region, [(stored.Manifests[oldDisk.DiskId], oldDisk.DiskId)]);
        await claims.RememberClientTokenAsync(instance.OwnerAccountId, "replace", token, instance.InstanceId);
        return instance;
    }

    /// <summary>
    /// Deletes an instance: an EIP associated with it becomes Available first, then the record goes with its disks' keys,
    /// its private address and its memberships in one script; its fixed public address and its disks' content follow.
    /// </summary>
    public async Task<bool> DeleteAsync(Caller caller, string regionId, string instanceId)
    {
        var account = caller.RequireAccount();
        var region = regions.Require(regionId);
        return await ConflictRetry.RunAsync<bool>(async () =>
        {
            var found = await owned.FindInstanceAsync(account, region, instanceId);
            if (found is null)
            {
                return false;
            }
            if (await addresses.TakeOffEipAsync(found) is not { } stored || await instanceStore.DeleteInstanceAsync(stored) != DeleteResult.Deleted)
            {
                return Attempt<bool>.Again;
            }
            await imageStore.UnregisterImageUseAsync(region, stored.Instance.ImageId, instanceId);
            await addresses.ReleaseInstanceAddressAsync(stored.Instance);
            await content.ReleaseAsync(region, stored.Manifests.Select(m => (m.Value, m.Key)));
            return true;
        });
    }

    /// <summary>
    /// The disks of the caller's instances in the region: instances newest first, each one's system disk first; of one
    /// instance or by ids when asked. Pages are by instance position and disk offset (InvalidNextToken for a foreign token).
    /// </summary>
    public async Task<ListDisksResponse> ListDisksAsync(Caller caller, ListDisksRequest request)
    {
        var account = caller.RequireAccount();
        var region = regions.Require(request.RegionId);
        var size = Check.PageSize(request.PageSize);
        if (request.DiskIds.Count > 100)
        {
            throw Fault.InvalidArgument("InvalidDiskIds.ValueNotSupported", "disk_ids", "At most 100 disk ids.");
        }
        IEnumerable<Disk> DisksOf(Instance instance) => new[] { instance.SystemDisk }.Concat(instance.DataDisks).Where(d => d is not null).Select(d =>
        {
            var disk = d.Clone();
            disk.InstanceId = instance.InstanceId;
            disk.ZoneId = instance.ZoneId;
            return disk;
        });
        if (request.InstanceId.Length > 0 || request.DiskIds.Count > 0)
        {
            var instances = new List<Instance>();
            if (request.InstanceId.Length > 0)
            {
                if (await owned.FindInstanceAsync(account, region, request.InstanceId) is { } one)
                {
                    instances.Add(one.Instance);
                }
            }
            else
            {
                foreach (var diskId in request.DiskIds.Distinct(StringComparer.Ordinal))
                {
                    var owner = ResourceIds.IsValid(diskId, 'd') ? await instanceStore.FindInstanceOfDiskAsync(diskId) : null;
                    if (owner is not null && instances.All(i => i.InstanceId != owner) && await owned.FindInstanceAsync(account, region, owner) is { } found)
                    {
                        instances.Add(found.Instance);
                    }
                }
            }
            var disks = instances.SelectMany(DisksOf).Where(d => request.DiskIds.Count == 0 || request.DiskIds.Contains(d.DiskId)).ToList();
            var (items, next, _) = BoundedPages.Page(disks, request.PageSize, request.PageToken);
            return new ListDisksResponse { Disks = { items }, NextPageToken = next };
        }

        // Every instance: pages of instances from the position, skipping the disks of the first one a previous page returned.
        var (at, offset) = DiskListPosition(PageToken.Decode(request.PageToken));
        var response = new ListDisksResponse();
        var position = at;
        while (response.Disks.Count < size)
        {
            var page = await instanceStore.ListInstancesAsync(account, region, position, 0, 10);
            foreach (var instance in page.Records.Select(Instance.Parser.ParseFrom))
            {
                var disks = DisksOf(instance).Skip(offset).ToList();
                var room = size - response.Disks.Count;
                response.Disks.AddRange(disks.Take(room));
                if (disks.Count > room)
                {
                    response.NextPageToken = PageToken.Encode($"{position}|{offset + room}");
                    return response;
                }
                offset = 0;
                position = $"{Records.Score(instance.CreateTime).ToString(System.Globalization.CultureInfo.InvariantCulture)}:{instance.InstanceId}";
            }
            if (page.Next.Length == 0)
            {
                return response;
            }
            position = page.Next;
        }
        response.NextPageToken = PageToken.Encode($"{position}|0");
        return response;
    }

    /// <summary>A ListDisks position: the index position after the last instance done, and how many disks of the next one were returned.</summary>
    private static (string At, int Offset) DiskListPosition(string text)
    {
        if (text.Length == 0)
        {
            return ("", 0);
        }
        var bar = text.LastIndexOf('|');
        return bar >= 0 && int.TryParse(text.AsSpan(bar + 1), out var offset) && offset is >= 0 and <= 17
            ? (text[..bar], offset)
            : throw ListPositions.Foreign();
    }

    private Task<StoredInstance> RequireOwnAsync(Caller caller, string region, string instanceId) =>
        owned.RequireInstanceAsync(caller.RequireAccount(), region, instanceId);

    private async Task<Instance> ChangeStatusAsync(Caller caller, string regionId, string instanceId, InstanceStatus from, InstanceStatus to)
    {
        var region = regions.Require(regionId);
        return await ConflictRetry.RunAsync<Instance>(async () =>
        {
            var stored = await RequireOwnAsync(caller, region, instanceId);
            if (stored.Instance.Status != from)
            {
                throw CatalogErrors.IncorrectInstanceStatus($"The instance is {stored.Instance.Status}; it must be {from}.");
            }
            var instance = stored.Instance.Clone();
            instance.Status = to;
            instance.UpdateTime = Timestamp.FromDateTimeOffset(time.GetUtcNow());
            return await instanceStore.SaveInstanceAsync(stored, instance) ? instance : Attempt<Instance>.Again;
        });
    }

    private async Task<Disk> NewSystemDiskAsync(Instance instance, Image image, long sizeGib, string tag, EncryptionInfo encryptionInfo,
        Dictionary<string, string> manifests, string? diskId = null)
    {
        var disk = new Disk
        {
            DiskId = diskId ?? ResourceIds.New('d', tag),
            DiskType = DiskType.System,
            Device = Devices.Name(0),
            SizeGib = sizeGib,
            Encryption = encryptionInfo,
            SourceImageId = image.ImageId,
            CreateTime = Timestamp.FromDateTimeOffset(time.GetUtcNow()),
        };
        manifests[disk.DiskId] = await NewContentAsync(instance, image, sizeGib, disk.DiskId, encryptionInfo);
        return disk;
    }

    /// <summary>
    /// The image's system disk content, sealed as the disk is (re-sealed when that differs from the
    /// image), with the instance's identity written at 1 MiB, as a first boot does.
    /// </summary>
    private async Task<string> NewContentAsync(Instance instance, Image image, long sizeGib, string diskId, EncryptionInfo sealing)
    {
        var system = image.DiskDeviceMappings.First(m => m.DiskType == DiskType.System);
        var snapshot = await snapshotStore.GetSnapshotAsync(system.SnapshotId) ?? throw CatalogErrors.SourceImageGone(image.ImageId);
        var identity = Encoding.ASCII.GetBytes(
            $"GRPCIMAGES INSTANCE\ninstance-id: {instance.InstanceId}\nhostname: {instance.InstanceName}\nimage-id: {image.ImageId}\nbooted: {time.GetUtcNow():O}\n");
        return await content.DeriveAsync(instance.RegionId, snapshot.ManifestId, !EncryptionPolicy.SameSealing(snapshot.Snapshot.Encryption, sealing),
            EncryptionPolicy.ForContent(sealing), sizeGib, IdentityOffset, identity, diskId);
    }

    private async Task RegisterUseAsync(string region, Image image, string instanceId)
    {
        if (image.OwnerAccountId.Length == 0)
        {
            return; // public and marketplace images are never deleted
        }
        switch (await imageStore.RegisterImageUseAsync(region, image.ImageId, instanceId, ImageStatus.Available))
        {
            case RegisterUseResult.Missing:
                throw CatalogErrors.ImageNotFound(image.ImageId);
            case RegisterUseResult.WrongStatus:
                throw CatalogErrors.IncorrectImageStatus("Instances can only be made from an Available image.");
        }
    }

    /// <summary>R28: the instance's license type, product and operating system follow its image.</summary>
    private static void FollowImage(Instance instance, Image image)
    {
        instance.ImageId = image.ImageId;
        instance.LicenseType = image.LicenseType == LicenseType.Unspecified ? LicenseType.Aliyun : image.LicenseType;
        instance.ProductCode = image.ProductCode;
        instance.OsType = image.OsType;
        instance.OsName = image.OsName;
        instance.Architecture = image.Architecture;
    }

    private static void RequireUsable(Image image)
    {
        if (image.Status != ImageStatus.Available)
        {
            throw CatalogErrors.IncorrectImageStatus("Instances can only be made from an Available image.");
        }
    }

    private static void RequireStopped(Instance instance)
    {
        if (instance.Status != InstanceStatus.Stopped)
        {
            throw CatalogErrors.IncorrectInstanceStatus("The instance must be Stopped.");
        }
    }

    private static long SystemDiskSize(long requested, long imageSize, long current, string field)
    {
        // Unasked, a disk is the image's size, never less than the smallest system disk (imported images can be 1 GiB).
        var size = requested == 0 ? Math.Max(Math.Max(imageSize, current), MinDiskGib) : requested;
        if (size < imageSize)
        {
            throw Fault.InvalidArgument("InvalidSystemDiskSize.LessThanImageSize", field, $"The system disk must be at least the image's {imageSize} GiB.");
        }
        if (size is < MinDiskGib or > MaxSystemDiskGib)
        {
            throw Fault.InvalidArgument("InvalidSystemDiskSize", field, $"A system disk is {MinDiskGib}-{MaxSystemDiskGib} GiB.");
        }
        return size;
    }
}
