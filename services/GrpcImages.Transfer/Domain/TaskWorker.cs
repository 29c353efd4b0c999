using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.ServiceDefaults.Errors;
using GrpcImages.ServiceDefaults.Peers;
using GrpcImages.ServiceDefaults.Work;
using GrpcImages.Transfer.Storage;
using Microsoft.Extensions.Options;

namespace GrpcImages.Transfer.Domain;

/// <summary>
/// What every task worker does around its own work (copies, imports, exports): it claims the task with
/// its lease's fencing token (so a worker that lost the task can change nothing), fails a task whose
/// request died before accepting it or that outlived its deadlines, runs the work from the plan's
/// checkpoint, and ends the task Finished, Failed (with the rule's code) or Cancelled. Whatever the
/// ending, the worker gives back what the task held (<see cref="EndAsync"/>).
/// </summary>
public abstract partial class TaskWorker(
    TaskStore store,
    TaskQueues queues,
    PeerClient<ImageControlService.ImageControlServiceClient> catalog,
    IOptions<TransferOptions> options,
    TimeProvider time,
    ILogger logger) : IWorkHandler
{
    /// <summary>The catalog's internal API (pending images and snapshots, holds).</summary>
    protected ImageControlService.ImageControlServiceClient Catalog => catalog.Client;

    /// <summary>The transfer service's settings (limits, bandwidth cap).</summary>
    protected TransferOptions Options => options.Value;

    /// <summary>The first pause after a run fails for a passing reason; it doubles per attempt up to <see cref="MaxPause"/>.</summary>
    public static readonly TimeSpan FirstPause = TimeSpan.FromSeconds(1);

    public static readonly TimeSpan MaxPause = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Runs the task until it ends. A run that fails for a reason that may pass (Redis or a peer away) is
    /// tried again here, by this worker, after a pause: the task keeps its lease, its slot of the region's
    /// limit and its place in line (R8), and shows Waiting, on itself and its image, until it runs again.
    /// Handing the item back to the queue instead would free the slot for the next copy and put this one at
    /// the back of the line while it still showed as running.
    /// </summary>
    public async Task<WorkOutcome> HandleAsync(WorkLease lease, CancellationToken cancellationToken)
    {
        Func<TaskRun, Task>? ending = null;
        for (var attempt = 1; ; attempt++)
        {
            TaskRun? run = null;
            try
            {
                var stored = await store.GetAsync(lease.Id);
                if (stored is null || IsFinal(stored.Task.Status))
                {
                    return WorkOutcome.Done;
                }
                run = new TaskRun(new TaskRunContext(store, catalog.Client, time), lease, stored, TaskPlan.Parse(stored.Plan));
                if (ending is not null)
                {
                    await ending(run); // the run ended already; only saying so failed
                    return WorkOutcome.Done;
                }
                ending = await RunOnceAsync(run, cancellationToken);
                if (ending is not null)
                {
                    await ending(run);
                }
                return WorkOutcome.Done;
            }
            catch (Exception ex) when (ex is TaskRun.LostTaskException || IsFenced(ex))
            {
                LogLost(run?.Task.Action ?? TaskAction.Unspecified, lease.Id); // another worker has the task
                return WorkOutcome.Done;
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                var pause = Pause(attempt);
                LogPaused(ex, lease.Id, attempt, pause.TotalSeconds);
                if (run is not null && ending is null)
                {
                    await run.ParkAsync();
                }
                await Task.Delay(pause, time, cancellationToken);
            }
        }
    }

    /// <summary>
    /// One run of the task: undone when its request died, failed when too old, else run and completed. Returns how it
    /// ends when it does not finish (failed, cancelled), for the caller to carry out; throws what may pass.
    /// </summary>
    private async Task<Func<TaskRun, Task>?> RunOnceAsync(TaskRun run, CancellationToken cancellationToken)
    {
        var task = run.Task;
        if (run.Plan.Phase == TaskPhase.Setup)
        {
            // The request that made the task died before accepting it: undo what it made.
            return r => EndAsync(r, TaskStatus.Failed, TaskRun.Error(StatusCode.Aborted, "TaskAbandoned", "The request that started this task ended before the task was accepted."));
        }
        var age = time.GetUtcNow() - task.CreateTime.ToDateTimeOffset();
        if (age > options.Value.MaxWait + options.Value.MaxRun)
        {
            return r => EndAsync(r, TaskStatus.Failed, TaskRun.ToError(TransferErrors.TimedOut("waiting and running")));
        }
        try
        {
            await run.StartAsync();
            await queues.RefreshPositionsAsync(queues.For(task.Action, task.RegionId));
            await RunAsync(run, cancellationToken);
            await CompleteAsync(run);
            LogFinished(task.Action, task.TaskId, run.Task.ResourceId);
            return null;
        }
        catch (TaskRun.CancelRequestedException)
        {
            LogCancelled(task.Action, task.TaskId);
            return r => EndAsync(r, TaskStatus.Cancelled, null);
        }
        catch (TaskRun.LostTaskException)
        {
            LogLost(task.Action, task.TaskId);
            return null;
        }
        catch (Exception ex) when (IsFenced(ex))
        {
            LogLost(task.Action, task.TaskId);
            return null;
        }
        catch (Exception ex) when (Permanent(ex) is { } error)
        {
            LogFailed(ex, task.Action, task.TaskId, error.Reason);
            return r => EndAsync(r, TaskStatus.Failed, error);
        }
    }

    private static bool IsFenced(Exception ex) => ex is RpcException rpc && rpc.Reason() == "TaskFenced" || ex is DomainException { Reason: "TaskFenced" };

    private static TimeSpan Pause(int attempt)
    {
        var pause = FirstPause * Math.Pow(2, Math.Clamp(attempt - 1, 0, 10));
        return (pause < MaxPause ? pause : MaxPause) * (0.8 + Random.Shared.NextDouble() * 0.4);
    }

    /// <summary>The task's own work, from the plan's checkpoint; progress through <see cref="TaskRun.ReportAsync"/>.</summary>
    protected abstract Task RunAsync(TaskRun run, CancellationToken cancellationToken);

    /// <summary>Hands over the result, lets go of what the task held and ends the task Finished (<see cref="TaskRun.FinishAsync"/>).</summary>
    protected abstract Task CompleteAsync(TaskRun run);

    /// <summary>Ends the task without its result: undoes the work so far, gives back what it held, and saves the ending (<see cref="TaskRun.EndAsync"/>).</summary>
    protected abstract Task EndAsync(TaskRun run, TaskStatus status, TaskError? failure);

    private static bool IsFinal(TaskStatus status) => status is TaskStatus.Finished or TaskStatus.Failed or TaskStatus.Cancelled;

    /// <summary>A failure that retrying will not mend, as the task's error; null for one that may pass (the queue retries it).</summary>
    private static TaskError? Permanent(Exception ex) => ex switch
    {
        DomainException domain when domain.Code is not (StatusCode.Unavailable or StatusCode.Aborted) => TaskRun.ToError(domain),
        RpcException rpc when rpc.StatusCode is not (StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.Cancelled
            or StatusCode.Internal or StatusCode.Unknown or StatusCode.Aborted or StatusCode.ResourceExhausted) =>
            TaskRun.Error(rpc.StatusCode, rpc.Reason() ?? rpc.StatusCode.ToString(), rpc.Status.Detail),
        InvalidDataException => TaskRun.Error(StatusCode.DataLoss, "InvalidContent.Damaged", ex.Message),
        _ => null,
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "{Action} task {TaskId} finished: {ResourceId}")]
    private partial void LogFinished(TaskAction action, string taskId, string resourceId);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Action} task {TaskId} cancelled")]
    private partial void LogCancelled(TaskAction action, string taskId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Action} task {TaskId} was taken over by another worker; this one stops")]
    private partial void LogLost(TaskAction action, string taskId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Action} task {TaskId} failed: {Reason}")]
    private partial void LogFailed(Exception exception, TaskAction action, string taskId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Task {TaskId} paused after attempt {Attempt} (a passing failure); it runs again in {Seconds:0.0} s, keeping its place")]
    private partial void LogPaused(Exception exception, string taskId, int attempt, double seconds);
}

/// <summary>The stores a run writes: the task, and the catalog's pending image or snapshot it makes (when it makes one).</summary>
public sealed record TaskRunContext(TaskStore Store, ImageControlService.ImageControlServiceClient Catalog, TimeProvider Time);

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
    private bool MakesResource => plan.DestinationId.Length > 0;

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
        if (!MakesResource)
        {
            return;
        }
        await context.Catalog.UpdatePendingAsync(new UpdatePendingRequest
        {
            ResourceId = plan.DestinationId, TaskId = Task.TaskId, Fence = lease.Fence, Status = status, Progress = Task.Progress,
            TimeLeft = status == ImageStatus.Creating ? Task.TimeLeft : null, TaskRevision = _stored.Version,
        });
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

    /// <summary>
    /// Fails or removes the pending image or snapshot the task was making. A task its request never
    /// accepted may have made one nobody was told of: that one is found by the task and removed (and
    /// a quota unit taken for an image never made is given back).
    /// </summary>
    public async Task FailPendingAsync(TaskStatus status, TaskError? error)
    {
        if (plan.Phase == TaskPhase.Setup && Task.Action != TaskAction.ExportImage)
        {
            await context.Catalog.FailPendingAsync(TaskSetups.GiveUp(Task, lease.Fence));
        }
        else if (MakesResource)
        {
            await context.Catalog.FailPendingAsync(new FailPendingRequest
            {
                ResourceId = plan.DestinationId, TaskId = Task.TaskId, Fence = lease.Fence, Cancelled = status == TaskStatus.Cancelled, Reason = error?.Message ?? "",
            });
        }
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
