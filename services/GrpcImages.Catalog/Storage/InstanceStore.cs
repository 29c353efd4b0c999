using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.ServiceDefaults.Storage;
using StackExchange.Redis;
using static GrpcImages.Catalog.Storage.Records;

namespace GrpcImages.Catalog.Storage;

/// <summary>An instance with the manifest of each of its disks (disk id -> manifest id).</summary>
public sealed record StoredInstance(Instance Instance, IReadOnlyDictionary<string, string> Manifests, long Version);

/// <summary>
/// Instances (keys in <see cref="CatalogKeys"/>): their records (<c>inst:</c>, with a manifest field per
/// disk), each owner's index (<c>insts:</c>) and the disk index (<c>disk:</c>, disk -> instance), which
/// every change of an instance's disks updates in the same script.
/// </summary>
public sealed class InstanceStore(IDatabase redis)
{
    // KEYS: instance, new disk's index entry, old disk's. ARGV: version read, instance id, old manifest field, field/value pairs.
    private const string ReplaceDiskScript = """
        if redis.call('HGET', KEYS[1], 'v') ~= ARGV[1] then return 0 end
        redis.call('HDEL', KEYS[1], ARGV[3])
        redis.call('HSET', KEYS[1], 'v', tonumber(ARGV[1]) + 1, unpack(ARGV, 4))
        redis.call('SET', KEYS[2], ARGV[2])
        redis.call('DEL', KEYS[3])
        return 1
        """;

    public async Task<StoredInstance?> GetInstanceAsync(string instanceId)
    {
        var entries = await redis.HashGetAllAsync(CatalogKeys.Instance(instanceId));
        if (entries.Length == 0)
        {
            return null;
        }
        var map = entries.ToDictionary(e => (string)e.Name!, e => e.Value);
        var manifests = map.Where(e => e.Key.StartsWith(CatalogKeys.DiskManifestPrefix, StringComparison.Ordinal))
            .ToDictionary(e => e.Key[2..], e => (string)e.Value!);
        return new StoredInstance(Instance.Parser.ParseFrom((byte[])map["d"]!), manifests, (long)map["v"]);
    }

    public async Task<string?> FindInstanceOfDiskAsync(string diskId) =>
        await redis.StringGetAsync(CatalogKeys.Disk(diskId)) is { HasValue: true } v ? (string)v! : null;

    /// <summary>Which of the instances still exist (one pipelined round trip).</summary>
    public async Task<IReadOnlyList<string>> ExistingInstancesAsync(IReadOnlyList<string> instanceIds)
    {
        var batch = redis.CreateBatch();
        var checks = instanceIds.Select(id => (id, exists: batch.KeyExistsAsync(CatalogKeys.Instance(id)))).ToList();
        batch.Execute();
        var existing = new List<string>();
        foreach (var (id, exists) in checks)
        {
            if (await exists)
            {
                existing.Add(id);
            }
        }
        return existing;
    }

    /// <summary>A page of an owner's instances, newest first, after skipping <paramref name="skip"/>; the total is the index's size.</summary>
    public Task<StoredPage> ListInstancesAsync(string owner, string region, string position, int skip, int limit) =>
        IndexPages.ListAsync(redis, CatalogKeys.Instances(owner, region), CatalogKeys.InstanceRecordPrefix(owner), position, skip, limit);

    /// <summary>
    /// Creates an instance with its links, in one script: its vSwitch, groups and key pair must still exist (LinkMissing names
    /// which, in the order <see cref="LinksOf"/> lists them), its private address must still be free (ClaimTaken), and it
    /// joins its groups' and key pair's sets.
    /// </summary>
    public Task<(CreateResult Result, string Detail)> CreateInstanceAsync(StoredInstance instance, ClientToken token)
    {
        var i = instance.Instance;
        return RecordScripts.CreateLinkedAsync(redis, new LinkedCreate(CatalogKeys.Instance(i.InstanceId), CatalogKeys.Instances(i.OwnerAccountId, i.RegionId),
            CatalogKeys.ClientToken(i.OwnerAccountId, "inst", token.Token), i.InstanceId, Score(i.CreateTime), token, Fields(i, instance.Manifests))
        {
            AbandonedKey = CatalogKeys.Abandoned(i.InstanceId),
            MustExist = LinksOf(i),
            Joins = SetsOf(i),
            Claims = i.PrivateIpAddress.Length > 0 ? [(AddressesOf(i), i.PrivateIpAddress)] : [],
            Strings = instance.Manifests.Keys.Select(CatalogKeys.Disk).ToList(),
        });
    }

    /// <summary>The records an instance links to: its vSwitch, its security groups, its key pair.</summary>
    public static IReadOnlyList<string> LinksOf(Instance instance)
    {
        var links = new List<string>();
        if (instance.VswitchId.Length > 0)
        {
            links.Add(CatalogKeys.VSwitch(instance.VswitchId));
        }
        links.AddRange(instance.SecurityGroupIds.Select(CatalogKeys.SecurityGroup));
        if (instance.KeyPairName.Length > 0)
        {
            links.Add(CatalogKeys.KeyPair(instance.OwnerAccountId, instance.RegionId, instance.KeyPairName));
        }
        return links;
    }

    /// <summary>The sets an instance is a member of: its security groups' and its key pair's.</summary>
    private static List<string> SetsOf(Instance instance)
    {
        var sets = instance.SecurityGroupIds.Select(CatalogKeys.SecurityGroupInstances).ToList();
        if (instance.KeyPairName.Length > 0)
        {
            sets.Add(CatalogKeys.KeyPairInstances(instance.OwnerAccountId, instance.RegionId, instance.KeyPairName));
        }
        return sets;
    }

    /// <summary>Where an instance's private address is held: its vSwitch's addresses, or the owner's classic-network ones.</summary>
    public static string AddressesOf(Instance instance) =>
        instance.VswitchId.Length > 0 ? CatalogKeys.VSwitchAddresses(instance.VswitchId) : CatalogKeys.ClassicAddresses(instance.OwnerAccountId, instance.RegionId);

    /// <summary>The private addresses held in an address space (a vSwitch's, or an owner's classic one).</summary>
    public async Task<IReadOnlySet<string>> UsedAddressesAsync(string addressesKey) =>
        (await redis.HashKeysAsync(addressesKey)).Select(k => (string)k!).ToHashSet(StringComparer.Ordinal);

    /// <summary>
    /// Saves instances changed together with their key pair (AttachKeyPair, DetachKeyPair): each leaves the set of the pair it
    /// had and joins the set of the pair it has now, in one script, if no instance changed since read and the pair
    /// <paramref name="mustExist"/> (when attaching) still exists.
    /// </summary>
    public async Task<bool> SaveKeyPairChangeAsync(IReadOnlyList<(StoredInstance Stored, Instance Updated)> changes, string? mustExist)
    {
        var leave = changes.Where(c => c.Stored.Instance.KeyPairName.Length > 0)
            .Select(c => (CatalogKeys.KeyPairInstances(c.Stored.Instance.OwnerAccountId, c.Stored.Instance.RegionId, c.Stored.Instance.KeyPairName), c.Stored.Instance.InstanceId))
            .ToList();
        var join = changes.Where(c => c.Updated.KeyPairName.Length > 0)
            .Select(c => (CatalogKeys.KeyPairInstances(c.Updated.OwnerAccountId, c.Updated.RegionId, c.Updated.KeyPairName), c.Updated.InstanceId))
            .ToList();
        return await RecordScripts.SaveLinkedAsync(redis,
            changes.Select(c => new RecordWrite(CatalogKeys.Instance(c.Updated.InstanceId), c.Stored.Version, [new("d", Bytes(c.Updated))])).ToList(),
            mustExist is null ? [] : [mustExist], leave, join) == SaveResult.Saved;
    }

    /// <summary>Saves a changed instance if unchanged since read; <paramref name="manifests"/> sets disks' content, <paramref name="removedDisks"/> drops disks.</summary>
    public async Task<bool> SaveInstanceAsync(StoredInstance stored, Instance updated, IReadOnlyDictionary<string, string>? manifests = null,
        IReadOnlyList<string>? removedDisks = null) =>
        await RecordScripts.SaveAsync(redis, null, new RecordWrite(CatalogKeys.Instance(updated.InstanceId), stored.Version,
            Fields(updated, manifests ?? new Dictionary<string, string>()), removedDisks?.Select(CatalogKeys.DiskManifestField).ToList())) == SaveResult.Saved;

    /// <summary>
    /// An instance with a new system disk (R28's ReplaceSystemDisk), if unchanged since read: its record, the new disk's
    /// manifest and the disk index (the new disk found by id, the old one no more), in one script.
    /// </summary>
    public async Task<bool> SaveReplacedSystemDiskAsync(StoredInstance stored, Instance updated, string manifestId, string oldDiskId)
    {
        var args = new List<RedisValue>
        {
            stored.Version, updated.InstanceId, CatalogKeys.DiskManifestField(oldDiskId),
            "d", Bytes(updated), "s", (int)updated.Status, CatalogKeys.DiskManifestField(updated.SystemDisk.DiskId), manifestId,
        };
        return (int)await redis.ScriptEvaluateAsync(ReplaceDiskScript,
            [CatalogKeys.Instance(updated.InstanceId), CatalogKeys.Disk(updated.SystemDisk.DiskId), CatalogKeys.Disk(oldDiskId)], [.. args]) == 1;
    }

    /// <summary>Deletes an instance and its disks' keys; it lets its private address go and leaves its groups and key pair.</summary>
    public async Task<DeleteResult> DeleteInstanceAsync(StoredInstance stored)
    {
        var i = stored.Instance;
        var leave = SetsOf(i).Select(s => (s, i.InstanceId)).ToList();
        if (i.PrivateIpAddress.Length > 0)
        {
            leave.Add((AddressesOf(i), i.PrivateIpAddress));
        }
        return (await RecordScripts.DeleteLinkedAsync(redis, new LinkedDelete(CatalogKeys.Instance(i.InstanceId), CatalogKeys.Instances(i.OwnerAccountId, i.RegionId),
            i.InstanceId, stored.Version)
        {
            Delete = stored.Manifests.Keys.Select(CatalogKeys.Disk).ToList(),
            Leave = leave,
        })).Result;
    }

    private static List<KeyValuePair<string, RedisValue>> Fields(Instance instance, IReadOnlyDictionary<string, string> manifests)
    {
        var fields = new List<KeyValuePair<string, RedisValue>> { new("d", Bytes(instance)), new("s", (int)instance.Status) };
        fields.AddRange(manifests.Select(m => new KeyValuePair<string, RedisValue>(CatalogKeys.DiskManifestField(m.Key), m.Value)));
        return fields;
    }
}
