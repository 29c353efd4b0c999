using StackExchange.Redis;

namespace GrpcImages.Transfer.Storage;

/// <summary>What a pin attempt found.</summary>
public enum PinResult
{
    /// <summary>The blob is pinned by the session and will not be collected.</summary>
    Pinned,
    /// <summary>The collector is deleting it: write it again, then pin again.</summary>
    Busy,
    /// <summary>It may be gone: write it again (forced), then pin again.</summary>
    Missing,
}

/// <summary>
/// Reference counts of a region's blobs and the manifests' holders (R34). Every key of a region
/// shares the hash tag {blob:&lt;region&gt;}, so each step below is one atomic script that also runs
/// on Redis Cluster.
/// <code>
/// - gi:xfer:{blob:R}:refs              hash  blob name -> references (manifests or write sessions); -1 while being deleted
/// - gi:xfer:{blob:R}:gc                zset  blob name -> ms when its count fell to 0
/// - gi:xfer:{blob:R}:tomb              zset  blob name -> ms it was marked for deletion
/// - gi:xfer:{blob:R}:man:&lt;id&gt;          hash  size, digest, account, key of a live manifest (for operators; the manifest file has the rest)
/// - gi:xfer:{blob:R}:holders:&lt;id&gt;      set   holders (snapshot, disk, image ids) keeping the manifest alive
/// - gi:xfer:{blob:R}:dying:&lt;id&gt;:&lt;n&gt;    hash  a manifest whose last holder left, until its references are dropped
/// - gi:xfer:{blob:R}:dying             zset  dying key -> ms
/// - gi:xfer:{blob:R}:sess:&lt;session&gt;    set   blob names a write session has pinned
/// - gi:xfer:{blob:R}:sessions          zset  session -> ms it expires (a dead writer's pins are dropped after it)
/// </code>
/// A writer pins each blob after writing it and before committing its manifest; the collector
/// deletes a blob only after marking it (-1) at count 0. A pin on a marked blob, or on an
/// unreferenced one the writer did not write itself, fails, and the writer writes it again.
/// </summary>
public sealed class ContentIndex(IDatabase redis, TimeProvider time)
{
    public const string Root = "gi:xfer:";

    private const string PinScript = """
        redis.call('ZADD', KEYS[4], ARGV[2], ARGV[1])
        local out = {}
        for i = 3, #ARGV, 2 do
          local name, wrote = ARGV[i], ARGV[i + 1]
          if redis.call('SISMEMBER', KEYS[3], name) == 1 then
            out[#out + 1] = 0
          else
            local v = redis.call('HGET', KEYS[1], name)
            if v == '-1' then
              out[#out + 1] = 1
            elseif (not v) and wrote == '0' then
              out[#out + 1] = 2
            else
              redis.call('HINCRBY', KEYS[1], name, 1)
              redis.call('ZREM', KEYS[2], name)
              redis.call('SADD', KEYS[3], name)
              out[#out + 1] = 0
            end
          end
        end
        return out
        """;

    // Drops a session's pins; also what a commit does when the same manifest is already live.
    private const string UnpinLua = """
        local function unpin(refs, gc, session, now)
          for _, name in ipairs(redis.call('SMEMBERS', session)) do
            if redis.call('HINCRBY', refs, name, -1) <= 0 then redis.call('ZADD', gc, now, name) end
          end
          redis.call('DEL', session)
        end
        """;

    private const string CommitScript = UnpinLua + "\n" + """
        if redis.call('EXISTS', KEYS[5]) == 1 then
          unpin(KEYS[1], KEYS[2], KEYS[3], ARGV[3])
        else
          redis.call('DEL', KEYS[3])
          redis.call('HSET', KEYS[5], unpack(ARGV, 4))
        end
        redis.call('ZREM', KEYS[4], ARGV[1])
        redis.call('SADD', KEYS[6], ARGV[2])
        return redis.call('SCARD', KEYS[6])
        """;

    private const string AbortScript = UnpinLua + "\n" + """
        unpin(KEYS[1], KEYS[2], KEYS[3], ARGV[2])
        redis.call('ZREM', KEYS[4], ARGV[1])
        return 1
        """;

    private const string RetainScript = """
        if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
        redis.call('SADD', KEYS[2], ARGV[1])
        return redis.call('SCARD', KEYS[2])
        """;

    // Returns {holders left, 1 when the manifest is now dying}; {-1, 0} when there was no such manifest.
    private const string ReleaseScript = """
        if redis.call('EXISTS', KEYS[1]) == 0 then return {-1, 0} end
        redis.call('SREM', KEYS[2], ARGV[1])
        local left = redis.call('SCARD', KEYS[2])
        if left == 0 then
          redis.call('RENAME', KEYS[1], KEYS[4])
          redis.call('ZADD', KEYS[3], ARGV[2], KEYS[4])
          return {0, 1}
        end
        return {left, 0}
        """;

    private const string DropReferencesScript = """
        if redis.call('EXISTS', KEYS[4]) == 0 then return 0 end
        for i = 2, #ARGV do
          if redis.call('HINCRBY', KEYS[1], ARGV[i], -1) <= 0 then redis.call('ZADD', KEYS[2], ARGV[1], ARGV[i]) end
        end
        redis.call('DEL', KEYS[4])
        redis.call('ZREM', KEYS[3], KEYS[4])
        return 1
        """;

    private const string MarkScript = """
        local out = {}
        for _, name in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])) do
          redis.call('ZREM', KEYS[2], name)
          if redis.call('HGET', KEYS[1], name) == '0' then
            redis.call('HSET', KEYS[1], name, -1)
            redis.call('ZADD', KEYS[3], ARGV[2], name)
            out[#out + 1] = name
          end
        end
        for _, name in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', ARGV[4], 'LIMIT', 0, ARGV[3])) do
          out[#out + 1] = name
        end
        return out
        """;

    private const string FinishScript = """
        for i = 1, #ARGV do
          if redis.call('HGET', KEYS[1], ARGV[i]) == '-1' then redis.call('HDEL', KEYS[1], ARGV[i]) end
          redis.call('ZREM', KEYS[2], ARGV[i])
        end
        return #ARGV
        """;

    public static readonly TimeSpan SessionLifetime = TimeSpan.FromMinutes(10);

    private long Now => time.GetUtcNow().ToUnixTimeMilliseconds();

    public async Task<IReadOnlyList<PinResult>> PinAsync(string region, string session, IReadOnlyList<(string Name, bool Wrote)> blobs)
    {
        var k = new Keys(region);
        var args = new List<RedisValue>(2 + blobs.Count * 2) { session, Now + (long)SessionLifetime.TotalMilliseconds };
        foreach (var (name, wrote) in blobs)
        {
            args.Add(name);
            args.Add(wrote ? "1" : "0");
        }
        var result = (RedisResult[])(await redis.ScriptEvaluateAsync(PinScript,
            [k.Refs, k.Gc, k.Session(session), k.Sessions], [.. args]))!;
        return result.Select(r => (PinResult)(int)r).ToList();
    }

    /// <summary>Commits a session's pins as a manifest's references and adds the holder; returns the holder count.</summary>
    public async Task<int> CommitAsync(string region, string session, string manifestId, string holder, IReadOnlyList<KeyValuePair<string, string>> fields)
    {
        var k = new Keys(region);
        var args = new List<RedisValue> { session, holder, Now };
        foreach (var (name, value) in fields)
        {
            args.Add(name);
            args.Add(value);
        }
        return (int)await redis.ScriptEvaluateAsync(CommitScript,
            [k.Refs, k.Gc, k.Session(session), k.Sessions, k.Manifest(manifestId), k.Holders(manifestId)], [.. args]);
    }

    public Task AbortAsync(string region, string session)
    {
        var k = new Keys(region);
        return redis.ScriptEvaluateAsync(AbortScript, [k.Refs, k.Gc, k.Session(session), k.Sessions], [session, Now]);
    }

    /// <summary>Adds a holder; returns the holder count, or -1 when there is no such live manifest.</summary>
    public async Task<int> RetainAsync(string region, string manifestId, string holder)
    {
        var k = new Keys(region);
        return (int)await redis.ScriptEvaluateAsync(RetainScript, [k.Manifest(manifestId), k.Holders(manifestId)], [holder]);
    }

    /// <summary>
    /// Removes a holder. When it was the last, the manifest is renamed to a dying key, which the
    /// caller passes to <see cref="DropReferencesAsync"/> with the manifest's blobs.
    /// </summary>
    public async Task<(int Left, string? DyingKey)> ReleaseAsync(string region, string manifestId, string holder)
    {
        var k = new Keys(region);
        var dying = k.Dying(manifestId, Guid.NewGuid().ToString("N")[..12]);
        var result = (RedisResult[])(await redis.ScriptEvaluateAsync(ReleaseScript,
            [k.Manifest(manifestId), k.Holders(manifestId), k.DyingSet, dying], [holder, Now]))!;
        return ((int)result[0], (int)result[1] == 1 ? (string)dying! : null);
    }

    public Task DropReferencesAsync(string region, string dyingKey, IReadOnlyList<string> blobNames)
    {
        var k = new Keys(region);
        return redis.ScriptEvaluateAsync(DropReferencesScript, [k.Refs, k.Gc, k.DyingSet, dyingKey],
            [Now, .. blobNames.Select(n => (RedisValue)n)]);
    }

    /// <summary>How many holders a live manifest has, or null when it is not live: one pipelined round trip.</summary>
    public async Task<int?> HoldersAsync(string region, string manifestId)
    {
        var k = new Keys(region);
        var batch = redis.CreateBatch();
        var live = batch.KeyExistsAsync(k.Manifest(manifestId));
        var holders = batch.SetLengthAsync(k.Holders(manifestId));
        batch.Execute();
        return await live ? (int)await holders : null;
    }

    /// <summary>Marks up to <paramref name="limit"/> blobs unreferenced since before the cutoff for deletion.</summary>
    public async Task<IReadOnlyList<string>> MarkForDeletionAsync(string region, DateTimeOffset unreferencedBefore, int limit)
    {
        var k = new Keys(region);
        var staleTombstones = Now - 60_000;
        var result = (RedisResult[])(await redis.ScriptEvaluateAsync(MarkScript, [k.Refs, k.Gc, k.Tomb],
            [unreferencedBefore.ToUnixTimeMilliseconds(), Now, limit, staleTombstones]))!;
        return result.Select(r => (string)r!).Distinct().ToList();
    }

    public Task FinishDeletionAsync(string region, IReadOnlyList<string> names)
    {
        var k = new Keys(region);
        return redis.ScriptEvaluateAsync(FinishScript, [k.Refs, k.Tomb], [.. names.Select(n => (RedisValue)n)]);
    }

    public async Task<IReadOnlyList<string>> ExpiredSessionsAsync(string region) =>
        (await redis.SortedSetRangeByScoreAsync(new Keys(region).Sessions, double.NegativeInfinity, Now)).Select(v => (string)v!).ToList();

    /// <summary>Dying manifests older than a minute: their dropper died; the collector finishes them.</summary>
    public async Task<IReadOnlyList<string>> StaleDyingAsync(string region) =>
        (await redis.SortedSetRangeByScoreAsync(new Keys(region).DyingSet, double.NegativeInfinity, Now - 60_000)).Select(v => (string)v!).ToList();

    /// <summary>The manifest id a dying key was made from.</summary>
    public static string ManifestIdOfDyingKey(string dyingKey)
    {
        var parts = dyingKey.Split(':');
        return parts[^2];
    }

    private readonly struct Keys(string region)
    {
        private readonly string _prefix = $"gi:xfer:{{blob:{region}}}:";

        public RedisKey Refs => _prefix + "refs";
        public RedisKey Gc => _prefix + "gc";
        public RedisKey Tomb => _prefix + "tomb";
        public RedisKey Sessions => _prefix + "sessions";
        public RedisKey DyingSet => _prefix + "dying";
        public RedisKey Manifest(string id) => $"{_prefix}man:{id}";
        public RedisKey Holders(string id) => $"{_prefix}holders:{id}";
        public RedisKey Session(string id) => $"{_prefix}sess:{id}";
        public RedisKey Dying(string id, string nonce) => $"{_prefix}dying:{id}:{nonce}";
    }
}
