using Google.Protobuf;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.ServiceDefaults.Storage;
using GrpcImages.ServiceDefaults.Work;
using StackExchange.Redis;

namespace GrpcImages.Transfer.Storage;

/// <summary>A task as stored: its version (its revision), the highest worker token that wrote it, and its plan (the worker's checkpoint).</summary>
public sealed record StoredTask(TransferTask Task, long Version, long Fence, string Plan);

/// <summary>What saving a task did (numbers the scripts return).</summary>
public enum TaskSaveResult
{
    /// <summary>The task changed since it was read.</summary>
    Conflict = 0,
    Saved = 1,
    /// <summary>A worker with a newer fencing token wrote the task: this one lost it.</summary>
    Fenced = 3,

    /// <summary>The queue position given was read from an older view of the line than the one the task shows.</summary>
    Stale = 4,
}

/// <summary>A page of the task log and where it continues ("" at the end).</summary>
public sealed record TaskPage(IReadOnlyList<TransferTask> Tasks, string Next);

/// <summary>
/// Tasks in Redis (key layout: <see cref="TransferKeys"/>), under their owner's tag. Every save
/// compares the version read, bumps it (the task's revision) and publishes the new state on the
/// task's channel in the same script, so WatchTask never misses a change it was told of.
/// </summary>
public sealed class TaskStore(IDatabase redis)
{
    /// <summary>How many log entries one List call looks at before it returns a (shorter) page with a token.</summary>
    public const int ListScanBudget = 1000;

    // KEYS: task, log, client token. ARGV: id, bytes, plan, status, action, score, fingerprint, token ttl.
    // Returns {CreateStatus, the token's stored value}.
    private const string CreateScript = ClientTokens.Lua + """

        local prior = prior_token(KEYS[3], ARGV[7])
        if prior then return {2, prior} end
        redis.call('HSET', KEYS[1], 'd', ARGV[2], 'v', 1, 'fence', 0, 'plan', ARGV[3], 's', ARGV[4], 'a', ARGV[5])
        redis.call('ZADD', KEYS[2], ARGV[6], ARGV[1])
        remember_token(KEYS[3], ARGV[7], ARGV[1], ARGV[8])
        return {1, ''}
        """;

    // KEYS: task. ARGV: version read, worker's token ('' for others), bytes, status, plan ('' keeps it), channel,
    // line revision of a queue position ('' for none). Returns TaskSaveResult.
    private const string SaveScript = Fencing.Lua + """

        if redis.call('HGET', KEYS[1], 'v') ~= ARGV[1] then return 0 end
        if ARGV[2] ~= '' and not fenced(KEYS[1], ARGV[2]) then return 3 end
        if ARGV[7] ~= '' then
          if tonumber(redis.call('HGET', KEYS[1], 'pr') or '0') >= tonumber(ARGV[7]) then return 4 end
          redis.call('HSET', KEYS[1], 'pr', ARGV[7])
        end
        redis.call('HSET', KEYS[1], 'd', ARGV[3], 's', ARGV[4], 'v', tonumber(ARGV[1]) + 1)
        if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'plan', ARGV[5]) end
        redis.call('PUBLISH', ARGV[6], ARGV[3])
        return 1
        """;

    // KEYS: task, log, client token. ARGV: id, token's value when it names this task ('' for none).
    private const string DeleteScript = """
        redis.call('DEL', KEYS[1])
        redis.call('ZREM', KEYS[2], ARGV[1])
        if ARGV[2] ~= '' and redis.call('GET', KEYS[3]) == ARGV[2] then redis.call('DEL', KEYS[3]) end
        return 1
        """;

    // KEYS: log. ARGV: record prefix, cursor score ('' = start), cursor id, limit, statuses (',3,6,' or ''), action ('' = any), budget.
    // Newest first; returns {next score, next id, record...}, next score '' at the end.
    private const string ListScript = """
        local limit, budget = tonumber(ARGV[4]), tonumber(ARGV[7])
        local hi = '+inf'
        if ARGV[2] ~= '' then hi = ARGV[2] end
        local out, found, offset = {}, 0, 0
        local lastScore, lastId = '', ''
        while budget > 0 do
          local batch = redis.call('ZREVRANGEBYSCORE', KEYS[1], hi, '-inf', 'WITHSCORES', 'LIMIT', offset, 64)
          if #batch == 0 then break end
          offset = offset + #batch / 2
          for i = 1, #batch, 2 do
            local id, score = batch[i], batch[i + 1]
            if not (ARGV[2] ~= '' and tonumber(score) == tonumber(ARGV[2]) and id >= ARGV[3]) then
              budget = budget - 1
              local r = redis.call('HMGET', ARGV[1] .. id, 's', 'a', 'd')
              local ok = r[3] ~= false
              if ok and ARGV[5] ~= '' then ok = string.find(ARGV[5], ',' .. r[1] .. ',', 1, true) ~= nil end
              if ok and ARGV[6] ~= '' then ok = r[2] == ARGV[6] end
              if ok then
                if found == limit then return {lastScore, lastId, unpack(out)} end
                found = found + 1
                out[found] = r[3]
              end
              lastScore, lastId = score, id
              if budget == 0 then break end
            end
          end
        end
        if budget == 0 then return {lastScore, lastId, unpack(out)} end
        return {'', '', unpack(out)}
        """;

    /// <summary>Creates a task with its plan (and remembers its client token), or finds the task the token made before.</summary>
    public async Task<(CreateStatus Status, string Prior)> CreateAsync(TransferTask task, string plan, string scope, ClientToken token)
    {
        task.Revision = 1;
        var result = (RedisResult[])(await redis.ScriptEvaluateAsync(CreateScript,
            [TransferKeys.Task(task.TaskId), TransferKeys.Tasks(task.OwnerAccountId, task.RegionId), TransferKeys.ClientToken(task.OwnerAccountId, scope, token.Token)],
            [task.TaskId, task.ToByteArray(), plan, (int)task.Status, (int)task.Action, task.CreateTime.ToDateTimeOffset().ToUnixTimeMilliseconds(),
             token.Fingerprint, ClientTokens.LifetimeSeconds]))!;
        return (ScriptResults.Map<CreateStatus>((int)result[0]), (string)result[1]!);
    }

    public async Task<StoredTask?> GetAsync(string taskId)
    {
        var values = await redis.HashGetAsync(TransferKeys.Task(taskId), ["d", "v", "fence", "plan"]);
        return values[0].HasValue
            ? new StoredTask(TransferTask.Parser.ParseFrom((byte[])values[0]!), (long)values[1], (long?)values[2] ?? 0, (string?)values[3] ?? "")
            : null;
    }

    /// <summary>
    /// Saves a task's new state (its revision becomes the version's next), published to its watchers. A queue
    /// position names the <paramref name="lineRevision"/> of the view of the line it was read from: one older than
    /// the task shows is refused (<see cref="TaskSaveResult.Stale"/>), so positions only ever move forward.
    /// </summary>
    public async Task<TaskSaveResult> SaveAsync(StoredTask stored, TransferTask updated, long? fence = null, string? plan = null, long? lineRevision = null)
    {
        updated.Revision = stored.Version + 1;
        return ScriptResults.Map<TaskSaveResult>((int)await redis.ScriptEvaluateAsync(SaveScript, [TransferKeys.Task(updated.TaskId)],
            [stored.Version, fence?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "", updated.ToByteArray(), (int)updated.Status, plan ?? "",
             TransferKeys.TaskChannel(updated.TaskId).ToString(), lineRevision?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? ""]));
    }

    /// <summary>Removes a task that never started (its request was refused), and its client token.</summary>
    public Task DeleteAsync(TransferTask task, string scope, ClientToken token) =>
        redis.ScriptEvaluateAsync(DeleteScript,
            [TransferKeys.Task(task.TaskId), TransferKeys.Tasks(task.OwnerAccountId, task.RegionId), TransferKeys.ClientToken(task.OwnerAccountId, scope, token.Token)],
            [task.TaskId, token.IsSet ? ClientTokens.Value(token.Fingerprint, task.TaskId) : ""]);

    /// <summary>What the client token names ("fingerprint|task id"), or null when it names nothing.</summary>
    public Task<string?> FindClientTokenAsync(string account, string scope, ClientToken token) =>
        ClientTokens.FindAsync(redis, token, TransferKeys.ClientToken(account, scope, token.Token));

    /// <summary>A page of an account's task log in a region, newest first, filtered in the script.</summary>
    public async Task<TaskPage> ListAsync(string account, string region, string position, int limit, IReadOnlyCollection<int> statuses, int action)
    {
        var colon = position.IndexOf(':');
        var (score, id) = colon > 0 ? (position[..colon], position[(colon + 1)..]) : ("", "");
        var result = (RedisResult[])(await redis.ScriptEvaluateAsync(ListScript, [TransferKeys.Tasks(account, region)],
        [
            TransferKeys.TaskRecordPrefix(account), score, id, limit,
            statuses.Count > 0 ? "," + string.Join(',', statuses) + "," : "", action == 0 ? "" : action.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ListScanBudget,
        ]))!;
        var next = (string)result[0]! == "" ? "" : $"{(string)result[0]!}:{(string)result[1]!}";
        return new TaskPage(result.Skip(2).Select(r => TransferTask.Parser.ParseFrom((byte[])r!)).ToList(), next);
    }
}
