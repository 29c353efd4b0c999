using Grpc.Core;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.ServiceDefaults.Errors;
using GrpcImages.ServiceDefaults.Peers;
using GrpcImages.ServiceDefaults.Storage;
using GrpcImages.Transfer.Storage;
using StackExchange.Redis;

namespace GrpcImages.Transfer.Domain;

/// <summary>
/// How a request sets up its task: the task is written first, with its queue item due only after
/// <see cref="Guard"/>; then the request holds the source and makes the destination in the catalog, and
/// accepts the task (<see cref="TaskQueues.AcceptAsync"/>). A request the catalog refuses undoes its task
/// at once. One whose catalog call ended without an answer (its caller gave up, the peer was away)
/// cannot know what the call did, nor whether it is still on its way: it leaves the task to the worker
/// that finds it still in setup after the guard, as it would if the request had died. Either undo is
/// final in the catalog: a hold or a create of the task that arrives later is refused there, so
/// nothing the task made or held outlives it.
/// </summary>
public sealed partial class TaskSetups(TaskStore store, TaskQueues queues, PeerClient<ImageControlService.ImageControlServiceClient> catalogPeer,
    ILogger<TaskSetups> logger)
{
    /// <summary>How long a task waits, while its request sets it up, before a worker may find it abandoned.</summary>
    public static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    /// <summary>Writes the task (R35: or finds the one its client token made) and queues it behind the guard.</summary>
    public async Task<(CreateStatus Created, string Stored)> BeginAsync(TransferTask task, TaskPlan plan, string scope, ClientToken token)
    {
        var (created, stored) = await store.CreateAsync(task, plan.Serialize(), scope, token);
        if (created != CreateStatus.TokenUsed)
        {
            await queues.For(task.Action, task.RegionId).EnqueueAsync(task.TaskId, task.TaskId, Guard);
        }
        return (created, stored);
    }

    /// <summary>
    /// Undoes a task its request will not accept because of <paramref name="failure"/>: whatever it made in
    /// the catalog and the source's hold (<paramref name="heldImage"/>, in <paramref name="sourceRegion"/>),
    /// then the task and its client token, then its queue item. Runs to its end even when the caller has
    /// gone, and never hides <paramref name="failure"/>: an undo that fails half way is finished by the
    /// worker after the guard (the task goes before its queue item, so no task is left without one).
    /// A failure without an answer leaves all of it to the worker (see the class).
    /// </summary>
    public async Task UndoAsync(Exception failure, TransferTask task, string scope, ClientToken token, string heldImage = "", string sourceRegion = "")
    {
        if (OutcomeUnknown(failure))
        {
            return;
        }
        try
        {
            await Detached.RunAsync(async () =>
            {
                var catalog = catalogPeer.Client;
                if (task.Action != TaskAction.ExportImage)
                {
                    await catalog.FailPendingAsync(GiveUp(task));
                }
                if (heldImage.Length > 0)
                {
                    await catalog.ReleaseImageHoldAsync(new ReleaseImageHoldRequest { RegionId = sourceRegion, ImageId = heldImage, TaskId = task.TaskId });
                }
                await store.DeleteAsync(task, scope, token);
                await queues.For(task.Action, task.RegionId).RemoveAsync(task.TaskId, onlyIfWaiting: false);
            });
        }
        catch (Exception ex) when (ex is RpcException or DomainException or RedisException)
        {
            LogUndoLeft(ex, task.TaskId);
        }
    }

    /// <summary>Ends whatever <paramref name="task"/> made in the catalog, and gives back its image's quota unit if it made none.</summary>
    public static FailPendingRequest GiveUp(TransferTask task, long fence = 0) => new()
    {
        TaskId = task.TaskId, Fence = fence, Cancelled = true, OwnerAccountId = task.OwnerAccountId, RegionId = task.RegionId,
    };

    /// <summary>A peer call that ended without the peer's answer: it may have been carried out, or may still be.</summary>
    private static bool OutcomeUnknown(Exception failure) =>
        failure is RpcException { StatusCode: StatusCode.Cancelled or StatusCode.DeadlineExceeded or StatusCode.Unavailable or StatusCode.Unknown or StatusCode.Internal };

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not undo task {TaskId} now; a worker undoes it after the setup guard")]
    private partial void LogUndoLeft(Exception exception, string taskId);
}
