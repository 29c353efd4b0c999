using GrpcImages.ServiceDefaults.Storage;
using GrpcImages.ServiceDefaults.Work;
using StackExchange.Redis;

namespace GrpcImages.Catalog.Storage;

/// <summary>A record to save in one compare-and-set step: its key, the version read, the fields to write and to remove.</summary>
internal sealed record RecordWrite(string Key, long Version, IReadOnlyList<KeyValuePair<string, RedisValue>> Fields, IReadOnlyList<string>? Remove = null);

/// <summary>
/// The scripts images, snapshots and instances share: a versioned create with its client token, a
/// versioned save of one or more records of one owner (fenced for queue workers), a versioned delete.
/// </summary>
internal static class RecordScripts
{
    // KEYS: record, index, client token, abandonment mark, then the string keys to set. ARGV: id, score, fingerprint,
    // token ttl, count of strings, their values, then the record's field/value pairs. Returns {CreateResult, token's stored value}.
    private const string CreateRecordScript = ClientTokens.Lua + """

        if redis.call('EXISTS', KEYS[4]) == 1 then return {6, ''} end
        local prior = prior_token(KEYS[3], ARGV[3], ARGV[1])
        if prior then return {2, prior} end
        local n = tonumber(ARGV[5])
        for i = 1, n do redis.call('SET', KEYS[4 + i], ARGV[5 + i]) end
        redis.call('HSET', KEYS[1], 'v', 1, unpack(ARGV, 6 + n))
        redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
        remember_token(KEYS[3], ARGV[3], ARGV[1], ARGV[4])
        return {1, ''}
        """;

    // KEYS: the records. ARGV: fencing token of a queue worker ('' for others; checked on KEYS[1]), count,
    // then per record: version read, fields to remove (n, names), pairs (n, name/value...). Returns SaveResult.
    private const string SaveScript = Fencing.Lua + """

        local count = tonumber(ARGV[2])
        local a = 3
        local plan = {}
        for k = 1, count do
          if redis.call('HGET', KEYS[k], 'v') ~= ARGV[a] then return 0 end
          local removes = tonumber(ARGV[a + 1])
          local pairs = tonumber(ARGV[a + 2 + removes])
          plan[k] = {a, removes, pairs}
          a = a + 3 + removes + pairs * 2
        end
        if ARGV[1] ~= '' and not fenced(KEYS[1], ARGV[1]) then return 3 end
        for k = 1, count do
          local p = plan[k]
          local base, removes, pairs = p[1], p[2], p[3]
          for i = 1, removes do redis.call('HDEL', KEYS[k], ARGV[base + 1 + i]) end
          local first = base + 3 + removes
          if pairs > 0 then redis.call('HSET', KEYS[k], unpack(ARGV, first, first + pairs * 2 - 1)) end
          redis.call('HSET', KEYS[k], 'v', tonumber(ARGV[base]) + 1)
        end
        return 1
        """;

    // KEYS: record, index, users (a set that must be empty when ARGV[3] is 1), then string keys to delete.
    // ARGV: id, version read, check users (1/0). Returns DeleteResult.
    private const string DeleteRecordScript = """
        if redis.call('HGET', KEYS[1], 'v') ~= ARGV[2] then return 0 end
        if ARGV[3] == '1' and redis.call('SCARD', KEYS[3]) > 0 then return 2 end
        redis.call('DEL', KEYS[1])
        redis.call('ZREM', KEYS[2], ARGV[1])
        for i = 4, #KEYS do redis.call('DEL', KEYS[i]) end
        if ARGV[3] == '1' then redis.call('DEL', KEYS[3]) end
        return 1
        """;

    /// <summary>Saves several records of one owner at once if none changed since read (and, for a worker, it still holds the job).</summary>
    public static async Task<SaveResult> SaveAsync(IDatabase redis, long? fence, params RecordWrite[] writes)
    {
        var args = new List<RedisValue> { fence?.ToString() ?? "", writes.Length };
        foreach (var write in writes)
        {
            args.Add(write.Version);
            args.Add(write.Remove?.Count ?? 0);
            args.AddRange((write.Remove ?? []).Select(r => (RedisValue)r));
            args.Add(write.Fields.Count);
            args.AddRange(Records.Pairs(write.Fields));
        }
        return Records.Map<SaveResult>(await redis.ScriptEvaluateAsync(SaveScript, writes.Select(w => (RedisKey)w.Key).ToArray(), [.. args]));
    }

    /// <summary>Creates a record in its index unless its token was used or its creation given up; <paramref name="strings"/> are set with it.</summary>
    public static async Task<(CreateResult Result, string Detail)> CreateAsync(IDatabase redis, string recordKey, string indexKey, string tokenKey, string id,
        double score, ClientToken token, IReadOnlyList<(string Key, string Value)> strings, IReadOnlyList<KeyValuePair<string, RedisValue>> fields)
    {
        var keys = new List<RedisKey> { recordKey, indexKey, tokenKey, CatalogKeys.Abandoned(id) };
        keys.AddRange(strings.Select(s => (RedisKey)s.Key));
        var args = new List<RedisValue> { id, score, token.Fingerprint, ClientTokens.LifetimeSeconds, strings.Count };
        args.AddRange(strings.Select(s => (RedisValue)s.Value));
        args.AddRange(Records.Pairs(fields));
        return Records.Created(await redis.ScriptEvaluateAsync(CreateRecordScript, [.. keys], [.. args]));
    }

    /// <summary>Deletes a record unchanged since read, with its index entry and <paramref name="strings"/>; with a users set, only while it is empty.</summary>
    public static async Task<DeleteResult> DeleteAsync(IDatabase redis, string recordKey, string indexKey, string id, long version, string? users,
        IEnumerable<string> strings) =>
        Records.Map<DeleteResult>(await redis.ScriptEvaluateAsync(DeleteRecordScript,
            [recordKey, indexKey, users ?? recordKey, .. strings.Select(s => (RedisKey)s)], [id, version, users is null ? "0" : "1"]));
}
