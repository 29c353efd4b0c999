using Google.Protobuf;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.ServiceDefaults.Storage;
using StackExchange.Redis;
using static GrpcImages.Catalog.Storage.Records;

namespace GrpcImages.Catalog.Storage;

/// <summary>A record with the version it was read at.</summary>
public sealed record Versioned<T>(T Value, long Version);

/// <summary>What deleting a VPC, vSwitch or security group did.</summary>
public enum NetworkDeleteResult
{
    Deleted,
    /// <summary>It changed since it was read: read it again.</summary>
    Conflict,
    /// <summary>A VPC still has vSwitches.</summary>
    HasVSwitches,
    /// <summary>A VPC still has security groups.</summary>
    HasSecurityGroups,
    /// <summary>A vSwitch or security group still has instances.</summary>
    HasInstances,
}

/// <summary>
/// VPCs, vSwitches and security groups (keys in <see cref="CatalogKeys"/>): their records (<c>vpc:</c>, <c>vsw:</c>,
/// <c>sg:</c>), each owner's indexes, and what hangs off them: a VPC's vSwitches and groups (<c>vpcsw:</c>,
/// <c>vpcsg:</c>), a vSwitch's private addresses (<c>ips:</c>), a group's instances (<c>sginst:</c>). A record is deleted
/// in the script that finds those empty, and made in the script that checks its parent still exists, so a delete and a
/// create that race cannot leave an orphan. Records hold no view fields (a VPC's vSwitch ids, a vSwitch's free addresses,
/// a group's instance count): those are filled on read.
/// </summary>
public sealed class NetworkStore(IDatabase redis)
{
    /// <summary>VPCs an account may have per region.</summary>
    public const int MaxVpcs = 10;

    /// <summary>vSwitches a VPC may have.</summary>
    public const int MaxVSwitchesPerVpc = 150;

    /// <summary>Security groups an account may have per region.</summary>
    public const int MaxSecurityGroups = 100;

    // ---- VPCs ----

    public Task<(CreateResult Result, string Detail)> CreateVpcAsync(Vpc vpc, ClientToken token) =>
        RecordScripts.CreateLinkedAsync(redis, new LinkedCreate(CatalogKeys.Vpc(vpc.VpcId), CatalogKeys.Vpcs(vpc.OwnerAccountId, vpc.RegionId),
            CatalogKeys.ClientToken(vpc.OwnerAccountId, "vpc", token.Token), vpc.VpcId, Score(vpc.CreateTime), token, [new("d", Stored(vpc))])
        {
            Limit = (CatalogKeys.Vpcs(vpc.OwnerAccountId, vpc.RegionId), MaxVpcs),
        });

    public async Task<Versioned<Vpc>?> GetVpcAsync(string vpcId)
    {
        var batch = redis.CreateBatch();
        var record = batch.HashGetAsync(CatalogKeys.Vpc(vpcId), ["d", "v"]);
        var vswitches = batch.SetMembersAsync(CatalogKeys.VpcVSwitches(vpcId));
        batch.Execute();
        var values = await record;
        if (!values[0].HasValue)
        {
            return null;
        }
        var vpc = Vpc.Parser.ParseFrom((byte[])values[0]!);
        vpc.VswitchIds.AddRange((await vswitches).Select(v => (string)v!).Order(StringComparer.Ordinal));
        return new Versioned<Vpc>(vpc, (long)values[1]);
    }

    /// <summary>Every VPC of the owner in the region (at most <see cref="MaxVpcs"/>), newest first.</summary>
    public async Task<IReadOnlyList<Vpc>> ListVpcsAsync(string owner, string region)
    {
        var vpcs = (await IndexPages.ReadAllAsync(redis, CatalogKeys.Vpcs(owner, region), CatalogKeys.VpcRecordPrefix(owner))).Select(Vpc.Parser.ParseFrom).ToList();
        var batch = redis.CreateBatch();
        var reads = vpcs.Select(v => batch.SetMembersAsync(CatalogKeys.VpcVSwitches(v.VpcId))).ToList();
        batch.Execute();
        for (var i = 0; i < vpcs.Count; i++)
        {
            vpcs[i].VswitchIds.AddRange((await reads[i]).Select(v => (string)v!).Order(StringComparer.Ordinal));
        }
        return vpcs;
    }

    public async Task<NetworkDeleteResult> DeleteVpcAsync(Versioned<Vpc> stored)
    {
        var vpc = stored.Value;
        var (result, notEmpty) = await RecordScripts.DeleteLinkedAsync(redis,
            new LinkedDelete(CatalogKeys.Vpc(vpc.VpcId), CatalogKeys.Vpcs(vpc.OwnerAccountId, vpc.RegionId), vpc.VpcId, stored.Version)
            {
                MustBeEmpty = [CatalogKeys.VpcVSwitches(vpc.VpcId), CatalogKeys.VpcSecurityGroups(vpc.VpcId)],
            });
        return result switch
        {
            DeleteResult.Deleted => NetworkDeleteResult.Deleted,
            DeleteResult.InUse => notEmpty == 1 ? NetworkDeleteResult.HasVSwitches : NetworkDeleteResult.HasSecurityGroups,
            _ => NetworkDeleteResult.Conflict,
        };
    }

    // ---- vSwitches ----

    /// <summary>
    /// Creates a vSwitch if its VPC is still at the version read (so the blocks of the VPC's vSwitches, checked against the
    /// new one's, are those of that version) and has room; the VPC's version moves on.
    /// </summary>
    public Task<(CreateResult Result, string Detail)> CreateVSwitchAsync(VSwitch vswitch, long vpcVersion, ClientToken token) =>
        RecordScripts.CreateLinkedAsync(redis, new LinkedCreate(CatalogKeys.VSwitch(vswitch.VswitchId),
            CatalogKeys.VSwitches(vswitch.OwnerAccountId, vswitch.RegionId), CatalogKeys.ClientToken(vswitch.OwnerAccountId, "vsw", token.Token),
            vswitch.VswitchId, Score(vswitch.CreateTime), token, [new("d", Stored(vswitch))])
        {
            Guards = [(CatalogKeys.Vpc(vswitch.VpcId), vpcVersion)],
            Limit = (CatalogKeys.VpcVSwitches(vswitch.VpcId), MaxVSwitchesPerVpc),
            Joins = [CatalogKeys.VpcVSwitches(vswitch.VpcId)],
        });

    public async Task<Versioned<VSwitch>?> GetVSwitchAsync(string vswitchId) => (await GetVSwitchesAsync([vswitchId]))[0];

    /// <summary>vSwitches by id, null where missing, with their free addresses counted (one pipelined round trip).</summary>
    public async Task<IReadOnlyList<Versioned<VSwitch>?>> GetVSwitchesAsync(IReadOnlyList<string> vswitchIds)
    {
        var batch = redis.CreateBatch();
        var reads = vswitchIds.Select(id => (Record: batch.HashGetAsync(CatalogKeys.VSwitch(id), ["d", "v"]), Used: batch.HashLengthAsync(CatalogKeys.VSwitchAddresses(id)))).ToList();
        batch.Execute();
        var found = new List<Versioned<VSwitch>?>(reads.Count);
        foreach (var (record, used) in reads)
        {
            var values = await record;
            if (!values[0].HasValue)
            {
                found.Add(null);
                continue;
            }
            var vswitch = VSwitch.Parser.ParseFrom((byte[])values[0]!);
            vswitch.AvailableIpAddressCount = Math.Max(0, UsableAddresses(vswitch.CidrBlock) - await used);
            found.Add(new Versioned<VSwitch>(vswitch, (long)values[1]));
        }
        return found;
    }

    /// <summary>Every vSwitch of the owner in the region (at most 10 VPCs of 150), newest first.</summary>
    public async Task<IReadOnlyList<VSwitch>> ListVSwitchesAsync(string owner, string region)
    {
        var ids = await IndexPages.ReadAllIdsAsync(redis, CatalogKeys.VSwitches(owner, region));
        return (await GetVSwitchesAsync(ids)).OfType<Versioned<VSwitch>>().Select(v => v.Value).ToList();
    }

    /// <summary>The private addresses the vSwitch's instances hold.</summary>
    public async Task<IReadOnlyList<string>> UsedAddressesAsync(string addressesKey) =>
        (await redis.HashKeysAsync(addressesKey)).Select(k => (string)k!).ToList();

    public async Task<NetworkDeleteResult> DeleteVSwitchAsync(Versioned<VSwitch> stored)
    {
        var vswitch = stored.Value;
        var (result, _) = await RecordScripts.DeleteLinkedAsync(redis,
            new LinkedDelete(CatalogKeys.VSwitch(vswitch.VswitchId), CatalogKeys.VSwitches(vswitch.OwnerAccountId, vswitch.RegionId), vswitch.VswitchId, stored.Version)
            {
                MustBeEmpty = [CatalogKeys.VSwitchAddresses(vswitch.VswitchId)],
                Leave = [(CatalogKeys.VpcVSwitches(vswitch.VpcId), vswitch.VswitchId)],
            });
        return result switch
        {
            DeleteResult.Deleted => NetworkDeleteResult.Deleted,
            DeleteResult.InUse => NetworkDeleteResult.HasInstances,
            _ => NetworkDeleteResult.Conflict,
        };
    }

    /// <summary>How many addresses of a vSwitch's block instances can have: all but the first and the last three.</summary>
    public static long UsableAddresses(string cidrBlock) =>
        Domain.Cidr.Parse(cidrBlock) is { } cidr ? Math.Max(0, cidr.Size - 4) : 0;

    // ---- security groups ----

    public Task<(CreateResult Result, string Detail)> CreateSecurityGroupAsync(SecurityGroup group, ClientToken token) =>
        RecordScripts.CreateLinkedAsync(redis, new LinkedCreate(CatalogKeys.SecurityGroup(group.SecurityGroupId),
            CatalogKeys.SecurityGroups(group.OwnerAccountId, group.RegionId), CatalogKeys.ClientToken(group.OwnerAccountId, "sg", token.Token),
            group.SecurityGroupId, Score(group.CreateTime), token, [new("d", Stored(group))])
        {
            MustExist = group.VpcId.Length > 0 ? [CatalogKeys.Vpc(group.VpcId)] : [],
            Limit = (CatalogKeys.SecurityGroups(group.OwnerAccountId, group.RegionId), MaxSecurityGroups),
            Joins = group.VpcId.Length > 0 ? [CatalogKeys.VpcSecurityGroups(group.VpcId)] : [],
        });

    public async Task<Versioned<SecurityGroup>?> GetSecurityGroupAsync(string groupId) => (await GetSecurityGroupsAsync([groupId]))[0];

    /// <summary>Security groups by id, null where missing, with their instances counted (one pipelined round trip).</summary>
    public async Task<IReadOnlyList<Versioned<SecurityGroup>?>> GetSecurityGroupsAsync(IReadOnlyList<string> groupIds)
    {
        var batch = redis.CreateBatch();
        var reads = groupIds.Select(id => (Record: batch.HashGetAsync(CatalogKeys.SecurityGroup(id), ["d", "v"]), Members: batch.SetLengthAsync(CatalogKeys.SecurityGroupInstances(id)))).ToList();
        batch.Execute();
        var found = new List<Versioned<SecurityGroup>?>(reads.Count);
        foreach (var (record, members) in reads)
        {
            var values = await record;
            if (!values[0].HasValue)
            {
                found.Add(null);
                continue;
            }
            var group = SecurityGroup.Parser.ParseFrom((byte[])values[0]!);
            group.InstanceCount = (int)await members;
            found.Add(new Versioned<SecurityGroup>(group, (long)values[1]));
        }
        return found;
    }

    /// <summary>Every security group of the owner in the region (at most <see cref="MaxSecurityGroups"/>), newest first.</summary>
    public async Task<IReadOnlyList<SecurityGroup>> ListSecurityGroupsAsync(string owner, string region)
    {
        var ids = await IndexPages.ReadAllIdsAsync(redis, CatalogKeys.SecurityGroups(owner, region));
        return (await GetSecurityGroupsAsync(ids)).OfType<Versioned<SecurityGroup>>().Select(v => v.Value).ToList();
    }

    /// <summary>Saves a group's rules if it is unchanged since read.</summary>
    public async Task<bool> SaveSecurityGroupAsync(Versioned<SecurityGroup> stored, SecurityGroup updated) =>
        await RecordScripts.SaveAsync(redis, null, new RecordWrite(CatalogKeys.SecurityGroup(updated.SecurityGroupId), stored.Version,
            [new("d", Stored(updated))])) == SaveResult.Saved;

    public async Task<NetworkDeleteResult> DeleteSecurityGroupAsync(Versioned<SecurityGroup> stored)
    {
        var group = stored.Value;
        var (result, _) = await RecordScripts.DeleteLinkedAsync(redis,
            new LinkedDelete(CatalogKeys.SecurityGroup(group.SecurityGroupId), CatalogKeys.SecurityGroups(group.OwnerAccountId, group.RegionId),
                group.SecurityGroupId, stored.Version)
            {
                MustBeEmpty = [CatalogKeys.SecurityGroupInstances(group.SecurityGroupId)],
                Leave = group.VpcId.Length > 0 ? [(CatalogKeys.VpcSecurityGroups(group.VpcId), group.SecurityGroupId)] : [],
            });
        return result switch
        {
            DeleteResult.Deleted => NetworkDeleteResult.Deleted,
            DeleteResult.InUse => NetworkDeleteResult.HasInstances,
            _ => NetworkDeleteResult.Conflict,
        };
    }

    private static byte[] Stored(Vpc vpc)
    {
        var copy = vpc.Clone();
        copy.VswitchIds.Clear();
        return copy.ToByteArray();
    }

    private static byte[] Stored(VSwitch vswitch)
    {
        var copy = vswitch.Clone();
        copy.AvailableIpAddressCount = 0;
        return copy.ToByteArray();
    }

    private static byte[] Stored(SecurityGroup group)
    {
        var copy = group.Clone();
        copy.InstanceCount = 0;
        return copy.ToByteArray();
    }
}
