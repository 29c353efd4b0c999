using StackExchange.Redis;

namespace GrpcImages.ServiceDefaults.Redis;

/// <summary>Announcements one service makes for the others' caches (<see cref="AnnouncedCache{TValue}"/>).</summary>
public static class Channels
{
    /// <summary>The sharing service names an image whose grants changed; the catalog drops the access checks it holds for it.</summary>
    public static readonly RedisChannel GrantsChanged = RedisChannel.Literal("gi:share:grants");

    /// <summary>
    /// kms names an account that joined, moved within or left a resource directory (R37); access checks that
    /// followed its membership are dropped (the catalog drops every one it holds: such changes are rare).
    /// </summary>
    public static readonly RedisChannel MembershipChanged = RedisChannel.Literal("gi:kms:membership");

    /// <summary>What the owning service calls after a change: every replica drops what it holds of the group.</summary>
    public static Task<long> AnnounceAsync(IDatabase redis, RedisChannel channel, string group) => redis.PublishAsync(channel, group);
}
