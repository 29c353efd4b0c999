using System.Diagnostics;
using System.Text.Json;
using Grpc.Health.V1;
using GrpcImages.Contracts.Common.V1;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.Testing;
using static GrpcImages.Bench.BenchTools;

namespace GrpcImages.Bench;

/// <summary>
/// The transfer service while it copies (R8, R20): with five copies running in one region, how long its
/// health check and a new CopyImage take (p50, p99); and how much longer a copy-and-encrypt takes than a
/// plain copy of the same image (alternating pairs). The transfer service runs in a process of its own.
/// </summary>
public static class CopyLoadBench
{
    private const string From = "cn-hangzhou";
    private const string To = "cn-shanghai";
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static async Task<int> RunAsync(string[] args)
    {
        var mib = (int)Option(args, "--mib", 512);
        var pairs = (int)Option(args, "--pairs", 3);
        var between = args.Contains("--between-instances");
        Console.WriteLine($"Copies under load: five {mib} MiB copy-and-encrypt tasks running, {pairs} encrypted/plain pairs, {Environment.ProcessorCount} cores, "
            + (between ? "the two regions in two transfer processes with separate stores" : "one transfer process serving both regions"));
        await using var cluster = await TestCluster.StartAsync(new Dictionary<string, string?>
        {
            ["Regions:0:Id"] = From,
            ["Regions:1:Id"] = To,
            ["Logging:LogLevel:Default"] = "Error",
            ["Logging:LogLevel:GrpcImages"] = "Warning",
            ["Blobs:GcGraceSeconds"] = "0",
        }, [ServiceKind.Kms, ServiceKind.Sharing]);
        // The processes and the catalog need each other's addresses when they start: ports are picked first.
        var sourcePort = RedisServer.FreePort();
        var transferPort = between ? RedisServer.FreePort() : sourcePort;
        cluster.SetSetting("Peers:Transfer", $"http://127.0.0.1:{sourcePort}");
        cluster.SetSetting($"Peers:TransferByRegion:{To}", $"http://127.0.0.1:{transferPort}");
        var destinationData = Directory.CreateDirectory(Path.Combine(cluster.DataDirectory, "destination")).FullName; // removed with the cluster
        var catalog = await cluster.StartReplicaAsync(ServiceKind.Catalog);
        if (between)
        {
            await cluster.StartProcessAsync(ServiceKind.Transfer, new Dictionary<string, string?> { ["Transfer:Regions:0"] = From }, primary: true, port: sourcePort);
        }
        // The measured process: the destination region's (both regions' when there is one).
        var transfer = await cluster.StartProcessAsync(ServiceKind.Transfer,
            between ? new Dictionary<string, string?> { ["Transfer:Regions:0"] = To, ["Data:Directory"] = destinationData } : null,
            primary: !between, port: transferPort);
        await cluster.WaitUntilServingAsync(catalog);
        var account = await cluster.NewAccountAsync();
        await account.Client<KeyService.KeyServiceClient>().EnableKmsAsync(new EnableKmsRequest { RegionId = To });

        Console.WriteLine($"Writing 6 images of {mib} MiB and 40 small ones ...");
        var chunks = mib / 4;
        var big = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            big.Add((await cluster.NewImageWithChunksAsync(account, From, Enumerable.Range(i * 100_000 + 1, chunks).ToList())).ImageId);
        }
        var small = new List<string>();
        for (var i = 0; i < 40; i++)
        {
            small.Add((await cluster.NewImageWithChunksAsync(account, From, [900_000 + i])).ImageId);
        }
        Run("sync");
        var transfers = account.Client<TransferService.TransferServiceClient>();
        var results = new Dictionary<string, object>();

        // 1. Copy-and-encrypt against a plain copy of the same image.
        var plain = new List<double>();
        var encrypted = new List<double>();
        for (var pair = 0; pair < pairs; pair++)
        {
            var cpu = CpuSeconds(transfer.Pid);
            plain.Add(await TimedCopyAsync(cluster, account, transferPort, big[0], null));
            var plainCpu = CpuSeconds(transfer.Pid) - cpu;
            cpu = CpuSeconds(transfer.Pid);
            encrypted.Add(await TimedCopyAsync(cluster, account, transferPort, big[0], new EncryptionSpec { Encrypted = true }));
            var encryptedCpu = CpuSeconds(transfer.Pid) - cpu;
            Console.WriteLine($"  pair {pair + 1}: plain {plain[^1]:F2} s ({plainCpu:F2} s CPU), encrypted {encrypted[^1]:F2} s ({encryptedCpu:F2} s CPU)");
        }
        var ratio = Median(encrypted) / Median(plain);
        results["encrypted_copy"] = new { mib, between_instances = between, plain_seconds = plain, encrypted_seconds = encrypted, ratio };
        Console.WriteLine($"Copy-and-encrypt of {mib} MiB: {ratio:F2}x a plain copy (goal at most 1.3x)");

        // 2. Health and CopyImage while five copies run (copies that encrypt: every chunk read, opened, sealed, hashed and written).
        var running = new List<string>();
        foreach (var image in big.Skip(1))
        {
            running.Add((await transfers.CopyImageAsync(new CopyImageRequest
            {
                RegionId = From, ImageId = image, DestinationRegionId = To, Encryption = new EncryptionSpec { Encrypted = true },
            })).Task.TaskId);
        }
        var health = new Health.HealthClient(cluster.Channel(transferPort));
        var healthTimes = new List<double>();
        var copyTimes = new List<double>();
        var next = 0;
        var probing = Stopwatch.StartNew();
        while (!await AllEndedAsync(account, running) && next < small.Count)
        {
            var clock = Stopwatch.StartNew();
            await health.CheckAsync(new HealthCheckRequest());
            healthTimes.Add(clock.Elapsed.TotalMilliseconds);
            if (probing.ElapsedMilliseconds > 500 * (copyTimes.Count + 1))
            {
                clock.Restart();
                var queued = await transfers.CopyImageAsync(new CopyImageRequest { RegionId = From, ImageId = small[next++], DestinationRegionId = To });
                copyTimes.Add(clock.Elapsed.TotalMilliseconds);
                await transfers.CancelCopyImageAsync(new CancelCopyImageRequest { RegionId = To, ImageId = queued.ImageId });
            }
            await Task.Delay(100);
        }
        results["under_load"] = new
        {
            running = running.Count,
            health_ms = new { samples = healthTimes.Count, p50 = Percentile(healthTimes, 50), p99 = Percentile(healthTimes, 99) },
            copy_image_ms = new { samples = copyTimes.Count, p50 = Percentile(copyTimes, 50), p99 = Percentile(copyTimes, 99) },
        };
        Console.WriteLine($"With {running.Count} copies running: health p50 {Percentile(healthTimes, 50):F1} ms, p99 {Percentile(healthTimes, 99):F1} ms "
            + $"({healthTimes.Count}); CopyImage p50 {Percentile(copyTimes, 50):F1} ms, p99 {Percentile(copyTimes, 99):F1} ms ({copyTimes.Count}) (goal p99 within 200 ms)");

        Directory.CreateDirectory("bench/results");
        var output = Path.Combine("bench/results", $"copy-load{(between ? "-between" : "")}-{DateTime.UtcNow:yyyyMMddTHHmmss}.json");
        await File.WriteAllTextAsync(output, JsonSerializer.Serialize(results, Indented));
        Console.WriteLine($"Results in {output}");
        return 0;
    }

    private static async Task<double> TimedCopyAsync(TestCluster cluster, TestAccount account, int transferPort, string imageId, EncryptionSpec? encryption)
    {
        var clock = Stopwatch.StartNew();
        var copy = await account.Client<TransferService.TransferServiceClient>().CopyImageAsync(new CopyImageRequest
        {
            RegionId = From, ImageId = imageId, DestinationRegionId = To, Encryption = encryption,
        });
        await FinishedAsync(account, copy.Task.TaskId);
        var seconds = clock.Elapsed.TotalSeconds;
        await DeleteImageAsync(cluster, account, transferPort, To, copy.ImageId);
        return seconds;
    }

    private static async Task<bool> AllEndedAsync(TestAccount account, IReadOnlyList<string> tasks)
    {
        var client = account.Client<TaskService.TaskServiceClient>();
        foreach (var id in tasks)
        {
            var task = (await client.GetTaskAsync(new GetTaskRequest { TaskId = id })).Task;
            if (task.Status is not (GrpcImages.Contracts.Transfer.V1.TaskStatus.Finished or GrpcImages.Contracts.Transfer.V1.TaskStatus.Failed))
            {
                return false;
            }
        }
        return true;
    }

    private static double Percentile(List<double> values, int percent)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }
        var sorted = values.Order().ToList();
        return sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(percent / 100.0 * sorted.Count) - 1)];
    }
}
