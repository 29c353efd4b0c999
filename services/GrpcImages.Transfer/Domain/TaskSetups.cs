using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.ServiceDefaults.Peers;
using GrpcImages.ServiceDefaults.Storage;
using GrpcImages.Transfer.Storage;

namespace GrpcImages.Transfer.Domain;

/// <summary>
/// How a request sets up its task: the task is written first, with its queue item due only after
/// <see cref="Guard"/>; then the request holds the source and makes the destination in the catalog, and
/// accepts the task (<see cref="TaskQueues.AcceptAsync"/>). A request refused or given up half way undoes
/// its task at once; one that dies is undone by the worker that finds the task still in setup after
/// the guard. Either undo is final in the catalog: a hold or a create of the task still on its way
/// when the undo lands is refused there, so nothing the task made or held outlives it.
/// </summary>
public sealed class TaskSetups(TaskStore store, TaskQueues queues, PeerClient<ImageControlService.ImageControlServiceClient> catalogPeer)
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
    /// Undoes a task its request will not accept: whatever it made in the catalog and the source's hold
    /// (<paramref name="heldImage"/>, in <paramref name="sourceRegion"/>), then its queue item, the task and
    /// its client token. Runs to its end even when the request's caller has gone.
    /// </summary>
    public Task UndoAsync(TransferTask task, string scope, ClientToken token, string heldImage = "", string sourceRegion = "") =>
        Detached.RunAsync(async () =>
        {
            var catalog = catalogPeer.Client;
            if (task.Action != TaskAction.ExportImage)
            {
                await catalog.FailPendingAsync(new FailPendingRequest { TaskId = task.TaskId, Cancelled = true });
            }
            if (heldImage.Length > 0)
            {
                await catalog.ReleaseImageHoldAsync(new ReleaseImageHoldRequest { RegionId = sourceRegion, ImageId = heldImage, TaskId = task.TaskId });
            }
            await queues.For(task.Action, task.RegionId).RemoveAsync(task.TaskId, onlyIfWaiting: false);
            await store.DeleteAsync(task, scope, token);
        });
}
