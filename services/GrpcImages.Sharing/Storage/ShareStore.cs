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

/// <summary>The outcome of a grant change: the accounts and organization principals added and removed.</summary>
public sealed record ShareChange(ShareResult Result, int Limit, IReadOnlyList<string> Added, IReadOnlyList<string> Removed,
    IReadOnlyList<string> AddedPrincipals, IReadOnlyList<string> RemovedPrincipals);

/// <summary>
/// A grant as a recipients' index holds it: <paramref name="Via"/> names the organization principal whose index it
/// came from (R37), null for the recipient's own index.
/// </summary>
public sealed record ReceivedShare(string Owner, string ImageId, long SharedAtMs, OrganizationPrincipal? Via = null);

/// <summary>An audit record as stored; <paramref name="Target"/> is the organization principal of an organization grant ("" otherwise).</summary>
public sealed record AuditEntry(string Id, string ImageId, string Region, string Account, string Action, string Actor, long TimeMs, string Target = "");

/// <summary>What one read tells an access check: the account's own grant, how many organization grants the image has, and its site rule.</summary>
public sealed record AccessFacts(long? GrantedAtMs, long OrganizationGrants, string SiteOnly);

/// <summary>A grant of an image's page of grants: an account's, or an organization principal's (R37).</summary>
public sealed record GrantEntry(string Member, long SharedAtMs, bool IsOrganization);

/// <summary>
/// Share grants (R13-R19, R32) and organization grants (R37) in Redis (key layout: <see cref="SharingKeys"/>). A
/// change checks both share quotas and writes the grants, the owner's shared set, the audit and the outbox in one
/// script over the owner's keys, so concurrent changes are exact.
/// </summary>
public sealed class ShareStore(IDatabase redis)
{
    /// <summary>About how many grant and revoke records each owner's audit keeps.</summary>
    public const int AuditLength = 10_000;

    /// <summary>Outbox entries applied per read.</summary>
    private const int OutboxBatch = 100;

    // KEYS: grants, shared, where, limits, outbox, audit, organization grants, organization site.
    // ARGV: image, owner, region, now, default accounts per image, default shared images, actor, audit length,
    //       count of adds, of removes, of principal adds, of principal removes, the owner's site for a marketplace-derived
    //       image ('' otherwise), then the adds, removes, principals to add (formatted), targets to remove (as named).
    // Organization grants count toward the accounts per image like accounts (R15, R37); a target to remove names every
    // principal that ends with it (OrganizationPrincipal.Names).
    // Returns {ShareResult, limit, added count, removed count, principals added count, added..., removed..., principals added...,
    // principals removed...}. Outbox entries as OutboxEntry formats them.
    private const string ModifyScript = """
        local nadd, nremove, noadd, noremove = tonumber(ARGV[9]), tonumber(ARGV[10]), tonumber(ARGV[11]), tonumber(ARGV[12])
        local first = 14
        local added, removed, oadded, oremoved = {}, {}, {}, {}
        for i = first + nadd, first + nadd + nremove - 1 do
          if redis.call('ZSCORE', KEYS[1], ARGV[i]) then removed[#removed + 1] = ARGV[i] end
        end
        for i = first, first + nadd - 1 do
          if not redis.call('ZSCORE', KEYS[1], ARGV[i]) then added[#added + 1] = ARGV[i] end
        end
        local ofirst = first + nadd + nremove
        if noremove > 0 then
          for _, p in ipairs(redis.call('ZRANGE', KEYS[7], 0, -1)) do
            for i = ofirst + noadd, ofirst + noadd + noremove - 1 do
              local t = ARGV[i]
              if p == t or (#p > #t + 1 and string.sub(p, -#t - 1) == '/' .. t) then oremoved[#oremoved + 1] = p break end
            end
          end
        end
        for i = ofirst, ofirst + noadd - 1 do
          if not redis.call('ZSCORE', KEYS[7], ARGV[i]) then oadded[#oadded + 1] = ARGV[i] end
        end
        local organizations = redis.call('ZCARD', KEYS[7]) - #oremoved + #oadded
        local after = redis.call('ZCARD', KEYS[1]) - #removed + #added + organizations
        if #added + #oadded > 0 then
          local perImage = tonumber(redis.call('HGET', KEYS[4], 'accounts_per_image') or ARGV[5])
          if after > perImage then return {2, perImage} end
        end
        local isShared = redis.call('ZSCORE', KEYS[2], ARGV[1])
        if after > 0 and not isShared then
          local shared = tonumber(redis.call('HGET', KEYS[4], 'shared_images') or ARGV[6])
          if redis.call('ZCARD', KEYS[2]) + 1 > shared then return {3, shared} end
        end
        local function record(recipient, change, action, account, target)
          redis.call('RPUSH', KEYS[5], change .. '|' .. recipient .. '|' .. ARGV[3] .. '|' .. ARGV[2] .. '|' .. ARGV[1] .. '|' .. ARGV[4])
          redis.call('XADD', KEYS[6], 'MAXLEN', '~', ARGV[8], '*', 'image', ARGV[1], 'region', ARGV[3], 'account', account, 'target', target,
            'action', action, 'actor', ARGV[7], 'time', ARGV[4])
        end
        for _, a in ipairs(removed) do
          redis.call('ZREM', KEYS[1], a)
          record(a, '-', '2', a, '')
        end
        for _, p in ipairs(oremoved) do
          redis.call('ZREM', KEYS[7], p)
          record(p, '-', '2', '', p)
        end
        for _, a in ipairs(added) do
          redis.call('ZADD', KEYS[1], ARGV[4], a)
          record(a, '+', '1', a, '')
        end
        for _, p in ipairs(oadded) do
          redis.call('ZADD', KEYS[7], ARGV[4], p)
          record(p, '+', '1', '', p)
        end
        if organizations > 0 then
          if ARGV[13] ~= '' then redis.call('SET', KEYS[8], ARGV[13]) end
        else
          redis.call('DEL', KEYS[8])
        end
        if after > 0 then
          if not isShared then redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1]) end
          redis.call('SET', KEYS[3], ARGV[3])
        else
          redis.call('ZREM', KEYS[2], ARGV[1])
          redis.call('DEL', KEYS[3])
        end
        local out = {1, 0, #added, #removed, #oadded}
        for _, a in ipairs(added) do out[#out + 1] = a end
        for _, a in ipairs(removed) do out[#out + 1] = a end
        for _, p in ipairs(oadded) do out[#out + 1] = p end
        for _, p in ipairs(oremoved) do out[#out + 1] = p end
        return out
        """;

    // KEYS: grants, shared, where, outbox, audit, organization grants, organization site.
    // ARGV: image, owner, region, now, actor, audit length. Returns {accounts revoked, organization principals revoked}.
    // Outbox entries as OutboxEntry formats them.
    private const string RevokeAllScript = """
        local recipients = redis.call('ZRANGE', KEYS[1], 0, -1)
        local principals = redis.call('ZRANGE', KEYS[6], 0, -1)
        local function record(recipient, account, target)
          redis.call('RPUSH', KEYS[4], '-|' .. recipient .. '|' .. ARGV[3] .. '|' .. ARGV[2] .. '|' .. ARGV[1] .. '|' .. ARGV[4])
          redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[6], '*', 'image', ARGV[1], 'region', ARGV[3], 'account', account, 'target', target,
            'action', '3', 'actor', ARGV[5], 'time', ARGV[4])
        end
        for _, a in ipairs(recipients) do record(a, a, '') end
        for _, p in ipairs(principals) do record(p, '', p) end
        redis.call('DEL', KEYS[1], KEYS[3], KEYS[6], KEYS[7])
        redis.call('ZREM', KEYS[2], ARGV[1])
        return {#recipients, #principals}
        """;

    /// <summary>
    /// Adds and removes an image's grants: accounts, and organization principals (<paramref name="addPrincipals"/>
    /// formatted, <paramref name="removeTargets"/> as the owner named them), with both share quotas checked, in one
    /// script. <paramref name="siteOnly"/> is the owner's site for a marketplace-derived image (R18), else "".
    /// </summary>
    public async Task<ShareChange> ModifyAsync(string owner, string imageId, string region, long nowMs, int defaultPerImage, int defaultShared,
        string actor, IReadOnlyList<string> add, IReadOnlyList<string> remove, IReadOnlyList<string> addPrincipals, IReadOnlyList<string> removeTargets,
        string siteOnly)
    {
        RedisKey[] keys =
        [
            SharingKeys.Grants(owner, imageId), SharingKeys.Shared(owner), SharingKeys.Where(owner, imageId),
            SharingKeys.Limits(owner), SharingKeys.Outbox(owner), SharingKeys.Audit(owner),
            SharingKeys.OrganizationGrants(owner, imageId), SharingKeys.OrganizationSite(owner, imageId),
        ];
        RedisValue[] args =
        [
            imageId, owner, region, nowMs, defaultPerImage, defaultShared, actor, AuditLength, add.Count, remove.Count, addPrincipals.Count,
            removeTargets.Count, siteOnly,
            .. add.Select(a => (RedisValue)a), .. remove.Select(a => (RedisValue)a),
            .. addPrincipals.Select(p => (RedisValue)p), .. removeTargets.Select(t => (RedisValue)t),
        ];
        var result = (RedisResult[])(await redis.ScriptEvaluateAsync(ModifyScript, keys, args))!;
        await AnnounceAsync(imageId);
        var status = ScriptResults.Map<ShareResult>((int)result[0]);
        if (status != ShareResult.Changed)
        {
            return new ShareChange(status, (int)result[1], [], [], [], []);
        }
        var (added, removed, principalsAdded) = ((int)result[2], (int)result[3], (int)result[4]);
        var names = result.Skip(5).Select(r => (string)r!).ToList();
        return new ShareChange(status, 0, names[..added], names[added..(added + removed)],
            names[(added + removed)..(added + removed + principalsAdded)], names[(added + removed + principalsAdded)..]);
    }

    /// <summary>Revokes every grant of an image, accounts and organization principals (R32); returns how many of each.</summary>
    public async Task<(int Accounts, int Principals)> RevokeAllAsync(string owner, string imageId, string region, long nowMs, string actor)
    {
        var revoked = (RedisResult[])(await redis.ScriptEvaluateAsync(RevokeAllScript,
            [
                SharingKeys.Grants(owner, imageId), SharingKeys.Shared(owner), SharingKeys.Where(owner, imageId), SharingKeys.Outbox(owner),
                SharingKeys.Audit(owner), SharingKeys.OrganizationGrants(owner, imageId), SharingKeys.OrganizationSite(owner, imageId),
            ],
            [imageId, owner, region, nowMs, actor, AuditLength]))!;
        await AnnounceAsync(imageId);
        return ((int)revoked[0], (int)revoked[1]);
    }

    /// <summary>Tells the catalog replicas to drop their access checks of the image (each trusts one for at most a second anyway).</summary>
    private Task<long> AnnounceAsync(string imageId) => Channels.AnnounceAsync(redis, Channels.GrantsChanged, imageId);

    /// <summary>
    /// What an access check needs of the image, in one round trip: when it was shared with the account (R19), how many
    /// organization grants it has, and the site its organization grants are held to (R18, R37).
    /// </summary>
    public async Task<AccessFacts> AccessFactsAsync(string owner, string imageId, string account)
    {
        var batch = redis.CreateBatch();
        var granted = batch.SortedSetScoreAsync(SharingKeys.Grants(owner, imageId), account);
        var organizations = batch.SortedSetLengthAsync(SharingKeys.OrganizationGrants(owner, imageId));
        var site = batch.StringGetAsync(SharingKeys.OrganizationSite(owner, imageId));
        batch.Execute();
        return new AccessFacts((long?)await granted, await organizations, (string?)await site ?? "");
    }

    /// <summary>When the image was shared with each of the principals (null where it was not), in the order given.</summary>
    public async Task<IReadOnlyList<long?>> PrincipalGrantsAsync(string owner, string imageId, IReadOnlyList<string> principals) =>
        principals.Count == 0
            ? []
            : (await redis.SortedSetScoresAsync(SharingKeys.OrganizationGrants(owner, imageId), principals.Select(p => (RedisValue)p).ToArray()))
                .Select(score => (long?)score).ToList();

    /// <summary>How many accounts and organization principals an image is shared with.</summary>
    public async Task<(long Accounts, long Principals)> CountAsync(string owner, string imageId)
    {
        var batch = redis.CreateBatch();
        var accounts = batch.SortedSetLengthAsync(SharingKeys.Grants(owner, imageId));
        var principals = batch.SortedSetLengthAsync(SharingKeys.OrganizationGrants(owner, imageId));
        batch.Execute();
        return (await accounts, await principals);
    }

    /// <summary>
    /// A page of an image's grants, accounts and organization principals together, oldest first, after the
    /// (score, member) position, with the totals of each.
    /// </summary>
    public async Task<(IReadOnlyList<GrantEntry> Page, string Next, long Accounts, long Principals)> GrantsAsync(string owner, string imageId, string position, int limit)
    {
        var (accounts, principals) = await CountAsync(owner, imageId);
        var (page, next) = await MergedPageAsync([SharingKeys.Grants(owner, imageId), SharingKeys.OrganizationGrants(owner, imageId)], position, limit);
        return (page.Select(e => new GrantEntry(e.Member, e.Score, e.Source == 1)).ToList(), next, accounts, principals);
    }

    /// <summary>
    /// A page of the images shared with a recipient in a region, oldest share first: from its own index and from the
    /// indexes of the organization <paramref name="principals"/> it stands for (R37). An image in several of them
    /// comes once, from the index where it was shared first.
    /// </summary>
    public async Task<(IReadOnlyList<ReceivedShare> Page, string Next)> ReceivedAsync(string recipient, string region,
        IReadOnlyList<OrganizationPrincipal> principals, string position, int limit)
    {
        RedisKey[] keys = [SharingKeys.Received(recipient, region), .. principals.Select(p => (RedisKey)SharingKeys.OrganizationReceived(p, region))];
        var (page, next) = await MergedPageAsync(keys, position, limit);
        if (keys.Length > 1 && page.Count > 0)
        {
            // Where else each image is indexed: it is listed only where its score (then its index) comes first.
            var batch = redis.CreateBatch();
            var elsewhere = page.Select(e => keys.Select((k, i) => i == e.Source ? null : batch.SortedSetScoreAsync(k, e.Member)).ToList()).ToList();
            batch.Execute();
            var first = new List<SourcedEntry>();
            for (var n = 0; n < page.Count; n++)
            {
                var e = page[n];
                var earlier = false;
                for (var i = 0; i < keys.Length; i++)
                {
                    if (elsewhere[n][i] is { } other && await other is { } score && (score < e.Score || (score == e.Score && i < e.Source)))
                    {
                        earlier = true;
                    }
                }
                if (!earlier && !first.Any(f => f.Member == e.Member))
                {
                    first.Add(e);
                }
            }
            page = first;
        }
        return (page.Select(e =>
        {
            var member = ReceivedMember.Parse(e.Member);
            return new ReceivedShare(member.Owner, member.ImageId, e.Score, e.Source == 0 ? null : principals[e.Source - 1]);
        }).ToList(), next);
    }

    /// <summary>How many entries the recipient's own index holds in the region.</summary>
    public Task<long> ReceivedCountAsync(string recipient, string region) => redis.SortedSetLengthAsync(SharingKeys.Received(recipient, region));

    // KEYS: the image's grants, the owner's outbox. ARGV: recipient, region, owner, image. Queues the grant's entry again
    // (with the time it was shared) when the grant still stands; a revoke made after it comes after it in the outbox.
    private const string ResendScript = """
        local at = redis.call('ZSCORE', KEYS[1], ARGV[1])
        if not at then return 0 end
        redis.call('RPUSH', KEYS[2], '+|' .. ARGV[1] .. '|' .. ARGV[2] .. '|' .. ARGV[3] .. '|' .. ARGV[4] .. '|' .. at)
        return 1
        """;

    /// <summary>Marks a resend of the recipient's grants in the region, unless one was marked within <paramref name="every"/>.</summary>
    public Task<bool> TryMarkResendAsync(string recipient, string region, TimeSpan every) =>
        redis.StringSetAsync(SharingKeys.Resent(recipient, region), 1, every, When.NotExists);

    /// <summary>Everything the recipient's own index holds in the region.</summary>
    public async Task<IReadOnlyList<ReceivedMember>> ReceivedMembersAsync(string recipient, string region) =>
        (await redis.SortedSetRangeByRankAsync(SharingKeys.Received(recipient, region))).Select(m => ReceivedMember.Parse(m!)).ToList();

    /// <summary>Queues the grants of these index entries again in their owners' outboxes (pipelined); returns how many still stand.</summary>
    public async Task<int> ResendAsync(string recipient, string region, IReadOnlyList<ReceivedMember> members)
    {
        var batch = redis.CreateBatch();
        var sends = members.Select(m => batch.ScriptEvaluateAsync(ResendScript, [SharingKeys.Grants(m.Owner, m.ImageId), SharingKeys.Outbox(m.Owner)],
            [recipient, region, m.Owner, m.ImageId])).ToList();
        batch.Execute();
        var resent = 0;
        foreach (var send in sends)
        {
            resent += (int)await send;
        }
        return resent;
    }

    /// <summary>Whether each share still has the recipient's own grant (one pipelined round trip).</summary>
    public async Task<IReadOnlyList<bool>> DirectlyGrantedAsync(string recipient, IReadOnlyList<ReceivedShare> shares)
    {
        var batch = redis.CreateBatch();
        var checks = shares.Select(s => batch.SortedSetScoreAsync(SharingKeys.Grants(s.Owner, s.ImageId), recipient)).ToList();
        batch.Execute();
        var granted = new List<bool>(shares.Count);
        foreach (var check in checks)
        {
            granted.Add(await check is not null);
        }
        return granted;
    }

    /// <summary>Each image's organization site rule and when it was shared with each of the principals (one round trip).</summary>
    public async Task<IReadOnlyList<(string SiteOnly, IReadOnlyList<long?> Granted)>> OrganizationFactsAsync(IReadOnlyList<ReceivedShare> shares,
        IReadOnlyList<string> principals)
    {
        var batch = redis.CreateBatch();
        var values = principals.Select(p => (RedisValue)p).ToArray();
        var reads = shares.Select(s => (
            Site: batch.StringGetAsync(SharingKeys.OrganizationSite(s.Owner, s.ImageId)),
            Scores: batch.SortedSetScoresAsync(SharingKeys.OrganizationGrants(s.Owner, s.ImageId), values))).ToList();
        batch.Execute();
        var facts = new List<(string, IReadOnlyList<long?>)>(shares.Count);
        foreach (var (site, scores) in reads)
        {
            facts.Add(((string?)await site ?? "", (await scores).Select(score => (long?)score).ToList()));
        }
        return facts;
    }

    /// <summary>Whether the organization principal an index entry came from still has its grant.</summary>
    public async Task<bool> StillGrantedToAsync(ReceivedShare share) =>
        share.Via is { } principal && await redis.SortedSetScoreAsync(SharingKeys.OrganizationGrants(share.Owner, share.ImageId), principal.Format()) is not null;

    /// <summary>Drops an index entry whose grant is gone (the outbox normally removes it; this mends a stale one a listing finds).</summary>
    public Task DropStaleAsync(string recipient, string region, ReceivedShare share) =>
        redis.SortedSetRemoveAsync(share.Via is { } principal ? SharingKeys.OrganizationReceived(principal, region) : SharingKeys.Received(recipient, region),
            new ReceivedMember(share.Owner, share.ImageId).Format());

    /// <summary>An entry of a page merged from several sorted sets: which of them (its index in the keys given), the member and its score.</summary>
    private sealed record SourcedEntry(int Source, string Member, long Score);

    /// <summary>
    /// A page over several sorted sets as if they were one, by (score, member) after the position, oldest first: each
    /// gives what could be on the page (its entries from the position's score on) and the first ones of all win.
    /// </summary>
    private async Task<(List<SourcedEntry> Page, string Next)> MergedPageAsync(RedisKey[] keys, string position, int limit)
    {
        var window = limit + 64;
        var batch = redis.CreateBatch();
        var reads = keys.Select(k => batch.SortedSetRangeByScoreWithScoresAsync(k, Start(position), double.PositiveInfinity, Exclude.None, Order.Ascending, 0, window)).ToList();
        batch.Execute();
        var merged = new List<(int Source, SortedSetEntry Entry)>();
        for (var i = 0; i < reads.Count; i++)
        {
            var read = await reads[i];
            var kept = After(read, position).ToList();
            // Entries of the position's own score that come before it fill the window when many shares have one
            // timestamp: read on past them until the page is full or the index ends.
            for (var offset = window; read.Length == window && kept.Count <= limit; offset += window)
            {
                read = await redis.SortedSetRangeByScoreWithScoresAsync(keys[i], Start(position), double.PositiveInfinity, Exclude.None, Order.Ascending, offset, window);
                kept.AddRange(After(read, position));
            }
            merged.AddRange(kept.Select(e => (i, e)));
        }
        var page = merged
            .OrderBy(e => e.Entry.Score)
            .ThenBy(e => (string)e.Entry.Element!, StringComparer.Ordinal)
            .ThenBy(e => e.Source)
            .Take(limit + 1)
            .ToList();
        var next = page.Count > limit ? Position(page[limit - 1].Entry) : "";
        return (page.Take(limit).Select(e => new SourcedEntry(e.Source, (string)e.Entry.Element!, (long)e.Entry.Score)).ToList(), next);
    }

    private static readonly TimeSpan DrainLease = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan DrainWait = TimeSpan.FromSeconds(10);

    // KEYS: outbox, drain lease. ARGV: holder, lease ms, batch size, then the entries the holder applied (as it read them from
    // the head; none on its first step). Drops those if they are still the head, then looks at what is left:
    // {0} = nothing (the holder's lease is let go), {2} = another holds the lease, {1, entries...} = the next batch, leased to
    // the holder. One round trip per batch: the applied batch's trim, the next one's read and the lease in one step.
    private const string DrainStepScript = """
        local applied = #ARGV - 3
        if applied > 0 then
          local head = redis.call('LRANGE', KEYS[1], 0, applied - 1)
          local same = #head == applied
          for i = 1, applied do
            if same and head[i] ~= ARGV[3 + i] then same = false end
          end
          if same then redis.call('LTRIM', KEYS[1], applied, -1) end
        end
        local batch = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[3]) - 1)
        local holder = redis.call('GET', KEYS[2])
        if #batch == 0 then
          if holder == ARGV[1] then redis.call('DEL', KEYS[2]) end
          return {0}
        end
        if holder and holder ~= ARGV[1] then return {2} end
        redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
        return {1, unpack(batch)}
        """;

    // KEYS: drain lease. ARGV: holder. Lets the lease go if the holder still has it.
    private const string UnleaseScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
        return 0
        """;

    /// <summary>
    /// Applies an owner's pending recipient-index changes and returns once its outbox is empty. One
    /// caller at a time applies (a short lease), in pipelined batches; the others wait for the outbox
    /// to empty rather than all applying and removing the same entries, asking once per look (backing
    /// off to 16 ms). Each change is idempotent, so one applied twice (a lease that ran out) does no
    /// harm; after <see cref="DrainWait"/> a caller stops waiting and the owner's queued outbox item
    /// finishes the work. <paramref name="alsoApply"/> hands each batch on once the indexes have it (the
    /// catalog's record of who each image is shared with); a batch stays in the outbox until both succeed.
    /// </summary>
    public async Task DrainOutboxAsync(string owner, Func<IReadOnlyList<OutboxEntry>, Task> alsoApply)
    {
        var key = SharingKeys.Outbox(owner);
        var lease = SharingKeys.OutboxDrain(owner);
        var me = Guid.NewGuid().ToString("N");
        var until = DateTime.UtcNow + DrainWait;
        var pause = 1;
        RedisValue[] applied = [];
        while (true)
        {
            var step = (RedisResult[])(await redis.ScriptEvaluateAsync(DrainStepScript, [key, lease],
                [me, (long)DrainLease.TotalMilliseconds, OutboxBatch, .. applied]))!;
            switch ((int)step[0])
            {
                case 0:
                    return;
                case 1:
                    applied = step.Skip(1).Select(e => (RedisValue)(string)e!).ToArray();
                    try
                    {
                        var changes = applied.Select(e => OutboxEntry.Parse((string)e!)).ToList();
                        await ApplyAsync(changes);
                        await alsoApply(changes);
                    }
                    catch
                    {
                        await redis.ScriptEvaluateAsync(UnleaseScript, [lease], [me]);
                        throw;
                    }
                    continue;
            }
            applied = [];
            if (DateTime.UtcNow > until)
            {
                return;
            }
            await Task.Delay(pause);
            pause = Math.Min(pause * 2, 16);
        }
    }

    /// <summary>Writes a batch of outbox entries into the recipients' indexes (pipelined: the indexes are on the recipients' slots).</summary>
    private async Task ApplyAsync(List<OutboxEntry> changes)
    {
        var batch = redis.CreateBatch();
        var applied = new List<Task>(changes.Count);
        foreach (var change in changes)
        {
            var (index, member) = (SharingKeys.ReceivedBy(change.Recipient, change.Region), change.Member.Format());
            applied.Add(change.Grant
                ? batch.SortedSetAddAsync(index, member, change.AtMs)
                : batch.SortedSetRemoveAsync(index, member));
        }
        batch.Execute();
        await Task.WhenAll(applied);
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
                    page.Add(new AuditEntry(entry.Id!, values["image"], values["region"], values["account"], values["action"], values["actor"], long.Parse(values["time"]),
                        values.GetValueOrDefault("target", "")));
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
