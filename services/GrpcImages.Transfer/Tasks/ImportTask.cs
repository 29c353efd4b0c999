using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.ServiceDefaults.Errors;
using GrpcImages.ServiceDefaults.Validation;
using GrpcImages.Transfer.Content;
using GrpcImages.Transfer.Domain;
using GrpcImages.Transfer.Formats;
using GrpcImages.Transfer.Objects;
using GrpcImages.Transfer.Storage;
using Microsoft.Extensions.Options;

namespace GrpcImages.Transfer.Tasks;

/// <summary>
/// An import (R24-R28), step by step: the image exists from the request on, Waiting; each disk's file is
/// read and stored as content (an object of the store read in place, an http(s) source fetched to a
/// scratch file first, what only qemu-img reads converted); the content is then held for the image and
/// its snapshots, and the image made Available in one call. Scratch files go whatever the ending.
/// </summary>
public sealed class ImportTask(TaskCatalog catalog, ImportDisks disks) : TaskKind<ImportPlan>
{
    public override IReadOnlyList<TaskStep<ImportPlan>> Steps { get; } =
    [
        new("make the pending image", StepBy.Request,
            async c => c.Plan.DestinationId = await catalog.MakePendingImageAsync((CreatePendingImageRequest)c.Asked!, c.Task.TaskId),
            Undo: c => catalog.EndPendingAsync(c, c.Plan.DestinationId)),
        new("store each disk's file as content", StepBy.Worker, disks.StoreDisksAsync,
            Undo: disks.AbortSessionsAsync,
            LetGo: disks.ReleaseAsync),
        new("hold the content for the image and its snapshots, and make it Available", StepBy.Worker, disks.HandOverAsync),
    ];
}

/// <summary>
/// Reads the disks of imports (R24, R25): each disk's format is detected again from its bytes (the source
/// may have changed since the request). An object of the store is read in place: RAW as it is, QCOW2
/// through its own tables (<see cref="Qcow2Disk"/>), each straight into content; an http(s) source is
/// first fetched into a scratch file through the checked client. What only qemu-img reads (VHD, VMDK,
/// compressed or encrypted QCOW2) is converted to a raw scratch file first. A resumed disk skips the
/// chunks its write session stored.
/// </summary>
public sealed partial class ImportDisks(
    TaskCatalog catalog,
    ImportSources sources,
    ObjectIndex objects,
    ContentFiles files,
    ContentLibrary library,
    QemuImg qemu,
    Scratch scratch,
    IOptions<TransferOptions> options,
    ILogger<ImportDisks> logger)
{
    private const long Gib = 1L << 30;

    // A disk's share of progress when it is fetched and converted first: fetching, converting, then storing.
    private const double Fetched = 0.5;
    private const double Converted = 0.6;

    /// <summary>A disk ready to store: its bytes, virtual size, how they are read, and where its progress starts.</summary>
    private sealed record ReadyDisk(IDiskReader Disk, long VirtualSize, string How, double StoreFrom);

    /// <summary>Stores each disk not yet done: its source made readable as a raw disk, then written into content under its write session.</summary>
    public async Task StoreDisksAsync(TaskContext<ImportPlan> context)
    {
        var (run, plan, cancellationToken) = (context.RequireRun(), context.Plan, context.CancellationToken);
        scratch.Clear(run.Task.TaskId); // what a predecessor on this machine left
        for (var d = 0; d < plan.Disks.Count; d++)
        {
            var disk = plan.Disks[d];
            if (disk.Done)
            {
                continue;
            }
            var before = plan.BytesBefore(d);
            Task Report(double fraction) => run.ReportAsync(before + (long)(fraction * disk.StoredBytes), 0, force: false);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var open = new List<IDisposable>();
            try
            {
                var ready = await PrepareAsync(run, plan, d, open, Report, cancellationToken);
                var prepareTime = clock.Elapsed;
                var neededGib = Math.Max(1, (ready.VirtualSize + Gib - 1) / Gib);
                if (neededGib > disk.SizeGib)
                {
                    throw Fault.InvalidArgument("InvalidParameter", $"disks[{d}].disk_size_gib",
                        $"The disk's content is {neededGib} GiB now, more than the {disk.SizeGib} GiB it was given.");
                }
                if (disk.Session.Length == 0)
                {
                    disk.Session = Guid.NewGuid().ToString("N");
                    await run.SavePlanAsync();
                }
                var sizeBytes = disk.SizeGib * Gib;
                var stored = await files.StoreAsync(plan.Region, ready.Disk, sizeBytes, run.Task.TaskId, disk.Session,
                    bytes => Report(ready.StoreFrom + (1 - ready.StoreFrom) * bytes / Math.Max(1, Math.Min(sizeBytes, ready.VirtualSize))), cancellationToken);
                disk.Manifest = stored.ManifestId;
                disk.ContentBytes = ready.VirtualSize;
                LogDisk(run.Task.TaskId, d, ready.VirtualSize, ready.How, prepareTime.TotalSeconds, (clock.Elapsed - prepareTime).TotalSeconds);
                await run.ReportAsync(before + disk.StoredBytes, 0, force: true, savePlan: true);
            }
            finally
            {
                open.ForEach(o => o.Dispose());
                scratch.Clear(run.Task.TaskId);
            }
        }
    }

    /// <summary>Opens disk <paramref name="d"/>'s source, detects its format, and makes it readable as a raw disk (by qemu-img only when it must).</summary>
    private async Task<ReadyDisk> PrepareAsync(TaskRun run, ImportPlan plan, int d, List<IDisposable> open, Func<double, Task> report, CancellationToken cancellationToken)
    {
        var disk = plan.Disks[d];
        var url = sources.Parse(disk.SourceUrl, "source_url");
        var inStore = url.IsObject ? await OpenObjectAsync(run, plan.Region, url, open, cancellationToken) : null;
        string? file = null;
        if (inStore is null)
        {
            file = scratch.PathOf(run.Task.TaskId, $"{d}.src");
            await DownloadAsync(url, file, bytes => report(Fetched * bytes / Math.Max(1, disk.StoredBytes)), cancellationToken);
        }
        IDiskReader source = inStore is not null ? inStore : OpenFile(file!, open);
        var fetched = file is null ? 0 : Fetched;
        var detected = await DetectAsync(source, cancellationToken);
        DiskFormats.RequireDeclared((DiskImageFormat)disk.Format, detected);
        if (detected.Format == DiskImageFormat.Raw)
        {
            return new ReadyDisk(source, source.Length, "read as RAW", fetched);
        }
        if (detected.Format == DiskImageFormat.Qcow2)
        {
            var (qcow2, unsupported) = await Qcow2Disk.OpenAsync(source, ContentLibrary.MaxSizeBytes, cancellationToken);
            if (qcow2 is not null)
            {
                return new ReadyDisk(qcow2, qcow2.Length, "read as QCOW2 in place", fetched);
            }
            LogQemuOnly(run.Task.TaskId, d, unsupported);
        }
        if (file is null)
        {
            file = scratch.PathOf(run.Task.TaskId, $"{d}.src");
            await files.WriteFileAsync(plan.Region, inStore!.Manifest.Id, file, source.Length,
                bytes => report(Fetched * bytes / Math.Max(1, source.Length)), cancellationToken);
        }
        var virtualSize = await qemu.VirtualSizeAsync(file, detected.Format, cancellationToken);
        var raw = scratch.PathOf(run.Task.TaskId, $"{d}.raw");
        await qemu.ConvertToRawAsync(file, detected.Format, raw, fraction => report(Fetched + (Converted - Fetched) * fraction), cancellationToken);
        File.Delete(file);
        return new ReadyDisk(OpenFile(raw, open), virtualSize, $"converted from {DiskFormats.Name(detected.Format)} by qemu-img", Converted);
    }

    /// <summary>The object's content, held by the task until it ends (deleting or replacing the object meanwhile does not pull it away).</summary>
    private async Task<ContentDiskReader> OpenObjectAsync(TaskRun run, string region, ImportUrl url, List<IDisposable> open, CancellationToken cancellationToken)
    {
        var (bucket, found) = await objects.GetObjectAsync(region, url.Bucket!, url.ObjectName!);
        if (bucket is null || (bucket.Owner != run.Task.OwnerAccountId && bucket.Acl != BucketAcl.PublicRead))
        {
            throw ObjectStore.BucketNotFound(url.Bucket!);
        }
        if (found is null || found.Size == 0)
        {
            throw found is null ? ObjectStore.ObjectNotFound(url.Bucket!, url.ObjectName!) : Fault.InvalidArgument("InvalidOSSObject.Size", "source_url", "The object is empty.");
        }
        try
        {
            await library.RetainAsync(region, found.Manifest, run.Task.TaskId);
        }
        catch (DomainException)
        {
            throw ObjectStore.ObjectNotFound(url.Bucket!, url.ObjectName!); // deleted since it was looked up
        }
        var (manifest, _) = await library.LoadLiveAsync(region, found.Manifest, cancellationToken);
        var cipher = await library.CipherAsync(manifest, region, cancellationToken);
        if (cipher is not null)
        {
            open.Add(cipher);
        }
        return new ContentDiskReader(library, region, manifest, cipher);
    }

    private async Task DownloadAsync(ImportUrl url, string path, Func<long, Task> progress, CancellationToken cancellationToken)
    {
        using var client = sources.NewClient();
        using var response = await sources.GetAsync(client, url.Http!, null, "source_url", cancellationToken);
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        var throttle = new Throttle(options.Value.MaxBytesPerSecondPerTask); // the source's link is shared too
        long paced = 0;
        await WriteSparseAsync(path, StreamPieces.ReadAsync(body, cancellationToken), async total =>
        {
            await throttle.WaitAsync((int)(total - paced), cancellationToken);
            paced = total;
            await progress(total);
        }, cancellationToken);
    }

    private static FileDiskReader OpenFile(string path, List<IDisposable> open)
    {
        var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, FileOptions.Asynchronous);
        open.Add(handle);
        return new FileDiskReader(handle);
    }

    private static async Task<DetectedFormat> DetectAsync(IDiskReader source, CancellationToken cancellationToken)
    {
        var head = new byte[(int)Math.Min(source.Length, DiskFormats.HeadBytes)];
        var tail = new byte[(int)Math.Min(source.Length, DiskFormats.TailBytes)];
        await source.ReadAsync(0, head, cancellationToken);
        await source.ReadAsync(source.Length - tail.Length, tail, cancellationToken);
        return DiskFormats.Detect(head, tail, source.Length);
    }

    /// <summary>Writes pieces to a new file, leaving all-zero megabytes as holes.</summary>
    private static async Task<long> WriteSparseAsync(string path, IAsyncEnumerable<ReadOnlyMemory<byte>> pieces, Func<long, Task> progress,
        CancellationToken cancellationToken)
    {
        using var file = File.OpenHandle(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, FileOptions.Asynchronous);
        long offset = 0;
        await foreach (var piece in pieces.WithCancellation(cancellationToken))
        {
            if (piece.Span.IndexOfAnyExcept((byte)0) >= 0)
            {
                await RandomAccess.WriteAsync(file, piece, offset, cancellationToken);
            }
            offset += piece.Length;
            await progress(offset);
        }
        RandomAccess.SetLength(file, offset);
        return offset;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Import {TaskId} disk {Disk}: {Bytes} bytes {How}, made ready in {Prepare:F1} s, stored in {Store:F1} s")]
    private partial void LogDisk(string taskId, int disk, long bytes, string how, double prepare, double store);

    [LoggerMessage(Level = LogLevel.Information, Message = "Import {TaskId} disk {Disk}: the QCOW2 has {What}, so qemu-img converts it")]
    private partial void LogQemuOnly(string taskId, int disk, string what);

    /// <summary>Holds each disk's content for the image and its snapshots, then asks the catalog to complete the image in one call.</summary>
    public async Task HandOverAsync(TaskContext<ImportPlan> context)
    {
        var plan = context.Plan;
        for (var i = 0; i < plan.Disks.Count; i++)
        {
            await library.RetainAsync(plan.Region, plan.Disks[i].Manifest, plan.DestinationId);
            await library.RetainAsync(plan.Region, plan.Disks[i].Manifest, ResourceIds.ImageSnapshot(plan.DestinationId, i));
        }
        await catalog.CompletePendingAsync(context, plan.DestinationId, plan.Disks.Select(d => new DiskContent
        {
            DiskType = (DiskType)d.DiskType, Device = d.Device, SizeGib = d.SizeGib, ManifestId = d.Manifest, ContentBytes = d.ContentBytes,
        }));
    }

    /// <summary>Undo: the write sessions of disks not finished are aborted.</summary>
    public async Task AbortSessionsAsync(TaskContext<ImportPlan> context)
    {
        foreach (var disk in context.Plan.Disks.Where(d => d.Session.Length > 0 && !d.Done))
        {
            await library.AbortSessionAsync(context.Plan.Region, disk.Session);
        }
    }

    /// <summary>Let go: the content the task held (the objects it read, its finished disks) and its scratch files.</summary>
    public async Task ReleaseAsync(TaskContext<ImportPlan> context)
    {
        scratch.Clear(context.Task.TaskId);
        await library.ReleaseHolderAsync(context.Plan.Region, context.Task.TaskId);
    }
}
