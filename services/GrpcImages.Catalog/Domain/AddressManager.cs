using Google.Protobuf.WellKnownTypes;
using GrpcImages.Catalog.Storage;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.ServiceDefaults.Errors;
using GrpcImages.ServiceDefaults.Hosting;
using GrpcImages.ServiceDefaults.Identity;
using GrpcImages.ServiceDefaults.Storage;
using GrpcImages.ServiceDefaults.Validation;

namespace GrpcImages.Catalog.Domain;

/// <summary>
/// Public addresses (issue 21): EIPs (allocated, associated with one VPC instance at a time, released only when free)
/// and instances' fixed public addresses. Every address is taken from the region's block of 198.18.0.0/15 (RFC 2544's
/// benchmarking range, never routed on the Internet) and held by one EIP or instance at a time. An address whose holder
/// died before recording it (a call that failed between the two steps) is taken back by the next allocation that finds
/// the pool short, once it is a minute old.
/// </summary>
public sealed class AddressManager(AddressStore store, InstanceStore instances, OwnedResources owned, CreationClaimStore claims, Regions regions,
    TimeProvider time)
{
    private static readonly uint PoolStart = Cidr.ParseAddress("198.18.0.0")!.Value;
    private const long PoolSize = 1L << 17;
    private static readonly TimeSpan ReclaimAfter = TimeSpan.FromMinutes(1);

    public async Task<EipAddress> AllocateEipAsync(Caller caller, AllocateEipAddressRequest request)
    {
        var account = caller.RequireAccount();
        var region = regions.Require(request.RegionId);
        var bandwidth = request.Bandwidth == 0 ? 5 : request.Bandwidth;
        if (bandwidth is < 1 or > 200)
        {
            throw Fault.InvalidArgument("InvalidBandwidth.Malformed", "bandwidth", "An EIP's bandwidth is 1 to 200 Mbit/s.");
        }
        var chargeType = request.InternetChargeType switch
        {
            "" or "PayByTraffic" => "PayByTraffic",
            "PayByBandwidth" => "PayByBandwidth",
            _ => throw Fault.InvalidArgument("InvalidInternetChargeType.ValueNotSupported", "internet_charge_type", "The charge type is PayByTraffic or PayByBandwidth."),
        };
        var token = ClientToken.Of(request, request.ClientToken);
        if (token.Resolve(await claims.FindClientTokenAsync(account, "eip", token)) is { } prior)
        {
            return await GetEipAsync(caller, region, prior);
        }
        var eip = new EipAddress
        {
            AllocationId = ResourceIds.New("eip", ResourceIds.OwnerTag(account)),
            RegionId = region,
            OwnerAccountId = account,
            Status = EipStatus.Available,
            Bandwidth = bandwidth,
            InternetChargeType = chargeType,
            AllocationTime = Timestamp.FromDateTimeOffset(time.GetUtcNow()),
        };
        eip.IpAddress = await ReserveAsync(region, eip.AllocationId);
        var (result, detail) = await store.CreateEipAsync(eip, token);
        if (result == CreateResult.Created)
        {
            return eip;
        }
        await store.ReleaseAsync(region, eip.IpAddress, eip.AllocationId);
        return result switch
        {
            CreateResult.TokenUsed => await GetEipAsync(caller, region, token.Resolve(detail)!),
            CreateResult.QuotaExceeded => throw NetworkErrors.Quota("QuotaExceeded.Eip", "EIPs per region", AddressStore.MaxEips),
            _ => throw NetworkErrors.Conflict(),
        };
    }

    public async Task<EipAddress> GetEipAsync(Caller caller, string regionId, string allocationId) =>
        (await RequireEipAsync(caller.RequireAccount(), regions.Require(regionId), allocationId)).Value;

    public async Task<ListEipAddressesResponse> ListEipsAsync(Caller caller, ListEipAddressesRequest request)
    {
        var all = (await store.ListEipsAsync(caller.RequireAccount(), regions.Require(request.RegionId)))
            .Where(e => (request.Status == EipStatus.Unspecified || e.Status == request.Status) &&
                        (request.IpAddress.Length == 0 || e.IpAddress == request.IpAddress) &&
                        (request.InstanceId.Length == 0 || e.InstanceId == request.InstanceId))
            .ToList();
        var (items, next, total) = BoundedPages.Page(all, request.PageSize, request.PageToken);
        return new ListEipAddressesResponse { EipAddresses = { items }, NextPageToken = next, TotalSize = total };
    }

    public async Task<EipAddress> AssociateAsync(Caller caller, AssociateEipAddressRequest request)
    {
        var account = caller.RequireAccount();
        var region = regions.Require(request.RegionId);
        return await ConflictRetry.RunAsync<EipAddress>(async () =>
        {
            var eip = await RequireEipAsync(account, region, request.AllocationId);
            var instance = await owned.RequireInstanceAsync(account, region, request.InstanceId);
            if (eip.Value.Status != EipStatus.Available)
            {
                throw NetworkErrors.EipStatus(eip.Value.InstanceId == instance.Instance.InstanceId
                    ? "The EIP is associated with this instance already."
                    : "The EIP is in use; take it off its instance first.");
            }
            if (instance.Instance.VswitchId.Length == 0)
            {
                throw NetworkErrors.NotVpc(instance.Instance.InstanceId);
            }
            if (instance.Instance.PublicIpAddress.Length > 0 || instance.Instance.Eip is not null)
            {
                throw NetworkErrors.HasPublicIp(instance.Instance.InstanceId);
            }
            var updatedEip = eip.Value.Clone();
            updatedEip.Status = EipStatus.InUse;
            updatedEip.InstanceId = instance.Instance.InstanceId;
            var updatedInstance = instance.Instance.Clone();
            updatedInstance.Eip = new InstanceEip { AllocationId = eip.Value.AllocationId, IpAddress = eip.Value.IpAddress, Bandwidth = eip.Value.Bandwidth };
            updatedInstance.UpdateTime = Timestamp.FromDateTimeOffset(time.GetUtcNow());
            return await store.SaveAssociationAsync(eip, updatedEip, instance, updatedInstance) ? updatedEip : Attempt<EipAddress>.Again;
        });
    }

    public async Task<EipAddress> UnassociateAsync(Caller caller, UnassociateEipAddressRequest request)
    {
        var account = caller.RequireAccount();
        var region = regions.Require(request.RegionId);
        return await ConflictRetry.RunAsync<EipAddress>(async () =>
        {
            var eip = await RequireEipAsync(account, region, request.AllocationId);
            if (eip.Value.Status != EipStatus.InUse || eip.Value.InstanceId != request.InstanceId)
            {
                throw NetworkErrors.EipStatus("The EIP is not associated with that instance.");
            }
            var instance = await owned.RequireInstanceAsync(account, region, request.InstanceId);
            return await TakeOffAsync(eip, instance) ?? Attempt<EipAddress>.Again;
        });
    }

    /// <summary>Releases a free EIP and its address (IncorrectEipStatus while it is in use); a missing one is false.</summary>
    public async Task<bool> ReleaseEipAsync(Caller caller, string regionId, string allocationId)
    {
        var account = caller.RequireAccount();
        var region = regions.Require(regionId);
        return await ConflictRetry.RunAsync<bool>(async () =>
        {
            if (await FindEipAsync(account, region, allocationId) is not { } eip)
            {
                return false;
            }
            if (eip.Value.Status != EipStatus.Available)
            {
                throw NetworkErrors.EipStatus("The EIP is in use; take it off its instance before releasing it.");
            }
            if (!await store.DeleteEipAsync(eip))
            {
                return Attempt<bool>.Again;
            }
            await store.ReleaseAsync(region, eip.Value.IpAddress, eip.Value.AllocationId);
            return true;
        });
    }

    /// <summary>An instance's fixed public address: the one it has, or a new one from the pool (not for an instance with an EIP).</summary>
    public async Task<string> AllocatePublicIpAsync(Caller caller, AllocatePublicIpAddressRequest request)
    {
        var account = caller.RequireAccount();
        var region = regions.Require(request.RegionId);
        return await ConflictRetry.RunAsync<string>(async () =>
        {
            var instance = await owned.RequireInstanceAsync(account, region, request.InstanceId);
            if (instance.Instance.PublicIpAddress.Length > 0)
            {
                return instance.Instance.PublicIpAddress;
            }
            if (instance.Instance.Eip is not null)
            {
                throw NetworkErrors.HasPublicIp(instance.Instance.InstanceId);
            }
            var address = await ReserveAsync(region, instance.Instance.InstanceId);
            var updated = instance.Instance.Clone();
            updated.PublicIpAddress = address;
            updated.UpdateTime = Timestamp.FromDateTimeOffset(time.GetUtcNow());
            if (await instances.SaveInstanceAsync(instance, updated))
            {
                return address;
            }
            await store.ReleaseAsync(region, address, instance.Instance.InstanceId);
            return Attempt<string>.Again;
        });
    }

    /// <summary>
    /// Before an instance is deleted: the EIP associated with it becomes Available again. Returns the instance as it is
    /// now (without the EIP), or null when it changed meanwhile (read it again).
    /// </summary>
    public async Task<StoredInstance?> TakeOffEipAsync(StoredInstance instance)
    {
        if (instance.Instance.Eip is not { } bound)
        {
            return instance;
        }
        var eip = await store.GetEipAsync(bound.AllocationId);
        if (eip is null || eip.Value.InstanceId != instance.Instance.InstanceId)
        {
            return null; // the instance's record and the EIP's disagree only while a change is under way
        }
        return await TakeOffAsync(eip, instance) is null ? null : await instances.GetInstanceAsync(instance.Instance.InstanceId);
    }

    /// <summary>After an instance is deleted: its fixed public address goes back to the pool.</summary>
    public Task ReleaseInstanceAddressAsync(Instance instance) =>
        instance.PublicIpAddress.Length > 0 ? store.ReleaseAsync(instance.RegionId, instance.PublicIpAddress, instance.InstanceId) : Task.CompletedTask;

    private async Task<EipAddress?> TakeOffAsync(Versioned<EipAddress> eip, StoredInstance instance)
    {
        var updatedEip = eip.Value.Clone();
        updatedEip.Status = EipStatus.Available;
        updatedEip.InstanceId = "";
        var updatedInstance = instance.Instance.Clone();
        updatedInstance.Eip = null;
        updatedInstance.UpdateTime = Timestamp.FromDateTimeOffset(time.GetUtcNow());
        return await store.SaveAssociationAsync(eip, updatedEip, instance, updatedInstance) ? updatedEip : null;
    }

    private async Task<Versioned<EipAddress>?> FindEipAsync(string account, string region, string allocationId)
    {
        var stored = ResourceIds.IsValid(allocationId, "eip") ? await store.GetEipAsync(allocationId) : null;
        return stored is not null && stored.Value.OwnerAccountId == account && stored.Value.RegionId == region ? stored : null;
    }

    private async Task<Versioned<EipAddress>> RequireEipAsync(string account, string region, string allocationId) =>
        await FindEipAsync(account, region, allocationId) ?? throw NetworkErrors.EipNotFound(allocationId);

    /// <summary>An address of the region's block for the holder; takes back addresses of dead holders when none is free.</summary>
    private async Task<string> ReserveAsync(string region, string holder)
    {
        var index = regions.All.Select((r, i) => (r.Id, i)).First(r => r.Id == region).i;
        var size = PoolSize / Math.Max(1, regions.All.Count);
        var start = (uint)(PoolStart + (index * size));
        if (await store.ReserveAsync(region, start, size, holder, time.GetUtcNow()) is { } address)
        {
            return address;
        }
        await ReclaimAsync(region);
        return await store.ReserveAsync(region, start, size, holder, time.GetUtcNow()) ?? throw NetworkErrors.PoolExhausted();
    }

    private async Task ReclaimAsync(string region)
    {
        foreach (var entry in await store.PoolEntriesAsync(region, 10_000))
        {
            if (time.GetUtcNow() - entry.Since < ReclaimAfter)
            {
                continue;
            }
            var alive = entry.Holder.StartsWith("eip-", StringComparison.Ordinal)
                ? ResourceIds.IsValid(entry.Holder, "eip") && await store.RecordExistsAsync(CatalogKeys.Eip(entry.Holder))
                : ResourceIds.IsValid(entry.Holder, 'i') && (await instances.GetInstanceAsync(entry.Holder))?.Instance.PublicIpAddress == entry.Address;
            if (!alive)
            {
                await store.ReclaimAsync(region, entry);
            }
        }
    }
}
