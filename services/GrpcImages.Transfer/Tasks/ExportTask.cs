using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.Transfer.Content;
using GrpcImages.Transfer.Formats;
using GrpcImages.Transfer.Objects;
using GrpcImages.Transfer.Storage;
using Microsoft.Extensions.Options;

namespace GrpcImages.Transfer.Tasks;

/// <summary>
/// An export (R29, R33), step by step: the image is held while it is exported (it cannot be deleted);
/// each disk becomes its object, a RAW one straight from the content (the object shares the image's
/// chunks), a VHD or a QCOW2 written from the content as it streams (<see cref="VhdStream"/>,
/// <see cref="Qcow2Stream"/>), with no scratch file. A task that does not finish removes the objects it
/// wrote (only those: one written since by someone else stays).
/// </summary>
public sealed class ExportTask(TaskCatalog catalog, ExportObjects exporting) : TaskKind<ExportPlan>
{
    public override IReadOnlyList<TaskStep<ExportPlan>> Steps { get; } =
    [
        new("hold the image (R33)", StepBy.Request,
            c => catalog.HoldAsync(c.Plan.Region, c.Plan.ImageId, ImageHoldKind.Export, c.Task),
            LetGo: c => catalog.ReleaseHoldAsync(c.Plan.Region, c.Plan.ImageId, c.Task.TaskId)),
        new("write each disk's object", StepBy.Worker, exporting.WriteObjectsAsync,
            Undo: exporting.RemoveObjectsAsync),
    ];
}

/// <summary>
/// Writes and removes an export's objects. Objects are written under the lease's fencing token
/// (<see cref="ObjectWriter"/>), so a worker that lost the task cannot write one after its successor has.
/// </summary>
public sealed class ExportObjects(ObjectStore objects, ObjectIndex index, ContentLibrary library, IOptions<TransferOptions> options)
{
    private const string ContentType = "application/octet-stream";

    /// <summary>Writes each disk not yet written into its object, under the lease's fencing token.</summary>
    public async Task WriteObjectsAsync(TaskContext<ExportPlan> context)
    {
        var (run, plan, cancellationToken) = (context.RequireRun(), context.Plan, context.CancellationToken);
        var throttle = new Throttle(options.Value.MaxBytesPerSecondPerTask);
        var writer = Writer(context);
        for (var d = 0; d < plan.Disks.Count; d++)
        {
            var disk = plan.Disks[d];
            if (disk.Done)
            {
                continue; // written by this task before
            }
            var before = plan.BytesBefore(d);
            async Task Sent(int bytes, double fraction)
            {
                await throttle.WaitAsync(bytes, cancellationToken);
                await run.ReportAsync(before + (long)(fraction * disk.StoredBytes), 0, force: false);
            }
            var format = (DiskImageFormat)disk.Format;
            ObjectRecord written;
            if (format == DiskImageFormat.Raw)
            {
                var data = Counted(library.ReadAsync(plan.Region, disk.SourceManifest, 0, disk.ContentBytes, cancellationToken), disk.ContentBytes, Sent);
                written = await objects.WriteAsync(plan.Region, plan.Bucket, disk.ObjectName, ContentType, disk.ContentBytes, data, cancellationToken, writer);
            }
            else
            {
                written = await WriteFormattedAsync(plan, disk, format, writer, Sent, cancellationToken);
            }
            disk.WrittenSha256 = written.Sha256; // this disk is done
            await run.ReportAsync(before + disk.StoredBytes, 0, force: true, savePlan: true);
        }
    }

    /// <summary>
    /// A dynamic VHD or a QCOW2 streamed from the content into the object: no scratch file, no qemu-img
    /// (the disk's size stays exact).
    /// </summary>
    private async Task<ObjectRecord> WriteFormattedAsync(ExportPlan plan, ExportDiskPlan disk, DiskImageFormat format, ObjectWriter writer,
        Func<int, double, Task> sent, CancellationToken cancellationToken)
    {
        var (manifest, _) = await library.LoadLiveAsync(plan.Region, disk.SourceManifest, cancellationToken);
        using var cipher = await library.CipherAsync(manifest, plan.Region, cancellationToken);
        bool Stored(int chunk) => chunk < manifest.Count && manifest.HashAt(chunk) is not null;
        Task Read(int chunk, Memory<byte> buffer) => library.ReadChunkAsync(plan.Region, manifest.HashAt(chunk), chunk, cipher, buffer, cancellationToken);
        var (length, file) = format == DiskImageFormat.Vhd
            ? (VhdStream.Length(disk.ContentBytes, Stored), VhdStream.WriteAsync(disk.ContentBytes, Stored, Read, DateTimeOffset.UtcNow, Guid.NewGuid(), cancellationToken))
            : (Qcow2Stream.Length(disk.ContentBytes, Stored), Qcow2Stream.WriteAsync(disk.ContentBytes, Stored, Read, cancellationToken));
        return await objects.WriteAsync(plan.Region, plan.Bucket, disk.ObjectName, ContentType, length,
            Counted(file, length, sent), cancellationToken, writer);
    }


    /// <summary>
    /// Undo: removes the objects this task wrote. No older worker of the task may write one after this (the
    /// bucket is claimed with this fence first), and an older worker itself leaves them to the newest.
    /// </summary>
    public async Task RemoveObjectsAsync(TaskContext<ExportPlan> context)
    {
        var plan = context.Plan;
        if (!await index.ClaimWriterAsync(plan.Region, plan.Bucket, Writer(context)))
        {
            throw new TaskRun.LostTaskException();
        }
        foreach (var disk in plan.Disks.Where(d => d.Done))
        {
            var (_, found) = await index.GetObjectAsync(plan.Region, plan.Bucket, disk.ObjectName);
            if (found?.Sha256 == disk.WrittenSha256)
            {
                await objects.DeleteWrittenAsync(found);
            }
        }
    }

    /// <summary>The task's writer of objects: its fence, remembered for as long as the task can live.</summary>
    private ObjectWriter Writer<TPlan>(TaskContext<TPlan> context) where TPlan : TaskPlan =>
        new(context.Task.TaskId, context.Fence, options.Value.MaxWait + options.Value.MaxRun + TimeSpan.FromDays(1));

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
