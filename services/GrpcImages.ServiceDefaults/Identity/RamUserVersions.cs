using GrpcImages.Contracts.Kms.V1;
using GrpcImages.ServiceDefaults.Errors;
using GrpcImages.ServiceDefaults.Redis;
using StackExchange.Redis;

namespace GrpcImages.ServiceDefaults.Identity;

/// <summary>
/// Revocation of RAM users' tokens. A token names the version of the user it was issued for; the
/// kms service changes the version when it narrows the user's actions and removes the record when
/// it deletes the user, then announces the user. Every service keeps the versions it has read
/// (<see cref="AnnouncedCache{TValue}"/>), so a RAM user's call costs a Redis read only on its first
/// call after a change, and other principals' calls nothing.
/// </summary>
public sealed class RamUserVersions(IConnectionMultiplexer redis, TimeProvider time)
{
    /// <summary>Where the kms service announces "&lt;account&gt;:&lt;user&gt;" after changing or deleting a user.</summary>
    public static readonly RedisChannel Changes = RedisChannel.Literal("gi:kms:ram-changes");

    /// <summary>How long a read version is trusted without news: the bound on a lost announcement.</summary>
    public static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(10);

    private readonly AnnouncedCache<string?> _versions = new(redis, Changes, MaxAge, time);

    /// <summary>The kms service's record of a RAM user (a protobuf RamUser); read here, written only by kms.</summary>
    public static string Key(string accountId, string userName) => $"gi:kms:{{dir}}:ram:{accountId}:{userName}";

    /// <summary>Throws UNAUTHENTICATED when the caller is a RAM user whose token was issued for another version of it.</summary>
    public async ValueTask RequireCurrentAsync(Caller caller)
    {
        if (caller.Kind != PrincipalKind.RamUser)
        {
            return;
        }
        var version = await _versions.GetAsync($"{caller.AccountId}:{caller.Name}", "", async () =>
        {
            var value = await redis.GetDatabase().StringGetAsync(Key(caller.AccountId, caller.Name));
            return value.HasValue ? RamUser.Parser.ParseFrom((byte[])value!).Version : null;
        });
        if (version is null || version != caller.Version)
        {
            throw Fault.Unauthenticated("InvalidSecurityToken.Revoked",
                "The RAM user was deleted or its allowed actions changed since this token was issued; request a new token.");
        }
    }
}
