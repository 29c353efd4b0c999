using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.ServiceDefaults.Peers;
using GrpcImages.Transfer.Content;
using GrpcImages.Transfer.Storage;
using Microsoft.Extensions.Options;

namespace GrpcImages.Transfer.Domain;

/// <summary>
/// Runs the export tasks of a region's export queue (R29), at most N at once across every replica. A RAW
/// disk becomes its object straight from the content (the object shares the image's chunks), a VHD is
/// written from the content as it streams (<see cref="VhdStream"/>); QCOW2 goes through a sparse raw
/// scratch file and qemu-img. Each finished object is recorded in the
/// plan, so a resumed export does not write it again; a failed or cancelled export removes the objects it
/// wrote. The image's export hold is given back whatever the ending.
/// </summary>
public sealed class ExportWorker(
    TaskStore store,
    TaskQueues queues,
    ObjectStore objects,
    ObjectIndex index,
    ContentFiles files,
    ContentLibrary library,
    QemuImg qemu,
    Scratch scratch,
    PeerClient<ImageControlService.ImageControlServiceClient> catalogPeer,
    IOptions<TransferOptions> options,
    TimeProvider time,
    ILogger<ExportWorker> logger) : TaskWorker(store, queues, catalogPeer, options, time, logger)
{
    private const string ContentType = "application/octet-stream";

    // A converted disk's share of progress: its raw scratch file written, then converted; the upload is the rest.
    private const double Written = 0.4;
    private const double Converted = 0.7;

    protected override async Task RunAsync(TaskRun run, CancellationToken cancellationToken)
    {
        var plan = run.Plan;
        scratch.Clear(run.Task.TaskId);
        for (var d = 0; d < plan.Disks.Count; d++)
        {
            var disk = plan.Disks[d];
            if (disk.Manifest.Length > 0)
            {
                continue; // written by this task before
            }
            var before = plan.Disks.Take(d).Sum(x => x.StoredBytes);
            Task Report(double fraction) => run.ReportAsync(before + (long)(fraction * disk.StoredBytes), 0, force: false);
            var format = (DiskImageFormat)disk.Format;
            ObjectRecord written;
            if (format == DiskImageFormat.Raw)
            {
                var data = Counted(library.ReadAsync(plan.SourceRegion, disk.SourceManifest, 0, disk.ContentBytes, cancellationToken),
                    bytes => Report((double)bytes / disk.ContentBytes));
                written = await objects.WriteAsync(plan.DestinationRegion, plan.Bucket, disk.ObjectName, ContentType, disk.ContentBytes, data, cancellationToken);
            }
            else if (format == DiskImageFormat.Vhd)
            {
                written = await WriteVhdAsync(plan, disk, Report, cancellationToken);
            }
            else
            {
                var raw = scratch.PathOf(run.Task.TaskId, $"{d}.raw");
                var converted = scratch.PathOf(run.Task.TaskId, $"{d}.{DiskFormats.Extension(format)}");
                try
                {
                    await files.WriteFileAsync(plan.SourceRegion, disk.SourceManifest, raw, disk.ContentBytes, bytes => Report(Written * bytes / disk.ContentBytes),
                        cancellationToken);
                    await qemu.ConvertAsync(raw, DiskImageFormat.Raw, converted, format, fraction => Report(Written + (Converted - Written) * fraction), cancellationToken);
                    File.Delete(raw);
                    await using var file = new FileStream(converted, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.Asynchronous | FileOptions.SequentialScan);
                    var length = file.Length;
                    var data = Counted(StreamPieces.ReadAsync(file, cancellationToken), bytes => Report(Converted + (1 - Converted) * bytes / length));
                    written = await objects.WriteAsync(plan.DestinationRegion, plan.Bucket, disk.ObjectName, ContentType, length, data, cancellationToken);
                }
                finally
                {
                    File.Delete(raw);
                    File.Delete(converted);
                }
            }
            disk.Manifest = written.Sha256; // this disk is done
            await run.ReportAsync(before + disk.StoredBytes, 0, force: true, savePlan: true);
        }
    }

    /// <summary>A dynamic VHD streamed from the content into the object: no scratch file, no qemu-img (the disk's size stays exact).</summary>
    private async Task<ObjectRecord> WriteVhdAsync(TaskPlan plan, DiskPlan disk, Func<double, Task> report, CancellationToken cancellationToken)
    {
        var (manifest, _) = await library.LoadLiveAsync(plan.SourceRegion, disk.SourceManifest, cancellationToken);
        using var cipher = await library.CipherAsync(manifest, plan.SourceRegion, cancellationToken);
        bool Stored(int chunk) => chunk < manifest.Count && manifest.HashAt(chunk) is not null;
        var length = VhdStream.Length(disk.ContentBytes, Stored);
        var vhd = VhdStream.WriteAsync(disk.ContentBytes, Stored,
            (chunk, buffer) => library.ReadChunkAsync(plan.SourceRegion, manifest.HashAt(chunk), chunk, cipher, buffer, cancellationToken),
            DateTimeOffset.UtcNow, Guid.NewGuid(), cancellationToken);
        return await objects.WriteAsync(plan.DestinationRegion, plan.Bucket, disk.ObjectName, ContentType, length,
            Counted(vhd, bytes => report((double)bytes / length)), cancellationToken);
    }

    protected override async Task CompleteAsync(TaskRun run)
    {
        scratch.Clear(run.Task.TaskId);
        await ReleaseImageAsync(run);
        await run.FinishAsync();
    }

    protected override async Task EndAsync(TaskRun run, TaskStatus status, TaskError? failure)
    {
        var plan = run.Plan;
        scratch.Clear(run.Task.TaskId);
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

    private async Task ReleaseImageAsync(TaskRun run) =>
        await Catalog.ReleaseImageHoldAsync(new ReleaseImageHoldRequest { RegionId = run.Plan.SourceRegion, ImageId = run.Plan.SourceId, TaskId = run.Task.TaskId });

    private static async IAsyncEnumerable<ReadOnlyMemory<byte>> Counted(IAsyncEnumerable<ReadOnlyMemory<byte>> pieces, Func<long, Task> progress)
    {
        long total = 0;
        await foreach (var piece in pieces)
        {
            yield return piece;
            total += piece.Length;
            await progress(total);
        }
    }
}
