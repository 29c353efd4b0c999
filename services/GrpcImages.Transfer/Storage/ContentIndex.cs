using GrpcImages.ServiceDefaults.Storage;
using StackExchange.Redis;

namespace GrpcImages.Transfer.Storage;

/// <summary>What a pin found.</summary>
public enum PinResult
{
    /// <summary>The blob is pinned: it will not be collected. The pinner writes it if it is not there.</summary>
    Pinned = 0,
    /// <summary>The collector is deleting it: wait, then pin again (and write it).</summary>
    Busy = 1,
}

/// <summary>The state of a manifest's record (numbers the scripts use).</summary>
public enum ManifestState
{
    Absent = 0,
    Committing = 1,
    Live = 2,
    Dying = 3,
}

/// <summary>What starting a commit found.</summary>
public enum CommitStart
{
    /// <summary>The manifest is this session's to commit.</summary>
    Proceed = 0,
    /// <summary>The same content is live already: the holder was added to it.</summary>
    AlreadyLive = 1,
    /// <summary>Another session is committing the same content.</summary>
    OtherCommitting = 2,
    /// <summary>The same content is being dropped: finish dropping it, then commit anew.</summary>
    Dying = 3,
}

/// <summary>A live manifest as its record describes it.</summary>
public sealed record ManifestRecord(ManifestState State, long SizeBytes, long StoredBytes, int Chunks, int StoredChunks, string Digest, int Holders, string? Session);

/// <summary>
/// Reference counts of a region's blobs, manifests' holders and write sessions (R34); key layout in
/// <see cref="TransferKeys"/>. Every step is one script over keys of one hash tag: a chunk shard, a
/// manifest, or a session. The protocol:
/// <list type="bullet">
/// <item>A writer pins a blob in its session (one reference) before it relies on the blob: it then
/// writes it unless it is there. The collector deletes a blob only after marking it (-1) at zero
/// references, so a pinned blob is never deleted, and a marked one cannot be pinned (Busy).</item>
/// <item>A commit marks the manifest committing, moves the session's pins to the manifest (shard by
/// shard; a blob the manifest already had gives its extra reference back), then marks it live with
/// its first holder. Equal content has an equal manifest id: a second commit only adds a holder.</item>
/// <item>The last holder to leave marks the manifest dying; its pins are dropped shard by shard, and
/// blobs at zero references become collectable after a grace period.</item>
/// <item>A session that is not renewed expires: the collector drops its pins and any manifest it left
/// committing. A dropper that died leaves its manifest in the region's dying set, which the collector
/// finishes.</item>
/// </list>
/// </summary>
public sealed class ContentIndex(IDatabase redis, TimeProvider time)
{
    /// <summary>How long a write session lives without renewal (writers renew it as they go).</summary>
    public static readonly TimeSpan SessionLifetime = TimeSpan.FromMinutes(10);

    /// <summary>How long a manifest may stay dying before the collector finishes dropping it.</summary>
    public static readonly TimeSpan StaleDying = TimeSpan.FromMinutes(1);

    // KEYS: refs, gc, owner's pins (one shard). ARGV: names. Returns a PinResult per name.
    private const string PinScript = """
        local out = {}
        for i = 1, #ARGV do
          local name = ARGV[i]
          if redis.call('SISMEMBER', KEYS[3], name) == 1 then
            out[i] = 0
          elseif redis.call('HGET', KEYS[1], name) == '-1' then
            out[i] = 1
          else
            redis.call('SADD', KEYS[3], name)
            redis.call('HINCRBY', KEYS[1], name, 1)
            redis.call('ZREM', KEYS[2], name)
            out[i] = 0
          end
        end
        return out
        """;

    // KEYS: refs, gc, owner's pins (one shard). ARGV: now ms. Drops every pin of the owner in the shard.
    private const string UnpinScript = """
        for _, name in ipairs(redis.call('SMEMBERS', KEYS[3])) do
          if redis.call('HINCRBY', KEYS[1], name, -1) <= 0 then redis.call('ZADD', KEYS[2], ARGV[1], name) end
        end
        redis.call('DEL', KEYS[3])
        return 1
        """;

    // KEYS: refs, gc, session's pins, manifest's pins (one shard). ARGV: now ms.
    // Moves the session's pins to the manifest; a blob the manifest pinned already gives its extra reference back.
    private const string MovePinsScript = """
        for _, name in ipairs(redis.call('SMEMBERS', KEYS[3])) do
          if redis.call('SADD', KEYS[4], name) == 0 then
            if redis.call('HINCRBY', KEYS[1], name, -1) <= 0 then redis.call('ZADD', KEYS[2], ARGV[1], name) end
          end
        end
        redis.call('DEL', KEYS[3])
        return 1
        """;

    // KEYS: manifest record, holders. ARGV: session, holder, then field/value pairs. Returns {CommitStart, holders}.
    private const string BeginCommitScript = """
        local state = redis.call('HGET', KEYS[1], 'state')
        if state == '2' then
          redis.call('SADD', KEYS[2], ARGV[2])
          return {1, redis.call('SCARD', KEYS[2])}
        end
        if state == '3' then return {3, 0} end
        if state == '1' and redis.call('HGET', KEYS[1], 'session') ~= ARGV[1] then return {2, 0} end
        redis.call('HSET', KEYS[1], 'state', 1, 'session', ARGV[1], unpack(ARGV, 3))
        return {0, 0}
        """;

    // KEYS: manifest record, holders. ARGV: session, holder. Returns the holder count, or -1 when the session no longer commits it.
    private const string EndCommitScript = """
        if redis.call('HGET', KEYS[1], 'state') ~= '1' or redis.call('HGET', KEYS[1], 'session') ~= ARGV[1] then return -1 end
        redis.call('HSET', KEYS[1], 'state', 2)
        redis.call('HDEL', KEYS[1], 'session')
        redis.call('SADD', KEYS[2], ARGV[2])
        return redis.call('SCARD', KEYS[2])
        """;

    // KEYS: manifest record. ARGV: the session that must be committing it, the session taking over.
    // Returns 1 when taken over, 0 when the record changed meanwhile.
    private const string TakeOverCommitScript = """
        if redis.call('HGET', KEYS[1], 'state') ~= '1' or redis.call('HGET', KEYS[1], 'session') ~= ARGV[1] then return 0 end
        redis.call('HSET', KEYS[1], 'session', ARGV[2])
        return 1
        """;

    // KEYS: manifest record, holders. ARGV: holder. Returns the holder count, or -1 when the manifest is not live.
    private const string RetainScript = """
        if redis.call('HGET', KEYS[1], 'state') ~= '2' then return -1 end
        redis.call('SADD', KEYS[2], ARGV[1])
        return redis.call('SCARD', KEYS[2])
        """;

    // KEYS: manifest record, holders. ARGV: holder. Returns {holders left, 1 when the manifest is now dying}; {-1, 0} when not live.
    private const string ReleaseScript = """
        if redis.call('HGET', KEYS[1], 'state') ~= '2' then return {-1, 0} end
        redis.call('SREM', KEYS[2], ARGV[1])
        local left = redis.call('SCARD', KEYS[2])
        if left == 0 then
          redis.call('HSET', KEYS[1], 'state', 3)
          return {0, 1}
        end
        return {left, 0}
        """;

    // KEYS: refs, gc, tomb (one shard). ARGV: unreferenced before ms, now ms, limit, tombstones older than ms.
    // Marks blobs unreferenced since before the cutoff; returns them with marks left by a collector that died.
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

    // KEYS: refs, tomb (one shard). ARGV: names deleted.
    private const string FinishScript = """
        for i = 1, #ARGV do
          if redis.call('HGET', KEYS[1], ARGV[i]) == '-1' then redis.call('HDEL', KEYS[1], ARGV[i]) end
          redis.call('ZREM', KEYS[2], ARGV[i])
        end
        return #ARGV
        """;

    // KEYS: refs, tomb (one shard). ARGV: now ms, names found on disk. Marks those nothing references (written by a
    // writer that died before pinning them, which pins first) for deletion; returns them.
    private const string MarkOrphansScript = """
        local out = {}
        for i = 2, #ARGV do
          if redis.call('HEXISTS', KEYS[1], ARGV[i]) == 0 then
            redis.call('HSET', KEYS[1], ARGV[i], -1)
            redis.call('ZADD', KEYS[2], ARGV[1], ARGV[i])
            out[#out + 1] = ARGV[i]
          end
        end
        return out
        """;

    private long Now => time.GetUtcNow().ToUnixTimeMilliseconds();

    // ---- write sessions ----

    /// <summary>Opens a write session, or reopens one a dead writer left (its recorded chunks are returned: its checkpoint).</summary>
    public async Task<IReadOnlyDictionary<int, string>> OpenSessionAsync(string region, string session, long sizeBytes)
    {
        var batch = redis.CreateBatch();
        var record = batch.HashSetAsync(TransferKeys.SessionRecord(region, session), "size", sizeBytes, When.NotExists);
        var renewed = batch.SortedSetAddAsync(TransferKeys.Sessions(region), session, Now + (long)SessionLifetime.TotalMilliseconds);
        var chunks = batch.HashGetAllAsync(TransferKeys.SessionChunks(region, session));
        batch.Execute();
        await Task.WhenAll(record, renewed);
        return (await chunks).ToDictionary(e => (int)e.Name, e => (string)e.Value!);
    }

    /// <summary>Keeps a session alive while its writer works.</summary>
    public Task RenewSessionAsync(string region, string session) =>
        redis.SortedSetAddAsync(TransferKeys.Sessions(region), session, Now + (long)SessionLifetime.TotalMilliseconds);

    /// <summary>
    /// Pins blobs in a session: first the shards it touches are recorded, then each shard pins in one
    /// script. Writers renew their session as they go (WriteSession), so pins a frozen writer adds to a
    /// session the collector already dropped are dropped again later, never leaked.
    /// </summary>
    public Task<IReadOnlyList<PinResult>> PinAsync(string region, string session, IReadOnlyList<string> names) =>
        PinAsync(region, TransferKeys.SessionOwner(session), TransferKeys.SessionShards(region, session), names);

    /// <summary>Records positions the session has stored (its checkpoint), once their blobs are pinned and written.</summary>
    public Task RecordChunksAsync(string region, string session, IReadOnlyList<(int Index, string Name)> chunks) =>
        chunks.Count == 0
            ? Task.CompletedTask
            : redis.HashSetAsync(TransferKeys.SessionChunks(region, session), chunks.Select(c => new HashEntry(c.Index, c.Name)).ToArray());

    /// <summary>Ends a session that will not commit: its pins are dropped, and a manifest it left committing is abandoned.</summary>
    public async Task AbortSessionAsync(string region, string session)
    {
        if (await redis.HashGetAsync(TransferKeys.SessionRecord(region, session), "manifest") is { HasValue: true } manifest)
        {
            await AbandonCommitAsync(region, (string)manifest!, session);
        }
        await UnpinAllAsync(region, TransferKeys.SessionOwner(session), TransferKeys.SessionShards(region, session));
        await DeleteSessionAsync(region, session);
    }

    // ---- manifests ----

    /// <summary>
    /// Commits a session's pins as a manifest's references with a first holder (or adds the holder to the
    /// same content when it is live already). Returns the manifest's holder count.
    /// </summary>
    public async Task<int> CommitAsync(string region, string session, string manifestId, string holder, IReadOnlyList<KeyValuePair<string, string>> fields)
    {
        await redis.HashSetAsync(TransferKeys.SessionRecord(region, session), "manifest", manifestId);
        await redis.SetAddAsync(TransferKeys.Held(region, holder), manifestId);
        for (var attempt = 0; ; attempt++)
        {
            var args = new List<RedisValue> { session, holder };
            foreach (var (name, value) in fields)
            {
                args.Add(name);
                args.Add(value);
            }
            var begun = (RedisResult[])(await redis.ScriptEvaluateAsync(BeginCommitScript,
                [TransferKeys.ManifestRecord(region, manifestId), TransferKeys.Holders(region, manifestId)], [.. args]))!;
            switch (ScriptResults.Map<CommitStart>((int)begun[0]))
            {
                case CommitStart.AlreadyLive:
                    await UnpinAllAsync(region, TransferKeys.SessionOwner(session), TransferKeys.SessionShards(region, session));
                    await DeleteSessionAsync(region, session);
                    return (int)begun[1];
                case CommitStart.Dying:
                    await DropAsync(region, manifestId);
                    continue;
                case CommitStart.OtherCommitting:
                    if (attempt >= 100)
                    {
                        throw new TimeoutException($"Manifest {manifestId} in {region} stayed committing by another session.");
                    }
                    await TakeOverStaleCommitAsync(region, manifestId, session);
                    await Task.Delay(TimeSpan.FromMilliseconds(50));
                    continue;
            }
            // The manifest's shards are known before its pins arrive there, so a drop finds every one of them.
            var shards = (await redis.SetMembersAsync(TransferKeys.SessionShards(region, session))).Select(v => ((string)v!)[0]).ToList();
            if (shards.Count > 0)
            {
                await redis.SetAddAsync(TransferKeys.ManifestShards(region, manifestId), shards.Select(s => (RedisValue)s.ToString()).ToArray());
            }
            await Task.WhenAll(shards.Select(shard => redis.ScriptEvaluateAsync(MovePinsScript,
                [TransferKeys.Refs(region, shard), TransferKeys.Gc(region, shard), TransferKeys.Pins(region, shard, TransferKeys.SessionOwner(session)),
                 TransferKeys.Pins(region, shard, TransferKeys.ManifestOwner(manifestId))], [Now])));
            var holders = (int)await redis.ScriptEvaluateAsync(EndCommitScript,
                [TransferKeys.ManifestRecord(region, manifestId), TransferKeys.Holders(region, manifestId)], [session, holder]);
            if (holders < 0)
            {
                throw new InvalidOperationException($"The commit of manifest {manifestId} in {region} was taken over while it ran.");
            }
            await DeleteSessionAsync(region, session);
            return holders;
        }
    }

    /// <summary>What <see cref="RetainAsync"/> returns for a holder released for good (<see cref="MarkGoneAsync"/>).</summary>
    public const int HolderGone = -2;

    /// <summary>How long a holder released for good stays refused: far longer than a call that could still carry it lives.</summary>
    public static readonly TimeSpan HolderGoneLifetime = TimeSpan.FromDays(1);

    /// <summary>
    /// Adds a holder; returns the holder count, -1 when there is no such live manifest, or
    /// <see cref="HolderGone"/> when the holder was released for good. That check comes after the hold
    /// is added: a release marks the holder before it reads what the holder holds, so either the
    /// release finds this hold, or this finds the mark and takes the hold back.
    /// </summary>
    public async Task<int> RetainAsync(string region, string manifestId, string holder)
    {
        await redis.SetAddAsync(TransferKeys.Held(region, holder), manifestId);
        var count = (int)await redis.ScriptEvaluateAsync(RetainScript, [TransferKeys.ManifestRecord(region, manifestId), TransferKeys.Holders(region, manifestId)], [holder]);
        if (count < 0)
        {
            await redis.SetRemoveAsync(TransferKeys.Held(region, holder), manifestId);
            return count;
        }
        if (await redis.KeyExistsAsync(TransferKeys.HolderGone(region, holder)))
        {
            await ReleaseAsync(region, manifestId, holder);
            return HolderGone;
        }
        return count;
    }

    /// <summary>Marks a holder released for good, before its holds are released (see <see cref="RetainAsync"/>).</summary>
    public Task MarkGoneAsync(string region, string holder) =>
        redis.StringSetAsync(TransferKeys.HolderGone(region, holder), 1, HolderGoneLifetime);

    /// <summary>Removes a holder; the last one out drops the manifest's references (R34). Returns the holders left and whether it was dropped.</summary>
    public async Task<(int Left, bool Dropped)> ReleaseAsync(string region, string manifestId, string holder)
    {
        // Noted first: a dropper that dies half way leaves the manifest here for the collector to finish.
        await redis.SortedSetAddAsync(TransferKeys.Dying(region), manifestId, Now);
        var result = (RedisResult[])(await redis.ScriptEvaluateAsync(ReleaseScript,
            [TransferKeys.ManifestRecord(region, manifestId), TransferKeys.Holders(region, manifestId)], [holder]))!;
        if ((int)result[1] == 1)
        {
            await DropAsync(region, manifestId);
            await redis.SetRemoveAsync(TransferKeys.Held(region, holder), manifestId);
            return (0, true);
        }
        await redis.SortedSetRemoveAsync(TransferKeys.Dying(region), manifestId);
        await redis.SetRemoveAsync(TransferKeys.Held(region, holder), manifestId);
        return (Math.Max(0, (int)result[0]), false);
    }

    /// <summary>The manifests a holder may hold in a region.</summary>
    public async Task<IReadOnlyList<string>> HeldByAsync(string region, string holder) =>
        (await redis.SetMembersAsync(TransferKeys.Held(region, holder))).Select(v => (string)v!).ToList();

    /// <summary>A manifest's record (one round trip), or null when there is none.</summary>
    public async Task<ManifestRecord?> GetAsync(string region, string manifestId)
    {
        var batch = redis.CreateBatch();
        var fields = batch.HashGetAsync(TransferKeys.ManifestRecord(region, manifestId), ["state", "size", "stored", "chunks", "storedchunks", "digest", "session"]);
        var holders = batch.SetLengthAsync(TransferKeys.Holders(region, manifestId));
        batch.Execute();
        var values = await fields;
        if (!values[0].HasValue)
        {
            return null;
        }
        return new ManifestRecord(ScriptResults.Map<ManifestState>((int)values[0]), (long)values[1], (long)values[2], (int)values[3], (int)values[4],
            (string)values[5]!, (int)await holders, values[6].HasValue ? (string)values[6]! : null);
    }

    // ---- collection ----

    /// <summary>Sessions whose writers stopped renewing them.</summary>
    public async Task<IReadOnlyList<string>> ExpiredSessionsAsync(string region) =>
        (await redis.SortedSetRangeByScoreAsync(TransferKeys.Sessions(region), double.NegativeInfinity, Now)).Select(v => (string)v!).ToList();

    /// <summary>Finishes manifests whose dropper stopped half way (and forgets entries of manifests that stayed live).</summary>
    public async Task<int> FinishStaleDropsAsync(string region)
    {
        var stale = await redis.SortedSetRangeByScoreAsync(TransferKeys.Dying(region), double.NegativeInfinity, Now - (long)StaleDying.TotalMilliseconds);
        foreach (var manifestId in stale.Select(v => (string)v!))
        {
            if (await GetAsync(region, manifestId) is { State: ManifestState.Dying })
            {
                await DropAsync(region, manifestId);
            }
            else
            {
                await redis.SortedSetRemoveAsync(TransferKeys.Dying(region), manifestId);
            }
        }
        return stale.Length;
    }

    /// <summary>Marks up to <paramref name="limit"/> blobs of a shard, unreferenced since before the cutoff, for deletion.</summary>
    public async Task<IReadOnlyList<string>> MarkForDeletionAsync(string region, char shard, DateTimeOffset unreferencedBefore, int limit)
    {
        var staleTombstones = Now - (long)StaleDying.TotalMilliseconds;
        var result = (RedisResult[])(await redis.ScriptEvaluateAsync(MarkScript,
            [TransferKeys.Refs(region, shard), TransferKeys.Gc(region, shard), TransferKeys.Tomb(region, shard)],
            [unreferencedBefore.ToUnixTimeMilliseconds(), Now, limit, staleTombstones]))!;
        return result.Select(r => (string)r!).Distinct().ToList();
    }

    /// <summary>Marks blobs found on disk that nothing references (their writer died before pinning) for deletion.</summary>
    public async Task<IReadOnlyList<string>> MarkOrphansAsync(string region, char shard, IReadOnlyList<string> names) =>
        names.Count == 0
            ? []
            : ((RedisResult[])(await redis.ScriptEvaluateAsync(MarkOrphansScript, [TransferKeys.Refs(region, shard), TransferKeys.Tomb(region, shard)],
                [Now, .. names.Select(n => (RedisValue)n)]))!).Select(r => (string)r!).ToList();

    public Task FinishDeletionAsync(string region, char shard, IReadOnlyList<string> names) =>
        redis.ScriptEvaluateAsync(FinishScript, [TransferKeys.Refs(region, shard), TransferKeys.Tomb(region, shard)], [.. names.Select(n => (RedisValue)n)]);

    // ---- steps ----

    private async Task<IReadOnlyList<PinResult>> PinAsync(string region, string owner, RedisKey ownerShards, IReadOnlyList<string> names)
    {
        var results = new PinResult[names.Count];
        var byShard = names.Select((name, i) => (name, i)).GroupBy(p => TransferKeys.ShardOf(p.name)).ToList();
        await redis.SetAddAsync(ownerShards, byShard.Select(g => (RedisValue)g.Key.ToString()).ToArray());
        await Task.WhenAll(byShard.Select(async group =>
        {
            var pinned = (RedisResult[])(await redis.ScriptEvaluateAsync(PinScript,
                [TransferKeys.Refs(region, group.Key), TransferKeys.Gc(region, group.Key), TransferKeys.Pins(region, group.Key, owner)],
                group.Select(p => (RedisValue)p.name).ToArray()))!;
            var k = 0;
            foreach (var (_, i) in group)
            {
                results[i] = ScriptResults.Map<PinResult>((int)pinned[k++]);
            }
        }));
        return results;
    }

    private async Task UnpinAllAsync(string region, string owner, RedisKey ownerShards)
    {
        var shards = (await redis.SetMembersAsync(ownerShards)).Select(v => ((string)v!)[0]).ToList();
        await Task.WhenAll(shards.Select(shard => redis.ScriptEvaluateAsync(UnpinScript,
            [TransferKeys.Refs(region, shard), TransferKeys.Gc(region, shard), TransferKeys.Pins(region, shard, owner)], [Now])));
        await redis.KeyDeleteAsync(ownerShards);
    }

    /// <summary>Drops a dying manifest's references and its record (idempotent: a retry finishes what a dead dropper began).</summary>
    private async Task DropAsync(string region, string manifestId)
    {
        await UnpinAllAsync(region, TransferKeys.ManifestOwner(manifestId), TransferKeys.ManifestShards(region, manifestId));
        await redis.KeyDeleteAsync([TransferKeys.ManifestRecord(region, manifestId), TransferKeys.Holders(region, manifestId)]);
        await redis.SortedSetRemoveAsync(TransferKeys.Dying(region), manifestId);
    }

    /// <summary>Gives up a commit a dead session left: the manifest's pins so far and its record go.</summary>
    private async Task AbandonCommitAsync(string region, string manifestId, string session)
    {
        if (await GetAsync(region, manifestId) is { State: ManifestState.Committing } record && record.Session == session)
        {
            await UnpinAllAsync(region, TransferKeys.ManifestOwner(manifestId), TransferKeys.ManifestShards(region, manifestId));
            await redis.KeyDeleteAsync([TransferKeys.ManifestRecord(region, manifestId), TransferKeys.Holders(region, manifestId)]);
        }
    }

    /// <summary>Takes over a commit of the same content whose session expired (its writer died mid-commit).</summary>
    private async Task TakeOverStaleCommitAsync(string region, string manifestId, string session)
    {
        if (await GetAsync(region, manifestId) is not { State: ManifestState.Committing, Session: { } other })
        {
            return;
        }
        var expires = await redis.SortedSetScoreAsync(TransferKeys.Sessions(region), other);
        if (expires is null || expires < Now)
        {
            await redis.ScriptEvaluateAsync(TakeOverCommitScript, [TransferKeys.ManifestRecord(region, manifestId)], [other, session]);
        }
    }

    private async Task DeleteSessionAsync(string region, string session)
    {
        await redis.KeyDeleteAsync([TransferKeys.SessionRecord(region, session), TransferKeys.SessionChunks(region, session), TransferKeys.SessionShards(region, session)]);
        await redis.SortedSetRemoveAsync(TransferKeys.Sessions(region), session);
    }
}
