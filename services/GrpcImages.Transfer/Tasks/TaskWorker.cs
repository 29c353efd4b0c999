using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.ServiceDefaults.Errors;
using GrpcImages.ServiceDefaults.Peers;
using GrpcImages.ServiceDefaults.Work;
using GrpcImages.Transfer.Domain;
using GrpcImages.Transfer.Storage;
using Microsoft.Extensions.Options;

namespace GrpcImages.Transfer.Tasks;

/// <summary>
/// Runs the tasks of a queue, whatever their kind (<see cref="TaskKinds"/>): it claims the task with its
/// lease's fencing token (so a worker that lost the task can change nothing), ends a task whose request
/// died before accepting it or that outlived its deadlines, carries out the kind's worker steps from the
/// plan's checkpoint, and ends the task Finished (letting go of what it held), or Failed (with the rule's
/// code) or Cancelled (taking back every step, <see cref="ITaskKind.UndoAsync"/>).
/// </summary>
public sealed partial class TaskWorker(
    TaskStore store,
    TaskQueues queues,
    TaskKinds kinds,
    TaskCatalog catalog,
    IOptions<TransferOptions> options,
    TimeProvider time,
    ILogger<TaskWorker> logger) : IWorkHandler
{
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
                run = new TaskRun(new TaskRunContext(store, catalog, time), lease, stored, TaskPlan.Parse(stored.Plan));
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
        var kind = kinds.For(run.Plan);
        if (run.Plan.Phase == TaskPhase.Setup)
        {
            // The request that made the task died before accepting it: take back what it did.
            return r => EndAsync(r, kind, TaskEnding.Abandoned);
        }
        var age = time.GetUtcNow() - task.CreateTime.ToDateTimeOffset();
        if (age > options.Value.MaxWait + options.Value.MaxRun)
        {
            return r => EndAsync(r, kind, new TaskEnding(TaskStatus.Failed, TaskRun.ToError(TransferErrors.TimedOut("waiting and running"))));
        }
        try
        {
            await run.StartAsync();
            await queues.RefreshPositionsAsync(queues.For(task.Action, task.RegionId));
            await kind.RunAsync(run, cancellationToken);
            await kind.LetGoAsync(run.Task, run.Plan, run.Lease.Fence);
            await run.FinishAsync();
            LogFinished(task.Action, task.TaskId, run.Task.ResourceId);
            return null;
        }
        catch (TaskRun.CancelRequestedException)
        {
            LogCancelled(task.Action, task.TaskId);
            return r => EndAsync(r, kind, TaskEnding.Cancelled);
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
            return r => EndAsync(r, kind, new TaskEnding(TaskStatus.Failed, error));
        }
    }

    /// <summary>Takes back every step of the task (its kind's undo list, last step first) and saves how it ended.</summary>
    private static async Task EndAsync(TaskRun run, ITaskKind kind, TaskEnding ending)
    {
        await kind.UndoAsync(run.Task, run.Plan, run.Lease.Fence, ending, run);
        await run.EndAsync(ending.Status, ending.Error);
    }

    private static bool IsFenced(Exception ex) => ex is RpcException rpc && rpc.Reason() == "TaskFenced" || ex is DomainException { Reason: "TaskFenced" };

    private static TimeSpan Pause(int attempt)
    {
        var pause = FirstPause * Math.Pow(2, Math.Clamp(attempt - 1, 0, 10));
        return (pause < MaxPause ? pause : MaxPause) * (0.8 + Random.Shared.NextDouble() * 0.4);
    }

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

