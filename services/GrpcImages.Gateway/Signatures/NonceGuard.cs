using GrpcImages.Gateway.Storage;
using StackExchange.Redis;

namespace GrpcImages.Gateway.Signatures;

/// <summary>
/// Refuses a signed request that was already served: each (AccessKey, nonce) is taken once, and
/// kept for twice the allowed clock skew, so a request cannot be replayed while its timestamp is
/// still accepted (key layout: <see cref="GatewayKeys"/>).
/// </summary>
public sealed class NonceGuard(IDatabase redis)
{
    public static readonly TimeSpan AllowedSkew = TimeSpan.FromMinutes(15);

    public const int MaxNonceLength = 128;

    /// <summary>True when this is the nonce's first use.</summary>
    public Task<bool> TakeAsync(string accessKeyId, string nonce) =>
        redis.StringSetAsync(GatewayKeys.Nonce(accessKeyId, nonce), "1", AllowedSkew * 2, When.NotExists);
}
