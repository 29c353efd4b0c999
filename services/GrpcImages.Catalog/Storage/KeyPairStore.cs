using Google.Protobuf;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.ServiceDefaults.Storage;
using StackExchange.Redis;
using static GrpcImages.Catalog.Storage.Records;

namespace GrpcImages.Catalog.Storage;

/// <summary>What deleting key pairs did.</summary>
public enum KeyPairDeleteResult
{
    Deleted = 1,
    /// <summary>One of them is attached to an instance: none was deleted.</summary>
    Attached = 2,
}

/// <summary>
/// Key pairs (keys in <see cref="CatalogKeys"/>): their records by name (<c>kp:</c>), each owner's index of names
/// (<c>kps:</c>) and the instances each is attached to (<c>kpinst:</c>, changed in the instance's own scripts by
/// <see cref="InstanceStore"/>). Records hold no view fields (the instances are filled on read).
/// </summary>
public sealed class KeyPairStore(IDatabase redis)
{
    /// <summary>Key pairs an account may have per region.</summary>
    public const int MaxKeyPairs = 500;

    // KEYS: the pairs' records, then their instance sets, then the owner's index. ARGV: the names.
    // Returns {KeyPairDeleteResult, the attached pair's name}; names without a record are skipped.
    private const string DeleteScript = """
        local n = #ARGV
        for i = 1, n do
          if redis.call('EXISTS', KEYS[n + i]) == 1 then return {2, ARGV[i]} end
        end
        for i = 1, n do
          redis.call('DEL', KEYS[i])
          redis.call('ZREM', KEYS[2 * n + 1], ARGV[i])
        end
        return {1, ''}
        """;

    /// <summary>Creates a pair unless the owner has one of that name (DuplicateName) or as many as it may (QuotaExceeded).</summary>
    public Task<(CreateResult Result, string Detail)> CreateAsync(KeyPair pair) =>
        RecordScripts.CreateLinkedAsync(redis, new LinkedCreate(
            CatalogKeys.KeyPair(pair.OwnerAccountId, pair.RegionId, pair.KeyPairName), CatalogKeys.KeyPairs(pair.OwnerAccountId, pair.RegionId),
            CatalogKeys.ClientToken(pair.OwnerAccountId, "kp", ""), pair.KeyPairName, Score(pair.CreateTime), ClientToken.None, [new("d", Stored(pair))])
        {
            Limit = (CatalogKeys.KeyPairs(pair.OwnerAccountId, pair.RegionId), MaxKeyPairs),
        });

    public async Task<Versioned<KeyPair>?> GetAsync(string owner, string region, string name) => (await GetManyAsync(owner, region, [name]))[0];

    /// <summary>Pairs by name, null where missing, with their instances (one pipelined round trip).</summary>
    public Task<IReadOnlyList<Versioned<KeyPair>?>> GetManyAsync(string owner, string region, IReadOnlyList<string> names) =>
        VersionedRecords.ReadAsync(redis, names, name => CatalogKeys.KeyPair(owner, region, name),
            (batch, name) => batch.SetMembersAsync(CatalogKeys.KeyPairInstances(owner, region, name)),
            KeyPair.Parser, (pair, instances) => pair.InstanceIds.AddRange(VersionedRecords.Sorted(instances)));

    /// <summary>Every pair of the owner in the region (at most <see cref="MaxKeyPairs"/>), newest first.</summary>
    public async Task<IReadOnlyList<KeyPair>> ListAsync(string owner, string region)
    {
        var names = await IndexPages.ReadAllIdsAsync(redis, CatalogKeys.KeyPairs(owner, region));
        return (await GetManyAsync(owner, region, names)).OfType<Versioned<KeyPair>>().Select(v => v.Value).ToList();
    }

    /// <summary>Deletes the named pairs of the owner, or none when one is attached (with its name).</summary>
    public async Task<(KeyPairDeleteResult Result, string Attached)> DeleteAsync(string owner, string region, IReadOnlyList<string> names)
    {
        var keys = names.Select(n => (RedisKey)CatalogKeys.KeyPair(owner, region, n))
            .Concat(names.Select(n => (RedisKey)CatalogKeys.KeyPairInstances(owner, region, n)))
            .Append(CatalogKeys.KeyPairs(owner, region)).ToArray();
        var result = (RedisResult[])(await redis.ScriptEvaluateAsync(DeleteScript, keys, names.Select(n => (RedisValue)n).ToArray()))!;
        return (Map<KeyPairDeleteResult>(result[0]), (string)result[1]!);
    }

    private static byte[] Stored(KeyPair pair)
    {
        var copy = pair.Clone();
        copy.InstanceIds.Clear();
        return copy.ToByteArray();
    }
}
