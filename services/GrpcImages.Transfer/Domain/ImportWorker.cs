using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.ServiceDefaults.Errors;
using GrpcImages.ServiceDefaults.Peers;
using GrpcImages.Transfer.Content;
using GrpcImages.Transfer.Storage;
using Microsoft.Extensions.Options;

namespace GrpcImages.Transfer.Domain;

/// <summary>
/// Runs the import tasks of a region's import queue (R24-R28), at most N at once across every replica.
/// Each disk is fetched into a scratch file (an object of the store, or an http(s) source through the
/// checked client), its format detected again from what arrived (the source may have changed since the
/// request), converted to raw by qemu-img when it is not raw, and stored as content. Scratch files are
/// removed whatever the ending; a resumed disk skips the chunks its write session stored.
/// </summary>
public sealed partial class ImportWorker(
    TaskStore store,
    TaskQueues queues,
    ImportSources sources,
    ObjectIndex objects,
    ContentFiles files,
    ContentLibrary library,
    QemuImg qemu,
    Scratch scratch,
    PeerClient<ImageControlService.ImageControlServiceClient> catalogPeer,
    IOptions<TransferOptions> options,
    TimeProvider time,
    ILogger<ImportWorker> logger) : TaskWorker(store, queues, catalogPeer, options, time, logger)
{
    private const long Gib = 1L << 30;

    // Each disk's share of progress: fetching its file, converting it, storing it.
    private const double Fetched = 0.5;
    private const double Converted = 0.6;

    protected override async Task RunAsync(TaskRun run, CancellationToken cancellationToken)
    {
        var plan = run.Plan;
        scratch.Clear(run.Task.TaskId); // what a predecessor on this machine left
        for (var d = 0; d < plan.Disks.Count; d++)
        {
            var disk = plan.Disks[d];
            if (disk.Manifest.Length > 0)
            {
                continue;
            }
            var before = plan.Disks.Take(d).Sum(x => x.StoredBytes);
            Task Report(double fraction) => run.ReportAsync(before + (long)(fraction * disk.StoredBytes), 0, force: false);
            var source = scratch.PathOf(run.Task.TaskId, $"{d}.src");
            var raw = scratch.PathOf(run.Task.TaskId, $"{d}.raw");
            var clock = System.Diagnostics.Stopwatch.StartNew();
            try
            {
                var fetched = await FetchAsync(run, disk, source, bytes => Report(Fetched * bytes / Math.Max(1, disk.StoredBytes)), cancellationToken);
                var fetchTime = clock.Elapsed;
                var detected = await DetectAsync(source, fetched);
                DiskFormats.RequireDeclared((DiskImageFormat)disk.Format, detected);
                if (detected.Format == DiskImageFormat.Raw)
                {
                    raw = source;
                }
                else
                {
                    detected = detected with { VirtualSize = await qemu.VirtualSizeAsync(source, detected.Format, cancellationToken) };
                    await qemu.ConvertAsync(source, detected.Format, raw, DiskImageFormat.Raw,
                        fraction => Report(Fetched + (Converted - Fetched) * fraction), cancellationToken);
                    File.Delete(source);
                }
                var convertTime = clock.Elapsed - fetchTime;
                var neededGib = Math.Max(1, (detected.VirtualSize + Gib - 1) / Gib);
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
                var stored = await files.StoreAsync(plan.DestinationRegion, raw, sizeBytes, run.Task.TaskId, disk.Session,
                    bytes => Report(Converted + (1 - Converted) * bytes / Math.Max(1, Math.Min(sizeBytes, detected.VirtualSize))), cancellationToken);
                disk.Manifest = stored.ManifestId;
                disk.ContentBytes = detected.VirtualSize;
                LogDisk(run.Task.TaskId, d, fetched, fetchTime.TotalSeconds, detected.Format, convertTime.TotalSeconds, (clock.Elapsed - fetchTime - convertTime).TotalSeconds);
                await run.ReportAsync(before + disk.StoredBytes, 0, force: true, savePlan: true);
            }
            finally
            {
                File.Delete(source);
                File.Delete(raw);
            }
        }
    }

    protected override async Task CompleteAsync(TaskRun run)
    {
        var plan = run.Plan;
        var request = new CompletePendingRequest { ResourceId = plan.DestinationId, TaskId = run.Task.TaskId, Fence = run.Lease.Fence };
        request.Disks.AddRange(plan.Disks.Select(d => new DiskContent
        {
            DiskType = (DiskType)d.DiskType, Device = d.Device, SizeGib = d.SizeGib, ManifestId = d.Manifest, ContentBytes = d.ContentBytes,
        }));
        await Catalog.CompletePendingAsync(request);
        await library.ReleaseHolderAsync(plan.DestinationRegion, run.Task.TaskId);
        scratch.Clear(run.Task.TaskId);
        await run.FinishAsync();
    }

    protected override async Task EndAsync(TaskRun run, TaskStatus status, TaskError? failure)
    {
        var plan = run.Plan;
        scratch.Clear(run.Task.TaskId);
        foreach (var disk in plan.Disks.Where(d => d.Session.Length > 0 && d.Manifest.Length == 0))
        {
            await library.AbortSessionAsync(plan.DestinationRegion, disk.Session);
        }
        await library.ReleaseHolderAsync(plan.DestinationRegion, run.Task.TaskId);
        await run.FailPendingAsync(status, failure);
        await run.EndAsync(status, failure);
    }

    /// <summary>Copies the disk's source into a scratch file; returns its length.</summary>
    private async Task<long> FetchAsync(TaskRun run, DiskPlan disk, string path, Func<long, Task> progress, CancellationToken cancellationToken)
    {
        var url = sources.Parse(disk.SourceUrl, "source_url");
        if (url.IsObject)
        {
            var (bucket, found) = await objects.GetObjectAsync(run.Plan.DestinationRegion, url.Bucket!, url.ObjectName!);
            if (bucket is null || (bucket.Owner != run.Task.OwnerAccountId && bucket.Acl != BucketAcl.PublicRead))
            {
                throw ObjectStore.BucketNotFound(url.Bucket!);
            }
            if (found is null || found.Size == 0)
            {
                throw found is null ? ObjectStore.ObjectNotFound(url.Bucket!, url.ObjectName!) : Fault.InvalidArgument("InvalidOSSObject.Size", "source_url", "The object is empty.");
            }
            await files.WriteFileAsync(run.Plan.DestinationRegion, found.Manifest, path, found.Size, progress, cancellationToken);
            return found.Size;
        }
        using var client = sources.NewClient();
        using var response = await sources.GetAsync(client, url.Http!, null, "source_url", cancellationToken);
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        return await WriteSparseAsync(path, StreamPieces.ReadAsync(body, cancellationToken), progress, cancellationToken);
    }

    private static async Task<DetectedFormat> DetectAsync(string path, long length)
    {
        using var file = File.OpenHandle(path);
        var head = new byte[(int)Math.Min(length, DiskFormats.HeadBytes)];
        var tail = new byte[(int)Math.Min(length, DiskFormats.TailBytes)];
        await RandomAccess.ReadAsync(file, head, 0);
        await RandomAccess.ReadAsync(file, tail, length - tail.Length);
        return DiskFormats.Detect(head, tail, length);
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

    [LoggerMessage(Level = LogLevel.Information, Message = "Import {TaskId} disk {Disk}: fetched {Bytes} bytes in {Fetch:F1} s, converted from {Format} in {Convert:F1} s, stored in {Store:F1} s")]
    private partial void LogDisk(string taskId, int disk, long bytes, double fetch, DiskImageFormat format, double convert, double store);
}


/// <summary>Scratch files of tasks under "&lt;Data:Directory&gt;/scratch", named by task (so what a dead worker left is found and removed).</summary>
public sealed class Scratch(IConfiguration configuration)
{
    private readonly string _directory = Path.Combine(Path.GetFullPath(configuration["Data:Directory"] ?? "."), "scratch");

    public string PathOf(string taskId, string name)
    {
        Directory.CreateDirectory(_directory);
        return Path.Combine(_directory, $"{taskId}.{name}");
    }

    public void Clear(string taskId)
    {
        if (Directory.Exists(_directory))
        {
            foreach (var file in Directory.EnumerateFiles(_directory, $"{taskId}.*"))
            {
                File.Delete(file);
            }
        }
    }
}
