using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using GrpcImages.Catalog.Storage;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.ServiceDefaults.Errors;
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
public sealed partial class CreationJobs(
    WorkQueues queues,
    CreationClaimStore claims,
    ImageStore imageStore,
    SnapshotStore snapshotStore,
    Releases releases,
    IOptions<CatalogOptions> options,
    TimeProvider time,
    ILogger<CreationJobs> logger) : IWorkHandler
{
    private readonly CatalogOptions _options = options.Value;

    private WorkQueue Queue => queues.Get(CatalogQueues.Jobs);

    /// <summary>What a create call ended with, and whether it made the record (so its job runs it now).</summary>
    public readonly record struct Made<T>(T Result, bool Created);

    /// <summary>
    /// Runs a create intent-first. Its job is recorded (due after the grace) before
    /// <paramref name="create"/> holds anything; afterwards it runs at once when the record exists, or
    /// when the call failed in a way that leaves in doubt what it holds (a lost reply, a timeout: the
    /// job gives back whatever has no record), and is dropped when the call ended knowing it made and
    /// holds nothing (a refusal, or another call's resource returned).
    /// </summary>
    public async Task<T> CreateAsync<T>(CreationJob job, string owner, string region, ClientToken token, Func<Task<Made<T>>> create, string imageId = "")
    {
        var id = job.Format();
        var payload = new CreationIntent(owner, region, token.Token, imageId).Format();
        await Queue.EnqueueAsync(id, payload, _options.CreationGrace);
        var runNow = true;
        try
        {
            var made = await create();
            runNow = made.Created;
            return made.Result;
        }
        catch (Exception ex) when (IsRefusal(ex))
        {
            runNow = false;
            throw;
        }
        finally
        {
            if (runNow)
            {
                await Queue.EnqueueAsync(id, payload); // brings the delayed job forward
            }
            else
            {
                await Queue.RemoveAsync(id, onlyIfWaiting: true);
            }
        }
    }

    /// <summary>Whether the job is queued or running: its creation is still in flight or being made.</summary>
    public async Task<bool> IsPendingAsync(CreationJob job) => await Queue.GetAsync(job.Format()) is not null;

    /// <summary>Whether a failure says for sure that nothing was done (a refusal), rather than perhaps something was (a lost reply).</summary>
    private static bool IsRefusal(Exception ex) => ex switch
    {
        DomainException => true,
        RpcException rpc => rpc.StatusCode is StatusCode.InvalidArgument or StatusCode.NotFound or
            StatusCode.AlreadyExists or StatusCode.PermissionDenied or StatusCode.FailedPrecondition or
            StatusCode.ResourceExhausted or StatusCode.OutOfRange or StatusCode.Unauthenticated,
        _ => false,
    };

    public async Task<WorkOutcome> HandleAsync(WorkLease lease, CancellationToken cancellationToken)
    {
        if (CreationJob.TryParse(lease.Id) is not { } job)
        {
            LogUnknownJob(lease.Id);
            return WorkOutcome.Done;
        }
        var made = job.Kind switch
        {
            CreationKind.Image => await RunImageAsync(job.ResourceId, lease.Fence, cancellationToken),
            CreationKind.Snapshot => await RunSnapshotAsync(job.ResourceId, lease.Fence, cancellationToken),
            _ => false,
        };
        if (!made)
        {
            await AbandonAsync(job, lease.Payload);
        }
        return WorkOutcome.Done;
    }

    /// <summary>
    /// Ends a creation whose record does not exist: refused from now on, and what its call may hold
    /// given back (releases are idempotent, so holds the call already gave back cost nothing).
    /// </summary>
    private async Task AbandonAsync(CreationJob job, string payload)
    {
        if (CreationIntent.TryParse(payload) is not { } intent)
        {
            return; // the record was created and later deleted
        }
        var (resourceId, owner, region) = (job.ResourceId, intent.Owner, intent.Region);
        if (!await claims.AbandonAsync(region, resourceId, owner, job.Scope, intent.ClientToken))
        {
            return;
        }
        var disks = Enumerable.Range(0, ImageCreation.MaxDataDisks + 1);
        switch (job.Kind)
        {
            case CreationKind.Image:
                await releases.ReleaseQuotaAsync(owner, region, resourceId);
                await releases.ReleaseHoldersAsync(region, disks.Select(i => PendingResources.SnapshotIdOf(resourceId, i)).Prepend(resourceId), final: true);
                break;
            case CreationKind.Instance:
                await imageStore.UnregisterImageUseAsync(region, intent.ImageId, resourceId);
                await releases.ReleaseHoldersAsync(region, disks.Select(i => InstanceManager.DiskIdOf(resourceId, i)), final: true);
                break;
            default:
                await releases.ReleaseHoldersAsync(region, [resourceId], final: true);
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
            var stored = await imageStore.GetImageAsync("", imageId);
            if (stored is null)
            {
                return false;
            }
            if (stored.Image.Status != ImageStatus.Creating)
            {
                return true;
            }
            var snapshots = await snapshotStore.GetSnapshotsAsync(stored.Image.DiskDeviceMappings.Select(m => m.SnapshotId).ToList());
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
            switch (await imageStore.SaveCreationStepAsync(stored, image, steps, fence))
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
            var stored = await snapshotStore.GetSnapshotAsync(snapshotId);
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
            switch (await snapshotStore.SaveSnapshotStepAsync(stored, next, fence))
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
