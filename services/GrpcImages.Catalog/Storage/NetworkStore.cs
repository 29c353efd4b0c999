using Google.Protobuf;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.ServiceDefaults.Storage;
using StackExchange.Redis;
using static GrpcImages.Catalog.Storage.Records;

namespace GrpcImages.Catalog.Storage;

/// <summary>A record with the version it was read at.</summary>
public sealed record Versioned<T>(T Value, long Version);

/// <summary>Reads records kept as a hash of "d" (the message) and "v" (its version).</summary>
internal static class VersionedRecords
{
    /// <summary>
    /// Records by key, null where missing, each filled with one more read of its own (its members, a count), all in
    /// one pipelined round trip.
    /// </summary>
    public static async Task<IReadOnlyList<Versioned<T>?>> ReadAsync<T, TSide>(IDatabase redis, IReadOnlyList<string> ids, Func<string, string> recordKey,
        Func<IBatch, string, Task<TSide>> sideRead, MessageParser<T> parser, Action<T, TSide> fill)
        where T : IMessage<T>
    {
        var batch = redis.CreateBatch();
        var reads = ids.Select(id => (Record: batch.HashGetAsync(recordKey(id), ["d", "v"]), Side: sideRead(batch, id))).ToList();
        batch.Execute();
        var found = new List<Versioned<T>?>(reads.Count);
        foreach (var (record, side) in reads)
        {
            var values = await record;
            if (!values[0].HasValue)
            {
                found.Add(null);
                continue;
            }
            var value = parser.ParseFrom((byte[])values[0]!);
            fill(value, await side);
            found.Add(new Versioned<T>(value, (long)values[1]));
        }
        return found;
    }

    public static IEnumerable<string> Sorted(RedisValue[] members) => members.Select(v => (string)v!).Order(StringComparer.Ordinal);
}

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

    public async Task<Versioned<Vpc>?> GetVpcAsync(string vpcId) =>
        (await VersionedRecords.ReadAsync(redis, [vpcId], CatalogKeys.Vpc, (batch, id) => batch.SetMembersAsync(CatalogKeys.VpcVSwitches(id)),
            Vpc.Parser, (vpc, vswitches) => vpc.VswitchIds.AddRange(VersionedRecords.Sorted(vswitches))))[0];

    /// <summary>Every VPC of the owner in the region (at most <see cref="MaxVpcs"/>), newest first.</summary>
    public async Task<IReadOnlyList<Vpc>> ListVpcsAsync(string owner, string region)
    {
        var vpcs = (await IndexPages.ReadAllAsync(redis, CatalogKeys.Vpcs(owner, region), CatalogKeys.VpcRecordPrefix(owner))).Select(Vpc.Parser.ParseFrom).ToList();
        var batch = redis.CreateBatch();
        var reads = vpcs.Select(v => batch.SetMembersAsync(CatalogKeys.VpcVSwitches(v.VpcId))).ToList();
        batch.Execute();
        for (var i = 0; i < vpcs.Count; i++)
        {
            vpcs[i].VswitchIds.AddRange(VersionedRecords.Sorted(await reads[i]));
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
    public Task<IReadOnlyList<Versioned<VSwitch>?>> GetVSwitchesAsync(IReadOnlyList<string> vswitchIds) =>
        VersionedRecords.ReadAsync(redis, vswitchIds, CatalogKeys.VSwitch, (batch, id) => batch.HashLengthAsync(CatalogKeys.VSwitchAddresses(id)),
            VSwitch.Parser, (vswitch, used) => vswitch.AvailableIpAddressCount = Math.Max(0, UsableAddresses(vswitch.CidrBlock) - used));

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
    public Task<IReadOnlyList<Versioned<SecurityGroup>?>> GetSecurityGroupsAsync(IReadOnlyList<string> groupIds) =>
        VersionedRecords.ReadAsync(redis, groupIds, CatalogKeys.SecurityGroup, (batch, id) => batch.SetLengthAsync(CatalogKeys.SecurityGroupInstances(id)),
            SecurityGroup.Parser, (group, members) => group.InstanceCount = (int)members);

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
