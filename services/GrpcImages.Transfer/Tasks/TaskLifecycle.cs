using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.ServiceDefaults.Errors;
using GrpcImages.ServiceDefaults.Peers;
using GrpcImages.ServiceDefaults.Redis;
using GrpcImages.ServiceDefaults.Storage;
using GrpcImages.ServiceDefaults.Validation;
using GrpcImages.Transfer.Domain;
using GrpcImages.Transfer.Storage;

namespace GrpcImages.Transfer.Tasks;

/// <summary>
/// A task's life, the same for every kind: begin (the task is written first, its queue item due only
/// after <see cref="Guard"/>) -> the request's steps -> accept (its turn in line) -> the worker's steps
/// -> finish; or, from any point, the ending that takes back every step (<see cref="ITaskKind.UndoAsync"/>).
/// Who runs the ending: the request the catalog refused (at once, then the task is deleted); the worker,
/// for a task whose request died (found in setup after the guard), that failed, was cancelled while
/// running, or outlived its deadlines; the cancel of a task still waiting in line. A request whose step
/// ended without an answer (its caller gave up, the peer was away) cannot know what the step did, nor
/// whether it is still on its way: it leaves the ending to the worker after the guard. Either way the
/// undo is final in the catalog: a hold or a create of the task arriving later is refused there.
/// </summary>
public sealed partial class TaskLifecycle(TaskStore store, TaskQueues queues, TaskKinds kinds, TimeProvider time, ILogger<TaskLifecycle> logger)
{
    /// <summary>How long a task waits, while its request carries out its steps, before a worker may find it abandoned.</summary>
    public static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    /// <summary>A new task of <paramref name="account"/>: Waiting in its queue, cancellable until it ends.</summary>
    public TransferTask NewTask(TaskAction action, string account, string region, string sourceId, string sourceRegion, TaskPlan plan)
    {
        var now = Timestamp.FromDateTimeOffset(time.GetUtcNow());
        return new TransferTask
        {
            TaskId = ResourceIds.New('t', ResourceIds.OwnerTag(account)),
            OwnerAccountId = account,
            Action = action,
            Status = TaskStatus.Waiting,
            RegionId = region,
            SourceResourceId = sourceId,
            SourceRegionId = sourceRegion,
            BytesTotal = plan.BytesTotal,
            Cancellable = true,
            CreateTime = now,
            UpdateTime = now,
        };
    }

    /// <summary>The task a client token made before (R35), or null; another account's task is not found.</summary>
    public async Task<TransferTask?> FindByTokenAsync(string account, string scope, ClientToken token) =>
        token.Resolve(await store.FindClientTokenAsync(account, scope, token)) is { } prior ? await RequireOwnAsync(account, prior) : null;

    /// <summary>
    /// Begins <paramref name="task"/>: writes it (or returns the one its client token made), carries out the
    /// request's steps (<paramref name="asked"/>: what they ask the catalog to make), and accepts it. A step
    /// refused is undone with the others, and its error thrown.
    /// </summary>
    public async Task<TransferTask> StartAsync(TransferTask task, TaskPlan plan, IMessage? asked, string scope, ClientToken token)
    {
        var (created, stored) = await store.CreateAsync(task, plan.Serialize(), scope, token);
        if (created == CreateStatus.TokenUsed)
        {
            return await RequireOwnAsync(task.OwnerAccountId, ClientTokens.ResolveStored(stored, token.Fingerprint));
        }
        await queues.For(task.Action, task.RegionId).EnqueueAsync(task.TaskId, task.TaskId, Guard);
        try
        {
            await kinds.For(plan).SetUpAsync(task, plan, asked);
        }
        catch (Exception ex) when (ex is RpcException or DomainException)
        {
            await UndoSetupAsync(ex, task, plan, scope, token);
            throw;
        }
        return await queues.AcceptAsync(task, plan);
    }

    /// <summary>
    /// R10: ends a task taken out of its queue before any worker ran it (every step taken back, then
    /// Cancelled), and moves the line on.
    /// </summary>
    public async Task<TransferTask> CancelWaitingAsync(StoredTask stored)
    {
        var plan = TaskPlan.Parse(stored.Plan);
        await kinds.For(plan).UndoAsync(stored.Task, plan, stored.Fence, TaskEnding.Cancelled);
        var now = Timestamp.FromDateTimeOffset(time.GetUtcNow());
        var cancelled = await ConflictRetry.RunAsync<TransferTask>(async () =>
        {
            var current = await store.GetAsync(stored.Task.TaskId) ?? throw TransferErrors.TaskNotFound(stored.Task.TaskId);
            var task = current.Task.Clone();
            task.Status = TaskStatus.Cancelled;
            task.QueuePosition = 0;
            task.Cancellable = false;
            task.UpdateTime = now;
            task.FinishTime = now;
            return await store.SaveAsync(current, task) == TaskSaveResult.Saved ? task : Attempt<TransferTask>.Again;
        });
        await queues.RefreshPositionsAsync(queues.For(stored.Task.Action, stored.Task.RegionId));
        return cancelled;
    }

    /// <summary>
    /// Takes back the request's steps of a task the catalog refused. Runs to its end even when the caller has
    /// gone, and never hides <paramref name="failure"/>: an undo that fails half way is finished by the worker
    /// after the guard. A step that ended without an answer leaves all of it to the worker.
    /// </summary>
    private async Task UndoSetupAsync(Exception failure, TransferTask task, TaskPlan plan, string scope, ClientToken token)
    {
        if (OutcomeUnknown(failure))
        {
            return;
        }
        try
        {
            await Detached.RunAsync(() => TakeBackAsync(task, plan, scope, token));
        }
        catch (Exception ex) when (ex is RpcException or DomainException || RedisFailures.IsUnavailable(ex))
        {
            LogUndoLeft(ex, task.TaskId);
        }
    }

    /// <summary>
    /// The request's own ending: every step taken back, then the task, its client token and its queue item
    /// removed (the task first, so none is left without one), as if it had never been asked for.
    /// </summary>
    public async Task TakeBackAsync(TransferTask task, TaskPlan plan, string scope, ClientToken token)
    {
        await kinds.For(plan).UndoAsync(task, plan, 0, TaskEnding.Abandoned);
        await store.DeleteAsync(task, scope, token);
        await queues.For(task.Action, task.RegionId).RemoveAsync(task.TaskId, onlyIfWaiting: false);
    }

    private async Task<TransferTask> RequireOwnAsync(string account, string taskId) =>
        await store.GetAsync(taskId) is { } stored && stored.Task.OwnerAccountId == account ? stored.Task : throw TransferErrors.TaskNotFound(taskId);

    /// <summary>A peer call that ended without the peer's answer: it may have been carried out, or may still be.</summary>
    private static bool OutcomeUnknown(Exception failure) =>
        failure is RpcException { StatusCode: StatusCode.Cancelled or StatusCode.DeadlineExceeded or StatusCode.Unavailable or StatusCode.Unknown or StatusCode.Internal };

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not undo task {TaskId} now; a worker undoes it after the setup guard")]
    private partial void LogUndoLeft(Exception exception, string taskId);
}
