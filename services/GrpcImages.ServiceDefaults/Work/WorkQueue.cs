using GrpcImages.ServiceDefaults.Storage;
using StackExchange.Redis;

namespace GrpcImages.ServiceDefaults.Work;

/// <summary>How a queue behaves; one instance per queue.</summary>
public sealed class WorkQueueOptions
{
    /// <summary>How long a claim lasts without renewal; a worker that stops renewing loses its items to others after it.</summary>
    public TimeSpan Lease { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The most items running at once across every replica (0: no limit). Waiting items start in FIFO order as slots free.</summary>
    public int Limit { get; set; }

    /// <summary>The most items one replica runs at once.</summary>
    public int MaxInFlight { get; set; } = 16;

    /// <summary>How often a replica looks for work when nothing woke it (delayed items, lost notifications).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The first retry delay after a handler fails; it doubles per attempt up to <see cref="MaxBackoff"/>.</summary>
    public TimeSpan Backoff { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromMinutes(1);
}

/// <summary>
/// An item a worker holds: its payload, the fencing token of this claim (higher than any earlier
/// claim of the queue) and how many times it was claimed. <see cref="TakenOver"/> is true when the
/// previous holder's lease ran out.
/// </summary>
public sealed record WorkLease(string Queue, string Id, string Payload, long Fence, int Attempt, bool TakenOver);

/// <summary>What an enqueue did.</summary>
public enum EnqueueResult
{
    /// <summary>The item was already queued (or running) and stays as it was.</summary>
    AlreadyQueued = 0,
    /// <summary>A new item.</summary>
    Added = 1,
    /// <summary>The item is running; it runs once more after it completes.</summary>
    RunsAgain = 2,
}

/// <summary>What a completion did.</summary>
public enum CompleteResult
{
    /// <summary>The fence no longer matches: another worker holds the item (or it was removed).</summary>
    Lost = 0,
    /// <summary>The item is gone from the queue.</summary>
    Completed = 1,
    /// <summary>It was enqueued again while it ran: it went back to the end of the queue.</summary>
    Requeued = 2,
}

/// <summary>What a removal found.</summary>
public enum RemoveResult
{
    Absent = 0,
    Removed = 1,
    /// <summary>Removal only of waiting items was asked, and the item is running: its worker must end it.</summary>
    Running = 2,
}

/// <summary>An item as stored.</summary>
public sealed record WorkItemState(string Id, string Payload, int Attempts, long Fence, string? Owner, bool Delayed);

/// <summary>The queue now: waiting items in the order they will start, how many run, and the line's revision (higher is newer).</summary>
public sealed record WorkQueueSnapshot(IReadOnlyList<string> Waiting, int Running, int Delayed, long Revision);

/// <summary>
/// The codebase's one lease-based work queue, on a Redis Stream with a consumer group (ARCHITECTURE.md,
/// "Tasks, queues and locks"). Every key of a queue shares one hash tag, so each step is one Lua
/// script that also runs on Redis Cluster:
/// <code>
/// - {prefix}{q:&lt;name&gt;}:s         stream  entries "id"=item id, in arrival order; the group "w" delivers them
///                                   first come, first served, and its pending list (PEL) is the running set
/// - {prefix}{q:&lt;name&gt;}:i:&lt;id&gt;     hash    p=payload, a=claims so far, f=fencing token of the current claim,
///                                   o=consumer holding it, e=its stream entry, g=1 when enqueued again while running
/// - {prefix}{q:&lt;name&gt;}:d         zset    item id -> ms when it may run (retries with backoff, scheduled items)
/// - {prefix}{q:&lt;name&gt;}:f         string  the last fencing token handed out (INCR)
/// - {prefix}{q:&lt;name&gt;}:r         string  the line's revision: counts every change of who waits and who runs (INCR), so
///                                   what is shown of the line (queue positions) is never replaced by an older view of it
/// </code>
/// A claim takes over an item whose lease (the PEL entry's idle time) ran out before it starts a new
/// one, and starts a new one only while fewer than <see cref="WorkQueueOptions.Limit"/> run, so the
/// limit holds across replicas and waiting items start in order. Each claim gets a fencing token
/// greater than any before it; renewals, completions and the stores a handler writes compare it, so a
/// worker whose lease was taken over can change nothing. Scripts publish on <see cref="Channel"/> when
/// work appears or a slot frees, so idle workers wake at once.
/// </summary>
public sealed class WorkQueue
{
    private const string Group = "w";

    // Creates the consumer group on first use (BUSYGROUP when it exists is fine).
    private const string EnsureGroupLua = """
        local function ensure_group(stream)
          if redis.call('EXISTS', stream) == 0 then redis.pcall('XGROUP', 'CREATE', stream, 'w', '0', 'MKSTREAM') end
        end
        """;

    // KEYS: stream, item, delayed, revision. ARGV: id, payload, delay ms, now ms, item prefix, channel, again (1: run again if running).
    // Returns EnqueueResult.
    private const string EnqueueScript = EnsureGroupLua + """

        ensure_group(KEYS[1])
        redis.call('INCR', KEYS[4])
        local due = tonumber(ARGV[4]) + tonumber(ARGV[3])
        if redis.call('EXISTS', KEYS[2]) == 1 then
          if redis.call('HEXISTS', KEYS[2], 'o') == 1 then
            if ARGV[7] == '1' then
              redis.call('HSET', KEYS[2], 'g', 1)
              return 2
            end
            return 0
          end
          -- a delayed item is brought forward when asked for sooner
          local scheduled = redis.call('ZSCORE', KEYS[3], ARGV[1])
          if scheduled and due < tonumber(scheduled) then
            if tonumber(ARGV[3]) > 0 then
              redis.call('ZADD', KEYS[3], due, ARGV[1])
            else
              redis.call('ZREM', KEYS[3], ARGV[1])
              redis.call('HSET', KEYS[2], 'e', redis.call('XADD', KEYS[1], '*', 'id', ARGV[1]))
              redis.call('PUBLISH', ARGV[6], 'enqueued')
            end
          end
          return 0
        end
        redis.call('HSET', KEYS[2], 'p', ARGV[2], 'a', 0)
        if tonumber(ARGV[3]) > 0 then
          redis.call('ZADD', KEYS[3], due, ARGV[1])
        else
          redis.call('HSET', KEYS[2], 'e', redis.call('XADD', KEYS[1], '*', 'id', ARGV[1]))
          redis.call('PUBLISH', ARGV[6], 'enqueued')
        end
        return 1
        """;

    // KEYS: stream, delayed, fence counter, revision. ARGV: consumer, lease ms, limit (0 = none), now ms, item prefix.
    // Returns {0, next due ms or -1} when there is nothing to claim, {1, id, payload, fence, claims, taken over (0/1), next due}.
    private const string ClaimScript = EnsureGroupLua + """

        ensure_group(KEYS[1])
        local prefix = ARGV[5]
        for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[4], 'LIMIT', 0, 100)) do
          redis.call('INCR', KEYS[4])
          redis.call('ZREM', KEYS[2], id)
          if redis.call('EXISTS', prefix .. id) == 1 then
            redis.call('HSET', prefix .. id, 'e', redis.call('XADD', KEYS[1], '*', 'id', id))
          end
        end
        local function next_due()
          local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
          if #first == 0 then return -1 end
          return tonumber(first[2])
        end
        local function take(entry, takeover)
          local id = entry[2][2]
          local item = prefix .. id
          if redis.call('EXISTS', item) == 0 then
            redis.call('XACK', KEYS[1], 'w', entry[1])
            redis.call('XDEL', KEYS[1], entry[1])
            return nil
          end
          local fence = redis.call('INCR', KEYS[3])
          redis.call('INCR', KEYS[4])
          local claims = redis.call('HINCRBY', item, 'a', 1)
          redis.call('HSET', item, 'f', fence, 'o', ARGV[1], 'e', entry[1])
          return {1, id, redis.call('HGET', item, 'p'), fence, claims, takeover, next_due()}
        end
        for _ = 1, 10 do
          local expired = redis.call('XAUTOCLAIM', KEYS[1], 'w', ARGV[1], ARGV[2], '0-0', 'COUNT', 1)[2]
          if #expired == 0 or not expired[1] then break end
          if type(expired[1][2]) == 'table' then
            local got = take(expired[1], 1)
            if got then return got end
          else
            redis.call('XACK', KEYS[1], 'w', expired[1][1])
          end
        end
        for _ = 1, 10 do
          if tonumber(ARGV[3]) > 0 and redis.call('XPENDING', KEYS[1], 'w')[1] >= tonumber(ARGV[3]) then
            return {0, next_due()}
          end
          local read = redis.call('XREADGROUP', 'GROUP', 'w', ARGV[1], 'COUNT', 1, 'STREAMS', KEYS[1], '>')
          if not read then return {0, next_due()} end
          local got = take(read[1][2][1], 0)
          if got then return got end
        end
        return {0, next_due()}
        """;

    // KEYS: stream, item. ARGV: fence, consumer. Returns 1 when renewed, 0 when the claim is no longer this one.
    private const string RenewScript = """
        if redis.call('HGET', KEYS[2], 'f') ~= ARGV[1] then return 0 end
        local claimed = redis.call('XCLAIM', KEYS[1], 'w', ARGV[2], 0, redis.call('HGET', KEYS[2], 'e'), 'JUSTID')
        if #claimed == 0 then return 0 end
        return 1
        """;

    // KEYS: stream, item, revision. ARGV: fence, id, channel. Returns CompleteResult.
    private const string CompleteScript = """
        if redis.call('HGET', KEYS[2], 'f') ~= ARGV[1] then return 0 end
        redis.call('INCR', KEYS[3])
        local entry = redis.call('HGET', KEYS[2], 'e')
        redis.call('XACK', KEYS[1], 'w', entry)
        redis.call('XDEL', KEYS[1], entry)
        redis.call('PUBLISH', ARGV[3], 'freed')
        if redis.call('HGET', KEYS[2], 'g') == '1' then
          redis.call('HDEL', KEYS[2], 'g', 'o')
          redis.call('HSET', KEYS[2], 'a', 0, 'e', redis.call('XADD', KEYS[1], '*', 'id', ARGV[2]))
          return 2
        end
        redis.call('DEL', KEYS[2])
        return 1
        """;

    // KEYS: stream, item, delayed, revision. ARGV: fence, id, due ms, channel. Returns 1, or 0 when the claim is no longer this one.
    private const string RetryScript = """
        if redis.call('HGET', KEYS[2], 'f') ~= ARGV[1] then return 0 end
        redis.call('INCR', KEYS[4])
        local entry = redis.call('HGET', KEYS[2], 'e')
        redis.call('XACK', KEYS[1], 'w', entry)
        redis.call('XDEL', KEYS[1], entry)
        redis.call('HDEL', KEYS[2], 'o', 'e', 'g')
        redis.call('ZADD', KEYS[3], ARGV[3], ARGV[2])
        redis.call('PUBLISH', ARGV[4], 'freed')
        return 1
        """;

    // KEYS: stream, item. ARGV: fence, consumer, lease ms, channel. Marks the claim expired so another worker takes it now.
    private const string ReleaseScript = """
        if redis.call('HGET', KEYS[2], 'f') ~= ARGV[1] then return 0 end
        redis.call('XCLAIM', KEYS[1], 'w', ARGV[2], 0, redis.call('HGET', KEYS[2], 'e'), 'IDLE', ARGV[3], 'JUSTID')
        redis.call('PUBLISH', ARGV[4], 'released')
        return 1
        """;

    // KEYS: stream, item, delayed, revision. ARGV: id, only if waiting (1/0), channel. Returns RemoveResult.
    private const string RemoveScript = """
        if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
        if ARGV[2] == '1' and redis.call('HEXISTS', KEYS[2], 'o') == 1 then return 2 end
        redis.call('INCR', KEYS[4])
        local entry = redis.call('HGET', KEYS[2], 'e')
        if entry then
          redis.call('XACK', KEYS[1], 'w', entry)
          redis.call('XDEL', KEYS[1], entry)
        end
        redis.call('ZREM', KEYS[3], ARGV[1])
        redis.call('DEL', KEYS[2])
        redis.call('PUBLISH', ARGV[3], 'freed')
        return 1
        """;

    // KEYS: stream, delayed, revision. ARGV: most waiting ids to return.
    // Returns {running, delayed, revision, waiting id...} with the waiting items in the order they will start.
    private const string SnapshotScript = EnsureGroupLua + """

        ensure_group(KEYS[1])
        local last = '0-0'
        for _, group in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
          local fields = {}
          for i = 1, #group, 2 do fields[group[i]] = group[i + 1] end
          if fields['name'] == 'w' then last = fields['last-delivered-id'] end
        end
        local out = {redis.call('XPENDING', KEYS[1], 'w')[1], redis.call('ZCARD', KEYS[2]), tonumber(redis.call('GET', KEYS[3]) or '0')}
        for _, entry in ipairs(redis.call('XRANGE', KEYS[1], '(' .. last, '+', 'COUNT', ARGV[1])) do
          out[#out + 1] = entry[2][2]
        end
        return out
        """;

    // KEYS: stream, item. Returns how long ago (ms) the item's lease was claimed or renewed, or -1 when no worker holds it.
    private const string LeaseScript = """
        local entry = redis.call('HGET', KEYS[2], 'e')
        if not entry or redis.call('HEXISTS', KEYS[2], 'o') == 0 then return -1 end
        local pending = redis.call('XPENDING', KEYS[1], 'w', entry, entry, 1)
        if #pending == 0 then return -1 end
        return pending[1][3]
        """;

    private readonly IDatabase _redis;
    private readonly string _root;
    private readonly TimeProvider _time;

    public WorkQueue(IConnectionMultiplexer redis, string prefix, string name, WorkQueueOptions options, TimeProvider? time = null)
    {
        _redis = redis.GetDatabase();
        Name = name;
        Options = options;
        _time = time ?? TimeProvider.System;
        _root = $"{prefix}{{q:{name}}}:";
        Channel = RedisChannel.Literal($"{prefix}q:{name}");
    }

    public string Name { get; }

    public WorkQueueOptions Options { get; }

    /// <summary>Where the queue announces new work and freed slots.</summary>
    public RedisChannel Channel { get; }

    private RedisKey Stream => _root + "s";

    private RedisKey Delayed => _root + "d";

    private RedisKey FenceCounter => _root + "f";

    private RedisKey Revision => _root + "r";

    private string ItemPrefix => _root + "i:";

    private RedisKey Item(string id) => ItemPrefix + id;

    private long Now => _time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>
    /// Queues an item unless one with its id is queued or running (ids make enqueues idempotent); a
    /// delayed one is brought forward when this enqueue is due sooner. With <paramref name="runAgain"/>,
    /// a running item runs once more after it completes, so work that arrived while it ran is not missed.
    /// </summary>
    public async Task<EnqueueResult> EnqueueAsync(string id, string payload, TimeSpan delay = default, bool runAgain = false) =>
        Map<EnqueueResult>(await _redis.ScriptEvaluateAsync(EnqueueScript, [Stream, Item(id), Delayed, Revision],
            [id, payload, (long)delay.TotalMilliseconds, Now, ItemPrefix, Channel.ToString(), runAgain ? "1" : "0"]));

    /// <summary>Claims the next item for <paramref name="consumer"/>: a taken-over one first, else the oldest waiting one if a slot is free.</summary>
    public async Task<(WorkLease? Lease, DateTimeOffset? NextDue)> ClaimAsync(string consumer)
    {
        var result = (RedisResult[])(await _redis.ScriptEvaluateAsync(ClaimScript, [Stream, Delayed, FenceCounter, Revision],
            [consumer, (long)Options.Lease.TotalMilliseconds, Options.Limit, Now, ItemPrefix]))!;
        if ((int)result[0] == 0)
        {
            return (null, Due((long)result[1]));
        }
        var lease = new WorkLease(Name, (string)result[1]!, (string)result[2]!, (long)result[3], (int)result[4], (int)result[5] == 1);
        return (lease, Due((long)result[6]));
    }

    /// <summary>Extends the lease; false when another worker took the item over (or it was removed).</summary>
    public async Task<bool> RenewAsync(WorkLease lease, string consumer) =>
        (int)await _redis.ScriptEvaluateAsync(RenewScript, [Stream, Item(lease.Id)], [lease.Fence, consumer]) == 1;

    public async Task<CompleteResult> CompleteAsync(WorkLease lease) =>
        Map<CompleteResult>(await _redis.ScriptEvaluateAsync(CompleteScript, [Stream, Item(lease.Id), Revision], [lease.Fence, lease.Id, Channel.ToString()]));

    /// <summary>Gives the item back to run again after <paramref name="delay"/>; false when the claim was lost.</summary>
    public async Task<bool> RetryAsync(WorkLease lease, TimeSpan delay) =>
        (int)await _redis.ScriptEvaluateAsync(RetryScript, [Stream, Item(lease.Id), Delayed, Revision],
            [lease.Fence, lease.Id, Now + (long)delay.TotalMilliseconds, Channel.ToString()]) == 1;

    /// <summary>Lets another worker take the item over at once (this one is stopping).</summary>
    public async Task<bool> ReleaseAsync(WorkLease lease, string consumer) =>
        (int)await _redis.ScriptEvaluateAsync(ReleaseScript, [Stream, Item(lease.Id)],
            [lease.Fence, consumer, (long)Options.Lease.TotalMilliseconds + 1, Channel.ToString()]) == 1;

    /// <summary>Removes an item; with <paramref name="onlyIfWaiting"/> a running one stays (its worker must end it).</summary>
    public async Task<RemoveResult> RemoveAsync(string id, bool onlyIfWaiting) =>
        Map<RemoveResult>(await _redis.ScriptEvaluateAsync(RemoveScript, [Stream, Item(id), Delayed, Revision],
            [id, onlyIfWaiting ? "1" : "0", Channel.ToString()]));

    public async Task<WorkQueueSnapshot> SnapshotAsync(int maxWaiting = 1000)
    {
        var result = (RedisResult[])(await _redis.ScriptEvaluateAsync(SnapshotScript, [Stream, Delayed, Revision], [maxWaiting]))!;
        return new WorkQueueSnapshot(result.Skip(3).Select(r => (string)r!).ToList(), (int)result[0], (int)result[1], (long)result[2]);
    }

    /// <summary>How long ago the worker holding the item claimed or renewed its lease; null when no worker holds it.</summary>
    public async Task<TimeSpan?> LeaseAgeAsync(string id) =>
        (long)await _redis.ScriptEvaluateAsync(LeaseScript, [Stream, Item(id)]) is >= 0 and var ms ? TimeSpan.FromMilliseconds(ms) : null;

    public async Task<WorkItemState?> GetAsync(string id)
    {
        var values = await _redis.HashGetAsync(Item(id), ["p", "a", "f", "o", "e"]);
        if (!values[0].HasValue)
        {
            return null;
        }
        return new WorkItemState(id, (string)values[0]!, (int?)values[1] ?? 0, (long?)values[2] ?? 0,
            values[3].HasValue ? (string)values[3]! : null, !values[4].HasValue);
    }

    private static DateTimeOffset? Due(long ms) => ms < 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds(ms);

    private static T Map<T>(RedisResult result) where T : struct, Enum => ScriptResults.Map<T>((int)result);
}
