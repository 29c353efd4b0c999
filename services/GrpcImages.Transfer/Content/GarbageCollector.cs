using GrpcImages.ServiceDefaults.Work;
using GrpcImages.Transfer.Storage;

namespace GrpcImages.Transfer.Content;

/// <summary>The "Blobs" configuration section.</summary>
public sealed class BlobOptions
{
    public const string Section = "Blobs";

    /// <summary>How long a blob stays unreferenced before it is deleted (a window for writers that want it back).</summary>
    public int GcGraceSeconds { get; set; } = 60;

    /// <summary>How often every replica collects (they may overlap safely).</summary>
    public int GcIntervalSeconds { get; set; } = 30;
}

/// <summary>
/// Deletes a region's blobs that nothing references (R34): drops the pins of dead writers,
/// finishes manifests whose dropper died, then marks, deletes and forgets unreferenced blobs.
/// Safe while other work runs: a marked blob cannot be pinned, and writers write it again.
/// </summary>
public sealed partial class GarbageCollector(IBlobStore blobs, ContentIndex index, ContentLibrary library, Microsoft.Extensions.Options.IOptions<BlobOptions> options,
    ContentMetrics metrics, TimeProvider time, ILogger<GarbageCollector> logger)
{
    private const int Batch = 500;

    public async Task<(int Chunks, long Bytes)> CollectAsync(string region, CancellationToken cancellationToken)
    {
        foreach (var session in await index.ExpiredSessionsAsync(region))
        {
            await index.AbortAsync(region, session);
        }
        foreach (var dying in await index.StaleDyingAsync(region))
        {
            await library.DropAsync(region, dying, cancellationToken);
        }

        var cutoff = time.GetUtcNow() - TimeSpan.FromSeconds(options.Value.GcGraceSeconds);
        var chunks = 0;
        long bytes = 0;
        while (true)
        {
            var marked = await index.MarkForDeletionAsync(region, cutoff, Batch);
            if (marked.Count == 0)
            {
                break;
            }
            foreach (var name in marked)
            {
                bytes += blobs.Delete(region, name);
                if (!name.StartsWith("m:", StringComparison.Ordinal))
                {
                    chunks++;
                }
            }
            await index.FinishDeletionAsync(region, marked);
            if (marked.Count < Batch)
            {
                break;
            }
        }
        if (chunks > 0)
        {
            metrics.Collected(region, chunks, bytes);
            LogCollected(chunks, bytes, region);
        }
        return (chunks, bytes);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Collected {Chunks} chunks ({Bytes} bytes) in {Region}")]
    private partial void LogCollected(int chunks, long bytes, string region);
}

/// <summary>
/// Collects each region now and then: one standing item per region in the "gc" queue, so one
/// replica at a time collects a region, and a region's collection survives any replica's death.
/// </summary>
public sealed class GarbageCollection(GarbageCollector collector, Microsoft.Extensions.Options.IOptions<BlobOptions> options) : IWorkHandler
{
    public const string Queue = "gc";

    public async Task<WorkOutcome> HandleAsync(WorkLease lease, CancellationToken cancellationToken)
    {
        await collector.CollectAsync(lease.Id, cancellationToken);
        return WorkOutcome.Retry(TimeSpan.FromSeconds(Math.Max(1, options.Value.GcIntervalSeconds)));
    }
}
