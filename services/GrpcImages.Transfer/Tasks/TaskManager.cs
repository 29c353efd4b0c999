using System.Threading.Channels;
using Google.Protobuf.WellKnownTypes;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.ServiceDefaults.Hosting;
using GrpcImages.ServiceDefaults.Identity;
using GrpcImages.ServiceDefaults.Peers;
using GrpcImages.ServiceDefaults.Redis;
using GrpcImages.ServiceDefaults.Storage;
using GrpcImages.ServiceDefaults.Validation;
using GrpcImages.ServiceDefaults.Work;
using GrpcImages.Transfer.Domain;
using GrpcImages.Transfer.Storage;

namespace GrpcImages.Transfer.Tasks;

/// <summary>
/// The task log and what a caller can do with its tasks (R8, R10): get, list (newest first), cancel,
/// and watch. Another account's task is InvalidTaskId.NotFound (R36).
/// </summary>
public sealed class TaskManager(
    TaskStore store,
    TaskQueues queues,
    TaskLifecycle lifecycle,
    TaskChanges changes,
    PeerClient<ImageControlService.ImageControlServiceClient> catalogPeer,
    Regions regions,
    TimeProvider time)
{
    public async Task<TransferTask> GetAsync(Caller caller, string taskId) => (await RequireAsync(caller, taskId)).Task;

    public async Task<(IReadOnlyList<TransferTask> Tasks, string NextPageToken)> ListAsync(Caller caller, ListTasksRequest request)
    {
        var account = caller.RequireAccount();
        var region = regions.Require(request.RegionId);
        var size = Check.PageSize(request.PageSize);
        if (request.Statuses.Count > 16)
        {
            throw ServiceDefaults.Errors.Fault.InvalidArgument("InvalidParameter", "statuses", "At most 16 statuses.");
        }
        var page = await store.ListAsync(account, region, PageToken.Decode(request.PageToken), size,
            request.Statuses.Select(s => (int)s).Distinct().ToList(), (int)request.Action);
        return (page.Tasks, PageToken.Encode(page.Next));
    }

    /// <summary>
    /// R10: a Waiting task is taken out of its queue and undone at once (Cancelled); a running one is
    /// marked Cancelling, and its worker undoes it at its next step (then Cancelled).
    /// </summary>
    public async Task<TransferTask> CancelAsync(Caller caller, string taskId)
    {
        var stored = await RequireAsync(caller, taskId);
        if (stored.Task.Status is TaskStatus.Finished or TaskStatus.Failed or TaskStatus.Cancelled)
        {
            throw TransferErrors.IncorrectTaskStatus($"The task is already {stored.Task.Status}.");
        }
        if (stored.Task.Status == TaskStatus.Cancelling)
        {
            return stored.Task;
        }
        var queue = queues.For(stored.Task.Action, stored.Task.RegionId);
        if (await queue.RemoveAsync(taskId, onlyIfWaiting: true) == RemoveResult.Removed)
        {
            return await lifecycle.CancelWaitingAsync(stored);
        }
        var cancelling = await ConflictRetry.RunAsync<TransferTask>(async () =>
        {
            var current = await store.GetAsync(taskId) ?? throw TransferErrors.TaskNotFound(taskId);
            if (current.Task.Status is TaskStatus.Finished or TaskStatus.Failed or TaskStatus.Cancelled or TaskStatus.Cancelling)
            {
                return current.Task;
            }
            var task = current.Task.Clone();
            task.Status = TaskStatus.Cancelling;
            task.UpdateTime = Timestamp.FromDateTimeOffset(time.GetUtcNow());
            return await store.SaveAsync(current, task) == TaskSaveResult.Saved ? task : Attempt<TransferTask>.Again;
        });
        // Its worker notices at its next step; if none holds it any more, the queue runs it again to undo it.
        await queue.EnqueueAsync(taskId, taskId, runAgain: true);
        return cancelling;
    }

    /// <summary>R10: cancels the copy whose destination is the image (by the image, as CancelCopyImage asks).</summary>
    public async Task<TransferTask> CancelCopyAsync(Caller caller, CancelCopyImageRequest request)
    {
        var account = caller.RequireAccount();
        var region = regions.Require(request.RegionId);
        var image = (await catalogPeer.Client.GetImageContentAsync(new GetImageContentRequest { RegionId = region, ImageId = request.ImageId, AccountId = account })).Image;
        if (image.OwnerAccountId != account)
        {
            throw new ServiceDefaults.Errors.DomainException(global::Grpc.Core.StatusCode.NotFound, "InvalidImageId.NotFound",
                $"The specified image {Check.Echo(request.ImageId)} does not exist in this region.");
        }
        if (image.SourceKind != ImageSourceKind.Copy)
        {
            throw TransferErrors.NotFromCopy(image.ImageId);
        }
        if (image.Status is not (ImageStatus.Waiting or ImageStatus.Creating) || image.TaskId.Length == 0)
        {
            throw TransferErrors.IncorrectImageStatus($"The copy has ended (the image is {image.Status}); there is nothing to cancel.");
        }
        return await CancelAsync(caller, image.TaskId);
    }

    /// <summary>
    /// The task now, then after every change until it ends. Changes are pushed on the task's channel
    /// (each message the newest state); a watcher that reconnects with its last revision misses nothing.
    /// </summary>
    public async IAsyncEnumerable<TransferTask> WatchAsync(Caller caller, string taskId, long afterRevision,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await RequireAsync(caller, taskId);
        var seen = Channel.CreateBounded<TransferTask>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropOldest });
        async void Reread()
        {
            try
            {
                if (await store.GetAsync(taskId) is { } current)
                {
                    seen.Writer.TryWrite(current.Task);
                }
            }
            catch (Exception ex) when (RedisFailures.IsUnavailable(ex))
            {
            }
        }
        await using var subscription = await changes.SubscribeAsync(taskId, task => seen.Writer.TryWrite(task), Reread);
        var last = afterRevision;
        var task = (await store.GetAsync(taskId))?.Task ?? throw TransferErrors.TaskNotFound(taskId);
        while (true)
        {
            if (task.Revision > last)
            {
                last = task.Revision;
                yield return task;
            }
            if (task.Status is TaskStatus.Finished or TaskStatus.Failed or TaskStatus.Cancelled)
            {
                yield break;
            }
            task = await seen.Reader.ReadAsync(cancellationToken);
        }
    }

    private async Task<StoredTask> RequireAsync(Caller caller, string taskId)
    {
        var stored = ResourceIds.IsValid(taskId, 't') ? await store.GetAsync(taskId) : null;
        return stored is not null && caller.MayActFor(stored.Task.OwnerAccountId) ? stored : throw TransferErrors.TaskNotFound(taskId);
    }
}
