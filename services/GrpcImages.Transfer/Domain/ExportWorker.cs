using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.ServiceDefaults.Peers;
using GrpcImages.Transfer.Content;
using GrpcImages.Transfer.Formats;
using GrpcImages.Transfer.Objects;
using GrpcImages.Transfer.Storage;
using Microsoft.Extensions.Options;

namespace GrpcImages.Transfer.Domain;

/// <summary>
/// Runs the export tasks of a region's export queue (R29), at most N at once across every replica. A RAW
/// disk becomes its object straight from the content (the object shares the image's chunks); a VHD or a
/// QCOW2 is written from the content as it streams (<see cref="VhdStream"/>, <see cref="Qcow2Stream"/>),
/// with no scratch file. Each finished object is recorded in the plan, so a resumed export does not
/// write it again; a failed or cancelled export removes the objects it wrote. Objects are written under
/// the lease's fencing token (<see cref="ObjectWriter"/>), so a worker that lost the task cannot write one
/// after its successor has. The image's export hold is given back whatever the ending.
/// </summary>
public sealed class ExportWorker(
    TaskStore store,
    TaskQueues queues,
    ObjectStore objects,
    ObjectIndex index,
    ContentLibrary library,
    PeerClient<ImageControlService.ImageControlServiceClient> catalogPeer,
    IOptions<TransferOptions> options,
    TimeProvider time,
    ILogger<ExportWorker> logger) : TaskWorker(store, queues, catalogPeer, options, time, logger)
{
    private const string ContentType = "application/octet-stream";

    protected override async Task RunAsync(TaskRun run, CancellationToken cancellationToken)
    {
        var plan = run.Plan;
        var throttle = new Throttle(Options.MaxBytesPerSecondPerTask);
        var writer = Writer(run);
        for (var d = 0; d < plan.Disks.Count; d++)
        {
            var disk = plan.Disks[d];
            if (disk.Manifest.Length > 0)
            {
                continue; // written by this task before
            }
            var before = plan.Disks.Take(d).Sum(x => x.StoredBytes);
            async Task Sent(int bytes, double fraction)
            {
                await throttle.WaitAsync(bytes, cancellationToken);
                await run.ReportAsync(before + (long)(fraction * disk.StoredBytes), 0, force: false);
            }
            var format = (DiskImageFormat)disk.Format;
            ObjectRecord written;
            if (format == DiskImageFormat.Raw)
            {
                var data = Counted(library.ReadAsync(plan.SourceRegion, disk.SourceManifest, 0, disk.ContentBytes, cancellationToken), disk.ContentBytes, Sent);
                written = await objects.WriteAsync(plan.DestinationRegion, plan.Bucket, disk.ObjectName, ContentType, disk.ContentBytes, data, cancellationToken, writer);
            }
            else
            {
                written = await WriteFormattedAsync(plan, disk, format, writer, Sent, cancellationToken);
            }
            disk.Manifest = written.Sha256; // this disk is done
            await run.ReportAsync(before + disk.StoredBytes, 0, force: true, savePlan: true);
        }
    }

    /// <summary>
    /// A dynamic VHD or a QCOW2 streamed from the content into the object: no scratch file, no qemu-img
    /// (the disk's size stays exact).
    /// </summary>
    private async Task<ObjectRecord> WriteFormattedAsync(TaskPlan plan, DiskPlan disk, DiskImageFormat format, ObjectWriter writer,
        Func<int, double, Task> sent, CancellationToken cancellationToken)
    {
        var (manifest, _) = await library.LoadLiveAsync(plan.SourceRegion, disk.SourceManifest, cancellationToken);
        using var cipher = await library.CipherAsync(manifest, plan.SourceRegion, cancellationToken);
        bool Stored(int chunk) => chunk < manifest.Count && manifest.HashAt(chunk) is not null;
        Task Read(int chunk, Memory<byte> buffer) => library.ReadChunkAsync(plan.SourceRegion, manifest.HashAt(chunk), chunk, cipher, buffer, cancellationToken);
        var (length, file) = format == DiskImageFormat.Vhd
            ? (VhdStream.Length(disk.ContentBytes, Stored), VhdStream.WriteAsync(disk.ContentBytes, Stored, Read, DateTimeOffset.UtcNow, Guid.NewGuid(), cancellationToken))
            : (Qcow2Stream.Length(disk.ContentBytes, Stored), Qcow2Stream.WriteAsync(disk.ContentBytes, Stored, Read, cancellationToken));
        return await objects.WriteAsync(plan.DestinationRegion, plan.Bucket, disk.ObjectName, ContentType, length,
            Counted(file, length, sent), cancellationToken, writer);
    }

    protected override async Task CompleteAsync(TaskRun run)
    {
        await ReleaseImageAsync(run);
        await run.FinishAsync();
    }

    protected override async Task EndAsync(TaskRun run, TaskStatus status, TaskError? failure)
    {
        var plan = run.Plan;
        // No older worker of this task may write an object after this one is gone; and an older worker
        // itself (frozen past its lease) leaves the objects to the task's newest one.
        if (!await index.ClaimWriterAsync(plan.DestinationRegion, plan.Bucket, Writer(run)))
        {
            throw new TaskRun.LostTaskException();
        }
        foreach (var disk in plan.Disks.Where(d => d.Manifest.Length > 0))
        {
            // Only an object this task wrote goes (one written since by someone else stays).
            var (_, found) = await index.GetObjectAsync(plan.DestinationRegion, plan.Bucket, disk.ObjectName);
            if (found?.Sha256 == disk.Manifest)
            {
                await objects.DeleteWrittenAsync(found);
            }
        }
        await ReleaseImageAsync(run);
        await run.EndAsync(status, failure);
    }

    /// <summary>This worker as the task's writer of objects: its lease's fence, remembered for as long as the task can live.</summary>
    private ObjectWriter Writer(TaskRun run) => new(run.Task.TaskId, run.Lease.Fence, Options.MaxWait + Options.MaxRun + TimeSpan.FromDays(1));

    private async Task ReleaseImageAsync(TaskRun run) =>
        await Catalog.ReleaseImageHoldAsync(new ReleaseImageHoldRequest { RegionId = run.Plan.SourceRegion, ImageId = run.Plan.SourceId, TaskId = run.Task.TaskId });

    /// <summary>The pieces as they go, each told to <paramref name="sent"/> (its length, and the fraction of <paramref name="length"/> sent so far).</summary>
    private static async IAsyncEnumerable<ReadOnlyMemory<byte>> Counted(IAsyncEnumerable<ReadOnlyMemory<byte>> pieces, long length, Func<int, double, Task> sent)
    {
        long total = 0;
        await foreach (var piece in pieces)
        {
            yield return piece;
            total += piece.Length;
            await sent(piece.Length, (double)total / length);
        }
    }
}
