using GrpcImages.ServiceDefaults.Storage;
using StackExchange.Redis;

namespace GrpcImages.Catalog.Storage;

/// <summary>
/// What a create may claim (keys in <see cref="CatalogKeys"/>): client tokens (<c>ct:</c>, R35), each naming
/// the resource its first request made, and the ids whose creation was given up (<c>gone:</c>), which every
/// create script refuses.
/// </summary>
public sealed class CreationClaimStore(IDatabase redis)
{
    /// <summary>How long an abandoned id stays refused: far longer than any request that could still carry it.</summary>
    public static readonly TimeSpan AbandonedLifetime = TimeSpan.FromDays(7);

    // KEYS: client token. ARGV: "fingerprint|id", ttl. Returns the stored value when the token was taken, else false (claimed).
    private const string ClaimTokenScript = """
        local stored = redis.call('GET', KEYS[1])
        if stored then return stored end
        redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
        return false
        """;

    // KEYS: client token. ARGV: "fingerprint|id". Removes the token only while it still names that id.
    private const string UnclaimTokenScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
        return 0
        """;

    // KEYS: the record, its abandonment mark, the client token (when the request had one). ARGV: id, mark ttl.
    // Returns 1 when the record never came to be and now never will (the token is freed if it names the id), 0 when it exists.
    private const string AbandonScript = """
        if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
        redis.call('SET', KEYS[2], 1, 'EX', ARGV[2])
        local stored = KEYS[3] and redis.call('GET', KEYS[3])
        if stored and string.sub(stored, -(#ARGV[1] + 1)) == '|' .. ARGV[1] then redis.call('DEL', KEYS[3]) end
        return 1
        """;

    /// <summary>The stored value of a client token ("fingerprint|id"), or null when it is unused or none was given.</summary>
    public async Task<string?> FindClientTokenAsync(string owner, string scope, ClientToken token) =>
        token.IsSet && await redis.StringGetAsync(CatalogKeys.ClientToken(owner, scope, token.Token)) is { HasValue: true } stored ? (string)stored! : null;

    /// <summary>Records a client token's first result after a change that is not a create script (R35).</summary>
    public async Task RememberClientTokenAsync(string owner, string scope, ClientToken token, string resourceId)
    {
        if (token.IsSet)
        {
            await redis.StringSetAsync(CatalogKeys.ClientToken(owner, scope, token.Token), ClientTokens.Value(token.Fingerprint, resourceId),
                ClientTokens.Lifetime, When.NotExists);
        }
    }

    /// <summary>
    /// R35 before anything is held: the token names <paramref name="id"/> from now on, unless another
    /// request holds it (its stored value is returned). The create script accepts the request's own claim.
    /// </summary>
    public async Task<string?> ClaimClientTokenAsync(string owner, string scope, ClientToken token, string id)
    {
        var result = await redis.ScriptEvaluateAsync(ClaimTokenScript, [CatalogKeys.ClientToken(owner, scope, token.Token)],
            [ClientTokens.Value(token.Fingerprint, id), ClientTokens.LifetimeSeconds]);
        return result.IsNull ? null : (string)result!;
    }

    /// <summary>Frees a token this request claimed for an id it did not create, so a retry may create it.</summary>
    public Task UnclaimClientTokenAsync(string owner, string scope, ClientToken token, string id) =>
        redis.ScriptEvaluateAsync(UnclaimTokenScript, [CatalogKeys.ClientToken(owner, scope, token.Token)], [ClientTokens.Value(token.Fingerprint, id)]);

    /// <summary>Makes sure an image, snapshot or instance whose creation was given up can no longer be created; false when it exists.</summary>
    public async Task<bool> AbandonAsync(string region, string resourceId, string owner, string scope, string clientToken)
    {
        var record = resourceId[0] switch
        {
            'm' => CatalogKeys.Image(region, resourceId),
            'i' => CatalogKeys.Instance(resourceId),
            _ => CatalogKeys.Snapshot(resourceId),
        };
        RedisKey[] keys = clientToken.Length > 0
            ? [record, CatalogKeys.Abandoned(resourceId), CatalogKeys.ClientToken(owner, scope, clientToken)]
            : [record, CatalogKeys.Abandoned(resourceId)];
        return (int)await redis.ScriptEvaluateAsync(AbandonScript, keys, [resourceId, (long)AbandonedLifetime.TotalSeconds]) == 1;
    }
}
