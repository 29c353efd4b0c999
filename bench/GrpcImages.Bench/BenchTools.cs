using System.Diagnostics;
using System.Globalization;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.Testing;
using TaskStatus = GrpcImages.Contracts.Transfer.V1.TaskStatus;

namespace GrpcImages.Bench;

/// <summary>What the benchmarks share: options, medians, commands run as a user would, and a process's resident memory.</summary>
public static class BenchTools
{
    public static double Option(string[] args, string name, double fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? double.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
    }

    public static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    /// <summary>Runs a command to its end (failing when it fails).</summary>
    public static void Run(string command, params string[] args)
    {
        var start = new ProcessStartInfo(command) { UseShellExecute = false };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        using var process = Process.Start(start)!;
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{command} {string.Join(' ', args)} exited with {process.ExitCode}.");
        }
    }

    /// <summary>Seconds a command takes, followed by sync (what it wrote on disk, as our side's fsyncs ensure).</summary>
    public static double Timed(string command, params string[] args)
    {
        Run("sync");
        var clock = Stopwatch.StartNew();
        Run(command, args);
        Run("sync");
        return clock.Elapsed.TotalSeconds;
    }

    /// <summary>Polls a task every 10 ms until it ends; throws unless it Finished.</summary>
    public static async Task<TransferTask> FinishedAsync(TestAccount account, string taskId)
    {
        var tasks = account.Client<TaskService.TaskServiceClient>();
        while (true)
        {
            var task = (await tasks.GetTaskAsync(new GetTaskRequest { TaskId = taskId })).Task;
            if (task.Status is TaskStatus.Finished)
            {
                return task;
            }
            if (task.Status is TaskStatus.Failed or TaskStatus.Cancelled)
            {
                throw new InvalidOperationException($"The task ended {task.Status}: {task.Error}");
            }
            await Task.Delay(10);
        }
    }

    /// <summary>Deletes an image and its unused snapshots and collects the region's garbage, so the next run finds nothing in place.</summary>
    public static async Task DeleteImageAsync(TestCluster cluster, TestAccount account, int transferPort, string region, string imageId)
    {
        await account.Client<ImageService.ImageServiceClient>().DeleteImageAsync(new DeleteImageRequest { RegionId = region, ImageId = imageId });
        var snapshots = account.Client<SnapshotService.SnapshotServiceClient>();
        var page = await snapshots.ListSnapshotsAsync(new ListSnapshotsRequest { RegionId = region, PageSize = 100 });
        foreach (var snapshot in page.Snapshots.Where(s => s.ImageIds.Count == 0))
        {
            await snapshots.DeleteSnapshotAsync(new DeleteSnapshotRequest { RegionId = region, SnapshotId = snapshot.SnapshotId });
        }
        var content = new ContentService.ContentServiceClient(cluster.Invoker(transferPort, cluster.ServiceToken()));
        await content.CollectGarbageAsync(new CollectGarbageRequest { RegionId = region });
    }

    /// <summary>The process's resident memory now (VmRSS), in MiB.</summary>
    public static double ResidentMib(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
                }
            }
        }
        catch (IOException)
        {
        }
        return 0;
    }

    /// <summary>The CPU time (user + system) a process has used so far, in seconds.</summary>
    public static double CpuSeconds(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0; // clock ticks of 10 ms
    }

    /// <summary>Samples a process's resident memory every 20 ms until disposed; Peak is the highest seen.</summary>
    public sealed class PeakMemory : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _sampler;

        public PeakMemory(int pid) => _sampler = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                Peak = Math.Max(Peak, ResidentMib(pid));
                await Task.Delay(20);
            }
        });

        public double Peak { get; private set; }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _sampler;
            _stop.Dispose();
        }
    }
}
