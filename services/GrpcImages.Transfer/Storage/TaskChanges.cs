using GrpcImages.Contracts.Transfer.V1;
using StackExchange.Redis;

namespace GrpcImages.Transfer.Storage;

/// <summary>
/// A task's changes as <see cref="TaskStore"/> publishes them on the task's channel (each message its newest
/// state), and word when the connection to Redis comes back: what was published while it was down is lost,
/// so a watcher reads the task again then.
/// </summary>
public sealed class TaskChanges(IConnectionMultiplexer redis)
{
    public async Task<IAsyncDisposable> SubscribeAsync(string taskId, Action<TransferTask> changed, Action reconnected)
    {
        var subscriber = redis.GetSubscriber();
        var channel = TransferKeys.TaskChannel(taskId);
        void OnMessage(RedisChannel _, RedisValue message) => changed(TransferTask.Parser.ParseFrom((byte[])message!));
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
