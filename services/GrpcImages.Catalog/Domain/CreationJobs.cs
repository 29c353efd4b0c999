using Google.Protobuf.WellKnownTypes;
using GrpcImages.Catalog.Storage;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.ServiceDefaults.Storage;
using GrpcImages.ServiceDefaults.Work;
using Microsoft.Extensions.Options;

namespace GrpcImages.Catalog.Domain;

/// <summary>
/// Runs the snapshots that make an image (R1) or stand alone, as items of the "jobs" queue on
/// whichever catalog replica claims them. Progress is written as it goes, so a replica that takes
/// over a dead one's job resumes where it stopped; every write carries the claim's fencing token, so
/// a replica that lost the job can no longer change the image. The pace is
/// <see cref="CatalogOptions.SnapshotBytesPerSecond"/>.
/// <para>
/// A job is recorded before its create call holds anything (intent first), due only after
/// <see cref="CatalogOptions.CreationGrace"/>; the call brings it forward once the record exists.
/// A job that finds no record gives the creation up for good (the create script then refuses the
/// id) and gives back whatever the call may have held: its quota unit, its content holds, its
/// client token. So a catalog killed at any point of a create leaves no Creating image without a
/// job and nothing held for nothing.
/// </para>
/// </summary>
public sealed partial class CreationJobs(WorkQueues queues, CatalogStore store, Releases releases, IOptions<CatalogOptions> options, TimeProvider time,
    ILogger<CreationJobs> logger) : IWorkHandler
{
    private const string ImagePrefix = "img|";
    private const string SnapshotPrefix = "snap|";
    private const string InstancePrefix = "inst|";
    private const string IntentPrefix = "intent|";
    private readonly CatalogOptions _options = options.Value;

    private WorkQueue Queue => queues.Get(CatalogQueues.Jobs);

    /// <summary>A create call in flight: its job, and what the job needs to end the creation if the call never does.</summary>
    public sealed record Intent(string Job, string Payload);

    public static string ImageJob(string imageId) => ImagePrefix + imageId;

    public static string SnapshotJob(string snapshotId) => SnapshotPrefix + snapshotId;

    /// <summary>An instance has nothing to make after its create; its job only gives up a create that never finished.</summary>
    public static string InstanceJob(string instanceId) => InstancePrefix + instanceId;

    /// <summary>Records the job of a create about to hold things; it runs after the grace unless <see cref="StartAsync"/> runs it sooner.</summary>
    public async Task<Intent> RecordAsync(string job, string owner, string region, ClientToken token, string imageId = "")
    {
        var intent = new Intent(job, $"{IntentPrefix}{owner}|{region}|{token.Token}|{imageId}");
        await Queue.EnqueueAsync(intent.Job, intent.Payload, _options.CreationGrace);
        return intent;
    }

    /// <summary>Runs the job now: it makes the created record, or gives up one the call did not create.</summary>
    public Task StartAsync(Intent intent) => Queue.EnqueueAsync(intent.Job, intent.Payload);

    /// <summary>Whether the job is queued or running: its creation is still in flight or being made.</summary>
    public async Task<bool> IsPendingAsync(string job) => await Queue.GetAsync(job) is not null;

    /// <summary>Drops the job of a create that failed knowing it holds nothing.</summary>
    public Task ForgetAsync(Intent intent) => Queue.RemoveAsync(intent.Job, onlyIfWaiting: true);

    public async Task<WorkOutcome> HandleAsync(WorkLease lease, CancellationToken cancellationToken)
    {
        if (lease.Id.StartsWith(ImagePrefix, StringComparison.Ordinal))
        {
            var imageId = lease.Id[ImagePrefix.Length..];
            if (!await RunImageAsync(imageId, lease.Fence, cancellationToken))
            {
                await AbandonAsync(imageId, lease.Payload, "img");
            }
        }
        else if (lease.Id.StartsWith(SnapshotPrefix, StringComparison.Ordinal))
        {
            var snapshotId = lease.Id[SnapshotPrefix.Length..];
            if (!await RunSnapshotAsync(snapshotId, lease.Fence, cancellationToken))
            {
                await AbandonAsync(snapshotId, lease.Payload, "snap");
            }
        }
        else if (lease.Id.StartsWith(InstancePrefix, StringComparison.Ordinal))
        {
            await AbandonAsync(lease.Id[InstancePrefix.Length..], lease.Payload, "inst");
        }
        else
        {
            LogUnknownJob(lease.Id);
        }
        return WorkOutcome.Done;
    }

    /// <summary>
    /// Ends a creation whose record does not exist: refused from now on, and what its call may hold
    /// given back (releases are idempotent, so holds the call already gave back cost nothing).
    /// </summary>
    private async Task AbandonAsync(string resourceId, string payload, string scope)
    {
        if (!payload.StartsWith(IntentPrefix, StringComparison.Ordinal))
        {
            return; // the record was created and later deleted
        }
        var parts = payload[IntentPrefix.Length..].Split('|');
        var (owner, region, clientToken, imageId) = (parts[0], parts[1], parts[2], parts.Length > 3 ? parts[3] : "");
        if (!await store.AbandonAsync(region, resourceId, owner, scope, clientToken))
        {
            return;
        }
        var disks = Enumerable.Range(0, ImageManager.MaxDataDisks + 1);
        switch (scope)
        {
            case "img":
                await releases.ReleaseQuotaAsync(owner, region, resourceId);
                await releases.ReleaseHoldersAsync(region, disks.Select(i => PendingResources.SnapshotIdOf(resourceId, i)).Prepend(resourceId));
                break;
            case "inst":
                await store.UnregisterImageUseAsync(region, imageId, resourceId);
                await releases.ReleaseHoldersAsync(region, disks.Select(i => InstanceManager.DiskIdOf(resourceId, i)));
                break;
            default:
                await releases.ReleaseHoldersAsync(region, [resourceId]);
                break;
        }
        LogAbandoned(resourceId);
    }

    /// <summary>Paces the image's unfinished snapshots together, then makes them accomplished and the image Available; false when there is no image.</summary>
    private async Task<bool> RunImageAsync(string imageId, long fence, CancellationToken cancellationToken)
    {
        var pace = new SnapshotPace(_options.SnapshotBytesPerSecond, time);
        while (true)
        {
            var stored = await store.GetImageAsync("", imageId);
            if (stored is null)
            {
                return false;
            }
            if (stored.Image.Status != ImageStatus.Creating)
            {
                return true;
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
                    return true;
                case SaveResult.Saved when finished:
                    LogAvailable(imageId);
                    return true;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(_options.ProgressIntervalMilliseconds), time, cancellationToken);
        }
    }

    private async Task<bool> RunSnapshotAsync(string snapshotId, long fence, CancellationToken cancellationToken)
    {
        var pace = new SnapshotPace(_options.SnapshotBytesPerSecond, time);
        while (true)
        {
            var stored = await store.GetSnapshotAsync(snapshotId);
            if (stored is null)
            {
                return false;
            }
            if (stored.Snapshot.Status != SnapshotStatus.Progressing)
            {
                return true;
            }
            var progress = pace.Progress(stored.Snapshot.Progress, stored.Snapshot.SourceDiskSizeGib * ContentClient.GiB);
            var next = stored.Snapshot.Clone();
            next.Progress = Math.Min(progress, 100);
            next.Status = progress >= 100 ? SnapshotStatus.Accomplished : SnapshotStatus.Progressing;
            switch (await store.SaveSnapshotStepAsync(stored, next, fence))
            {
                case SaveResult.Fenced:
                    LogFenced(snapshotId);
                    return true;
                case SaveResult.Saved when progress >= 100:
                    return true;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(_options.ProgressIntervalMilliseconds), time, cancellationToken);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Image {ImageId} is available")]
    private partial void LogAvailable(string imageId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Another replica took over the job of {Id}; this one stops")]
    private partial void LogFenced(string id);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The creation of {Id} was given up; what its call held is given back")]
    private partial void LogAbandoned(string id);

    [LoggerMessage(Level = LogLevel.Error, Message = "Unknown creation job {Job}; dropped")]
    private partial void LogUnknownJob(string job);
}
