using System.Collections.Concurrent;
using StackExchange.Redis;

namespace GrpcImages.ServiceDefaults.Redis;

/// <summary>
/// A replica's copy of facts another service owns, kept true by that service's announcements: it
/// publishes the group a change touched (a RAM user, an image's grants) on a Redis channel, and
/// every replica drops what it holds of that group at once. An entry is trusted at most
/// <c>maxAge</c> (the bound on an announcement lost while disconnected; a reconnect drops all), and a
/// read that raced an announcement is not kept.
/// </summary>
public sealed class AnnouncedCache<TValue>
{
    private readonly IConnectionMultiplexer _redis;
    private readonly RedisChannel _channel;
    private readonly RedisChannel? _forgetAllOn;
    private readonly TimeSpan _maxAge;
    private readonly TimeProvider _time;
    private readonly int _capacity;
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, (TValue Value, DateTimeOffset Read)>> _groups = new(StringComparer.Ordinal);
    private readonly Lazy<Task> _subscription;
    private long _announcements;
    private int _count;

    /// <param name="forgetAllOn">
    /// A second channel on which any announcement drops every entry: for facts that follow another service's state
    /// without naming a group (an image's organization grants follow kms's memberships, R37).
    /// </param>
    public AnnouncedCache(IConnectionMultiplexer redis, RedisChannel channel, TimeSpan maxAge, TimeProvider time, int capacity = 100_000,
        RedisChannel? forgetAllOn = null)
    {
        _redis = redis;
        _channel = channel;
        _forgetAllOn = forgetAllOn;
        _maxAge = maxAge;
        _time = time;
        _capacity = capacity;
        _subscription = new Lazy<Task>(SubscribeAsync);
    }

    /// <summary>The cached value of (group, item), or what <paramref name="read"/> says (then kept).</summary>
    public async ValueTask<TValue> GetAsync(string group, string item, Func<ValueTask<TValue>> read)
    {
        var now = _time.GetUtcNow();
        if (_groups.TryGetValue(group, out var items) && items.TryGetValue(item, out var known) && now - known.Read <= _maxAge)
        {
            return known.Value;
        }
        await _subscription.Value;
        var before = Interlocked.Read(ref _announcements);
        var value = await read();
        if (Interlocked.Read(ref _announcements) == before)
        {
            if (Interlocked.Increment(ref _count) > _capacity)
            {
                Forget(null); // bounded memory: start over rather than evict one by one
            }
            _groups.GetOrAdd(group, static _ => new ConcurrentDictionary<string, (TValue, DateTimeOffset)>(StringComparer.Ordinal))[item] = (value, now);
        }
        return value;
    }

    private async Task SubscribeAsync()
    {
        await _redis.GetSubscriber().SubscribeAsync(_channel, (_, message) => Forget((string?)message));
        if (_forgetAllOn is { } all)
        {
            await _redis.GetSubscriber().SubscribeAsync(all, (_, _) => Forget(null));
        }
        _redis.ConnectionRestored += (_, _) => Forget(null); // announcements made meanwhile are lost
    }

    private void Forget(string? group)
    {
        Interlocked.Increment(ref _announcements);
        if (group is null)
        {
            _groups.Clear();
            Interlocked.Exchange(ref _count, 0);
        }
        else
        {
            _groups.TryRemove(group, out _);
        }
    }
}
