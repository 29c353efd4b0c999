using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.ServiceDefaults.Errors;
using GrpcImages.ServiceDefaults.Peers;
using GrpcImages.ServiceDefaults.Work;
using GrpcImages.Transfer.Content;
using GrpcImages.Transfer.Storage;
using Microsoft.Extensions.Options;

namespace GrpcImages.Transfer.Domain;

/// <summary>
/// Runs the copy tasks of a region's copy queue (R5-R11): at most N at once across every replica,
/// each holding its lease. A worker first raises the task's and the destination's fencing token to its
/// own (so a worker that lost the task can change neither), copies disk by disk from the checkpoint in
/// the task's plan, reports progress at least every second, and ends the task Finished (the image
/// Available), Failed (CreateFailed, its quota unit back) or Cancelled (the image gone). Whatever the
/// ending, the source's hold and every chunk only the task held are given back.
/// </summary>
public sealed partial class CopyWorker(
    TaskStore store,
    TaskQueues queues,
    ContentCopier copier,
    ContentLibrary library,
    DataKeys dataKeys,
    PeerClient<ImageControlService.ImageControlServiceClient> catalogPeer,
    IOptions<TransferOptions> options,
    TimeProvider time,
    ILogger<CopyWorker> logger) : IWorkHandler
{
    /// <summary>Progress is written at most this often (and at the end of every disk).</summary>
    private static readonly TimeSpan ProgressEvery = TimeSpan.FromSeconds(1);

    // What a run uses (a nested class sees primary-constructor parameters only through members).
    private TaskStore Store => store;
    private ContentCopier Copier => copier;
    private ContentLibrary Library => library;
    private DataKeys Keys => dataKeys;
    private ImageControlService.ImageControlServiceClient Catalog => catalogPeer.Client;
    private TimeProvider Time => time;

    public async Task<WorkOutcome> HandleAsync(WorkLease lease, CancellationToken cancellationToken)
    {
        var stored = await store.GetAsync(lease.Id);
        if (stored is null || IsFinal(stored.Task.Status))
        {
            return WorkOutcome.Done;
        }
        var plan = TaskPlan.Parse(stored.Plan);
        var run = new Run(this, lease, stored, plan);
        try
        {
            if (plan.Phase == TaskPhase.Setup)
            {
                // The request that made the task died before accepting it: undo what it made.
                await run.EndAsync(TaskStatus.Failed, Error(StatusCode.Aborted, "TaskAbandoned", "The request that started this task ended before the task was accepted."));
                return WorkOutcome.Done;
            }
            var age = time.GetUtcNow() - stored.Task.CreateTime.ToDateTimeOffset();
            if (age > options.Value.MaxWait + options.Value.MaxRun)
            {
                await run.EndAsync(TaskStatus.Failed, ToError(TransferErrors.TimedOut("waiting and running")));
                return WorkOutcome.Done;
            }
            if (!await run.StartAsync())
            {
                return WorkOutcome.Done;
            }
            await queues.RefreshPositionsAsync(queues.For(stored.Task.Action, stored.Task.RegionId));
            await run.CopyAsync(cancellationToken);
            await run.CompleteAsync();
            LogFinished(lease.Id, plan.DestinationId);
        }
        catch (CancelRequested)
        {
            await run.EndAsync(TaskStatus.Cancelled, null);
            LogCancelled(lease.Id);
        }
        catch (LostTask)
        {
            LogLost(lease.Id);
        }
        catch (RpcException ex) when (ex.Reason() == "TaskFenced")
        {
            LogLost(lease.Id);
        }
        catch (Exception ex) when (Permanent(ex) is { } error)
        {
            LogFailed(ex, lease.Id, error.Reason);
            await run.EndAsync(TaskStatus.Failed, error);
        }
        return WorkOutcome.Done;
    }

    private static bool IsFinal(TaskStatus status) => status is TaskStatus.Finished or TaskStatus.Failed or TaskStatus.Cancelled;

    /// <summary>A failure that retrying will not mend, as the task's error; null for one that may pass (the queue retries it).</summary>
    private static TaskError? Permanent(Exception ex) => ex switch
    {
        DomainException domain when domain.Code is not (StatusCode.Unavailable or StatusCode.Aborted) => ToError(domain),
        RpcException rpc when rpc.StatusCode is not (StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.Cancelled
            or StatusCode.Internal or StatusCode.Unknown or StatusCode.Aborted or StatusCode.ResourceExhausted) =>
            Error(rpc.StatusCode, rpc.Reason() ?? rpc.StatusCode.ToString(), rpc.Status.Detail),
        InvalidDataException => Error(StatusCode.DataLoss, "InvalidContent.Damaged", ex.Message),
        _ => null,
    };

    private static TaskError ToError(DomainException ex) => Error(ex.Code, ex.Reason, ex.Message);

    private static TaskError Error(StatusCode code, string reason, string message) => new() { Code = (int)code, Reason = reason, Message = message };

    /// <summary>The task was asked to stop (CancelTask, CancelCopyImage).</summary>
    private sealed class CancelRequested : Exception;

    /// <summary>Another worker has the task now.</summary>
    private sealed class LostTask : Exception;

    /// <summary>One run of one task by this worker: its state as last saved, and the steps.</summary>
    private sealed class Run(CopyWorker worker, WorkLease lease, StoredTask stored, TaskPlan plan)
    {
        private StoredTask _stored = stored;
        private DateTimeOffset _reported = DateTimeOffset.MinValue;
        private long _bytesDone;
        private long _bytesSkipped;
        private readonly Lock _gate = new();
        private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
        private long _startBytes;

        private TransferTask Task => _stored.Task;

        private bool IsImage => plan.Kind == "image";

        /// <summary>Claims the task for this worker (its token now the highest on the task and the destination). False when it is over.</summary>
        public async Task<bool> StartAsync()
        {
            var now = Timestamp.FromDateTimeOffset(worker.Time.GetUtcNow());
            await SaveAsync(t =>
            {
                if (t.Status != TaskStatus.Cancelling)
                {
                    t.Status = TaskStatus.Processing;
                }
                t.QueuePosition = 0;
                t.UpdateTime = now;
            });
            await worker.Catalog.UpdatePendingAsync(new UpdatePendingRequest
            {
                ResourceId = plan.DestinationId, TaskId = Task.TaskId, Fence = lease.Fence, Status = ImageStatus.Creating, Progress = Task.Progress,
            });
            _bytesDone = _startBytes = Task.BytesDone;
            return true;
        }

        public async Task CopyAsync(CancellationToken cancellationToken)
        {
            for (var d = 0; d < plan.Disks.Count; d++)
            {
                var disk = plan.Disks[d];
                if (disk.Manifest.Length > 0)
                {
                    continue;
                }
                var (sealing, dataKey) = await SealingAsync(cancellationToken);
                if (disk.Session.Length == 0)
                {
                    disk.Session = Guid.NewGuid().ToString("N");
                    await SaveAsync(_ => { }, savePlan: true);
                }
                var before = plan.Disks.Take(d).Sum(x => x.StoredBytes);
                var copied = await worker.Copier.CopyAsync(
                    new CopyOrder(plan.SourceRegion, disk.SourceManifest, plan.DestinationRegion, sealing, dataKey, disk.Session, Task.TaskId),
                    progress => ReportAsync(before + progress.BytesDone, progress.BytesSkipped, force: false),
                    cancellationToken);
                disk.Manifest = copied.ManifestId;
                await ReportAsync(before + disk.StoredBytes, Interlocked.Read(ref _bytesSkipped), force: true, savePlan: true);
            }
        }

        /// <summary>Gives the destination its content, then lets go of what the task held.</summary>
        public async Task CompleteAsync()
        {
            var request = new CompletePendingRequest { ResourceId = plan.DestinationId, TaskId = Task.TaskId, Fence = lease.Fence };
            foreach (var disk in plan.Disks)
            {
                request.Disks.Add(new DiskContent
                {
                    DiskType = (DiskType)disk.DiskType,
                    Device = disk.Device,
                    SizeGib = disk.SizeGib,
                    ManifestId = disk.Manifest,
                    ContentBytes = disk.ContentBytes,
                    Encryption = CopyRequests.ToInfo(plan.Encryption),
                });
            }
            await worker.Catalog.CompletePendingAsync(request);
            await worker.Library.ReleaseHolderAsync(plan.DestinationRegion, Task.TaskId);
            await ReleaseSourceAsync();
            var now = Timestamp.FromDateTimeOffset(worker.Time.GetUtcNow());
            await SaveAsync(t =>
            {
                t.Status = TaskStatus.Finished;
                t.Progress = 100;
                t.BytesDone = t.BytesTotal;
                t.BytesSkipped = Interlocked.Read(ref _bytesSkipped);
                t.TimeLeft = null;
                t.Cancellable = false;
                t.UpdateTime = now;
                t.FinishTime = now;
            }, allowCancelling: true);
        }

        /// <summary>Ends the task without its result: undoes the copy so far and ends the destination (deleted when cancelled, else failed).</summary>
        public async Task EndAsync(TaskStatus status, TaskError? error)
        {
            foreach (var disk in plan.Disks.Where(d => d.Session.Length > 0 && d.Manifest.Length == 0))
            {
                await worker.Library.AbortSessionAsync(plan.DestinationRegion, disk.Session);
            }
            await worker.Library.ReleaseHolderAsync(plan.DestinationRegion, Task.TaskId);
            await worker.Catalog.FailPendingAsync(new FailPendingRequest
            {
                ResourceId = plan.DestinationId, TaskId = Task.TaskId, Fence = lease.Fence, Cancelled = status == TaskStatus.Cancelled,
                Reason = error?.Message ?? "",
            });
            await ReleaseSourceAsync();
            var now = Timestamp.FromDateTimeOffset(worker.Time.GetUtcNow());
            await SaveAsync(t =>
            {
                t.Status = status;
                t.Error = error;
                t.TimeLeft = null;
                t.QueuePosition = 0;
                t.Cancellable = false;
                t.UpdateTime = now;
                t.FinishTime = now;
            }, allowCancelling: true);
        }

        private async Task ReleaseSourceAsync()
        {
            if (IsImage)
            {
                await worker.Catalog.ReleaseImageHoldAsync(new ReleaseImageHoldRequest { RegionId = plan.SourceRegion, ImageId = plan.SourceId, TaskId = Task.TaskId });
            }
        }

        /// <summary>The destination's data key, made once and kept in the plan (wrapped), so a resumed copy seals with the same key.</summary>
        private async Task<(ManifestEncryption? Sealing, byte[]? Key)> SealingAsync(CancellationToken cancellationToken)
        {
            if (plan.Encryption is not { } encryption)
            {
                return (null, null);
            }
            if (encryption.WrappedDataKey.Length == 0)
            {
                var made = await worker.Keys.NewAsync(encryption.AccountId, plan.DestinationRegion, encryption.KmsKeyId, cancellationToken);
                encryption.WrappedDataKey = Convert.ToBase64String(made.Encryption.WrappedKey);
                await SaveAsync(_ => { }, savePlan: true);
            }
            var sealing = new ManifestEncryption(encryption.AccountId, encryption.KmsKeyId, Convert.FromBase64String(encryption.WrappedDataKey));
            return (sealing, await worker.Keys.OpenAsync(sealing, plan.DestinationRegion, cancellationToken));
        }

        /// <summary>Records progress at most every second (or when forced), and notices a cancel asked meanwhile.</summary>
        private async Task ReportAsync(long bytesDone, long bytesSkipped, bool force, bool savePlan = false)
        {
            lock (_gate)
            {
                _bytesDone = Math.Max(_bytesDone, bytesDone);
                _bytesSkipped = Math.Max(_bytesSkipped, bytesSkipped);
                var now = DateTimeOffset.UtcNow;
                if (!force && now - _reported < ProgressEvery)
                {
                    return;
                }
                _reported = now;
            }
            var total = Math.Max(1, Task.BytesTotal);
            var done = Interlocked.Read(ref _bytesDone);
            var progress = (int)Math.Min(99, done * 100 / total);
            var moved = done - _startBytes;
            var timeLeft = moved > 0 ? TimeSpan.FromSeconds((total - done) * _clock.Elapsed.TotalSeconds / moved) : (TimeSpan?)null;
            await SaveAsync(t =>
            {
                t.BytesDone = done;
                t.BytesSkipped = Interlocked.Read(ref _bytesSkipped);
                t.Progress = Math.Max(t.Progress, progress);
                t.TimeLeft = timeLeft is { } left ? Duration.FromTimeSpan(left) : null;
                t.UpdateTime = Timestamp.FromDateTimeOffset(worker.Time.GetUtcNow());
            }, savePlan: savePlan);
            await worker.Catalog.UpdatePendingAsync(new UpdatePendingRequest
            {
                ResourceId = plan.DestinationId, TaskId = Task.TaskId, Fence = lease.Fence, Status = ImageStatus.Creating, Progress = Task.Progress,
                TimeLeft = Task.TimeLeft,
            });
        }

        /// <summary>Saves a change of the task with this worker's token; a cancel asked meanwhile stops the run (unless it is ending anyway).</summary>
        private async Task SaveAsync(Action<TransferTask> change, bool savePlan = false, bool allowCancelling = false)
        {
            for (var attempt = 0; ; attempt++)
            {
                var current = attempt == 0 ? _stored : await worker.Store.GetAsync(lease.Id) ?? throw new LostTask();
                if (current.Task.Status == TaskStatus.Cancelling && !allowCancelling)
                {
                    _stored = current;
                    throw new CancelRequested();
                }
                var updated = current.Task.Clone();
                change(updated);
                switch (await worker.Store.SaveAsync(current, updated, lease.Fence, savePlan ? plan.Serialize() : null))
                {
                    case TaskSaveResult.Saved:
                        _stored = current with { Task = updated, Version = current.Version + 1, Fence = lease.Fence };
                        return;
                    case TaskSaveResult.Fenced:
                        throw new LostTask();
                }
                if (attempt >= ServiceDefaults.Storage.ConflictRetry.Attempts)
                {
                    throw Fault.Aborted("OperationConflict", "The task kept changing while it was saved.");
                }
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Copy task {TaskId} finished: {ResourceId}")]
    private partial void LogFinished(string taskId, string resourceId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Copy task {TaskId} cancelled")]
    private partial void LogCancelled(string taskId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Copy task {TaskId} was taken over by another worker; this one stops")]
    private partial void LogLost(string taskId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Copy task {TaskId} failed: {Reason}")]
    private partial void LogFailed(Exception exception, string taskId, string reason);
}

/// <summary>Reads the rule code (ErrorInfo reason) of a peer's error.</summary>
public static class StatusReasons
{
    public static string? Reason(this RpcException ex) => ex.GetRpcStatus()?.GetDetail<ErrorInfo>()?.Reason;
}
