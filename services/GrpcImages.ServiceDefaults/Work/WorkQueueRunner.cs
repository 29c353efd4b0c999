using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace GrpcImages.ServiceDefaults.Work;

/// <summary>What a handler decided about an item.</summary>
public readonly record struct WorkOutcome(TimeSpan? RetryAfter)
{
    /// <summary>The item is finished and leaves the queue.</summary>
    public static WorkOutcome Done => default;

    /// <summary>The item runs again after <paramref name="delay"/> (recurring work, or waiting on something).</summary>
    public static WorkOutcome Retry(TimeSpan delay) => new(delay);
}

/// <summary>
/// Runs the items of a queue. Handlers are idempotent: an item runs at least once, and again after
/// a crash or a lost lease. <paramref name="cancellationToken"/> fires when the lease is lost or the
/// service stops; an exception retries the item with backoff.
/// </summary>
public interface IWorkHandler
{
    Task<WorkOutcome> HandleAsync(WorkLease lease, CancellationToken cancellationToken);
}

/// <summary>
/// Claims and runs a queue's items on this replica: up to <see cref="WorkQueueOptions.MaxInFlight"/>
/// at once, each with its lease renewed while it runs. It wakes when the queue announces work or a
/// freed slot, and polls now and then for delayed items. Redis errors (timeouts included) never stop
/// it; a lease it cannot renew for a whole lease period is given up, so no item waits on a dead worker.
/// <paramref name="standing"/> items are queued when it starts (recurring work whose handler always
/// retries, or start-up work that ends itself).
/// </summary>
public sealed partial class WorkQueueRunner(WorkQueue queue, IWorkHandler handler, IConnectionMultiplexer redis, string service, ILogger<WorkQueueRunner> logger,
    IReadOnlyList<string>? standing = null) : BackgroundService
{
    private readonly string _consumer = $"{service}-{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}";
    private readonly ConcurrentDictionary<string, Task> _running = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _wake = new(0, 1);
    private bool _standingQueued = standing is null;

    /// <summary>This runner's consumer name in the queue (tests and logs use it).</summary>
    public string Consumer => _consumer;

    public WorkQueue Queue => queue;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await SubscribeAsync();
        while (!stoppingToken.IsCancellationRequested)
        {
            var wait = queue.Options.PollInterval;
            try
            {
                if (!_standingQueued)
                {
                    // Standing items (recurring work, start-up work) exist once per queue: enqueues are idempotent.
                    foreach (var id in standing!)
                    {
                        await queue.EnqueueAsync(id, id);
                    }
                    _standingQueued = true;
                }
                while (_running.Count < queue.Options.MaxInFlight)
                {
                    var (lease, nextDue) = await queue.ClaimAsync(_consumer);
                    if (nextDue is { } due && due - DateTimeOffset.UtcNow < wait)
                    {
                        wait = due - DateTimeOffset.UtcNow;
                    }
                    if (lease is null)
                    {
                        break;
                    }
                    if (lease.TakenOver)
                    {
                        LogTakenOver(lease.Id, queue.Name, lease.Fence);
                    }
                    _running[lease.Id] = RunAsync(lease, stoppingToken);
                }
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                LogClaimFailed(ex, queue.Name);
            }
            try
            {
                await _wake.WaitAsync(wait < TimeSpan.FromMilliseconds(10) ? TimeSpan.FromMilliseconds(10) : wait, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
        await Task.WhenAll(_running.Values);
    }

    private async Task SubscribeAsync()
    {
        try
        {
            await redis.GetSubscriber().SubscribeAsync(queue.Channel, (_, _) => Wake());
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // Polling still finds the work; notifications only make it prompt.
            LogClaimFailed(ex, queue.Name);
        }
    }

    private void Wake()
    {
        try
        {
            _wake.Release();
        }
        catch (SemaphoreFullException)
        {
        }
    }

    private async Task RunAsync(WorkLease lease, CancellationToken stoppingToken)
    {
        await Task.Yield();
        using var work = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var lost = new StrongBox<bool>();
        var renewing = RenewAsync(lease, lost, work);
        WorkOutcome? outcome = null;
        try
        {
            outcome = await handler.HandleAsync(lease, work.Token);
        }
        catch (OperationCanceledException) when (work.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            LogFailed(ex, lease.Id, queue.Name, lease.Attempt);
            outcome = WorkOutcome.Retry(Backoff(lease.Attempt));
        }
        finally
        {
            await work.CancelAsync();
            await renewing;
        }

        try
        {
            if (lost.Value)
            {
                LogLost(lease.Id, queue.Name);
            }
            else if (outcome is null)
            {
                await queue.ReleaseAsync(lease, _consumer); // stopping: let another replica take it now
            }
            else if (outcome.Value.RetryAfter is { } delay)
            {
                await queue.RetryAsync(lease, delay);
            }
            else
            {
                await queue.CompleteAsync(lease);
            }
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // The lease runs out and the item runs again elsewhere; handlers are idempotent.
            LogSettleFailed(ex, lease.Id, queue.Name);
        }
        finally
        {
            _running.TryRemove(lease.Id, out _);
            Wake();
        }
    }

    /// <summary>Renews the lease a few times per period until the work ends; cancels the work when the lease is lost or cannot be renewed in time.</summary>
    private async Task RenewAsync(WorkLease lease, StrongBox<bool> lost, CancellationTokenSource work)
    {
        var period = queue.Options.Lease;
        var renewed = DateTimeOffset.UtcNow;
        while (!work.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(period / 3, work.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            try
            {
                if (!await queue.RenewAsync(lease, _consumer))
                {
                    lost.Value = true;
                    await work.CancelAsync();
                    return;
                }
                renewed = DateTimeOffset.UtcNow;
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                LogRenewFailed(ex, lease.Id, queue.Name);
                if (DateTimeOffset.UtcNow - renewed >= period)
                {
                    lost.Value = true; // another replica may hold it by now
                    await work.CancelAsync();
                    return;
                }
            }
        }
    }

    private TimeSpan Backoff(int attempt)
    {
        var delay = queue.Options.Backoff * Math.Pow(2, Math.Clamp(attempt - 1, 0, 20));
        var capped = delay < queue.Options.MaxBackoff ? delay : queue.Options.MaxBackoff;
        return capped * (0.8 + Random.Shared.NextDouble() * 0.4);
    }

    private sealed class StrongBox<T>
    {
        public T? Value { get; set; }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Looking for work in {Queue} failed; will retry")]
    private partial void LogClaimFailed(Exception exception, string queue);

    [LoggerMessage(Level = LogLevel.Information, Message = "Took over {Id} in {Queue} (fence {Fence}): its worker stopped renewing its lease")]
    private partial void LogTakenOver(string id, string queue, long fence);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Id} in {Queue} failed on attempt {Attempt}; it will be retried")]
    private partial void LogFailed(Exception exception, string id, string queue, int attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lost the lease of {Id} in {Queue}; another worker has it")]
    private partial void LogLost(string id, string queue);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not settle {Id} in {Queue}; its lease will run out and it runs again")]
    private partial void LogSettleFailed(Exception exception, string id, string queue);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Renewing the lease of {Id} in {Queue} failed")]
    private partial void LogRenewFailed(Exception exception, string id, string queue);
}
