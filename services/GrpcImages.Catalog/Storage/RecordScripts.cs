using GrpcImages.ServiceDefaults.Storage;
using GrpcImages.ServiceDefaults.Work;
using StackExchange.Redis;

namespace GrpcImages.Catalog.Storage;

/// <summary>
/// A record to save in one compare-and-set step: its key, the version read, the fields to write and to remove, and the
/// status counts its "s" field is counted in (<see cref="StatusCounts"/>; "" for records that have none).
/// </summary>
internal sealed record RecordWrite(string Key, long Version, IReadOnlyList<KeyValuePair<string, RedisValue>> Fields, IReadOnlyList<string>? Remove = null)
{
    public string Counts { get; init; } = "";
}

/// <summary>
/// A record to create with its links to others of the same owner: records whose version must be the one read (and is
/// bumped, so two creates that each checked the others cannot both pass), records that must exist, a set or index that
/// must stay under a limit, sets the new id joins, hash fields it claims (a private address) and strings set to its id.
/// </summary>
internal sealed record LinkedCreate(string RecordKey, string IndexKey, string TokenKey, string Id, double Score, ClientToken Token,
    IReadOnlyList<KeyValuePair<string, RedisValue>> Fields)
{
    /// <summary>The mark a given-up create leaves (creation jobs); null for records no job makes.</summary>
    public string? AbandonedKey { get; init; }

    public IReadOnlyList<(string Key, long Version)> Guards { get; init; } = [];

    public IReadOnlyList<string> MustExist { get; init; } = [];

    /// <summary>A zset, set or hash whose size must stay below the limit.</summary>
    public (string Key, int Limit)? Limit { get; init; }

    public IReadOnlyList<string> Joins { get; init; } = [];

    public IReadOnlyList<(string Hash, string Field)> Claims { get; init; } = [];

    public IReadOnlyList<string> Strings { get; init; } = [];
}

/// <summary>A record to delete (version compared) with its links: keys that must be gone (empty sets), keys deleted with it, sets or hashes it leaves.</summary>
internal sealed record LinkedDelete(string RecordKey, string IndexKey, string Id, long Version)
{
    public IReadOnlyList<string> MustBeEmpty { get; init; } = [];

    public IReadOnlyList<string> Delete { get; init; } = [];

    /// <summary>Sets to remove a member from, or hashes to remove a field from.</summary>
    public IReadOnlyList<(string Key, string Member)> Leave { get; init; } = [];
}

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

    // KEYS: the records, then the status counts some of them name. ARGV: fencing token of a queue worker ('' for others;
    // checked on KEYS[1]), count, then per record: version read, its counts' position in KEYS (0: none), fields to remove
    // (n, names), pairs (n, name/value...). Returns SaveResult.
    private const string SaveScript = Fencing.Lua + StatusCounts.Lua + """

        local count = tonumber(ARGV[2])
        local a = 3
        local plan = {}
        for k = 1, count do
          if redis.call('HGET', KEYS[k], 'v') ~= ARGV[a] then return 0 end
          local removes = tonumber(ARGV[a + 2])
          local pairs = tonumber(ARGV[a + 3 + removes])
          plan[k] = {a, removes, pairs}
          a = a + 4 + removes + pairs * 2
        end
        if ARGV[1] ~= '' and not fenced(KEYS[1], ARGV[1]) then return 3 end
        for k = 1, count do
          local p = plan[k]
          local base, removes, pairs = p[1], p[2], p[3]
          local counts = KEYS[tonumber(ARGV[base + 1])]
          local before = counts and redis.call('HGET', KEYS[k], 's')
          for i = 1, removes do redis.call('HDEL', KEYS[k], ARGV[base + 2 + i]) end
          local first = base + 4 + removes
          if pairs > 0 then redis.call('HSET', KEYS[k], unpack(ARGV, first, first + pairs * 2 - 1)) end
          redis.call('HSET', KEYS[k], 'v', tonumber(ARGV[base]) + 1)
          if counts then count_moved(counts, KEYS[k], before, redis.call('HGET', KEYS[k], 's')) end
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

    // KEYS: record, index, client token, abandonment mark (the record itself when there is none), then guards, records that
    // must exist, the limited key (0 or 1), sets to join, hashes to claim a field of, strings to set.
    // ARGV: id, score, fingerprint, token ttl, check the mark (1/0), counts of the six groups, limit, then per guard: version;
    // per claim: field; then the record's field/value pairs. Joins, claims and strings take the id as member, value and value.
    // Returns {CreateResult, detail}: the token's stored value, or the position of a missing link or a taken claim.
    private const string CreateLinkedScript = ClientTokens.Lua + """

        if ARGV[5] == '1' and redis.call('EXISTS', KEYS[4]) == 1 then return {6, ''} end
        local prior = prior_token(KEYS[3], ARGV[3], ARGV[1])
        if prior then return {2, prior} end
        if redis.call('EXISTS', KEYS[1]) == 1 then return {3, ''} end
        local guards, exist, limited = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
        local joins, claims, strings, limit = tonumber(ARGV[9]), tonumber(ARGV[10]), tonumber(ARGV[11]), tonumber(ARGV[12])
        local k, a = 4, 13
        for i = 1, guards do
          if redis.call('HGET', KEYS[k + i], 'v') ~= ARGV[a + i - 1] then return {8, ''} end
        end
        k, a = k + guards, a + guards
        for i = 1, exist do
          if redis.call('EXISTS', KEYS[k + i]) == 0 then return {9, tostring(i)} end
        end
        k = k + exist
        if limited == 1 then
          local key, size = KEYS[k + 1], 0
          local kind = redis.call('TYPE', key).ok
          if kind == 'zset' then size = redis.call('ZCARD', key)
          elseif kind == 'set' then size = redis.call('SCARD', key)
          elseif kind == 'hash' then size = redis.call('HLEN', key) end
          if size >= limit then return {7, ''} end
          k = k + 1
        end
        local joinAt, claimAt = k, k + joins
        for i = 1, claims do
          if redis.call('HEXISTS', KEYS[claimAt + i], ARGV[a + i - 1]) == 1 then return {10, tostring(i)} end
        end
        for i = 1, guards do redis.call('HINCRBY', KEYS[4 + i], 'v', 1) end
        for i = 1, joins do redis.call('SADD', KEYS[joinAt + i], ARGV[1]) end
        for i = 1, claims do redis.call('HSET', KEYS[claimAt + i], ARGV[a + i - 1], ARGV[1]) end
        for i = 1, strings do redis.call('SET', KEYS[claimAt + claims + i], ARGV[1]) end
        redis.call('HSET', KEYS[1], 'v', 1, unpack(ARGV, a + claims))
        redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
        remember_token(KEYS[3], ARGV[3], ARGV[1], ARGV[4])
        return {1, ''}
        """;

    // KEYS: the records, keys that must exist, sets or hashes to leave, sets to join.
    // ARGV: the four counts, then per leave: member, per join: member, then per record: version read, pair count, pairs.
    // Leaving comes before joining, so a record can leave and join one set. Returns SaveResult (Absent: a key that must exist does not).
    private const string SaveLinkedScript = """
        local records, exist, leaves, joins = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
        local leaveAt, joinAt = 5, 5 + leaves
        local a = joinAt + joins
        local plan = {}
        for k = 1, records do
          if redis.call('HGET', KEYS[k], 'v') ~= ARGV[a] then return 0 end
          local pairs = tonumber(ARGV[a + 1])
          plan[k] = {a, pairs}
          a = a + 2 + pairs * 2
        end
        for i = 1, exist do
          if redis.call('EXISTS', KEYS[records + i]) == 0 then return 6 end
        end
        for k = 1, records do
          local base, pairs = plan[k][1], plan[k][2]
          if pairs > 0 then redis.call('HSET', KEYS[k], unpack(ARGV, base + 2, base + 1 + pairs * 2)) end
          redis.call('HSET', KEYS[k], 'v', tonumber(ARGV[base]) + 1)
        end
        local k = records + exist
        for i = 1, leaves do
          local key, member = KEYS[k + i], ARGV[leaveAt + i - 1]
          if redis.call('TYPE', key).ok == 'hash' then redis.call('HDEL', key, member) else redis.call('SREM', key, member) end
        end
        k = k + leaves
        for i = 1, joins do redis.call('SADD', KEYS[k + i], ARGV[joinAt + i - 1]) end
        return 1
        """;

    // KEYS: record, index, keys that must not exist (empty sets and hashes do not), keys to delete, sets or hashes to leave.
    // ARGV: id, version read, the three counts, then per leave: member. Returns {DeleteResult, position of the key that exists}.
    private const string DeleteLinkedScript = """
        if redis.call('HGET', KEYS[1], 'v') ~= ARGV[2] then return {0, 0} end
        local empty, deletes, leaves = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
        for i = 1, empty do
          if redis.call('EXISTS', KEYS[2 + i]) == 1 then return {2, i} end
        end
        redis.call('DEL', KEYS[1])
        redis.call('ZREM', KEYS[2], ARGV[1])
        local k = 2 + empty
        for i = 1, deletes do redis.call('DEL', KEYS[k + i]) end
        k = k + deletes
        for i = 1, leaves do
          local key, member = KEYS[k + i], ARGV[5 + i]
          if redis.call('TYPE', key).ok == 'hash' then redis.call('HDEL', key, member) else redis.call('SREM', key, member) end
        end
        return {1, 0}
        """;

    /// <summary>Creates a record with its links (see <see cref="LinkedCreate"/>), all in one script.</summary>
    public static async Task<(CreateResult Result, string Detail)> CreateLinkedAsync(IDatabase redis, LinkedCreate create)
    {
        var keys = new List<RedisKey> { create.RecordKey, create.IndexKey, create.TokenKey, create.AbandonedKey ?? create.RecordKey };
        keys.AddRange(create.Guards.Select(g => (RedisKey)g.Key));
        keys.AddRange(create.MustExist.Select(k => (RedisKey)k));
        if (create.Limit is { } limited)
        {
            keys.Add(limited.Key);
        }
        keys.AddRange(create.Joins.Select(k => (RedisKey)k));
        keys.AddRange(create.Claims.Select(c => (RedisKey)c.Hash));
        keys.AddRange(create.Strings.Select(k => (RedisKey)k));
        var args = new List<RedisValue>
        {
            create.Id, create.Score, create.Token.Fingerprint, ClientTokens.LifetimeSeconds, create.AbandonedKey is null ? "0" : "1",
            create.Guards.Count, create.MustExist.Count, create.Limit is null ? 0 : 1, create.Joins.Count, create.Claims.Count, create.Strings.Count,
            create.Limit?.Limit ?? 0,
        };
        args.AddRange(create.Guards.Select(g => (RedisValue)g.Version));
        args.AddRange(create.Claims.Select(c => (RedisValue)c.Field));
        args.AddRange(Records.Pairs(create.Fields));
        return Records.Created(await redis.ScriptEvaluateAsync(CreateLinkedScript, [.. keys], [.. args]));
    }

    /// <summary>
    /// Saves records of one owner if none changed since read and every key of <paramref name="mustExist"/> exists, and moves
    /// members out of and into sets (or fields out of hashes) in the same script.
    /// </summary>
    public static async Task<SaveResult> SaveLinkedAsync(IDatabase redis, IReadOnlyList<RecordWrite> writes, IReadOnlyList<string>? mustExist = null,
        IReadOnlyList<(string Key, string Member)>? leave = null, IReadOnlyList<(string Key, string Member)>? join = null)
    {
        mustExist ??= [];
        leave ??= [];
        join ??= [];
        var keys = writes.Select(w => (RedisKey)w.Key).Concat(mustExist.Select(k => (RedisKey)k))
            .Concat(leave.Select(l => (RedisKey)l.Key)).Concat(join.Select(j => (RedisKey)j.Key)).ToArray();
        var args = new List<RedisValue> { writes.Count, mustExist.Count, leave.Count, join.Count };
        args.AddRange(leave.Select(l => (RedisValue)l.Member));
        args.AddRange(join.Select(j => (RedisValue)j.Member));
        foreach (var write in writes)
        {
            args.Add(write.Version);
            args.Add(write.Fields.Count);
            args.AddRange(Records.Pairs(write.Fields));
        }
        return Records.Map<SaveResult>(await redis.ScriptEvaluateAsync(SaveLinkedScript, keys, [.. args]));
    }

    /// <summary>Deletes a record with its links (see <see cref="LinkedDelete"/>); InUse names which key that must be empty is not (1-based).</summary>
    public static async Task<(DeleteResult Result, int NotEmpty)> DeleteLinkedAsync(IDatabase redis, LinkedDelete delete)
    {
        var keys = new List<RedisKey> { delete.RecordKey, delete.IndexKey };
        keys.AddRange(delete.MustBeEmpty.Select(k => (RedisKey)k));
        keys.AddRange(delete.Delete.Select(k => (RedisKey)k));
        keys.AddRange(delete.Leave.Select(l => (RedisKey)l.Key));
        var args = new List<RedisValue> { delete.Id, delete.Version, delete.MustBeEmpty.Count, delete.Delete.Count, delete.Leave.Count };
        args.AddRange(delete.Leave.Select(l => (RedisValue)l.Member));
        var result = (RedisResult[])(await redis.ScriptEvaluateAsync(DeleteLinkedScript, [.. keys], [.. args]))!;
        return (Records.Map<DeleteResult>(result[0]), (int)result[1]);
    }

    /// <summary>Saves several records of one owner at once if none changed since read (and, for a worker, it still holds the job).</summary>
    public static async Task<SaveResult> SaveAsync(IDatabase redis, long? fence, params RecordWrite[] writes)
    {
        var args = new List<RedisValue> { fence?.ToString() ?? "", writes.Length };
        var keys = writes.Select(w => (RedisKey)w.Key).ToList();
        foreach (var write in writes)
        {
            args.Add(write.Version);
            args.Add(write.Counts.Length == 0 ? 0 : CountsPosition(keys, write.Counts));
            args.Add(write.Remove?.Count ?? 0);
            args.AddRange((write.Remove ?? []).Select(r => (RedisValue)r));
            args.Add(write.Fields.Count);
            args.AddRange(Records.Pairs(write.Fields));
        }
        return Records.Map<SaveResult>(await redis.ScriptEvaluateAsync(SaveScript, [.. keys], [.. args]));
    }

    /// <summary>The 1-based position of a counts key among the script's keys, added after the records once.</summary>
    private static int CountsPosition(List<RedisKey> keys, string counts)
    {
        var at = keys.IndexOf(counts);
        if (at < 0)
        {
            keys.Add(counts);
            at = keys.Count - 1;
        }
        return at + 1;
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
