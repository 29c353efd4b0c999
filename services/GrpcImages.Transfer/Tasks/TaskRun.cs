using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.ServiceDefaults.Errors;
using GrpcImages.ServiceDefaults.Work;
using GrpcImages.Transfer.Storage;

namespace GrpcImages.Transfer.Tasks;

/// <summary>The stores a run writes: the task, and the catalog's pending image or snapshot it makes (when it makes one).</summary>
public sealed record TaskRunContext(TaskStore Store, TaskCatalog Catalog, TimeProvider Time);

/// <summary>
/// One run of one task by one worker: the task as last saved, its plan (the checkpoint), and the steps
/// every kind of task takes: start, report progress (at least every second, with the time left),
/// finish, end. Every save carries the worker's fencing token; a cancel asked meanwhile stops the run.
/// </summary>
public sealed class TaskRun(TaskRunContext context, WorkLease lease, StoredTask stored, TaskPlan plan)
{
    /// <summary>Progress is written at most this often (and when forced, at the end of every stage).</summary>
    private static readonly TimeSpan ProgressEvery = TimeSpan.FromSeconds(1);

    private readonly Lock _gate = new();
    private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
    private StoredTask _stored = stored;
    private DateTimeOffset _reported = DateTimeOffset.MinValue;
    private long _bytesDone;
    private long _bytesSkipped;
    private long _startBytes;

    public TransferTask Task => _stored.Task;

    public TaskPlan Plan => plan;

    public WorkLease Lease => lease;

    public long BytesSkipped => Interlocked.Read(ref _bytesSkipped);

    /// <summary>Whether the task makes a pending image or snapshot in the catalog (copies and imports; exports do not).</summary>
    private bool MakesResource => plan.ResourceMade.Length > 0;

    /// <summary>Claims the task for this worker: Processing (unless a cancel waits), and the destination Creating.</summary>
    public async Task StartAsync()
    {
        var now = Timestamp.FromDateTimeOffset(context.Time.GetUtcNow());
        await SaveAsync(t =>
        {
            if (t.Status != TaskStatus.Cancelling)
            {
                t.Status = TaskStatus.Processing;
            }
            t.QueuePosition = 0;
            t.UpdateTime = now;
        });
        await MirrorAsync(ImageStatus.Creating);
        _bytesDone = _startBytes = Task.BytesDone;
    }

    /// <summary>
    /// Puts a task whose run failed for a passing reason back to Waiting, on itself and its image, until it runs
    /// again. Best effort: when what failed is still away, the task shows as it was, with its lease held.
    /// </summary>
    public async Task ParkAsync()
    {
        try
        {
            var now = Timestamp.FromDateTimeOffset(context.Time.GetUtcNow());
            await SaveAsync(t =>
            {
                t.Status = TaskStatus.Waiting;
                t.TimeLeft = null;
                t.UpdateTime = now;
            });
            await MirrorAsync(ImageStatus.Waiting);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // A cancel asked meanwhile, a lost task or a store still away: the next attempt finds out which.
        }
    }

    /// <summary>Shows the task's state on the image or snapshot it makes, as of the task's revision (an older state never overwrites a newer).</summary>
    private async Task MirrorAsync(ImageStatus status)
    {
        if (MakesResource)
        {
            await context.Catalog.MirrorAsync(plan.ResourceMade, Task, lease.Fence, status, _stored.Version);
        }
    }

    /// <summary>Records progress at most every second (or when forced), and notices a cancel asked meanwhile.</summary>
    public async System.Threading.Tasks.Task ReportAsync(long bytesDone, long bytesSkipped, bool force, bool savePlan = false)
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
        var timeLeft = moved > 0 ? TimeSpan.FromSeconds(Math.Max(0, total - done) * _clock.Elapsed.TotalSeconds / moved) : (TimeSpan?)null;
        await SaveAsync(t =>
        {
            t.BytesDone = done;
            t.BytesSkipped = Interlocked.Read(ref _bytesSkipped);
            t.Progress = Math.Max(t.Progress, progress);
            t.TimeLeft = timeLeft is { } left ? Duration.FromTimeSpan(left) : null;
            t.UpdateTime = Timestamp.FromDateTimeOffset(context.Time.GetUtcNow());
        }, savePlan: savePlan);
        await MirrorAsync(ImageStatus.Creating);
    }

    /// <summary>Saves the plan (a checkpoint) now.</summary>
    public Task SavePlanAsync() => SaveAsync(_ => { }, savePlan: true);

    /// <summary>Ends the task Finished, with whatever else the kind of task records.</summary>
    public Task FinishAsync(Action<TransferTask>? more = null)
    {
        var now = Timestamp.FromDateTimeOffset(context.Time.GetUtcNow());
        return SaveAsync(t =>
        {
            t.Status = TaskStatus.Finished;
            t.Progress = 100;
            t.BytesDone = Math.Max(t.BytesDone, t.BytesTotal);
            t.BytesSkipped = Interlocked.Read(ref _bytesSkipped);
            t.TimeLeft = null;
            t.Cancellable = false;
            t.UpdateTime = now;
            t.FinishTime = now;
            more?.Invoke(t);
        }, savePlan: true, allowCancelling: true);
    }

    /// <summary>Ends the task without its result (Failed with why, or Cancelled).</summary>
    public Task EndAsync(TaskStatus status, TaskError? error)
    {
        var now = Timestamp.FromDateTimeOffset(context.Time.GetUtcNow());
        return SaveAsync(t =>
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

    /// <summary>Saves a change of the task with this worker's token; a cancel asked meanwhile stops the run (unless it is ending anyway).</summary>
    public async Task SaveAsync(Action<TransferTask> change, bool savePlan = false, bool allowCancelling = false)
    {
        for (var attempt = 0; ; attempt++)
        {
            var current = attempt == 0 ? _stored : await context.Store.GetAsync(lease.Id) ?? throw new LostTaskException();
            if (current.Task.Status == TaskStatus.Cancelling && !allowCancelling)
            {
                _stored = current;
                throw new CancelRequestedException();
            }
            var updated = current.Task.Clone();
            change(updated);
            switch (await context.Store.SaveAsync(current, updated, lease.Fence, savePlan ? plan.Serialize() : null))
            {
                case TaskSaveResult.Saved:
                    _stored = current with { Task = updated, Version = current.Version + 1, Fence = lease.Fence };
                    return;
                case TaskSaveResult.Fenced:
                    throw new LostTaskException();
            }
            if (attempt >= ServiceDefaults.Storage.ConflictRetry.Attempts)
            {
                throw Fault.Aborted("OperationConflict", "The task kept changing while it was saved.");
            }
        }
    }

    public static TaskError ToError(DomainException ex) => Error(ex.Code, ex.Reason, ex.Message);

    public static TaskError Error(StatusCode code, string reason, string message) => new() { Code = (int)code, Reason = reason, Message = message };

    /// <summary>The task was asked to stop (CancelTask, CancelCopyImage).</summary>
    public sealed class CancelRequestedException : Exception;

    /// <summary>Another worker has the task now.</summary>
    public sealed class LostTaskException : Exception;
}

/// <summary>Reads the rule code (ErrorInfo reason) of a peer's error.</summary>
public static class StatusReasons
{
    public static string? Reason(this RpcException ex) => ex.GetRpcStatus()?.GetDetail<ErrorInfo>()?.Reason;
}
