using System.Collections.Concurrent;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.ServiceDefaults.Errors;
using StackExchange.Redis;

namespace GrpcImages.ServiceDefaults.Identity;

/// <summary>
/// Revocation of RAM users' tokens. A token names the version of the user it was issued for; the
/// kms service changes the version when it narrows the user's actions and removes the record when
/// it deletes the user, then publishes the user's name. Every service keeps the versions it has
/// read (for at most <see cref="MaxAge"/>, dropped at once on a published change), so a RAM
/// user's call costs a Redis read only on its first call after a change.
/// </summary>
public sealed class RamUserVersions
{
    /// <summary>Where the kms service announces "&lt;account&gt;:&lt;user&gt;" after changing or deleting a user.</summary>
    public static readonly RedisChannel Changes = RedisChannel.Literal("gi:kms:ram-changes");

    /// <summary>How long a read version is trusted without news: the bound on a lost announcement.</summary>
    public static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(10);

    private readonly IConnectionMultiplexer _redis;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, (string? Version, DateTimeOffset Read)> _cache = new(StringComparer.Ordinal);
    private readonly Lazy<Task> _subscription;
    private long _changes; // bumped on every announcement, so a read that raced one is not cached

    public RamUserVersions(IConnectionMultiplexer redis, TimeProvider time)
    {
        _redis = redis;
        _time = time;
        _subscription = new Lazy<Task>(SubscribeAsync);
    }

    /// <summary>The kms service's record of a RAM user (a protobuf RamUser); read here, written only by kms.</summary>
    public static string Key(string accountId, string userName) => $"gi:kms:{{dir}}:ram:{accountId}:{userName}";

    /// <summary>Throws UNAUTHENTICATED when the caller is a RAM user whose token was issued for another version of it.</summary>
    public async ValueTask RequireCurrentAsync(Caller caller)
    {
        if (caller.Kind != PrincipalKind.RamUser)
        {
            return;
        }
        var name = $"{caller.AccountId}:{caller.Name}";
        var now = _time.GetUtcNow();
        if (!_cache.TryGetValue(name, out var known) || now - known.Read > MaxAge)
        {
            await _subscription.Value;
            var changes = Interlocked.Read(ref _changes);
            var value = await _redis.GetDatabase().StringGetAsync(Key(caller.AccountId, caller.Name));
            known = (value.HasValue ? RamUser.Parser.ParseFrom((byte[])value!).Version : null, now);
            if (Interlocked.Read(ref _changes) == changes)
            {
                _cache[name] = known;
            }
        }
        if (known.Version is null || known.Version != caller.Version)
        {
            throw Fault.Unauthenticated("InvalidSecurityToken.Revoked",
                "The RAM user was deleted or its allowed actions changed since this token was issued; request a new token.");
        }
    }

    private async Task SubscribeAsync()
    {
        var subscriber = _redis.GetSubscriber();
        await subscriber.SubscribeAsync(Changes, (_, message) => Forget((string?)message));
        // Announcements made while the connection was down are lost: start over.
        _redis.ConnectionRestored += (_, _) => Forget(null);
    }

    private void Forget(string? name)
    {
        Interlocked.Increment(ref _changes);
        if (name is null)
        {
            _cache.Clear();
        }
        else
        {
            _cache.TryRemove(name, out _);
        }
    }
}
