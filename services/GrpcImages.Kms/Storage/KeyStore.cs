using Google.Protobuf;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.ServiceDefaults.Storage;
using GrpcImages.ServiceDefaults.Validation;
using StackExchange.Redis;

namespace GrpcImages.Kms.Storage;

public sealed record StoredKey(Key Key, byte[] SealedMaterial, long Version);

/// <summary>KMS enablement, keys and service roles of accounts, under each account's slot tag (key layout: <see cref="KmsKeys"/>).</summary>
public sealed class KeyStore(IDatabase redis)
{
    // KEYS: key, index, default or token key. ARGV: id, record, material, ms, mode ('default' or fingerprint), ttl.
    // Returns {CreateStatus, detail}: TokenUsed with the token's stored value, AlreadyExists with the default key's id.
    private const string CreateScript = ClientTokens.Lua + """

        if ARGV[5] == 'default' then
          local existing = redis.call('GET', KEYS[3])
          if existing then return {3, existing} end
          redis.call('SET', KEYS[3], ARGV[1])
        else
          local prior = prior_token(KEYS[3], ARGV[5])
          if prior then return {2, prior} end
          remember_token(KEYS[3], ARGV[5], ARGV[1], ARGV[6])
        end
        redis.call('HSET', KEYS[1], 'd', ARGV[2], 'm', ARGV[3], 'v', 1)
        redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
        return {1, ''}
        """;

    // KEYS: key. ARGV: version read, record. Returns 1, or 0 when the key changed since it was read.
    private const string SaveScript = """
        if redis.call('HGET', KEYS[1], 'v') ~= ARGV[1] then return 0 end
        redis.call('HSET', KEYS[1], 'd', ARGV[2], 'v', tonumber(ARGV[1]) + 1)
        return 1
        """;

    public Task<bool> EnableAsync(string account, string region) => redis.SetAddAsync(KmsKeys.Enabled(account), region);

    public Task<bool> IsEnabledAsync(string account, string region) => redis.SetContainsAsync(KmsKeys.Enabled(account), region);

    public async Task<StoredKey?> GetAsync(string account, string keyId)
    {
        var values = await redis.HashGetAsync(KmsKeys.Key(account, keyId), ["d", "m", "v"]);
        return values[0].HasValue ? new StoredKey(Key.Parser.ParseFrom((byte[])values[0]!), values[1].HasValue ? (byte[])values[1]! : [], (long)values[2]) : null;
    }

    public async Task<string?> DefaultKeyIdAsync(string account, string region) =>
        await redis.StringGetAsync(KmsKeys.DefaultKey(account, region)) is { HasValue: true } v ? (string)v! : null;

    /// <summary>Creates a key; or finds the client token's stored value, or (for the default service key) the existing key's id.</summary>
    public async Task<(CreateStatus Status, string Detail)> CreateAsync(Key key, byte[] sealedMaterial, ClientToken token)
    {
        var third = key.ServiceKey ? KmsKeys.DefaultKey(key.AccountId, key.RegionId) : KmsKeys.KeyClientToken(key.AccountId, token.Token);
        var result = (RedisResult[])(await redis.ScriptEvaluateAsync(CreateScript,
            [KmsKeys.Key(key.AccountId, key.KeyId), KmsKeys.Keys(key.AccountId, key.RegionId), third],
            [key.KeyId, key.ToByteArray(), sealedMaterial, key.CreateTime.ToDateTimeOffset().ToUnixTimeMilliseconds(),
             key.ServiceKey ? "default" : token.Fingerprint, ClientTokens.LifetimeSeconds]))!;
        return (ScriptResults.Map<CreateStatus>((int)result[0]), (string)result[1]!);
    }

    /// <summary>Saves a key's new state if unchanged since read.</summary>
    public async Task<bool> SaveAsync(StoredKey stored, Key updated) =>
        (int)await redis.ScriptEvaluateAsync(SaveScript, [KmsKeys.Key(updated.AccountId, updated.KeyId)], [stored.Version, updated.ToByteArray()]) == 1;

    /// <summary>Destroys a key and its material: whatever it wrapped cannot be opened any more.</summary>
    public async Task DeleteAsync(Key key)
    {
        var tx = redis.CreateTransaction();
        _ = tx.KeyDeleteAsync(KmsKeys.Key(key.AccountId, key.KeyId));
        _ = tx.SortedSetRemoveAsync(KmsKeys.Keys(key.AccountId, key.RegionId), key.KeyId);
        await tx.ExecuteAsync();
    }

    /// <summary>The value stored under a key's client token ("fingerprint|key id"), or null.</summary>
    public Task<string?> FindClientTokenAsync(string account, ClientToken token) =>
        ClientTokens.FindAsync(redis, token, KmsKeys.KeyClientToken(account, token.Token));

    public async Task<(IReadOnlyList<StoredKey> Keys, string Next)> ListAsync(string account, string region, string after, int limit)
    {
        var start = after.Length == 0 ? 0 : (await redis.SortedSetRankAsync(KmsKeys.Keys(account, region), after) ?? -1) + 1;
        var ids = await redis.SortedSetRangeByRankAsync(KmsKeys.Keys(account, region), start, start + limit);
        var keys = new List<StoredKey>();
        foreach (var id in ids.Take(limit))
        {
            if (await GetAsync(account, (string)id!) is { } key)
            {
                keys.Add(key);
            }
        }
        return (keys, ids.Length > limit ? (string)ids[limit - 1]! : "");
    }

    // ---- service roles ----

    public Task<bool> AddRoleAsync(string account, string role, DateTimeOffset when) =>
        redis.HashSetAsync(KmsKeys.Roles(account), role, when.ToUnixTimeMilliseconds(), When.NotExists);

    public async Task<long?> RoleCreatedAsync(string account, string role) =>
        await redis.HashGetAsync(KmsKeys.Roles(account), role) is { HasValue: true } v ? (long)v : null;

    public async Task<IReadOnlyDictionary<string, long>> RolesAsync(string account) =>
        (await redis.HashGetAllAsync(KmsKeys.Roles(account))).ToDictionary(e => (string)e.Name!, e => (long)e.Value);

    public Task<bool> DeleteRoleAsync(string account, string role) => redis.HashDeleteAsync(KmsKeys.Roles(account), role);
}
