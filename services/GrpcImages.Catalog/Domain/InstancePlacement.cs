using GrpcImages.Catalog.Storage;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Common.V1;
using GrpcImages.ServiceDefaults.Errors;
using GrpcImages.ServiceDefaults.Validation;

namespace GrpcImages.Catalog.Domain;

/// <summary>Where a new instance goes and what it is: its type, zone, network, groups and key pair, all checked.</summary>
public sealed record Placement(InstanceType Type, string ZoneId, string VpcId, string VSwitchId, IReadOnlyList<string> SecurityGroupIds, string KeyPairName)
{
    public void ApplyTo(Instance instance)
    {
        instance.InstanceType = Type.InstanceTypeId;
        instance.Cpu = Type.CpuCoreCount;
        instance.MemoryMib = (int)(Type.MemorySize * 1024);
        instance.ZoneId = ZoneId;
        instance.VpcId = VpcId;
        instance.VswitchId = VSwitchId;
        instance.SecurityGroupIds.Clear();
        instance.SecurityGroupIds.AddRange(SecurityGroupIds);
        instance.KeyPairName = KeyPairName;
    }
}

/// <summary>
/// The network side of a new instance (issue 21): a type offered in its zone and of its image's architecture; a VPC
/// instance in a vSwitch of the caller (its zone the vSwitch's) with groups of the same VPC, or a classic one with
/// classic groups; a key pair of the caller, never on Windows. Its private address is the lowest free one of its
/// vSwitch's block (all but the first and the last three addresses), or of 10.0.0.0/8 per owner and region in the
/// classic network.
/// </summary>
public sealed class InstancePlacement(NetworkManager networks, SecurityGroupManager groups, KeyPairManager keyPairs, InstanceStore instances,
    PlatformOfferings offerings)
{
    public const int MaxSecurityGroups = 5;

    private static readonly Cidr ClassicNetwork = Cidr.Parse("10.0.0.0/8")!.Value;

    /// <summary>Bounds of the request's placement fields, checked before anything is looked up.</summary>
    public static void CheckShape(CreateInstanceRequest request)
    {
        if (request.SecurityGroupIds.Count > MaxSecurityGroups)
        {
            throw Fault.InvalidArgument("InvalidSecurityGroupId.Malformed", "security_group_ids", $"An instance joins at most {MaxSecurityGroups} security groups.");
        }
        if (request.InternetMaxBandwidthOut is < 0 or > 100)
        {
            throw Fault.InvalidArgument("InvalidInternetMaxBandwidthOut.Malformed", "internet_max_bandwidth_out", "The outbound bandwidth is 0 to 100 Mbit/s.");
        }
        if (request.HostName.Length > 0 && (request.HostName.Length is < 2 or > 64 ||
            request.HostName.Any(c => !char.IsAsciiLetterOrDigit(c) && c is not ('.' or '-')) || request.HostName[0] is '.' or '-'))
        {
            throw Fault.InvalidArgument("InvalidHostName.Malformed", "host_name", "A host name is 2-64 letters, digits, '.' and '-', not starting with '.' or '-'.");
        }
        Check.Description(request.Description, "description");
    }

    public async Task<Placement> DecideAsync(string account, string region, CreateInstanceRequest request, Image image)
    {
        var architecture = image.Architecture == Architecture.Unspecified ? Architecture.X8664 : image.Architecture;
        var type = PlatformOfferings.RequireType(request.InstanceType.Length > 0 ? request.InstanceType : PlatformOfferings.DefaultType(architecture));
        var asked = request.ZoneId.Length > 0 ? offerings.RequireZone(region, request.ZoneId) : null;
        VSwitch? vswitch = null;
        if (request.VswitchId.Length > 0)
        {
            vswitch = (await networks.RequireVSwitchAsync(account, region, request.VswitchId)).Value;
            if (asked is not null && asked.ZoneId != vswitch.ZoneId)
            {
                throw NetworkErrors.ZoneMismatch();
            }
        }
        var zone = offerings.RequireZone(region, vswitch?.ZoneId ?? asked?.ZoneId ?? offerings.Zones(region)[0].ZoneId);
        if (!zone.AvailableInstanceTypes.Contains(type.InstanceTypeId))
        {
            throw NetworkErrors.TypeNotSupported($"The instance type {type.InstanceTypeId} is not offered in zone {zone.ZoneId}.");
        }
        if (type.Architecture != architecture)
        {
            throw NetworkErrors.TypeNotSupported($"The instance type {type.InstanceTypeId} is {type.Architecture}; the image is {architecture}.");
        }
        var groupIds = request.SecurityGroupIds.Distinct(StringComparer.Ordinal).ToList();
        foreach (var groupId in groupIds)
        {
            var group = (await groups.RequireAsync(account, region, groupId)).Value;
            if (group.VpcId != (vswitch?.VpcId ?? ""))
            {
                throw NetworkErrors.VpcMismatch(groupId);
            }
        }
        if (request.KeyPairName.Length > 0)
        {
            await keyPairs.RequireAsync(account, region, request.KeyPairName);
            if (image.OsType == OsType.Windows)
            {
                throw NetworkErrors.WindowsInstance("the new instance");
            }
        }
        return new Placement(type, zone.ZoneId, vswitch?.VpcId ?? "", vswitch?.VswitchId ?? "", groupIds, request.KeyPairName);
    }

    /// <summary>How many of the lowest free addresses a retried pick chooses among.</summary>
    private const int RetrySpread = 32;

    /// <summary>
    /// A private address of the instance's network that no instance holds (InvalidVSwitchId.IpNotEnough when none): the
    /// lowest on a first try; on a retry (another create took the one picked) one of the lowest few at random, so creates
    /// racing in one vSwitch spread out instead of all picking the same next address again.
    /// </summary>
    public async Task<string> FreeAddressAsync(Instance instance, int attempt = 0)
    {
        Cidr block;
        if (instance.VswitchId.Length > 0)
        {
            var vswitch = (await networks.FindVSwitchAsync(instance.OwnerAccountId, instance.RegionId, instance.VswitchId))?.Value
                ?? throw NetworkErrors.VSwitchNotFound(instance.VswitchId);
            block = Cidr.Parse(vswitch.CidrBlock) ?? throw NetworkErrors.IpNotEnough(instance.VswitchId);
        }
        else
        {
            block = ClassicNetwork;
        }
        var used = await instances.UsedAddressesAsync(InstanceStore.AddressesOf(instance));
        var free = new List<string>();
        var wanted = attempt == 0 ? 1 : RetrySpread;
        for (var address = block.Network + 1; address <= block.Last - 3 && address > block.Network && free.Count < wanted; address++)
        {
            var text = Cidr.Address(address);
            if (!used.Contains(text))
            {
                free.Add(text);
            }
        }
#pragma warning disable CA5394 // spreading racing picks needs no unpredictability
        return free.Count == 0 ? throw NetworkErrors.IpNotEnough(instance.VswitchId) : free[Random.Shared.Next(free.Count)];
#pragma warning restore CA5394
    }

    /// <summary>The error for a link the create script found gone (its 1-based position in <see cref="InstanceStore.LinksOf"/>).</summary>
    public static DomainException LinkGone(Instance instance, int position)
    {
        var index = position - 1;
        if (instance.VswitchId.Length > 0)
        {
            if (index == 0)
            {
                return NetworkErrors.VSwitchNotFound(instance.VswitchId);
            }
            index--;
        }
        return index < instance.SecurityGroupIds.Count
            ? NetworkErrors.SecurityGroupNotFound(instance.SecurityGroupIds[index])
            : NetworkErrors.KeyPairNotFound(instance.KeyPairName);
    }
}
