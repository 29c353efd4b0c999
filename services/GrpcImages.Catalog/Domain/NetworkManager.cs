using Google.Protobuf.WellKnownTypes;
using GrpcImages.Catalog.Storage;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.ServiceDefaults.Hosting;
using GrpcImages.ServiceDefaults.Identity;
using GrpcImages.ServiceDefaults.Storage;
using GrpcImages.ServiceDefaults.Validation;

namespace GrpcImages.Catalog.Domain;

/// <summary>
/// VPCs and vSwitches (issue 21): CIDR blocks parsed and nested (a VPC's within the private ranges, a vSwitch's within
/// its VPC's and apart from its siblings'), a vSwitch in a zone of its region, nothing deleted that something depends on.
/// </summary>
public sealed class NetworkManager(NetworkStore store, PlatformOfferings offerings, Regions regions, TimeProvider time)
{
    public const string DefaultVpcCidr = "172.16.0.0/12";

    public async Task<Vpc> CreateVpcAsync(Caller caller, CreateVpcRequest request)
    {
        var account = caller.RequireAccount();
        var region = regions.Require(request.RegionId);
        var cidr = VpcCidr(request.CidrBlock.Length == 0 ? DefaultVpcCidr : request.CidrBlock);
        OptionalName(request.VpcName, "vpc_name", "InvalidVpcName.Malformed");
        Check.Description(request.Description, "description");
        var token = ClientToken.Of(request, request.ClientToken);
        var vpc = new Vpc
        {
            VpcId = ResourceIds.New("vpc", ResourceIds.OwnerTag(account)),
            RegionId = region,
            OwnerAccountId = account,
            VpcName = request.VpcName,
            Description = request.Description,
            CidrBlock = cidr.ToString(),
            Status = NetworkStatus.Available,
            CreateTime = Timestamp.FromDateTimeOffset(time.GetUtcNow()),
        };
        var (result, detail) = await store.CreateVpcAsync(vpc, token);
        return result switch
        {
            CreateResult.Created => vpc,
            CreateResult.TokenUsed => await GetVpcAsync(caller, region, token.Resolve(detail)!),
            CreateResult.QuotaExceeded => throw NetworkErrors.Quota("QuotaExceeded.Vpc", "VPCs per region", NetworkStore.MaxVpcs),
            _ => throw NetworkErrors.Conflict(),
        };
    }

    public async Task<Vpc> GetVpcAsync(Caller caller, string regionId, string vpcId) =>
        (await RequireVpcAsync(caller.RequireAccount(), regions.Require(regionId), vpcId)).Value;

    public async Task<ListVpcsResponse> ListVpcsAsync(Caller caller, ListVpcsRequest request)
    {
        var all = await store.ListVpcsAsync(caller.RequireAccount(), regions.Require(request.RegionId));
        var (items, next, total) = BoundedPages.Page(all, request.PageSize, request.PageToken);
        return new ListVpcsResponse { Vpcs = { items }, NextPageToken = next, TotalSize = total };
    }

    /// <summary>Deletes an empty VPC (DependencyViolation.VSwitch, DependencyViolation.SecurityGroup otherwise).</summary>
    public async Task<bool> DeleteVpcAsync(Caller caller, string regionId, string vpcId)
    {
        var account = caller.RequireAccount();
        var region = regions.Require(regionId);
        return await ConflictRetry.RunAsync<bool>(async () =>
        {
            if (await FindVpcAsync(account, region, vpcId) is not { } stored)
            {
                return false;
            }
            return await store.DeleteVpcAsync(stored) switch
            {
                NetworkDeleteResult.Deleted => true,
                NetworkDeleteResult.HasVSwitches => throw NetworkErrors.VpcHasVSwitches(),
                NetworkDeleteResult.HasSecurityGroups => throw NetworkErrors.VpcHasSecurityGroups(),
                _ => Attempt<bool>.Again,
            };
        });
    }

    public async Task<VSwitch> CreateVSwitchAsync(Caller caller, CreateVSwitchRequest request)
    {
        var account = caller.RequireAccount();
        var region = regions.Require(request.RegionId);
        var zone = offerings.RequireZone(region, request.ZoneId).ZoneId;
        var cidr = Cidr.Parse(request.CidrBlock) ?? throw NetworkErrors.CidrMalformed("cidr_block", "A CIDR block is an IPv4 network such as 172.16.1.0/24, with no host bits set.");
        if (cidr.PrefixLength is < 16 or > 29)
        {
            throw NetworkErrors.CidrMalformed("cidr_block", "A vSwitch's block has a mask of 16 to 29 bits.");
        }
        OptionalName(request.VswitchName, "vswitch_name", "InvalidVSwitchName.Malformed");
        Check.Description(request.Description, "description");
        var token = ClientToken.Of(request, request.ClientToken);
        return await ConflictRetry.RunAsync<VSwitch>(async () =>
        {
            var vpc = await RequireVpcAsync(account, region, request.VpcId);
            if (Cidr.Parse(vpc.Value.CidrBlock) is not { } vpcBlock || !vpcBlock.Contains(cidr))
            {
                throw NetworkErrors.CidrMalformed("cidr_block", $"A vSwitch's block lies within its VPC's ({vpc.Value.CidrBlock}).");
            }
            // The VPC's version guards the create: these siblings are the VPC's vSwitches at that version.
            var siblings = await store.GetVSwitchesAsync(vpc.Value.VswitchIds);
            if (siblings.OfType<Versioned<VSwitch>>().FirstOrDefault(s => Cidr.Parse(s.Value.CidrBlock) is { } other && other.Overlaps(cidr)) is { } overlapped)
            {
                throw NetworkErrors.CidrOverlapped(overlapped.Value.VswitchId);
            }
            var vswitch = new VSwitch
            {
                VswitchId = ResourceIds.New("vsw", ResourceIds.OwnerTag(account)),
                VpcId = vpc.Value.VpcId,
                ZoneId = zone,
                RegionId = region,
                OwnerAccountId = account,
                VswitchName = request.VswitchName,
                Description = request.Description,
                CidrBlock = cidr.ToString(),
                Status = NetworkStatus.Available,
                CreateTime = Timestamp.FromDateTimeOffset(time.GetUtcNow()),
            };
            var (result, detail) = await store.CreateVSwitchAsync(vswitch, vpc.Version, token);
            switch (result)
            {
                case CreateResult.Created:
                    vswitch.AvailableIpAddressCount = NetworkStore.UsableAddresses(vswitch.CidrBlock);
                    return vswitch;
                case CreateResult.TokenUsed:
                    return await GetVSwitchAsync(caller, region, token.Resolve(detail)!);
                case CreateResult.QuotaExceeded:
                    throw NetworkErrors.Quota("QuotaExceeded.VSwitch", "vSwitches per VPC", NetworkStore.MaxVSwitchesPerVpc);
                default:
                    return Attempt<VSwitch>.Again; // the VPC changed (another vSwitch) or went: read it again
            }
        });
    }

    public async Task<VSwitch> GetVSwitchAsync(Caller caller, string regionId, string vswitchId) =>
        (await RequireVSwitchAsync(caller.RequireAccount(), regions.Require(regionId), vswitchId)).Value;

    public async Task<ListVSwitchesResponse> ListVSwitchesAsync(Caller caller, ListVSwitchesRequest request)
    {
        var all = (await store.ListVSwitchesAsync(caller.RequireAccount(), regions.Require(request.RegionId)))
            .Where(v => (request.VpcId.Length == 0 || v.VpcId == request.VpcId) && (request.ZoneId.Length == 0 || v.ZoneId == request.ZoneId))
            .ToList();
        var (items, next, total) = BoundedPages.Page(all, request.PageSize, request.PageToken);
        return new ListVSwitchesResponse { Vswitches = { items }, NextPageToken = next, TotalSize = total };
    }

    /// <summary>Deletes a vSwitch without instances (DependencyViolation otherwise).</summary>
    public async Task<bool> DeleteVSwitchAsync(Caller caller, string regionId, string vswitchId)
    {
        var account = caller.RequireAccount();
        var region = regions.Require(regionId);
        return await ConflictRetry.RunAsync<bool>(async () =>
        {
            if (await FindVSwitchAsync(account, region, vswitchId) is not { } stored)
            {
                return false;
            }
            return await store.DeleteVSwitchAsync(stored) switch
            {
                NetworkDeleteResult.Deleted => true,
                NetworkDeleteResult.HasInstances => throw NetworkErrors.HasInstances("vSwitch"),
                _ => Attempt<bool>.Again,
            };
        });
    }

    /// <summary>A VPC of the account in the region, or null (malformed, missing, elsewhere, another account's: R36).</summary>
    public async Task<Versioned<Vpc>?> FindVpcAsync(string account, string region, string vpcId)
    {
        var stored = ResourceIds.IsValid(vpcId, "vpc") ? await store.GetVpcAsync(vpcId) : null;
        return stored is not null && stored.Value.OwnerAccountId == account && stored.Value.RegionId == region ? stored : null;
    }

    public async Task<Versioned<Vpc>> RequireVpcAsync(string account, string region, string vpcId) =>
        await FindVpcAsync(account, region, vpcId) ?? throw NetworkErrors.VpcNotFound(vpcId);

    public async Task<Versioned<VSwitch>?> FindVSwitchAsync(string account, string region, string vswitchId)
    {
        var stored = ResourceIds.IsValid(vswitchId, "vsw") ? await store.GetVSwitchAsync(vswitchId) : null;
        return stored is not null && stored.Value.OwnerAccountId == account && stored.Value.RegionId == region ? stored : null;
    }

    public async Task<Versioned<VSwitch>> RequireVSwitchAsync(string account, string region, string vswitchId) =>
        await FindVSwitchAsync(account, region, vswitchId) ?? throw NetworkErrors.VSwitchNotFound(vswitchId);

    /// <summary>A VPC's block: a network within 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16, mask 8-24.</summary>
    private static Cidr VpcCidr(string text)
    {
        var cidr = Cidr.Parse(text) ?? throw NetworkErrors.CidrMalformed("cidr_block", "A CIDR block is an IPv4 network such as 172.16.0.0/12, with no host bits set.");
        if (cidr.PrefixLength is < 8 or > 24 || !Cidr.PrivateRanges.Any(r => r.Contains(cidr)))
        {
            throw NetworkErrors.CidrMalformed("cidr_block", "A VPC's block is 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 or a block within one of them, with a mask of 8 to 24 bits.");
        }
        return cidr;
    }

    /// <summary>An optional name: empty, or a name by the image name rules.</summary>
    internal static void OptionalName(string name, string field, string reason)
    {
        if (name.Length > 0)
        {
            Check.Name(name, field, reason);
        }
    }
}
