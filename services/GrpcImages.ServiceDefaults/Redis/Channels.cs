using StackExchange.Redis;

namespace GrpcImages.ServiceDefaults.Redis;

/// <summary>Announcements one service makes for the others' caches (<see cref="AnnouncedCache{TValue}"/>).</summary>
public static class Channels
{
    /// <summary>The sharing service names an image whose grants changed; the catalog drops the access checks it holds for it.</summary>
    public static readonly RedisChannel GrantsChanged = RedisChannel.Literal("gi:share:grants");

    /// <summary>What the owning service calls after a change: every replica drops what it holds of the group.</summary>
    public static Task<long> AnnounceAsync(IDatabase redis, RedisChannel channel, string group) => redis.PublishAsync(channel, group);
}
