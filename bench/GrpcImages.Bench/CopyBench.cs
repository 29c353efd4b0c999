using System.Diagnostics;
using System.Text.Json;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.Testing;
using static GrpcImages.Bench.BenchTools;
using TaskStatus = GrpcImages.Contracts.Transfer.V1.TaskStatus;

namespace GrpcImages.Bench;

/// <summary>
/// Copies between regions against honest floors, in one run, alternating the two sides of each pair
/// (disk writes here are noisy, so medians of several pairs are compared):
/// <list type="number">
/// <item>a full cross-region copy of an image of random bytes against <c>cp</c> + <c>sync</c> of the same bytes;</item>
/// <item>a copy of an image sharing 90% of its chunks with one already in the destination against its full copy;</item>
/// <item>the transfer process's peak resident memory during copies of two sizes (it must not grow with the size).</item>
/// </list>
/// The transfer service runs in a process of its own (as deployed), serving both regions from one
/// data directory; the catalog and the rest of the cluster run in this process.
/// </summary>
public static class CopyBench
{
    private const string From = "cn-hangzhou";
    private const string To = "cn-shanghai";
    private const string Elsewhere = "ap-northeast-1";
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static async Task<int> RunAsync(string[] args)
    {
        var mib = (int)Option(args, "--mib", 2048);
        var pairs = (int)Option(args, "--pairs", 5);
        var smallMib = (int)Option(args, "--small-mib", 512);
        var betweenInstances = args.Contains("--between-instances");
        Console.WriteLine($"Copy benchmark: {mib} MiB image, {pairs} alternating pairs, {Environment.ProcessorCount} cores, "
            + (betweenInstances ? "source and destination regions in two transfer processes with separate stores" : "one transfer process serving both regions"));
        await using var cluster = await TestCluster.StartAsync(new Dictionary<string, string?>
        {
            ["Regions:0:Id"] = From,
            ["Regions:1:Id"] = To,
            ["Regions:2:Id"] = Elsewhere,
            ["Logging:LogLevel:Default"] = "Error",
            ["Logging:LogLevel:GrpcImages"] = "Warning",
            ["Blobs:GcGraceSeconds"] = "0",
        }, [ServiceKind.Kms, ServiceKind.Sharing]);
        // The transfer processes and the catalog each need the others' addresses when they start: the processes get ports picked now.
        var transferPort = RedisServer.FreePort();
        cluster.SetSetting("Peers:Transfer", $"http://127.0.0.1:{transferPort}");
        var destination = new Destination(cluster, transferPort, []);
        if (betweenInstances)
        {
            var destinationData = Directory.CreateTempSubdirectory("gi-bench-destination-").FullName;
            destination = new Destination(cluster, RedisServer.FreePort(), new Dictionary<string, string?>
            {
                ["Transfer:Regions:0"] = To,
                ["Transfer:Regions:1"] = Elsewhere,
                ["Data:Directory"] = destinationData,
            });
            cluster.SetSetting($"Peers:TransferByRegion:{To}", $"http://127.0.0.1:{destination.Port}");
            cluster.SetSetting($"Peers:TransferByRegion:{Elsewhere}", $"http://127.0.0.1:{destination.Port}");
        }
        var catalog = await cluster.StartReplicaAsync(ServiceKind.Catalog);
        if (betweenInstances)
        {
            await cluster.StartProcessAsync(ServiceKind.Transfer, new Dictionary<string, string?> { ["Transfer:Regions:0"] = From }, primary: true, port: transferPort);
        }
        await destination.StartAsync();
        await cluster.WaitUntilServingAsync(catalog);
        var account = await cluster.NewAccountAsync();
        try
        {
            return await MeasureAsync(cluster, destination, account, mib, pairs, smallMib);
        }
        catch
        {
            foreach (var line in cluster.Logs.Recent.TakeLast(40))
            {
                Console.Error.WriteLine(line);
            }
            throw;
        }
    }

    private static async Task<int> MeasureAsync(TestCluster cluster, Destination transfer, TestAccount account, int mib, int pairs, int smallMib)
    {
        var chunks = mib / 4;
        var smallChunks = smallMib / 4;
        var results = new Dictionary<string, object>();

        // Every image is written first; a fresh transfer process then copies them, so what it measures is the copies alone.
        Console.WriteLine($"Writing images of random bytes ({mib} MiB, one sharing 90% of its chunks with it, {smallMib} MiB) ...");
        var seeds = Enumerable.Range(1, chunks).ToList();
        var big = await cluster.NewImageWithChunksAsync(account, From, seeds);
        var changed = await cluster.NewImageWithChunksAsync(account, From, seeds.Select((s, i) => i < chunks * 9 / 10 ? s : s + 500_000).ToList());
        var smallImage = await cluster.NewImageWithChunksAsync(account, From, Enumerable.Range(200_000, smallChunks).ToList());
        var file = Path.Combine(cluster.DataDirectory, "random.bin");
        await WriteFileAsync(file, seeds);
        transfer.Process?.Kill();
        Run("sync"); // what the writes left in the page cache reaches the disk before anything is timed
        await transfer.StartAsync();

        // 1. Peak resident memory of the transfer process: flat in the image's size (the small copy runs first, on the fresh process).
        var smallPeak = (await TimedCopyAsync(cluster, account, transfer, smallImage.ImageId, To)).PeakRssMib;

        // 2. Full copy against cp + sync of the same bytes.
        var copyTimes = new List<double>();
        var cpTimes = new List<double>();
        var peaks = new List<double>();
        for (var pair = 0; pair < pairs; pair++)
        {
            var (seconds, peak) = await TimedCopyAsync(cluster, account, transfer, big.ImageId, To);
            copyTimes.Add(seconds);
            peaks.Add(peak);
            cpTimes.Add(CpSync(file, Path.Combine(cluster.DataDirectory, "random.copy")));
            Console.WriteLine($"  pair {pair + 1}: copy {seconds:F2} s (peak RSS {peak:F0} MiB), cp + sync {cpTimes[^1]:F2} s");
        }
        var copyMedian = Median(copyTimes);
        var cpMedian = Median(cpTimes);
        results["full_copy"] = new { mib, pairs, copy_seconds = copyTimes, cp_sync_seconds = cpTimes, copy_median = copyMedian, cp_sync_median = cpMedian, ratio = copyMedian / cpMedian };
        Console.WriteLine($"Full copy of {mib} MiB: median {copyMedian:F2} s against cp + sync {cpMedian:F2} s: {copyMedian / cpMedian:F2}x (goal at most 1.4x)");
        results["transfer_peak_rss_mib"] = new { small_mib = smallMib, small = smallPeak, large_mib = mib, large = peaks.Max() };
        Console.WriteLine($"Transfer process peak RSS: {smallPeak:F0} MiB copying {smallMib} MiB, {peaks.Max():F0} MiB copying {mib} MiB (goal under 300 MiB, flat)");

        // 3. A copy sharing 90% of its chunks with an image already in the destination, against its full copy.
        await TimedCopyAsync(cluster, account, transfer, big.ImageId, To, keep: true); // the 90% now in the destination
        var dedupTimes = new List<double>();
        var fullTimes = new List<double>();
        for (var pair = 0; pair < pairs; pair++)
        {
            dedupTimes.Add((await TimedCopyAsync(cluster, account, transfer, changed.ImageId, To)).Seconds);
            fullTimes.Add((await TimedCopyAsync(cluster, account, transfer, changed.ImageId, Elsewhere)).Seconds);
            Console.WriteLine($"  pair {pair + 1}: 90% in place {dedupTimes[^1]:F2} s, full {fullTimes[^1]:F2} s");
        }
        var speedup = Median(fullTimes) / Median(dedupTimes);
        results["dedup_copy"] = new { mib, shared_percent = 90, dedup_seconds = dedupTimes, full_seconds = fullTimes, speedup };
        Console.WriteLine($"Copy of {mib} MiB sharing 90% with the destination: {speedup:F1}x faster than its full copy (goal at least 5x)");

        Directory.CreateDirectory("bench/results");
        var output = Path.Combine("bench/results", $"copy-{DateTime.UtcNow:yyyyMMddTHHmmss}.json");
        await File.WriteAllTextAsync(output, JsonSerializer.Serialize(results, Indented));
        Console.WriteLine($"Results in {output}");
        return 0;
    }

    /// <summary>Copies an image and waits for the task; records the time and the transfer process's peak RSS meanwhile. The copy is then deleted and collected (unless kept).</summary>
    private static async Task<(double Seconds, double PeakRssMib)> TimedCopyAsync(TestCluster cluster, TestAccount account, Destination transfer, string imageId,
        string destination, bool keep = false)
    {
        var transfers = account.Client<TransferService.TransferServiceClient>();
        var memory = new PeakMemory(transfer.Process!.Pid);
        var clock = Stopwatch.StartNew();
        var copy = await transfers.CopyImageAsync(new CopyImageRequest { RegionId = From, ImageId = imageId, DestinationRegionId = destination });
        await FinishedAsync(account, copy.Task.TaskId);
        var seconds = clock.Elapsed.TotalSeconds;
        await memory.DisposeAsync();
        if (!keep)
        {
            await DeleteImageAsync(cluster, account, transfer.Port, destination, copy.ImageId);
        }
        return (seconds, memory.Peak);
    }


    private static async Task WriteFileAsync(string path, IReadOnlyList<int> seeds)
    {
        var chunk = new byte[ContentImages.ChunkBytes];
        await using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20, FileOptions.Asynchronous);
        foreach (var seed in seeds)
        {
            ContentImages.Fill(seed, chunk);
            await file.WriteAsync(chunk);
        }
        file.Flush(flushToDisk: true);
    }

    /// <summary>cp of the file, then sync: the floor a copy of the same bytes to the same disk can reach.</summary>
    private static double CpSync(string source, string destination)
    {
        File.Delete(destination);
        Run("sync");
        var clock = Stopwatch.StartNew();
        Run("cp", source, destination);
        Run("sync");
        var seconds = clock.Elapsed.TotalSeconds;
        File.Delete(destination);
        return seconds;
    }





    /// <summary>The transfer process that serves the destination regions (and is measured), restartable on its port.</summary>
    private sealed class Destination(TestCluster cluster, int port, Dictionary<string, string?> overrides)
    {
        public int Port => port;

        public ServiceProcess? Process { get; private set; }

        public async Task StartAsync() =>
            Process = await cluster.StartProcessAsync(ServiceKind.Transfer, overrides, primary: overrides.Count == 0, port: port);
    }
}
