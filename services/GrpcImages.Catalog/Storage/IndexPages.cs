using StackExchange.Redis;

namespace GrpcImages.Catalog.Storage;

/// <summary>A page of a list: the records' bytes and the position to continue from ("" at the end).</summary>
public sealed record StoredPage(IReadOnlyList<byte[]> Records, string Next);

/// <summary>Pages of an owner's index (images, snapshots, instances), newest first, filtered in Redis.</summary>
internal static class IndexPages
{
    /// <summary>How many index entries one List call looks at before it returns a page (a shorter one, with a token).</summary>
    public const int ListScanBudget = 1000;

    // KEYS: index. ARGV: record prefix, cursor score ('' = start), cursor id, limit, statuses (',3,6,' or ''),
    // name ('' = any), name is a prefix ('1'/'0'), family ('' = any), most entries to look at.
    // Newest first; returns {next score, next id, record...}, next score '' at the end.
    private const string ListScript = """
        local limit, budget = tonumber(ARGV[4]), tonumber(ARGV[9])
        local hi = '+inf'
        if ARGV[2] ~= '' then hi = ARGV[2] end
        local out, found = {}, 0
        local offset = 0
        local lastScore, lastId = '', ''
        while budget > 0 do
          local batch = redis.call('ZREVRANGEBYSCORE', KEYS[1], hi, '-inf', 'WITHSCORES', 'LIMIT', offset, 64)
          if #batch == 0 then break end
          offset = offset + #batch / 2
          for i = 1, #batch, 2 do
            local id, score = batch[i], batch[i + 1]
            local seen = ARGV[2] ~= '' and tonumber(score) == tonumber(ARGV[2]) and id >= ARGV[3]
            if not seen then
              budget = budget - 1
              local r = redis.call('HMGET', ARGV[1] .. id, 's', 'n', 'f', 'd')
              local ok = r[4] ~= false
              if ok and ARGV[5] ~= '' then ok = string.find(ARGV[5], ',' .. r[1] .. ',', 1, true) ~= nil end
              if ok and ARGV[6] ~= '' then
                if ARGV[7] == '1' then ok = r[2] ~= false and string.sub(r[2], 1, #ARGV[6]) == ARGV[6]
                else ok = r[2] == ARGV[6] end
              end
              if ok and ARGV[8] ~= '' then ok = r[3] == ARGV[8] end
              if ok then
                if found == limit then return {lastScore, lastId, unpack(out)} end
                found = found + 1
                out[found] = r[4]
              end
              lastScore, lastId = score, id
              if budget == 0 then break end
            end
          end
        end
        if budget == 0 then return {lastScore, lastId, unpack(out)} end
        return {'', '', unpack(out)}
        """;

    public static async Task<StoredPage> ListAsync(IDatabase redis, string index, string recordPrefix, string position, int limit,
        IReadOnlyCollection<int>? statuses = null, string name = "", string family = "")
    {
        var (score, id) = SplitPosition(position);
        var namePrefix = name.EndsWith('*');
        var result = (RedisResult[])(await redis.ScriptEvaluateAsync(ListScript, [index],
        [
            recordPrefix, score, id, limit,
            statuses is { Count: > 0 } ? "," + string.Join(',', statuses) + "," : "",
            namePrefix ? name[..^1] : name, namePrefix ? "1" : "0", family, ListScanBudget,
        ]))!;
        var next = (string)result[0]! == "" ? "" : $"{(string)result[0]!}:{(string)result[1]!}";
        return new StoredPage(result.Skip(2).Select(r => (byte[])r!).ToList(), next);
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
