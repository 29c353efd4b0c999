using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Common.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.ServiceDefaults.Peers;

namespace GrpcImages.Transfer.Tasks;

/// <summary>
/// What tasks ask of the catalog (its internal ImageControlService), named as steps name them. Every
/// change of a pending resource carries the task and its fencing token, and the catalog keeps each of
/// these final: a hold let go, or a task given up, refuses the same task's hold or create arriving later.
/// </summary>
public sealed class TaskCatalog(PeerClient<ImageControlService.ImageControlServiceClient> catalogPeer)
{
    private ImageControlService.ImageControlServiceClient Catalog => catalogPeer.Client;

    /// <summary>Holds an image for the task (R9: one copy of a source at a time; R33: not deletable while held).</summary>
    public async Task HoldAsync(string region, string imageId, ImageHoldKind kind, TransferTask task) =>
        await Catalog.HoldImageAsync(new HoldImageRequest { RegionId = region, ImageId = imageId, Kind = kind, TaskId = task.TaskId, AccountId = task.OwnerAccountId });

    /// <summary>Lets the task's hold go (final: a hold of this task arriving later is refused).</summary>
    public async Task ReleaseHoldAsync(string region, string imageId, string taskId) =>
        await Catalog.ReleaseImageHoldAsync(new ReleaseImageHoldRequest { RegionId = region, ImageId = imageId, TaskId = taskId });

    /// <summary>Makes the image the task makes, Waiting (or finds the one it made before); returns its id.</summary>
    public async Task<string> MakePendingImageAsync(CreatePendingImageRequest asked, string taskId)
    {
        var request = asked.Clone();
        request.TaskId = taskId;
        return (await Catalog.CreatePendingImageAsync(request)).Image.ImageId;
    }

    /// <summary>Makes the snapshot the task makes, progressing (or finds the one it made before); returns its id.</summary>
    public async Task<string> MakePendingSnapshotAsync(CreatePendingSnapshotRequest asked, string taskId)
    {
        var request = asked.Clone();
        request.TaskId = taskId;
        return (await Catalog.CreatePendingSnapshotAsync(request)).Snapshot.SnapshotId;
    }

    /// <summary>
    /// Undo of a pending resource: while the task is still in its request's hands the task is given up as a
    /// whole (what it made is removed, a create on its way is refused, a quota unit taken for an image never
    /// made comes back); later the resource the task made is deleted (cancelled, R10) or failed (CreateFailed).
    /// </summary>
    public async Task EndPendingAsync<TPlan>(TaskContext<TPlan> context, string resourceId) where TPlan : TaskPlan
    {
        var task = context.Task;
        if (context.Plan.Phase == TaskPhase.Setup)
        {
            await Catalog.FailPendingAsync(new FailPendingRequest
            {
                TaskId = task.TaskId, Fence = context.Fence, Cancelled = true, OwnerAccountId = task.OwnerAccountId, RegionId = task.RegionId,
            });
        }
        else if (resourceId.Length > 0)
        {
            await Catalog.FailPendingAsync(new FailPendingRequest
            {
                ResourceId = resourceId, TaskId = task.TaskId, Fence = context.Fence, Cancelled = context.Ending.IsCancelled,
                Reason = context.Ending.Error?.Message ?? "",
            });
        }
    }

    /// <summary>Completes the resource with its disks' content, which the task has held for the catalog's records beforehand.</summary>
    public async Task CompletePendingAsync<TPlan>(TaskContext<TPlan> context, string resourceId, IEnumerable<DiskContent> disks) where TPlan : TaskPlan =>
        await Catalog.CompletePendingAsync(new CompletePendingRequest { ResourceId = resourceId, TaskId = context.Task.TaskId, Fence = context.Fence, Disks = { disks } });

    /// <summary>Shows the task's state on the resource it makes, as of the task's revision (an older state never overwrites a newer).</summary>
    public async Task MirrorAsync(string resourceId, TransferTask task, long fence, ImageStatus status, long revision) =>
        await Catalog.UpdatePendingAsync(new UpdatePendingRequest
        {
            ResourceId = resourceId, TaskId = task.TaskId, Fence = fence, Status = status, Progress = task.Progress,
            TimeLeft = status == ImageStatus.Creating ? task.TimeLeft : null, QueuePosition = status == ImageStatus.Waiting ? task.QueuePosition : 0,
            TaskRevision = revision,
        });

    public static EncryptionInfo ToInfo(EncryptionPlan? plan) =>
        plan is null ? new EncryptionInfo() : new EncryptionInfo { Encrypted = true, KmsKeyId = plan.KmsKeyId, ServiceKey = plan.ServiceKey, KmsKeyOwnerAccountId = plan.AccountId };
}
