using Google.Protobuf.WellKnownTypes;
using GrpcImages.Catalog.Storage;
using GrpcImages.Contracts.Catalog.V1;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace GrpcImages.Catalog.Domain;

/// <summary>
/// Runs the snapshots that make an image (R1) or stand alone, on whichever catalog replica takes
/// the job's lease first. Progress is written as it goes, so a replica that takes over a dead
/// one's job resumes where it stopped. The pace is <see cref="CatalogOptions.SnapshotBytesPerSecond"/>.
/// </summary>
public sealed class CreationJobs(IDatabase redis, CatalogStore store, IOptions<CatalogOptions> options, TimeProvider time, ILogger<CreationJobs> logger)
    : BackgroundService
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(10);

    private const string RenewScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
        return 0
        """;

    private const string FinishScript = """
        if redis.call('GET', KEYS[2]) == ARGV[2] then
          redis.call('DEL', KEYS[2])
          redis.call('ZREM', KEYS[1], ARGV[1])
        end
        return 1
        """;

    private readonly string _replica = Guid.NewGuid().ToString("N");
    private readonly HashSet<string> _running = [];
    private readonly CatalogOptions _options = options.Value;

    public static string ImageJob(string imageId) => $"img|{imageId}";

    public static string SnapshotJob(string snapshotId) => $"snap|{snapshotId}";

    public Task EnqueueAsync(string job) =>
        redis.SortedSetAddAsync(CatalogKeys.JobsDue, job, time.GetUtcNow().ToUnixTimeMilliseconds());

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(Math.Max(10, _options.JobPollMilliseconds)));
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                var due = await redis.SortedSetRangeByScoreAsync(CatalogKeys.JobsDue, double.NegativeInfinity,
                    time.GetUtcNow().ToUnixTimeMilliseconds(), take: 32);
                foreach (var job in due.Select(j => (string)j!))
                {
                    lock (_running)
                    {
                        if (_running.Contains(job))
                        {
                            continue;
                        }
                    }
                    if (await redis.StringSetAsync(CatalogKeys.JobLease(job), _replica, Lease, When.NotExists))
                    {
                        lock (_running)
                        {
                            _running.Add(job);
                        }
                        _ = RunAsync(job, stoppingToken);
                    }
                }
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                logger.LogWarning(ex, "Looking for creation jobs failed; will retry");
            }
        }
    }

    private async Task RunAsync(string job, CancellationToken stoppingToken)
    {
        using var renewal = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var renewing = RenewAsync(job, renewal.Token);
        try
        {
            var bar = job.IndexOf('|');
            var id = job[(bar + 1)..];
            if (job.StartsWith("img|", StringComparison.Ordinal))
            {
                await RunImageAsync(id, stoppingToken);
            }
            else
            {
                await RunSnapshotAsync(id, stoppingToken);
            }
            await redis.ScriptEvaluateAsync(FinishScript, [CatalogKeys.JobsDue, CatalogKeys.JobLease(job)], [job, _replica]);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The lease runs out and this or another replica tries again from the recorded progress.
            logger.LogWarning(ex, "Creation job {Job} failed; it will be retried", job);
        }
        finally
        {
            await renewal.CancelAsync();
            await renewing;
            lock (_running)
            {
                _running.Remove(job);
            }
        }
    }

    private async Task RenewAsync(string job, CancellationToken cancellationToken)
    {
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(Lease / 3, cancellationToken);
                await redis.ScriptEvaluateAsync(RenewScript, [CatalogKeys.JobLease(job)], [_replica, (long)Lease.TotalMilliseconds]);
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (RedisException ex)
        {
            logger.LogWarning(ex, "Renewing the lease of {Job} failed", job);
        }
    }

    /// <summary>Paces the image's unfinished snapshots together, then makes them accomplished and the image Available.</summary>
    private async Task RunImageAsync(string imageId, CancellationToken cancellationToken)
    {
        var pace = new Pace(_options.SnapshotBytesPerSecond, time);
        while (true)
        {
            var stored = await store.GetImageAsync("", imageId);
            if (stored is null || stored.Image.Status != ImageStatus.Creating)
            {
                return;
            }
            var snapshots = await store.GetSnapshotsAsync(stored.Image.DiskDeviceMappings.Select(m => m.SnapshotId).ToList());
            if (snapshots.Any(s => s is null))
            {
                throw new InvalidOperationException($"A snapshot of {imageId} is gone.");
            }
            var pending = snapshots.Where(s => s!.Snapshot.Status == SnapshotStatus.Progressing).Select(s => s!).ToList();
            var total = pending.Sum(s => s.Snapshot.SourceDiskSizeGib * ContentClient.GiB);
            var progress = pace.Progress(stored.Image.Progress, total);
            var finished = progress >= 100;

            var image = stored.Image.Clone();
            image.Progress = finished ? 100 : progress;
            image.Status = finished ? ImageStatus.Available : ImageStatus.Creating;
            image.UpdateTime = Timestamp.FromDateTimeOffset(time.GetUtcNow());
            var writes = new List<RecordWrite> { new(CatalogKeys.Image(image.RegionId, imageId), stored.Version, CatalogStore.ImageFields(image)) };
            foreach (var snapshot in pending)
            {
                var next = snapshot.Snapshot.Clone();
                next.ImageIds.Clear();
                next.Progress = image.Progress;
                next.Status = finished ? SnapshotStatus.Accomplished : SnapshotStatus.Progressing;
                writes.Add(new RecordWrite(CatalogKeys.Snapshot(next.SnapshotId), snapshot.Version, CatalogStore.SnapshotFields(next)));
            }
            if (await store.SaveAsync([.. writes]) && finished)
            {
                logger.LogInformation("Image {ImageId} is available", imageId);
                return;
            }
            await Task.Delay(_options.ProgressIntervalMilliseconds, cancellationToken);
        }
    }

    private async Task RunSnapshotAsync(string snapshotId, CancellationToken cancellationToken)
    {
        var pace = new Pace(_options.SnapshotBytesPerSecond, time);
        while (true)
        {
            var stored = await store.GetSnapshotAsync(snapshotId);
            if (stored is null || stored.Snapshot.Status != SnapshotStatus.Progressing)
            {
                return;
            }
            var progress = pace.Progress(stored.Snapshot.Progress, stored.Snapshot.SourceDiskSizeGib * ContentClient.GiB);
            var next = stored.Snapshot.Clone();
            next.ImageIds.Clear();
            next.Progress = Math.Min(progress, 100);
            next.Status = progress >= 100 ? SnapshotStatus.Accomplished : SnapshotStatus.Progressing;
            if (await store.SaveAsync(new RecordWrite(CatalogKeys.Snapshot(snapshotId), stored.Version, CatalogStore.SnapshotFields(next))) && progress >= 100)
            {
                return;
            }
            await Task.Delay(_options.ProgressIntervalMilliseconds, cancellationToken);
        }
    }

    /// <summary>
    /// Progress at a steady pace from where this run found it: the run's own elapsed time counts,
    /// so integer percentages never stall, and a run that takes over resumes from the recorded one.
    /// </summary>
    private sealed class Pace(long bytesPerSecond, TimeProvider time)
    {
        private readonly long _start = time.GetTimestamp();
        private int? _initial;

        public int Progress(int recorded, long totalBytes)
        {
            _initial ??= recorded;
            if (totalBytes <= 0)
            {
                return 100;
            }
            var done = totalBytes * (_initial.Value / 100.0) + bytesPerSecond * time.GetElapsedTime(_start).TotalSeconds;
            return done >= totalBytes ? 100 : Math.Max(recorded, Math.Min(99, (int)(done * 100 / totalBytes)));
        }
    }
}
