using Google.Protobuf;
using GrpcImages.Contracts.Catalog.V1;
using StackExchange.Redis;

namespace GrpcImages.Catalog.Storage;

/// <summary>
/// The changes of an owner's images in a region, announced on a channel (<see cref="CatalogKeys.ImageChannel"/>)
/// after each save, for WatchImages (the console's live Images page). Announcements are best effort:
/// a change saved while the link to Redis is down is saved, not announced; watchers list again when the
/// link comes back.
/// </summary>
public sealed class ImageChanges(IConnectionMultiplexer redis)
{
    /// <summary>Announces a saved (or deleted) image of an owner; platform images are nobody's to watch.</summary>
    public static async Task AnnounceAsync(IDatabaseAsync redis, Image image, bool deleted = false)
    {
        if (image.OwnerAccountId.Length > 0)
        {
            await redis.PublishAsync(CatalogKeys.ImageChannel(image.OwnerAccountId, image.RegionId),
                new WatchImagesResponse { Image = image, Deleted = deleted }.ToByteArray());
        }
    }

    /// <summary>Follows the owner's images in the region until the returned subscription is disposed.</summary>
    public async Task<IAsyncDisposable> SubscribeAsync(string owner, string region, Action<WatchImagesResponse> changed, Action reconnected)
    {
        var subscriber = redis.GetSubscriber();
        var channel = CatalogKeys.ImageChannel(owner, region);
        void OnMessage(RedisChannel _, RedisValue message) => changed(WatchImagesResponse.Parser.ParseFrom((byte[])message!));
        void OnRestored(object? sender, ConnectionFailedEventArgs e) => reconnected();
        await subscriber.SubscribeAsync(channel, OnMessage);
        redis.ConnectionRestored += OnRestored;
        return new Subscription(async () =>
        {
            redis.ConnectionRestored -= OnRestored;
            await subscriber.UnsubscribeAsync(channel, OnMessage);
        });
    }

    private sealed class Subscription(Func<Task> end) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await end();
    }
}
