using Google.Protobuf.WellKnownTypes;
using GrpcImages.Catalog.Storage;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.ServiceDefaults.Work;
using Microsoft.Extensions.Options;

namespace GrpcImages.Catalog.Domain;

/// <summary>
/// Runs the snapshots that make an image (R1) or stand alone, as items of the "jobs" queue on
/// whichever catalog replica claims them. Progress is written as it goes, so a replica that takes
/// over a dead one's job resumes where it stopped; every write carries the claim's fencing token, so
/// a replica that lost the job can no longer change the image. The pace is
/// <see cref="CatalogOptions.SnapshotBytesPerSecond"/>.
/// </summary>
public sealed partial class CreationJobs(WorkQueues queues, CatalogStore store, IOptions<CatalogOptions> options, TimeProvider time,
    ILogger<CreationJobs> logger) : IWorkHandler
{
    private const string ImagePrefix = "img|";
    private const string SnapshotPrefix = "snap|";
    private readonly CatalogOptions _options = options.Value;

    public static string ImageJob(string imageId) => ImagePrefix + imageId;

    public static string SnapshotJob(string snapshotId) => SnapshotPrefix + snapshotId;

    public Task EnqueueAsync(string job) => queues.Get(CatalogQueues.Jobs).EnqueueAsync(job, job);

    public async Task<WorkOutcome> HandleAsync(WorkLease lease, CancellationToken cancellationToken)
    {
        if (lease.Id.StartsWith(ImagePrefix, StringComparison.Ordinal))
        {
            await RunImageAsync(lease.Id[ImagePrefix.Length..], lease.Fence, cancellationToken);
        }
        else if (lease.Id.StartsWith(SnapshotPrefix, StringComparison.Ordinal))
        {
            await RunSnapshotAsync(lease.Id[SnapshotPrefix.Length..], lease.Fence, cancellationToken);
        }
        else
        {
            LogUnknownJob(lease.Id);
        }
        return WorkOutcome.Done;
    }

    /// <summary>Paces the image's unfinished snapshots together, then makes them accomplished and the image Available.</summary>
    private async Task RunImageAsync(string imageId, long fence, CancellationToken cancellationToken)
    {
        var pace = new SnapshotPace(_options.SnapshotBytesPerSecond, time);
        while (true)
        {
            var stored = await store.GetImageAsync("", imageId);
            if (stored is null || stored.Image.Status != ImageStatus.Creating)
            {
                return;
            }
            var snapshots = await store.GetSnapshotsAsync(stored.Image.DiskDeviceMappings.Select(m => m.SnapshotId).ToList());
            if (snapshots.Any(s => s is null))
            {
                throw new InvalidOperationException($"A snapshot of {imageId} is gone.");
            }
            var pending = snapshots.Where(s => s!.Snapshot.Status == SnapshotStatus.Progressing).Select(s => s!).ToList();
            var total = pending.Sum(s => s.Snapshot.SourceDiskSizeGib * ContentClient.GiB);
            var progress = pace.Progress(stored.Image.Progress, total);
            var finished = progress >= 100;

            var image = stored.Image.Clone();
            image.Progress = finished ? 100 : progress;
            image.Status = finished ? ImageStatus.Available : ImageStatus.Creating;
            image.UpdateTime = Timestamp.FromDateTimeOffset(time.GetUtcNow());
            var steps = pending.Select(snapshot =>
            {
                var next = snapshot.Snapshot.Clone();
                next.Progress = image.Progress;
                next.Status = finished ? SnapshotStatus.Accomplished : SnapshotStatus.Progressing;
                return (snapshot, next);
            }).ToList();
            switch (await store.SaveCreationStepAsync(stored, image, steps, fence))
            {
                case SaveResult.Fenced:
                    LogFenced(imageId);
                    return;
                case SaveResult.Saved when finished:
                    LogAvailable(imageId);
                    return;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(_options.ProgressIntervalMilliseconds), time, cancellationToken);
        }
    }

    private async Task RunSnapshotAsync(string snapshotId, long fence, CancellationToken cancellationToken)
    {
        var pace = new SnapshotPace(_options.SnapshotBytesPerSecond, time);
        while (true)
        {
            var stored = await store.GetSnapshotAsync(snapshotId);
            if (stored is null || stored.Snapshot.Status != SnapshotStatus.Progressing)
            {
                return;
            }
            var progress = pace.Progress(stored.Snapshot.Progress, stored.Snapshot.SourceDiskSizeGib * ContentClient.GiB);
            var next = stored.Snapshot.Clone();
            next.Progress = Math.Min(progress, 100);
            next.Status = progress >= 100 ? SnapshotStatus.Accomplished : SnapshotStatus.Progressing;
            switch (await store.SaveSnapshotStepAsync(stored, next, fence))
            {
                case SaveResult.Fenced:
                    LogFenced(snapshotId);
                    return;
                case SaveResult.Saved when progress >= 100:
                    return;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(_options.ProgressIntervalMilliseconds), time, cancellationToken);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Image {ImageId} is available")]
    private partial void LogAvailable(string imageId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Another replica took over the job of {Id}; this one stops")]
    private partial void LogFenced(string id);

    [LoggerMessage(Level = LogLevel.Error, Message = "Unknown creation job {Job}; dropped")]
    private partial void LogUnknownJob(string job);
}
