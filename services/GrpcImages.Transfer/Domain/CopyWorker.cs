using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.ServiceDefaults.Peers;
using GrpcImages.Transfer.Content;
using GrpcImages.Transfer.Storage;
using Microsoft.Extensions.Options;

namespace GrpcImages.Transfer.Domain;

/// <summary>
/// Runs the copy tasks of a region's copy queue (R5-R11): at most N at once across every replica.
/// Copies disk by disk from the checkpoint in the task's plan (each disk's write session, then its
/// manifest) and ends the task Finished (the image Available), Failed (CreateFailed, its quota unit
/// back) or Cancelled (the image gone). Whatever the ending, the source's hold and every chunk only the
/// task held are given back.
/// </summary>
public sealed class CopyWorker(
    TaskStore store,
    TaskQueues queues,
    ContentCopier copier,
    ContentLibrary library,
    DataKeys dataKeys,
    PeerClient<ImageControlService.ImageControlServiceClient> catalogPeer,
    IOptions<TransferOptions> options,
    TimeProvider time,
    ILogger<CopyWorker> logger) : TaskWorker(store, queues, catalogPeer, options, time, logger)
{
    protected override async Task RunAsync(TaskRun run, CancellationToken cancellationToken)
    {
        var plan = run.Plan;
        for (var d = 0; d < plan.Disks.Count; d++)
        {
            var disk = plan.Disks[d];
            if (disk.Manifest.Length > 0)
            {
                continue;
            }
            var (sealing, dataKey) = await SealingAsync(run, cancellationToken);
            if (disk.Session.Length == 0)
            {
                disk.Session = Guid.NewGuid().ToString("N");
                await run.SavePlanAsync();
            }
            var before = plan.Disks.Take(d).Sum(x => x.StoredBytes);
            var copied = await copier.CopyAsync(
                new CopyOrder(plan.SourceRegion, disk.SourceManifest, plan.DestinationRegion, sealing, dataKey, disk.Session, run.Task.TaskId),
                progress => run.ReportAsync(before + progress.BytesDone, progress.BytesSkipped, force: false),
                cancellationToken);
            disk.Manifest = copied.ManifestId;
            await run.ReportAsync(before + disk.StoredBytes, run.BytesSkipped, force: true, savePlan: true);
        }
    }

    /// <summary>Gives the destination its content, then lets go of what the task held.</summary>
    protected override async Task CompleteAsync(TaskRun run)
    {
        var plan = run.Plan;
        var request = new CompletePendingRequest { ResourceId = plan.DestinationId, TaskId = run.Task.TaskId, Fence = run.Lease.Fence };
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
        await Catalog.CompletePendingAsync(request);
        await library.ReleaseHolderAsync(plan.DestinationRegion, run.Task.TaskId);
        await ReleaseSourceAsync(run);
        await run.FinishAsync();
    }

    /// <summary>Undoes the copy so far and ends the destination (deleted when cancelled, else failed).</summary>
    protected override async Task EndAsync(TaskRun run, TaskStatus status, TaskError? failure)
    {
        var plan = run.Plan;
        foreach (var disk in plan.Disks.Where(d => d.Session.Length > 0 && d.Manifest.Length == 0))
        {
            await library.AbortSessionAsync(plan.DestinationRegion, disk.Session);
        }
        await library.ReleaseHolderAsync(plan.DestinationRegion, run.Task.TaskId);
        await run.FailPendingAsync(status, failure);
        await ReleaseSourceAsync(run);
        await run.EndAsync(status, failure);
    }

    private async Task ReleaseSourceAsync(TaskRun run)
    {
        if (run.Plan.Kind == "image")
        {
            await Catalog.ReleaseImageHoldAsync(new ReleaseImageHoldRequest { RegionId = run.Plan.SourceRegion, ImageId = run.Plan.SourceId, TaskId = run.Task.TaskId });
        }
    }

    /// <summary>The destination's data key, made once and kept in the plan (wrapped), so a resumed copy seals with the same key.</summary>
    private async Task<(ManifestEncryption? Sealing, byte[]? Key)> SealingAsync(TaskRun run, CancellationToken cancellationToken)
    {
        if (run.Plan.Encryption is not { } encryption)
        {
            return (null, null);
        }
        if (encryption.WrappedDataKey.Length == 0)
        {
            var made = await dataKeys.NewAsync(encryption.AccountId, run.Plan.DestinationRegion, encryption.KmsKeyId, cancellationToken);
            encryption.WrappedDataKey = Convert.ToBase64String(made.Encryption.WrappedKey);
            await run.SavePlanAsync();
        }
        var sealing = new ManifestEncryption(encryption.AccountId, encryption.KmsKeyId, Convert.FromBase64String(encryption.WrappedDataKey));
        return (sealing, await dataKeys.OpenAsync(sealing, run.Plan.DestinationRegion, cancellationToken));
    }
}
