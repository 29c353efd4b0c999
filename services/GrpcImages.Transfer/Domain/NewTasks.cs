using Google.Protobuf.WellKnownTypes;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.ServiceDefaults.Validation;

namespace GrpcImages.Transfer.Domain;

/// <summary>Tasks as a request makes them: the caller's, Waiting in their queue, cancellable until they end.</summary>
public static class NewTasks
{
    public static TransferTask Waiting(TaskAction action, string account, string region, string sourceId, string sourceRegion, IEnumerable<DiskPlan> disks,
        DateTimeOffset now)
    {
        var at = Timestamp.FromDateTimeOffset(now);
        return new TransferTask
        {
            TaskId = ResourceIds.New('t', ResourceIds.OwnerTag(account)),
            OwnerAccountId = account,
            Action = action,
            Status = TaskStatus.Waiting,
            RegionId = region,
            SourceResourceId = sourceId,
            SourceRegionId = sourceRegion,
            BytesTotal = disks.Sum(d => d.StoredBytes),
            Cancellable = true,
            CreateTime = at,
            UpdateTime = at,
        };
    }
}
