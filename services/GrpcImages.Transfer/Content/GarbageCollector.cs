using GrpcImages.ServiceDefaults.Work;
using GrpcImages.Transfer.Storage;
using Microsoft.Extensions.Options;

namespace GrpcImages.Transfer.Content;

/// <summary>The "Blobs" configuration section.</summary>
public sealed class BlobOptions
{
    public const string Section = "Blobs";

    /// <summary>How long a blob stays unreferenced before it is deleted (a window for writers that want it back).</summary>
    public int GcGraceSeconds { get; set; } = 60;

    /// <summary>How often each region is collected.</summary>
    public int GcIntervalSeconds { get; set; } = 30;

    /// <summary>How often the blob store is searched for blobs nothing ever referenced (their writer died before pinning them).</summary>
    public int OrphanSweepIntervalSeconds { get; set; } = 3600;
}

/// <summary>
/// Deletes a region's blobs that nothing references (R34): drops the pins of dead writers, finishes
/// manifests whose dropper died, then, shard by shard, marks, deletes and forgets unreferenced blobs;
/// now and then it also deletes blobs on disk that nothing ever referenced. Safe while other work
/// runs: a marked blob cannot be pinned, and writers pin before they rely on a blob.
/// </summary>
public sealed partial class GarbageCollector(IBlobStores stores, ContentIndex index, IOptions<BlobOptions> options,
    ContentMetrics metrics, TimeProvider time, ILogger<GarbageCollector> logger)
{
    private const int Batch = 500;
    private const int DeletesAtOnce = 8;
    private readonly Dictionary<string, DateTimeOffset> _swept = new(StringComparer.Ordinal);

    public async Task<(int Chunks, long Bytes)> CollectAsync(string region, CancellationToken cancellationToken)
    {
        foreach (var session in await index.ExpiredSessionsAsync(region))
        {
            await index.AbortSessionAsync(region, session);
        }
        await index.FinishStaleDropsAsync(region);
        if (DueForSweep(region))
        {
            await MarkOrphansAsync(region, cancellationToken);
        }

        var store = stores.InRegion(region);
        var cutoff = time.GetUtcNow() - TimeSpan.FromSeconds(options.Value.GcGraceSeconds);
        var chunks = 0;
        long bytes = 0;
        foreach (var shard in TransferKeys.Shards)
        {
            while (true)
            {
                var marked = await index.MarkForDeletionAsync(region, shard, cutoff, Batch);
                if (marked.Count == 0)
                {
                    break;
                }
                // Several deletes at once: each is a hop to a chunk thread and an unlink, mostly waiting (one at a time ran ~6,500/s).
                await Parallel.ForEachAsync(marked, new ParallelOptions { MaxDegreeOfParallelism = DeletesAtOnce, CancellationToken = cancellationToken },
                    async (name, ct) => Interlocked.Add(ref bytes, await store.DeleteAsync(name, ct)));
                chunks += marked.Count(name => !name.StartsWith("m:", StringComparison.Ordinal));
                await index.FinishDeletionAsync(region, shard, marked);
                if (marked.Count < Batch)
                {
                    break;
                }
            }
        }
        if (chunks > 0)
        {
            metrics.Collected(region, chunks, bytes);
            LogCollected(chunks, bytes, region);
        }
        return (chunks, bytes);
    }

    /// <summary>Marks blobs on disk that no reference ever named, older than the grace period (the next pass deletes them).</summary>
    private async Task MarkOrphansAsync(string region, CancellationToken cancellationToken)
    {
        var old = time.GetUtcNow() - TimeSpan.FromSeconds(options.Value.GcGraceSeconds);
        var candidates = new Dictionary<char, List<string>>();
        await foreach (var blob in stores.InRegion(region).ListAsync(cancellationToken))
        {
            if (blob.Written < old)
            {
                var shard = TransferKeys.ShardOf(blob.Name);
                if (!candidates.TryGetValue(shard, out var list))
                {
                    candidates[shard] = list = [];
                }
                list.Add(blob.Name);
                if (list.Count >= Batch)
                {
                    await index.MarkOrphansAsync(region, shard, list);
                    list.Clear();
                }
            }
        }
        foreach (var (shard, list) in candidates)
        {
            await index.MarkOrphansAsync(region, shard, list);
        }
    }

    private bool DueForSweep(string region)
    {
        lock (_swept)
        {
            var now = time.GetUtcNow();
            if (_swept.TryGetValue(region, out var last) && now - last < TimeSpan.FromSeconds(options.Value.OrphanSweepIntervalSeconds))
            {
                return false;
            }
            _swept[region] = now;
            return true;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Collected {Chunks} chunks ({Bytes} bytes) in {Region}")]
    private partial void LogCollected(int chunks, long bytes, string region);
}

/// <summary>
/// Collects each region this instance serves now and then: one standing item per region in the "gc"
/// queue, so one replica at a time collects a region, and a region's collection survives any replica's death.
/// </summary>
public sealed class GarbageCollection(GarbageCollector collector, IOptions<BlobOptions> options) : IWorkHandler
{
    public const string Queue = "gc";

    public async Task<WorkOutcome> HandleAsync(WorkLease lease, CancellationToken cancellationToken)
    {
        await collector.CollectAsync(lease.Id, cancellationToken);
        return WorkOutcome.Retry(TimeSpan.FromSeconds(Math.Max(1, options.Value.GcIntervalSeconds)));
    }
}
