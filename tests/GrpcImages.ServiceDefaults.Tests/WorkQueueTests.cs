using GrpcImages.ServiceDefaults.Work;
using GrpcImages.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace GrpcImages.ServiceDefaults.Tests;

/// <summary>One redis-server for the queue tests; each test uses queues of its own.</summary>
public sealed class RedisFixture : IAsyncLifetime
{
    public RedisServer Server { get; private set; } = null!;

    public IConnectionMultiplexer Connection { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Server = await RedisServer.StartAsync();
        Connection = await ConnectionMultiplexer.ConnectAsync(Server.ConnectionString);
    }

    public async Task DisposeAsync()
    {
        await Connection.DisposeAsync();
        await Server.DisposeAsync();
    }
}

/// <summary>The work queue against a real Redis: order, limits, leases, fencing, retries.</summary>
public class WorkQueueTests(RedisFixture redis) : IClassFixture<RedisFixture>
{
    private WorkQueue NewQueue(int limit = 0, TimeSpan? lease = null) =>
        new(redis.Connection, "gi:test:", $"q{Guid.NewGuid():N}", new WorkQueueOptions { Limit = limit, Lease = lease ?? TimeSpan.FromSeconds(10) });

    [Fact]
    public async Task ItemsStartInTheOrderTheyWereQueued()
    {
        var queue = NewQueue();
        foreach (var id in new[] { "a", "b", "c" })
        {
            Assert.Equal(EnqueueResult.Added, await queue.EnqueueAsync(id, $"payload of {id}"));
        }

        var claimed = new List<WorkLease>();
        for (var i = 0; i < 3; i++)
        {
            claimed.Add((await queue.ClaimAsync(i % 2 == 0 ? "one" : "two")).Lease!);
        }

        Assert.Equal(["a", "b", "c"], claimed.Select(l => l.Id));
        Assert.Equal("payload of b", claimed[1].Payload);
        Assert.True(claimed[0].Fence < claimed[1].Fence && claimed[1].Fence < claimed[2].Fence);
        Assert.Null((await queue.ClaimAsync("one")).Lease);
    }

    [Fact]
    public async Task NoMoreThanTheLimitRunAtOnceAcrossConsumersAndTheNextStartsWhenOneEnds()
    {
        var queue = NewQueue(limit: 2);
        foreach (var id in new[] { "a", "b", "c", "d" })
        {
            await queue.EnqueueAsync(id, "");
        }

        var a = (await queue.ClaimAsync("one")).Lease!;
        var b = (await queue.ClaimAsync("two")).Lease!;
        Assert.Null((await queue.ClaimAsync("three")).Lease);
        var snapshot = await queue.SnapshotAsync();
        Assert.Equal(2, snapshot.Running);
        Assert.Equal(["c", "d"], snapshot.Waiting);

        Assert.Equal(CompleteResult.Completed, await queue.CompleteAsync(a));
        var c = (await queue.ClaimAsync("three")).Lease!;

        Assert.Equal(["a", "b", "c"], new[] { a, b, c }.Select(l => l.Id));
        Assert.Null((await queue.ClaimAsync("one")).Lease);
    }

    [Fact]
    public async Task AnExpiredLeaseIsTakenOverWithAHigherFenceAndTheOldHolderCanChangeNothing()
    {
        var queue = NewQueue(limit: 1, lease: TimeSpan.FromMilliseconds(200));
        await queue.EnqueueAsync("a", "work");
        var first = (await queue.ClaimAsync("dead")).Lease!;

        await Task.Delay(300);
        var second = (await queue.ClaimAsync("alive")).Lease!;

        Assert.Equal("a", second.Id);
        Assert.True(second.TakenOver);
        Assert.Equal(2, second.Attempt);
        Assert.True(second.Fence > first.Fence);
        Assert.False(await queue.RenewAsync(first, "dead"));
        Assert.Equal(CompleteResult.Lost, await queue.CompleteAsync(first));
        Assert.False(await queue.RetryAsync(first, TimeSpan.Zero));
        Assert.True(await queue.RenewAsync(second, "alive"));
        Assert.Equal(CompleteResult.Completed, await queue.CompleteAsync(second));
    }

    [Fact]
    public async Task ARenewedLeaseIsNotTakenOver()
    {
        // Renewed every 0.3 s for 1.5 s, past the 1 s lease (with room for a slow machine between renewals).
        var queue = NewQueue(lease: TimeSpan.FromSeconds(1));
        await queue.EnqueueAsync("a", "");
        var lease = (await queue.ClaimAsync("one")).Lease!;

        for (var i = 0; i < 5; i++)
        {
            await Task.Delay(300);
            Assert.True(await queue.RenewAsync(lease, "one"));
        }

        Assert.Null((await queue.ClaimAsync("two")).Lease);
    }

    [Fact]
    public async Task ARetriedItemWaitsForItsDelayThenRunsAgain()
    {
        var queue = NewQueue();
        await queue.EnqueueAsync("a", "");
        var lease = (await queue.ClaimAsync("one")).Lease!;

        Assert.True(await queue.RetryAsync(lease, TimeSpan.FromMilliseconds(300)));
        var (none, due) = await queue.ClaimAsync("one");
        Assert.Null(none);
        Assert.NotNull(due);
        Assert.Equal(1, (await queue.SnapshotAsync()).Delayed);

        await Task.Delay(350);
        var again = (await queue.ClaimAsync("one")).Lease!;
        Assert.Equal(2, again.Attempt);
    }

    [Fact]
    public async Task EnqueueIsIdempotentByIdAndRunAgainRequeuesARunningItemOnce()
    {
        var queue = NewQueue();
        Assert.Equal(EnqueueResult.Added, await queue.EnqueueAsync("a", "first"));
        Assert.Equal(EnqueueResult.AlreadyQueued, await queue.EnqueueAsync("a", "second"));
        var lease = (await queue.ClaimAsync("one")).Lease!;
        Assert.Equal("first", lease.Payload);

        Assert.Equal(EnqueueResult.RunsAgain, await queue.EnqueueAsync("a", "ignored", runAgain: true));
        Assert.Equal(CompleteResult.Requeued, await queue.CompleteAsync(lease));
        var again = (await queue.ClaimAsync("one")).Lease!;
        Assert.Equal(CompleteResult.Completed, await queue.CompleteAsync(again));

        Assert.Null((await queue.ClaimAsync("one")).Lease);
        Assert.Null(await queue.GetAsync("a"));
    }

    [Fact]
    public async Task AnEnqueueDueSoonerBringsADelayedItemForward()
    {
        var queue = NewQueue();
        await queue.EnqueueAsync("a", "guard", TimeSpan.FromHours(1));
        Assert.Null((await queue.ClaimAsync("one")).Lease);

        Assert.Equal(EnqueueResult.AlreadyQueued, await queue.EnqueueAsync("a", "ignored"));

        var lease = (await queue.ClaimAsync("one")).Lease!;
        Assert.Equal("guard", lease.Payload);
    }

    [Fact]
    public async Task RemovingOnlyWaitingItemsLeavesARunningOneToItsWorker()
    {
        var queue = NewQueue();
        await queue.EnqueueAsync("running", "");
        await queue.EnqueueAsync("waiting", "");
        var lease = (await queue.ClaimAsync("one")).Lease!;

        Assert.Equal(RemoveResult.Running, await queue.RemoveAsync("running", onlyIfWaiting: true));
        Assert.Equal(RemoveResult.Removed, await queue.RemoveAsync("waiting", onlyIfWaiting: true));
        Assert.Equal(RemoveResult.Absent, await queue.RemoveAsync("waiting", onlyIfWaiting: true));
        Assert.Equal(RemoveResult.Removed, await queue.RemoveAsync("running", onlyIfWaiting: false));

        Assert.False(await queue.RenewAsync(lease, "one"));
        Assert.Null((await queue.ClaimAsync("two")).Lease);
    }

    [Fact]
    public async Task AFencedStoreRefusesAWriteWithAnOlderToken()
    {
        var db = redis.Connection.GetDatabase();
        var key = $"gi:test:record:{Guid.NewGuid():N}";
        var script = Fencing.Lua + """

            if not fenced(KEYS[1], ARGV[1]) then return 0 end
            redis.call('HSET', KEYS[1], 'value', ARGV[2])
            return 1
            """;

        Assert.Equal(1, (int)await db.ScriptEvaluateAsync(script, [key], [5, "by five"]));
        Assert.Equal(1, (int)await db.ScriptEvaluateAsync(script, [key], [7, "by seven"]));
        Assert.Equal(0, (int)await db.ScriptEvaluateAsync(script, [key], [5, "by five, late"]));
        Assert.Equal("by seven", (string?)await db.HashGetAsync(key, "value"));
    }

    [Fact]
    public async Task TheRunnerRetriesAFailingHandlerWithBackoffUntilItSucceeds()
    {
        var queue = new WorkQueue(redis.Connection, "gi:test:", $"q{Guid.NewGuid():N}",
            new WorkQueueOptions { Backoff = TimeSpan.FromMilliseconds(50), PollInterval = TimeSpan.FromMilliseconds(50) });
        var handler = new FlakyHandler(failures: 2);
        using var runner = new WorkQueueRunner(queue, handler, redis.Connection, "test", NullLogger<WorkQueueRunner>.Instance);
        await runner.StartAsync(CancellationToken.None);

        await queue.EnqueueAsync("a", "");
        await handler.Done.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await runner.StopAsync(CancellationToken.None);

        Assert.Equal([1, 2, 3], handler.Attempts);
        await WaitUntilAsync(async () => await queue.GetAsync("a") is null);
    }

    [Fact]
    public async Task ARunnerThatLosesItsLeaseStopsItsHandler()
    {
        var queue = new WorkQueue(redis.Connection, "gi:test:", $"q{Guid.NewGuid():N}",
            new WorkQueueOptions { Lease = TimeSpan.FromMilliseconds(300), PollInterval = TimeSpan.FromMilliseconds(50) });
        var handler = new BlockingHandler();
        using var runner = new WorkQueueRunner(queue, handler, redis.Connection, "test", NullLogger<WorkQueueRunner>.Instance);
        await runner.StartAsync(CancellationToken.None);
        await queue.EnqueueAsync("a", "");
        await handler.Started.Task.WaitAsync(TimeSpan.FromSeconds(30));

        await queue.RemoveAsync("a", onlyIfWaiting: false); // as if another worker had it now

        await handler.Cancelled.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await runner.StopAsync(CancellationToken.None);
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the condition did not become true");
            await Task.Delay(20);
        }
    }

    private sealed class FlakyHandler(int failures) : IWorkHandler
    {
        public List<int> Attempts { get; } = [];

        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<WorkOutcome> HandleAsync(WorkLease lease, CancellationToken cancellationToken)
        {
            lock (Attempts)
            {
                Attempts.Add(lease.Attempt);
            }
            if (lease.Attempt <= failures)
            {
                throw new InvalidOperationException("not yet");
            }
            Done.TrySetResult();
            return Task.FromResult(WorkOutcome.Done);
        }
    }

    private sealed class BlockingHandler : IWorkHandler
    {
        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Cancelled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async Task<WorkOutcome> HandleAsync(WorkLease lease, CancellationToken cancellationToken)
        {
            Started.TrySetResult();
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                Cancelled.TrySetResult();
                throw;
            }
            return WorkOutcome.Done;
        }
    }
}
