using GrpcImages.ServiceDefaults.Redis;
using GrpcImages.ServiceDefaults.Storage;
using StackExchange.Redis;

namespace GrpcImages.Sharing.Storage;

/// <summary>What a grant change did (numbers the script returns).</summary>
public enum ShareResult
{
    Changed = 1,
    /// <summary>R15: the image would be shared with more accounts than its limit.</summary>
    AccountsPerImageExceeded = 2,
    /// <summary>R14: the owner would have more images shared than its limit.</summary>
    SharedImagesExceeded = 3,
}

/// <summary>The outcome of a grant change.</summary>
public sealed record ShareChange(ShareResult Result, int Limit, IReadOnlyList<string> Added, IReadOnlyList<string> Removed);

/// <summary>A grant as the recipient's index holds it.</summary>
public sealed record ReceivedShare(string Owner, string ImageId, long SharedAtMs);

/// <summary>An audit record as stored.</summary>
public sealed record AuditEntry(string Id, string ImageId, string Region, string Account, string Action, string Actor, long TimeMs);

/// <summary>
/// Share grants (R13-R19, R32) in Redis (key layout: <see cref="SharingKeys"/>). A change checks
/// both share quotas and writes the grants, the owner's shared set, the audit and the outbox in one
/// script over the owner's keys, so concurrent changes are exact.
/// </summary>
public sealed class ShareStore(IDatabase redis)
{
    /// <summary>About how many grant and revoke records each owner's audit keeps.</summary>
    public const int AuditLength = 10_000;

    /// <summary>Outbox entries applied per read.</summary>
    private const int OutboxBatch = 100;

    // KEYS: grants, shared, where, limits, outbox, audit.
    // ARGV: image, owner, region, now, default accounts per image, default shared images, actor, audit length,
    //       count of adds, adds..., removes...
    // Returns {ShareResult, limit, count of adds, added..., removed...}. Outbox entries as OutboxEntry formats them.
    private const string ModifyScript = """
        local nadd = tonumber(ARGV[9])
        local added, removed = {}, {}
        for i = 10 + nadd, #ARGV do
          if redis.call('ZSCORE', KEYS[1], ARGV[i]) then removed[#removed + 1] = ARGV[i] end
        end
        for i = 10, 9 + nadd do
          if not redis.call('ZSCORE', KEYS[1], ARGV[i]) then added[#added + 1] = ARGV[i] end
        end
        local after = redis.call('ZCARD', KEYS[1]) - #removed + #added
        if #added > 0 then
          local perImage = tonumber(redis.call('HGET', KEYS[4], 'accounts_per_image') or ARGV[5])
          if after > perImage then return {2, perImage} end
        end
        local isShared = redis.call('ZSCORE', KEYS[2], ARGV[1])
        if after > 0 and not isShared then
          local shared = tonumber(redis.call('HGET', KEYS[4], 'shared_images') or ARGV[6])
          if redis.call('ZCARD', KEYS[2]) + 1 > shared then return {3, shared} end
        end
        for _, a in ipairs(removed) do
          redis.call('ZREM', KEYS[1], a)
          redis.call('RPUSH', KEYS[5], '-|' .. a .. '|' .. ARGV[3] .. '|' .. ARGV[2] .. '|' .. ARGV[1] .. '|' .. ARGV[4])
          redis.call('XADD', KEYS[6], 'MAXLEN', '~', ARGV[8], '*', 'image', ARGV[1], 'region', ARGV[3], 'account', a, 'action', '2', 'actor', ARGV[7], 'time', ARGV[4])
        end
        for _, a in ipairs(added) do
          redis.call('ZADD', KEYS[1], ARGV[4], a)
          redis.call('RPUSH', KEYS[5], '+|' .. a .. '|' .. ARGV[3] .. '|' .. ARGV[2] .. '|' .. ARGV[1] .. '|' .. ARGV[4])
          redis.call('XADD', KEYS[6], 'MAXLEN', '~', ARGV[8], '*', 'image', ARGV[1], 'region', ARGV[3], 'account', a, 'action', '1', 'actor', ARGV[7], 'time', ARGV[4])
        end
        if after > 0 then
          if not isShared then redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1]) end
          redis.call('SET', KEYS[3], ARGV[3])
        else
          redis.call('ZREM', KEYS[2], ARGV[1])
          redis.call('DEL', KEYS[3])
        end
        local out = {1, 0, #added}
        for _, a in ipairs(added) do out[#out + 1] = a end
        for _, a in ipairs(removed) do out[#out + 1] = a end
        return out
        """;

    // KEYS: grants, shared, where, outbox, audit. ARGV: image, owner, region, now, actor, audit length. Returns the recipients revoked.
    // Outbox entries as OutboxEntry formats them.
    private const string RevokeAllScript = """
        local recipients = redis.call('ZRANGE', KEYS[1], 0, -1)
        for _, a in ipairs(recipients) do
          redis.call('RPUSH', KEYS[4], '-|' .. a .. '|' .. ARGV[3] .. '|' .. ARGV[2] .. '|' .. ARGV[1] .. '|' .. ARGV[4])
          redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[6], '*', 'image', ARGV[1], 'region', ARGV[3], 'account', a, 'action', '3', 'actor', ARGV[5], 'time', ARGV[4])
        end
        redis.call('DEL', KEYS[1], KEYS[3])
        redis.call('ZREM', KEYS[2], ARGV[1])
        return #recipients
        """;

    public async Task<ShareChange> ModifyAsync(string owner, string imageId, string region, long nowMs, int defaultPerImage, int defaultShared,
        string actor, IReadOnlyList<string> add, IReadOnlyList<string> remove)
    {
        RedisKey[] keys =
        [
            SharingKeys.Grants(owner, imageId), SharingKeys.Shared(owner), SharingKeys.Where(owner, imageId),
            SharingKeys.Limits(owner), SharingKeys.Outbox(owner), SharingKeys.Audit(owner),
        ];
        RedisValue[] args =
        [
            imageId, owner, region, nowMs, defaultPerImage, defaultShared, actor, AuditLength, add.Count,
            .. add.Select(a => (RedisValue)a), .. remove.Select(a => (RedisValue)a),
        ];
        var result = (RedisResult[])(await redis.ScriptEvaluateAsync(ModifyScript, keys, args))!;
        await AnnounceAsync(imageId);
        var status = ScriptResults.Map<ShareResult>((int)result[0]);
        if (status != ShareResult.Changed)
        {
            return new ShareChange(status, (int)result[1], [], []);
        }
        var addedCount = (int)result[2];
        var names = result.Skip(3).Select(r => (string)r!).ToList();
        return new ShareChange(status, 0, names[..addedCount], names[addedCount..]);
    }

    public async Task<int> RevokeAllAsync(string owner, string imageId, string region, long nowMs, string actor)
    {
        var revoked = (int)await redis.ScriptEvaluateAsync(RevokeAllScript,
            [SharingKeys.Grants(owner, imageId), SharingKeys.Shared(owner), SharingKeys.Where(owner, imageId), SharingKeys.Outbox(owner), SharingKeys.Audit(owner)],
            [imageId, owner, region, nowMs, actor, AuditLength]);
        await AnnounceAsync(imageId);
        return revoked;
    }

    /// <summary>Tells the catalog replicas to drop their access checks of the image (each trusts one for at most a second anyway).</summary>
    private Task<long> AnnounceAsync(string imageId) => Channels.AnnounceAsync(redis, Channels.GrantsChanged, imageId);

    /// <summary>When the image was shared with the account, or null: one Redis read (the access check of R19).</summary>
    public async Task<long?> GrantedAtAsync(string owner, string imageId, string account) =>
        (long?)await redis.SortedSetScoreAsync(SharingKeys.Grants(owner, imageId), account);

    public Task<long> CountAsync(string owner, string imageId) => redis.SortedSetLengthAsync(SharingKeys.Grants(owner, imageId));

    /// <summary>A page of an image's grants, oldest first, after the (score, account) position.</summary>
    public async Task<(IReadOnlyList<(string Account, long SharedAtMs)> Page, string Next, long Total)> GrantsAsync(string owner, string imageId, string position, int limit)
    {
        var key = SharingKeys.Grants(owner, imageId);
        var batch = redis.CreateBatch();
        var total = batch.SortedSetLengthAsync(key);
        var entries = batch.SortedSetRangeByScoreWithScoresAsync(key, Start(position), double.PositiveInfinity, Exclude.None, Order.Ascending, 0, limit + 64);
        batch.Execute();
        var page = After(await entries, position).Take(limit + 1).ToList();
        var next = page.Count > limit ? Position(page[limit - 1]) : "";
        return (page.Take(limit).Select(e => ((string)e.Element!, (long)e.Score)).ToList(), next, await total);
    }

    /// <summary>A page of the images shared with a recipient in a region, oldest share first.</summary>
    public async Task<(IReadOnlyList<ReceivedShare> Page, string Next)> ReceivedAsync(string recipient, string region, string position, int limit)
    {
        var entries = await redis.SortedSetRangeByScoreWithScoresAsync(SharingKeys.Received(recipient, region), Start(position), double.PositiveInfinity,
            Exclude.None, Order.Ascending, 0, limit + 64);
        var page = After(entries, position).Take(limit + 1).ToList();
        var next = page.Count > limit ? Position(page[limit - 1]) : "";
        return (page.Take(limit).Select(e =>
        {
            var member = ReceivedMember.Parse((string)e.Element!);
            return new ReceivedShare(member.Owner, member.ImageId, (long)e.Score);
        }).ToList(), next);
    }

    /// <summary>Which shares still have their grant (one pipelined round trip); stale index entries are dropped.</summary>
    public async Task<IReadOnlyList<ReceivedShare>> StillGrantedAsync(string recipient, string region, IReadOnlyList<ReceivedShare> shares)
    {
        var batch = redis.CreateBatch();
        var checks = shares.Select(s => batch.SortedSetScoreAsync(SharingKeys.Grants(s.Owner, s.ImageId), recipient)).ToList();
        batch.Execute();
        var live = new List<ReceivedShare>();
        for (var i = 0; i < shares.Count; i++)
        {
            if (await checks[i] is not null)
            {
                live.Add(shares[i]);
            }
            else
            {
                await redis.SortedSetRemoveAsync(SharingKeys.Received(recipient, region), new ReceivedMember(shares[i].Owner, shares[i].ImageId).Format());
            }
        }
        return live;
    }

    private static readonly TimeSpan DrainLease = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan DrainWait = TimeSpan.FromSeconds(10);

    // KEYS: outbox. ARGV: the entries applied, as read from its head. Drops them if they are still its head.
    private const string TrimAppliedScript = """
        local head = redis.call('LRANGE', KEYS[1], 0, #ARGV - 1)
        if #head ~= #ARGV then return 0 end
        for i = 1, #ARGV do
          if head[i] ~= ARGV[i] then return 0 end
        end
        redis.call('LTRIM', KEYS[1], #ARGV, -1)
        return 1
        """;

    // KEYS: the drain lease. ARGV: its holder. Releases it only if still held by the holder.
    private const string UnleaseScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
        return 0
        """;

    // KEYS: outbox, drain lease. ARGV: holder, lease ms. 0 = the outbox is empty, 1 = the caller holds the lease now, 2 = another does.
    private const string DrainTurnScript = """
        if redis.call('LLEN', KEYS[1]) == 0 then return 0 end
        if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
        return 2
        """;

    /// <summary>
    /// Applies an owner's pending recipient-index changes and returns once its outbox is empty. One
    /// caller at a time applies (a short lease), in pipelined batches; the others wait for the outbox
    /// to empty rather than all applying and removing the same entries, asking once per look (backing
    /// off to 16 ms). Each change is idempotent, so one applied twice (a lease that ran out) does no
    /// harm; after <see cref="DrainWait"/> a caller stops waiting and the owner's queued outbox item
    /// finishes the work.
    /// </summary>
    public async Task DrainOutboxAsync(string owner)
    {
        var key = SharingKeys.Outbox(owner);
        var lease = SharingKeys.OutboxDrain(owner);
        var me = Guid.NewGuid().ToString("N");
        var until = DateTime.UtcNow + DrainWait;
        var pause = 1;
        while (true)
        {
            var turn = (int)await redis.ScriptEvaluateAsync(DrainTurnScript, [key, lease], [me, (long)DrainLease.TotalMilliseconds]);
            if (turn == 0)
            {
                return;
            }
            if (turn == 1)
            {
                try
                {
                    await ApplyOutboxAsync(key);
                }
                finally
                {
                    await redis.ScriptEvaluateAsync(UnleaseScript, [lease], [me]);
                }
                continue;
            }
            if (DateTime.UtcNow > until)
            {
                return;
            }
            await Task.Delay(pause);
            pause = Math.Min(pause * 2, 16);
        }
    }

    private async Task ApplyOutboxAsync(string key)
    {
        while (true)
        {
            var entries = await redis.ListRangeAsync(key, 0, OutboxBatch - 1);
            if (entries.Length == 0)
            {
                return;
            }
            var batch = redis.CreateBatch();
            var applied = new List<Task>(entries.Length);
            foreach (var entry in entries)
            {
                var change = OutboxEntry.Parse((string)entry!);
                var (index, member) = (SharingKeys.Received(change.Recipient, change.Region), change.Member.Format());
                applied.Add(change.Grant
                    ? batch.SortedSetAddAsync(index, member, change.AtMs)
                    : batch.SortedSetRemoveAsync(index, member));
            }
            batch.Execute();
            await Task.WhenAll(applied);
            await redis.ScriptEvaluateAsync(TrimAppliedScript, [key], entries);
        }
    }

    /// <summary>A page of the owner's audit, newest first, before the stream id <paramref name="before"/>.</summary>
    public async Task<(IReadOnlyList<AuditEntry> Page, string Next)> AuditAsync(string owner, string imageId, string before, int limit)
    {
        var page = new List<AuditEntry>();
        var max = before.Length == 0 ? "+" : "(" + before;
        while (page.Count < limit)
        {
            var entries = await redis.StreamRangeAsync(SharingKeys.Audit(owner), "-", max, 200, Order.Descending);
            if (entries.Length == 0)
            {
                return (page, "");
            }
            foreach (var entry in entries)
            {
                max = "(" + entry.Id;
                var values = entry.Values.ToDictionary(v => (string)v.Name!, v => (string)v.Value!);
                if (imageId.Length == 0 || values["image"] == imageId)
                {
                    page.Add(new AuditEntry(entry.Id!, values["image"], values["region"], values["account"], values["action"], values["actor"], long.Parse(values["time"])));
                    if (page.Count == limit)
                    {
                        return (page, entry.Id!);
                    }
                }
            }
        }
        return (page, "");
    }

    private static double Start(string position) =>
        position.Length == 0 ? double.NegativeInfinity : double.Parse(position[..position.IndexOf(':')]);

    private static IEnumerable<SortedSetEntry> After(SortedSetEntry[] entries, string position)
    {
        if (position.Length == 0)
        {
            return entries;
        }
        var colon = position.IndexOf(':');
        var (score, member) = (double.Parse(position[..colon]), position[(colon + 1)..]);
        return entries.Where(e => e.Score > score || (e.Score == score && string.CompareOrdinal(e.Element, member) > 0));
    }

    private static string Position(SortedSetEntry entry) => $"{entry.Score:R}:{entry.Element}";
}
