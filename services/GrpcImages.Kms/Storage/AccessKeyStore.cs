using Google.Protobuf;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.ServiceDefaults.Storage;
using StackExchange.Redis;

namespace GrpcImages.Kms.Storage;

/// <summary>What the create script did (numbers it returns).</summary>
public enum AccessKeyCreate
{
    LimitReached = 0,
    Created = 1,
    PrincipalGone = 2,
}

/// <summary>A stored pair: its record and its secret sealed by the KMS root key.</summary>
public sealed record StoredAccessKey(AccessKey Key, byte[] SealedSecret);

/// <summary>AccessKey pairs in Redis (key layout: <see cref="KmsKeys"/>), all under the {dir} tag with the principals they belong to.</summary>
public sealed class AccessKeyStore(IDatabase redis)
{
    // KEYS: record, the principal's index, the principal's own record (account or RAM user). ARGV: record bytes,
    // sealed secret, id, ms, limit. 1 = created, 0 = the principal has its limit, 2 = the principal is gone
    // (checked here, with the user's deletion taking its keys in one script, so no key outlives its user).
    private const string CreateScript = """
        if redis.call('EXISTS', KEYS[3]) == 0 then return 2 end
        if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[5]) then return 0 end
        redis.call('HSET', KEYS[1], 'd', ARGV[1], 's', ARGV[2])
        redis.call('ZADD', KEYS[2], ARGV[4], ARGV[3])
        return 1
        """;

    // KEYS: record. ARGV: record bytes. Replaces the record only while it exists (a delete wins).
    private const string ReplaceScript = """
        if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
        redis.call('HSET', KEYS[1], 'd', ARGV[1])
        return 1
        """;

    public async Task<AccessKeyCreate> CreateAsync(AccessKey key, byte[] sealedSecret, int limit) =>
        ScriptResults.Map<AccessKeyCreate>((int)await redis.ScriptEvaluateAsync(CreateScript,
            [
                KmsKeys.AccessKey(key.AccessKeyId), KmsKeys.AccessKeys(key.AccountId, key.UserName),
                key.UserName.Length > 0 ? KmsKeys.RamUser(key.AccountId, key.UserName) : KmsKeys.Account(key.AccountId),
            ],
            [key.ToByteArray(), sealedSecret, key.AccessKeyId, key.CreateTime.ToDateTimeOffset().ToUnixTimeMilliseconds(), limit]));

    public async Task<StoredAccessKey?> FindAsync(string accessKeyId)
    {
        var values = await redis.HashGetAsync(KmsKeys.AccessKey(accessKeyId), ["d", "s"]);
        return values[0].HasValue && values[1].HasValue
            ? new StoredAccessKey(AccessKey.Parser.ParseFrom((byte[])values[0]!), (byte[])values[1]!)
            : null;
    }

    public async Task<IReadOnlyList<AccessKey>> ListAsync(string accountId, string userName)
    {
        var ids = await redis.SortedSetRangeByRankAsync(KmsKeys.AccessKeys(accountId, userName));
        var batch = redis.CreateBatch();
        var reads = ids.Select(id => batch.HashGetAsync(KmsKeys.AccessKey(id!), "d")).ToList();
        batch.Execute();
        var keys = new List<AccessKey>(reads.Count);
        foreach (var read in reads)
        {
            if (await read is { HasValue: true } d)
            {
                keys.Add(AccessKey.Parser.ParseFrom((byte[])d!));
            }
        }
        return keys;
    }

    public async Task<bool> ReplaceAsync(AccessKey key) =>
        (int)await redis.ScriptEvaluateAsync(ReplaceScript, [KmsKeys.AccessKey(key.AccessKeyId)], [key.ToByteArray()]) == 1;

    public async Task DeleteAsync(AccessKey key)
    {
        var tx = redis.CreateTransaction();
        _ = tx.KeyDeleteAsync(KmsKeys.AccessKey(key.AccessKeyId));
        _ = tx.SortedSetRemoveAsync(KmsKeys.AccessKeys(key.AccountId, key.UserName), key.AccessKeyId);
        await tx.ExecuteAsync();
    }

    /// <summary>Uses a sign-in nonce of the pair; false when it was used before.</summary>
    public Task<bool> TakeSignInNonceAsync(string accessKeyId, string nonce, TimeSpan remembered) =>
        redis.StringSetAsync(KmsKeys.SignInNonce(accessKeyId, nonce), 1, remembered, When.NotExists);

    /// <summary>Failed sign-ins with the pair in this minute and the one before (a window that does not reset at a minute's turn).</summary>
    public async Task<long> SignInFailuresAsync(string accessKeyId, long minute)
    {
        var counts = await redis.StringGetAsync([KmsKeys.SignInFailures(accessKeyId, minute), KmsKeys.SignInFailures(accessKeyId, minute - 1)]);
        return counts.Sum(c => (long?)c ?? 0);
    }

    public async Task CountSignInFailureAsync(string accessKeyId, long minute)
    {
        var key = KmsKeys.SignInFailures(accessKeyId, minute);
        var tx = redis.CreateTransaction();
        _ = tx.StringIncrementAsync(key);
        _ = tx.KeyExpireAsync(key, TimeSpan.FromMinutes(2));
        await tx.ExecuteAsync();
    }
}
