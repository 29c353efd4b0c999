using System.Security.Cryptography;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using GrpcImages.ServiceDefaults.Errors;
using GrpcImages.ServiceDefaults.Validation;
using StackExchange.Redis;

namespace GrpcImages.ServiceDefaults.Storage;

/// <summary>
/// R35: a create call's client token, with the fingerprint of its request (a hash of the request
/// without its token). Stores keep "fingerprint|resource id" for <see cref="ClientTokens.Lifetime"/>;
/// the same token with another request is IdempotenceParamNotMatch.
/// </summary>
public readonly record struct ClientToken(string Token, string Fingerprint)
{
    public static ClientToken None => new("", "");

    public bool IsSet => Token.Length > 0;

    /// <summary>The request's checked token and its fingerprint (none when the request carries no token).</summary>
    public static ClientToken Of(IMessage request, string token, string field = "client_token")
    {
        Check.ClientToken(token, field);
        return token.Length == 0 ? None : new ClientToken(token, ClientTokens.Fingerprint(request));
    }

    /// <summary>
    /// The id the token's first request made, or null when the token is new; IdempotenceParamNotMatch when the request differs.
    /// <paramref name="stored"/> is what <see cref="ClientTokens.FindAsync"/> read.
    /// </summary>
    public string? Resolve(string? stored) => stored is null ? null : ClientTokens.ResolveStored(stored, Fingerprint);
}

public static class ClientTokens
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(24);

    public static long LifetimeSeconds => (long)Lifetime.TotalSeconds;

    /// <summary>
    /// The Lua every create script shares: <c>prior_token(key, fingerprint, mine)</c> is the stored value of
    /// a token (false when none, when no token was given, or when it is this request's own claim on
    /// the id <c>mine</c>); <c>remember_token(key, fingerprint, id, ttl)</c> records the first result.
    /// </summary>
    public const string Lua = """
        local function prior_token(key, fingerprint, mine)
          if fingerprint == '' then return false end
          local stored = redis.call('GET', key)
          if stored and mine and stored == fingerprint .. '|' .. mine then return false end
          return stored
        end
        local function remember_token(key, fingerprint, id, ttl)
          if fingerprint ~= '' then redis.call('SET', key, fingerprint .. '|' .. id, 'EX', ttl) end
        end
        """;

    /// <summary>A hash of the request with its client_token field cleared.</summary>
    public static string Fingerprint(IMessage request)
    {
        var copy = request.Descriptor.Parser.ParseFrom(request.ToByteString());
        var field = copy.Descriptor.FindFieldByName("client_token");
        if (field is { FieldType: FieldType.String })
        {
            field.Accessor.SetValue(copy, "");
        }
        return Convert.ToHexStringLower(SHA256.HashData(copy.ToByteArray()));
    }

    public static string Value(string fingerprint, string resourceId) => $"{fingerprint}|{resourceId}";

    /// <summary>
    /// What a store's <c>FindClientTokenAsync</c> returns, so that Domain sees a string: the value stored
    /// under a client token's key ("fingerprint|id"), or null when the request carries no token or the
    /// token is new. <paramref name="key"/> is the token's key in the service's layout (read only when a
    /// token is set). Hand the result to <see cref="ClientToken.Resolve(string?)"/>. For example:
    /// <code>
    /// public Task&lt;string?&gt; FindClientTokenAsync(string owner, string scope, ClientToken token) =>
    ///     ClientTokens.FindAsync(redis, token, CatalogKeys.ClientToken(owner, scope, token.Token));
    /// </code>
    /// </summary>
    public static async Task<string?> FindAsync(IDatabaseAsync redis, ClientToken token, RedisKey key) =>
        token.IsSet ? (string?)await redis.StringGetAsync(key) : null;

    /// <summary>The resource id a stored token value names, or IdempotenceParamNotMatch when the request differs.</summary>
    public static string ResolveStored(string stored, string fingerprint)
    {
        var bar = stored.IndexOf('|');
        if (bar < 0 || !stored.AsSpan(0, bar).SequenceEqual(fingerprint))
        {
            throw Fault.IdempotenceMismatch();
        }
        return stored[(bar + 1)..];
    }
}
