using Google.Protobuf;
using GrpcImages.Contracts.Sharing.V1;
using GrpcImages.ServiceDefaults.Storage;
using StackExchange.Redis;

namespace GrpcImages.Sharing.Storage;

/// <summary>Quota limits, the custom-image quota's holders (R3) and quota requests (R14, R15) in Redis.</summary>
public sealed class QuotaStore(IDatabase redis)
{
    // KEYS: holders, limits. ARGV: holder, limit field, default limit. Returns {granted 0/1, used, limit}.
    private const string ReserveScript = """
        local limit = tonumber(redis.call('HGET', KEYS[2], ARGV[2]) or ARGV[3])
        local used = redis.call('SCARD', KEYS[1])
        if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return {1, used, limit} end
        if used >= limit then return {0, used, limit} end
        redis.call('SADD', KEYS[1], ARGV[1])
        return {1, used + 1, limit}
        """;

    // KEYS: request, account's requests, client token. ARGV: id, record, ms, fingerprint, ttl.
    // Returns {CreateStatus, the token's stored value}.
    private const string CreateRequestScript = ClientTokens.Lua + """

        local prior = prior_token(KEYS[3], ARGV[4])
        if prior then return {2, prior} end
        redis.call('SET', KEYS[1], ARGV[2])
        redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
        remember_token(KEYS[3], ARGV[4], ARGV[1], ARGV[5])
        return {1, ''}
        """;

    // KEYS: request, limits. ARGV: record as read, decided record, limit field ('' = none), new limit.
    // Returns 1, or 0 when the request changed since it was read.
    private const string DecideScript = """
        if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
        redis.call('SET', KEYS[1], ARGV[2])
        if ARGV[3] ~= '' then
          local current = tonumber(redis.call('HGET', KEYS[2], ARGV[3]) or 0)
          if tonumber(ARGV[4]) > current then redis.call('HSET', KEYS[2], ARGV[3], ARGV[4]) end
        end
        return 1
        """;

    public async Task<(bool Granted, int Used, int Limit)> ReserveAsync(string account, string region, string holder, string limitField, int defaultLimit)
    {
        var result = (RedisResult[])(await redis.ScriptEvaluateAsync(ReserveScript,
            [SharingKeys.ImageQuota(account, region), SharingKeys.Limits(account)], [holder, limitField, defaultLimit]))!;
        return ((int)result[0] == 1, (int)result[1], (int)result[2]);
    }

    public Task<bool> ReleaseAsync(string account, string region, string holder) =>
        redis.SetRemoveAsync(SharingKeys.ImageQuota(account, region), holder);

    public async Task<IReadOnlyDictionary<string, int>> LimitsAsync(string account) =>
        (await redis.HashGetAllAsync(SharingKeys.Limits(account))).ToDictionary(e => (string)e.Name!, e => (int)e.Value);

    /// <summary>Usage of an account's quotas: images in the region, images shared, and the most accounts (and organization targets) one image is shared with.</summary>
    public async Task<(int Images, int SharedImages, int MostAccountsPerImage)> UsageAsync(string account, string region)
    {
        var batch = redis.CreateBatch();
        var images = region.Length > 0 ? batch.SetLengthAsync(SharingKeys.ImageQuota(account, region)) : Task.FromResult(0L);
        var shared = batch.SortedSetRangeByRankAsync(SharingKeys.Shared(account));
        batch.Execute();
        var sharedImages = await shared;
        // An organization grant counts as one account (R37).
        var counts = redis.CreateBatch();
        var sizes = sharedImages.Select(i => (
            counts.SortedSetLengthAsync(SharingKeys.Grants(account, (string)i!)),
            counts.SortedSetLengthAsync(SharingKeys.OrganizationGrants(account, (string)i!)))).ToList();
        counts.Execute();
        var most = 0L;
        foreach (var (accounts, principals) in sizes)
        {
            most = Math.Max(most, await accounts + await principals);
        }
        return ((int)await images, sharedImages.Length, (int)most);
    }

    /// <summary>Stores a new request; when the client token was used before, returns its stored value instead.</summary>
    public async Task<(CreateStatus Status, string Prior)> CreateRequestAsync(QuotaRequest request, ClientToken token)
    {
        var ms = request.CreateTime.ToDateTimeOffset().ToUnixTimeMilliseconds();
        var result = (RedisResult[])(await redis.ScriptEvaluateAsync(CreateRequestScript,
            [SharingKeys.Request(request.RequestId), SharingKeys.Requests(request.AccountId), SharingKeys.ClientToken(request.AccountId, "quota", token.Token)],
            [request.RequestId, request.ToByteArray(), ms, token.Fingerprint, ClientTokens.LifetimeSeconds]))!;
        var status = ScriptResults.Map<CreateStatus>((int)result[0]);
        if (status == CreateStatus.Created)
        {
            await redis.SortedSetAddAsync(SharingKeys.AllRequests, request.RequestId, ms);
        }
        return (status, (string)result[1]!);
    }

    /// <summary>The value stored under a quota request's client token ("fingerprint|request id"), or null.</summary>
    public Task<string?> FindClientTokenAsync(string account, ClientToken token) =>
        ClientTokens.FindAsync(redis, token, SharingKeys.ClientToken(account, "quota", token.Token));

    public async Task<(QuotaRequest Request, byte[] Stored)?> GetRequestAsync(string requestId) =>
        await redis.StringGetAsync(SharingKeys.Request(requestId)) is { HasValue: true } v
            ? (QuotaRequest.Parser.ParseFrom((byte[])v!), (byte[])v!)
            : null;

    /// <summary>Replaces a request if unchanged since read, raising the limit when <paramref name="limitField"/> is set.</summary>
    public async Task<bool> DecideAsync(byte[] stored, QuotaRequest decided, string limitField, int newLimit) =>
        (int)await redis.ScriptEvaluateAsync(DecideScript,
            [SharingKeys.Request(decided.RequestId), SharingKeys.Limits(decided.AccountId)],
            [stored, decided.ToByteArray(), limitField, newLimit]) == 1;

    /// <summary>A page of request ids, newest first, from an account's index or the operators' one.</summary>
    public async Task<(IReadOnlyList<QuotaRequest> Page, string Next)> ListRequestsAsync(string? account, QuotaRequestState state, string position, int limit)
    {
        var index = account is null ? SharingKeys.AllRequests : SharingKeys.Requests(account);
        var page = new List<QuotaRequest>();
        var (max, lastId) = position.Length == 0 ? (double.PositiveInfinity, "") : (double.Parse(position[..position.IndexOf(':')]), position[(position.IndexOf(':') + 1)..]);
        for (var offset = 0; ; offset += 100)
        {
            var entries = await redis.SortedSetRangeByScoreWithScoresAsync(index, double.NegativeInfinity, max, Exclude.None, Order.Descending, offset, 100);
            if (entries.Length == 0)
            {
                return (page, "");
            }
            // Ties come in descending id order: skip those the previous page returned.
            var fresh = entries.Where(e => e.Score < max || lastId.Length == 0 || string.CompareOrdinal(e.Element, lastId) < 0).ToList();
            var batch = redis.CreateBatch();
            var reads = fresh.Select(e => batch.StringGetAsync(SharingKeys.Request((string)e.Element!))).ToList();
            batch.Execute();
            for (var i = 0; i < fresh.Count; i++)
            {
                if (await reads[i] is { HasValue: true } value)
                {
                    var request = QuotaRequest.Parser.ParseFrom((byte[])value!);
                    if (state == QuotaRequestState.Unspecified || request.State == state)
                    {
                        page.Add(request);
                        if (page.Count == limit)
                        {
                            return (page, $"{fresh[i].Score:R}:{fresh[i].Element}");
                        }
                    }
                }
            }
        }
    }
}
