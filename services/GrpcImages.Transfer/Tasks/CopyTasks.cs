using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Common.V1;
using GrpcImages.ServiceDefaults.Peers;
using GrpcImages.ServiceDefaults.Validation;
using GrpcImages.Transfer.Content;

namespace GrpcImages.Transfer.Tasks;

/// <summary>
/// A copy of an image to a region (R5-R12, R17, R20, R21), step by step. The source stays held while
/// the copy lives (R9: no second copy of it, no delete of it); the destination image exists from the
/// first moment, Waiting, then Creating; its disks are copied chunk by chunk (only what the destination
/// lacks moves); the copied content is then held for the image and its snapshots, and the image made
/// Available in one call.
/// </summary>
public sealed class ImageCopyTask(TaskCatalog catalog, CopySteps copying) : TaskKind<ImageCopyPlan>
{
    public override IReadOnlyList<TaskStep<ImageCopyPlan>> Steps { get; } =
    [
        new("hold the source image (R9)", StepBy.Request,
            c => catalog.HoldAsync(c.Plan.SourceRegion, c.Plan.SourceId, ImageHoldKind.CopySource, c.Task),
            LetGo: c => catalog.ReleaseHoldAsync(c.Plan.SourceRegion, c.Plan.SourceId, c.Task.TaskId)),
        new("make the pending image", StepBy.Request,
            async c => c.Plan.DestinationId = await catalog.MakePendingImageAsync((CreatePendingImageRequest)c.Asked!, c.Task.TaskId),
            Undo: c => catalog.EndPendingAsync(c, c.Plan.DestinationId)),
        new("copy each disk", StepBy.Worker, copying.CopyDisksAsync,
            Undo: copying.AbortSessionsAsync,
            LetGo: copying.ReleaseContentAsync),
        new("hold the content for the image and its snapshots, and make it Available", StepBy.Worker,
            c => copying.HandOverAsync(c, c.Plan.DestinationId, Enumerable.Range(0, c.Plan.Disks.Count).Select(i => ResourceIds.ImageSnapshot(c.Plan.DestinationId, i)))),
    ];
}

/// <summary>A copy of a snapshot to a region (R11): as an image's copy, with no hold on the source and one disk.</summary>
public sealed class SnapshotCopyTask(TaskCatalog catalog, CopySteps copying) : TaskKind<SnapshotCopyPlan>
{
    public override IReadOnlyList<TaskStep<SnapshotCopyPlan>> Steps { get; } =
    [
        new("make the pending snapshot", StepBy.Request,
            async c => c.Plan.DestinationId = await catalog.MakePendingSnapshotAsync((CreatePendingSnapshotRequest)c.Asked!, c.Task.TaskId),
            Undo: c => catalog.EndPendingAsync(c, c.Plan.DestinationId)),
        new("copy the disk", StepBy.Worker, copying.CopyDisksAsync,
            Undo: copying.AbortSessionsAsync,
            LetGo: copying.ReleaseContentAsync),
        new("hold the content for the snapshot, and make it accomplished", StepBy.Worker,
            c => copying.HandOverAsync(c, c.Plan.DestinationId, [])),
    ];
}

/// <summary>The steps copies of images and snapshots share.</summary>
public sealed class CopySteps(TaskCatalog catalog, ContentCopier copier, ContentLibrary library, DataKeys dataKeys)
{
    /// <summary>Copies each disk not yet done from its checkpoint (its write session), then records its manifest.</summary>
    public async Task CopyDisksAsync<TPlan>(TaskContext<TPlan> context) where TPlan : CopyPlan
    {
        var (run, plan, cancellationToken) = (context.RequireRun(), context.Plan, context.CancellationToken);
        for (var d = 0; d < plan.Disks.Count; d++)
        {
            var disk = plan.Disks[d];
            if (disk.Done)
            {
                continue;
            }
            var (sealing, dataKey) = await SealingAsync(run, plan, cancellationToken);
            if (disk.Session.Length == 0)
            {
                disk.Session = Guid.NewGuid().ToString("N");
                await run.SavePlanAsync();
            }
            var before = plan.BytesBefore(d);
            var copied = await copier.CopyAsync(
                new CopyOrder(plan.SourceRegion, disk.SourceManifest, plan.Region, sealing, dataKey, disk.Session, run.Task.TaskId),
                progress => run.ReportAsync(before + progress.BytesDone, progress.BytesSkipped, force: false),
                cancellationToken);
            disk.Manifest = copied.ManifestId;
            await run.ReportAsync(before + disk.StoredBytes, run.BytesSkipped, force: true, savePlan: true);
        }
    }

    /// <summary>Undo: the write sessions of disks not finished are aborted (what they pinned goes back).</summary>
    public async Task AbortSessionsAsync<TPlan>(TaskContext<TPlan> context) where TPlan : CopyPlan
    {
        foreach (var disk in context.Plan.Disks.Where(d => d.Session.Length > 0 && !d.Done))
        {
            await library.AbortSessionAsync(context.Plan.Region, disk.Session);
        }
    }

    /// <summary>Let go: the content the task held for itself (the finished disks, until the catalog's records held them).</summary>
    public Task ReleaseContentAsync<TPlan>(TaskContext<TPlan> context) where TPlan : CopyPlan =>
        library.ReleaseHolderAsync(context.Plan.Region, context.Task.TaskId);

    /// <summary>
    /// Holds each disk's content for the records the catalog makes of it (the resource, and for an image
    /// the snapshot of each disk), then asks the catalog to complete the resource in one call.
    /// </summary>
    public async Task HandOverAsync<TPlan>(TaskContext<TPlan> context, string resourceId, IEnumerable<string> snapshotIds) where TPlan : CopyPlan
    {
        var plan = context.Plan;
        var snapshots = snapshotIds.ToList();
        for (var i = 0; i < plan.Disks.Count; i++)
        {
            await library.RetainAsync(plan.Region, plan.Disks[i].Manifest, resourceId);
            if (i < snapshots.Count)
            {
                await library.RetainAsync(plan.Region, plan.Disks[i].Manifest, snapshots[i]);
            }
        }
        await catalog.CompletePendingAsync(context, resourceId, plan.Disks.Select(disk => new DiskContent
        {
            DiskType = (DiskType)disk.DiskType,
            Device = disk.Device,
            SizeGib = disk.SizeGib,
            ManifestId = disk.Manifest,
            ContentBytes = disk.ContentBytes,
            Encryption = TaskCatalog.ToInfo(plan.Encryption),
        }));
    }

    /// <summary>The destination's data key, made once and kept in the plan (wrapped), so a resumed copy seals with the same key.</summary>
    private async Task<(ManifestEncryption? Sealing, byte[]? Key)> SealingAsync(TaskRun run, CopyPlan plan, CancellationToken cancellationToken)
    {
        if (plan.Encryption is not { } encryption)
        {
            return (null, null);
        }
        if (encryption.WrappedDataKey.Length == 0)
        {
            var made = await dataKeys.NewAsync(encryption.AccountId, plan.Region, encryption.KmsKeyId, cancellationToken);
            encryption.WrappedDataKey = Convert.ToBase64String(made.Encryption.WrappedKey);
            await run.SavePlanAsync();
        }
        var sealing = new ManifestEncryption(encryption.AccountId, encryption.KmsKeyId, Convert.FromBase64String(encryption.WrappedDataKey));
        return (sealing, await dataKeys.OpenAsync(sealing, plan.Region, cancellationToken));
    }
}
