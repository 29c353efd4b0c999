using StackExchange.Redis;

namespace GrpcImages.Catalog.Storage;

/// <summary>
/// What an index list keeps: only records in these states, with this name (a trailing '*' matches a prefix), of this family,
/// whose "t" field holds every one of the tag needles (<see cref="Records.TagNeedle"/>), and in use or not (<see cref="Usage"/>
/// 1: the set at <see cref="UsersPrefix"/> + id has members, 2: it has none, 0: either).
/// </summary>
public sealed record IndexFilter(IReadOnlyCollection<int> Statuses, string Name, string Family)
{
    public IReadOnlyList<string> TagNeedles { get; init; } = [];

    public int Usage { get; init; }

    public string UsersPrefix { get; init; } = "";

    /// <summary>The index's status counts (<see cref="StatusCounts"/>), "" when it keeps none: a filter of statuses alone is counted from them.</summary>
    public string StatusCounts { get; init; } = "";
}

/// <summary>
/// A page of an index: the records' bytes, the position to continue from ("" at the end), how many matching
/// entries it skipped, and how many match in the whole index (a lower bound when counting them would look at
/// more than <see cref="IndexPages.ListCountBudget"/> entries), and for an index with users sets (<see cref="IndexFilter.UsersPrefix"/>)
/// whether each record is in use.
/// </summary>
public sealed record StoredPage(IReadOnlyList<byte[]> Records, string Next, int Skipped, int Total)
{
    public IReadOnlyList<bool>? InUse { get; init; }
}

/// <summary>Pages of an owner's index (images, snapshots, instances), newest first, filtered, skipped and counted in Redis.</summary>
internal static class IndexPages
{
    /// <summary>How many index entries one List call looks at, beyond those it skips, before it returns a page (a shorter one, with a token).</summary>
    public const int ListScanBudget = 1000;

    /// <summary>How many index entries one List call looks at, beyond the page's, to count the matches of a filtered index.</summary>
    public const int ListCountBudget = 10_000;

    // KEYS: index, then its status counts when it keeps them. ARGV: record prefix, cursor score ('' = start), cursor id, skip, limit, statuses (',3,6,' or ''),
    // name ('' = any), name is a prefix ('1'/'0'), family ('' = any), entries the page may look at beyond the skip,
    // entries the count may look at, tag needles separated by newlines ('' = any), usage ('' = any, '1' in use, '2' not),
    // the prefix of an entry's users set (for usage).
    // Newest first (equal scores by id, descending). After the cursor, the first `skip` matching entries are
    // skipped, then up to `limit` records returned. Without a filter every entry matches: the skip is a rank and
    // the total ZCARD. With one, matches are counted in the whole index (before the cursor too) while the count's
    // budget lasts, unless only statuses filter and the index keeps status counts: then the total is their sum (an index
    // written before counts were kept is recounted first, up to StatusCounts.RecountLimit entries).
    // Returns {next score, next id, skipped, total, record...}, next score '' at the end; with a users prefix each record is
    // followed by 1 or 0: whether its users set has members (an image's usage, read here rather than in a second round trip).
    private const string ListScript = """
        local index, prefix, cs, cid = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
        local skip, limit = tonumber(ARGV[4]), tonumber(ARGV[5])
        local statuses, name, isPrefix, family = ARGV[6], ARGV[7], ARGV[8] == '1', ARGV[9]
        local pageLeft, countLeft = tonumber(ARGV[10]) + skip, tonumber(ARGV[11])
        local tags, usage, usersPrefix = ARGV[12], ARGV[13], ARGV[14]
        local card = redis.call('ZCARD', index)
        local counts = KEYS[2]

        -- The rank the page starts at: entries newer than the cursor, and those of its score it has passed.
        local start = 0
        if cs ~= '' then
          start = redis.call('ZCOUNT', index, '(' .. cs, '+inf')
          for _, id in ipairs(redis.call('ZRANGEBYSCORE', index, cs, cs)) do
            if id >= cid then start = start + 1 end
          end
        end

        -- Visits ranks [from, to) until visit says stop; returns the rank it stopped at (not consumed).
        local function walk(from, to, visit)
          local rank = from
          while rank < to do
            local batch = redis.call('ZREVRANGE', index, rank, math.min(rank + 63, to - 1), 'WITHSCORES')
            if #batch == 0 then return rank end
            for i = 1, #batch, 2 do
              if not visit(batch[i], batch[i + 1]) then return rank end
              rank = rank + 1
            end
          end
          return rank
        end

        local out, found, skipped = {}, 0, 0
        -- A record the page takes, followed by whether it is in use (1/0) when the index keeps users sets.
        local function take(id, d)
          found = found + 1
          out[#out + 1] = d
          if usersPrefix ~= '' then out[#out + 1] = redis.call('EXISTS', usersPrefix .. id) end
        end
        local nextScore, nextId, lastScore, lastId = '', '', '', ''

        -- The total from the status counts, when they answer this filter.
        local known = nil
        if counts and name == '' and family == '' and tags == '' and usage == '' then
          if redis.call('EXISTS', counts) == 0 and card > 0 and card <= tonumber(ARGV[15]) then
            walk(0, card, function(id)
              local s = redis.call('HGET', prefix .. id, 's')
              if s then redis.call('HINCRBY', counts, s, 1) end
              return true
            end)
          end
          if card == 0 then
            known = 0
          elseif redis.call('EXISTS', counts) == 1 then
            known = 0
            for s in string.gmatch(statuses, '%d+') do known = known + tonumber(redis.call('HGET', counts, s) or '0') end
          end
        end

        -- No filter, or one every entry passes (the counts say all are in the statuses asked for): the skip is a rank and
        -- only the records the page takes are read.
        if (statuses == '' or known == card) and name == '' and family == '' and tags == '' and usage == '' then
          local first = math.min(start + skip, card)
          skipped = first - start
          walk(first, card, function(id, score)
            if found == limit then
              nextScore, nextId = lastScore, lastId
              return false
            end
            local d = redis.call('HGET', prefix .. id, 'd')
            if d then take(id, d) end
            lastScore, lastId = score, id
            return true
          end)
          return {nextScore, nextId, skipped, card, unpack(out)}
        end

        -- An entry's status, name, family and tags, and its record when the page takes it (a skip or a count reads no record).
        local byStatus = name == '' and family == '' and tags == ''
        local function read(id, withRecord)
          if byStatus then -- the common filter: only the status is matched, so only it (and the record) is read
            if withRecord then
              local r = redis.call('HMGET', prefix .. id, 's', 'd')
              return {r[1], false, false, false, r[2]}
            end
            return {redis.call('HGET', prefix .. id, 's')}
          end
          if withRecord then return redis.call('HMGET', prefix .. id, 's', 'n', 'f', 't', 'd') end
          return redis.call('HMGET', prefix .. id, 's', 'n', 'f', 't')
        end

        local function matches(r, id)
          if not r[1] then return false end
          if statuses ~= '' and not string.find(statuses, ',' .. r[1] .. ',', 1, true) then return false end
          if name ~= '' then
            if isPrefix then
              if not r[2] or string.sub(r[2], 1, #name) ~= name then return false end
            elseif r[2] ~= name then return false end
          end
          if family ~= '' and r[3] ~= family then return false end
          if tags ~= '' then
            local held = r[4] or ''
            for needle in string.gmatch(tags, '[^\n]+') do
              if not string.find(held, needle, 1, true) then return false end
            end
          end
          if usage ~= '' then
            local used = redis.call('EXISTS', usersPrefix .. id) == 1
            if used ~= (usage == '1') then return false end
          end
          return true
        end

        local counted = 0
        local function count(id)
          if countLeft == 0 then return false end
          countLeft = countLeft - 1
          if matches(read(id, false), id) then counted = counted + 1 end
          return true
        end

        if not known then walk(0, start, count) end
        local resume = walk(start, card, function(id, score)
          if pageLeft == 0 then
            nextScore, nextId = lastScore, lastId
            return false
          end
          local r = read(id, skipped == skip and found < limit)
          if matches(r, id) then
            if skipped < skip then
              skipped = skipped + 1
            elseif found < limit then
              take(id, r[5])
            else
              nextScore, nextId = lastScore, lastId
              return false
            end
          end
          pageLeft = pageLeft - 1
          lastScore, lastId = score, id
          return true
        end)
        if known then return {nextScore, nextId, skipped, known, unpack(out)} end
        walk(resume, card, count)
        return {nextScore, nextId, skipped, counted + skipped + found, unpack(out)}
        """;

    /// <summary>
    /// Skips <paramref name="skip"/> matching entries after <paramref name="position"/> ("score:id", "" for the start) and
    /// reads up to <paramref name="limit"/> records (0: only count).
    /// </summary>
    public static async Task<StoredPage> ListAsync(IDatabase redis, string index, string recordPrefix, string position, int skip, int limit,
        IndexFilter? filter = null)
    {
        var (score, id) = SplitPosition(position);
        var name = filter?.Name ?? "";
        var namePrefix = name.EndsWith('*');
        var counts = filter?.StatusCounts ?? "";
        var result = (RedisResult[])(await redis.ScriptEvaluateAsync(ListScript, counts.Length == 0 ? [index] : [index, counts],
        [
            recordPrefix, score, id, skip, limit,
            filter is { Statuses.Count: > 0 } ? "," + string.Join(',', filter.Statuses) + "," : "",
            namePrefix ? name[..^1] : name, namePrefix ? "1" : "0", filter?.Family ?? "", ListScanBudget, ListCountBudget,
            string.Join('\n', filter?.TagNeedles ?? []), filter is { Usage: > 0 } ? filter.Usage.ToString(System.Globalization.CultureInfo.InvariantCulture) : "",
            filter?.UsersPrefix ?? "", StatusCounts.RecountLimit,
        ]))!;
        var next = (string)result[0]! == "" ? "" : $"{(string)result[0]!}:{(string)result[1]!}";
        if (filter is not { UsersPrefix.Length: > 0 })
        {
            return new StoredPage(result.Skip(4).Select(r => (byte[])r!).ToList(), next, (int)result[2], (int)result[3]);
        }
        var records = new List<byte[]>((result.Length - 4) / 2);
        var inUse = new List<bool>(records.Capacity);
        for (var i = 4; i + 1 < result.Length; i += 2)
        {
            records.Add((byte[])result[i]!);
            inUse.Add((long)result[i + 1] == 1);
        }
        return new StoredPage(records, next, (int)result[2], (int)result[3]) { InUse = inUse };
    }

    /// <summary>How many entries <see cref="ReadAllIdsAsync"/> reads at most: indexes read whole are of resources with a small quota.</summary>
    public const int ReadAllLimit = 10_000;

    /// <summary>The ids of an index, newest first (at most <see cref="ReadAllLimit"/>).</summary>
    public static async Task<IReadOnlyList<string>> ReadAllIdsAsync(IDatabase redis, string index) =>
        (await redis.SortedSetRangeByRankAsync(index, 0, ReadAllLimit - 1, Order.Descending)).Select(v => (string)v!).ToList();

    /// <summary>The records of an index, newest first (at most <see cref="ReadAllLimit"/>; one more pipelined round trip).</summary>
    public static async Task<IReadOnlyList<byte[]>> ReadAllAsync(IDatabase redis, string index, string recordPrefix)
    {
        var ids = await ReadAllIdsAsync(redis, index);
        var batch = redis.CreateBatch();
        var reads = ids.Select(id => batch.HashGetAsync(recordPrefix + id, "d")).ToList();
        batch.Execute();
        var records = new List<byte[]>(reads.Count);
        foreach (var read in reads)
        {
            if (await read is { HasValue: true } d)
            {
                records.Add((byte[])d!);
            }
        }
        return records;
    }

    private static (string Score, string Id) SplitPosition(string position)
    {
        if (position.Length == 0)
        {
            return ("", "");
        }
        var colon = position.IndexOf(':');
        return colon > 0 ? (position[..colon], position[(colon + 1)..]) : ("", "");
    }
}
