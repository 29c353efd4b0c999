using Google.Protobuf;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.ServiceDefaults.Storage;
using GrpcImages.ServiceDefaults.Validation;
using StackExchange.Redis;

namespace GrpcImages.Kms.Storage;

public sealed record StoredKey(Key Key, byte[] SealedMaterial, long Version);

/// <summary>
/// KMS enablement, keys and service roles of accounts, under each account's slot tag {t}.
/// <code>
/// - gi:kms:{t}:enabled:&lt;account&gt;                 set    regions where KMS is enabled
/// - gi:kms:{t}:key:&lt;account&gt;:&lt;key&gt;              hash   d=Key, m=material sealed by the root key, v=version
/// - gi:kms:{t}:keys:&lt;account&gt;:&lt;region&gt;          zset   key ids by creation time
/// - gi:kms:{t}:default:&lt;account&gt;:&lt;region&gt;       string the default service key's id (alias/acs/ecs)
/// - gi:kms:{t}:roles:&lt;account&gt;                   hash   service role name -> ms created
/// - gi:kms:{t}:ct:&lt;account&gt;:key:&lt;token&gt;         string "fingerprint|key id" for 24 h (R35)
/// - gi:kms:{q:key-deletions}:*                  queue  "account|key", due when the key's pending deletion ends (WorkQueue)
/// </code>
/// </summary>
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

    public const string Root = "gi:kms:";

    private static string P(string account) => $"gi:kms:{{{ResourceIds.OwnerTag(account)}}}:";

    private static string KeyKey(string account, string keyId) => $"{P(account)}key:{account}:{keyId}";

    private static string Index(string account, string region) => $"{P(account)}keys:{account}:{region}";

    private static string DefaultKey(string account, string region) => $"{P(account)}default:{account}:{region}";

    private static string Roles(string account) => $"{P(account)}roles:{account}";

    private static string TokenKey(string account, string token) => $"{P(account)}ct:{account}:key:{token}";

    public Task<bool> EnableAsync(string account, string region) => redis.SetAddAsync($"{P(account)}enabled:{account}", region);

    public Task<bool> IsEnabledAsync(string account, string region) => redis.SetContainsAsync($"{P(account)}enabled:{account}", region);

    public async Task<StoredKey?> GetAsync(string account, string keyId)
    {
        var values = await redis.HashGetAsync(KeyKey(account, keyId), ["d", "m", "v"]);
        return values[0].HasValue ? new StoredKey(Key.Parser.ParseFrom((byte[])values[0]!), values[1].HasValue ? (byte[])values[1]! : [], (long)values[2]) : null;
    }

    public async Task<string?> DefaultKeyIdAsync(string account, string region) =>
        await redis.StringGetAsync(DefaultKey(account, region)) is { HasValue: true } v ? (string)v! : null;

    /// <summary>Creates a key; or finds the client token's stored value, or (for the default service key) the existing key's id.</summary>
    public async Task<(CreateStatus Status, string Detail)> CreateAsync(Key key, byte[] sealedMaterial, ClientToken token)
    {
        var third = key.ServiceKey ? DefaultKey(key.AccountId, key.RegionId) : TokenKey(key.AccountId, token.Token);
        var result = (RedisResult[])(await redis.ScriptEvaluateAsync(CreateScript,
            [KeyKey(key.AccountId, key.KeyId), Index(key.AccountId, key.RegionId), third],
            [key.KeyId, key.ToByteArray(), sealedMaterial, key.CreateTime.ToDateTimeOffset().ToUnixTimeMilliseconds(),
             key.ServiceKey ? "default" : token.Fingerprint, ClientTokens.LifetimeSeconds]))!;
        return (ScriptResults.Map<CreateStatus>((int)result[0]), (string)result[1]!);
    }

    /// <summary>Saves a key's new state if unchanged since read.</summary>
    public async Task<bool> SaveAsync(StoredKey stored, Key updated) =>
        (int)await redis.ScriptEvaluateAsync(SaveScript, [KeyKey(updated.AccountId, updated.KeyId)], [stored.Version, updated.ToByteArray()]) == 1;

    /// <summary>Destroys a key and its material: whatever it wrapped cannot be opened any more.</summary>
    public async Task DeleteAsync(Key key)
    {
        var tx = redis.CreateTransaction();
        _ = tx.KeyDeleteAsync(KeyKey(key.AccountId, key.KeyId));
        _ = tx.SortedSetRemoveAsync(Index(key.AccountId, key.RegionId), key.KeyId);
        await tx.ExecuteAsync();
    }

    public async Task<RedisValue> FindClientTokenAsync(string account, ClientToken token) =>
        token.IsSet ? await redis.StringGetAsync(TokenKey(account, token.Token)) : RedisValue.Null;

    public async Task<(IReadOnlyList<StoredKey> Keys, string Next)> ListAsync(string account, string region, string after, int limit)
    {
        var start = after.Length == 0 ? 0 : (await redis.SortedSetRankAsync(Index(account, region), after) ?? -1) + 1;
        var ids = await redis.SortedSetRangeByRankAsync(Index(account, region), start, start + limit);
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
        redis.HashSetAsync(Roles(account), role, when.ToUnixTimeMilliseconds(), When.NotExists);

    public async Task<long?> RoleCreatedAsync(string account, string role) =>
        await redis.HashGetAsync(Roles(account), role) is { HasValue: true } v ? (long)v : null;

    public async Task<IReadOnlyDictionary<string, long>> RolesAsync(string account) =>
        (await redis.HashGetAllAsync(Roles(account))).ToDictionary(e => (string)e.Name!, e => (long)e.Value);

    public Task<bool> DeleteRoleAsync(string account, string role) => redis.HashDeleteAsync(Roles(account), role);
}
