using System.Diagnostics;
using System.Text.Json;
using Google.Protobuf;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.Testing;
using StackExchange.Redis;

namespace GrpcImages.Bench;

/// <summary>Starts a real cluster in this process and measures it; the load comes from a child process.</summary>
public static class Benchmarks
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static async Task<int> RunAsync(string[] args)
    {
        var seconds = Option(args, "--seconds", 10.0);
        var callers = (int)Option(args, "--callers", 64.0);
        var logging = new Dictionary<string, string?> { ["Logging:LogLevel:Default"] = "Error", ["Logging:LogLevel:Microsoft.Extensions.Diagnostics.HealthChecks"] = "Critical" };
        Console.WriteLine($"Starting the cluster (redis-server + 4 services) ... {Environment.ProcessorCount} cores, load from {(H2Load.Available ? "h2load" : "a .NET client process")}");
        await using var cluster = await TestCluster.StartAsync(logging);
        var account = await cluster.NewAccountAsync();
        var images = account.Client<ImageService.ImageServiceClient>();
        var instances = account.Client<InstanceService.InstanceServiceClient>();
        var instance = (await instances.CreateInstanceAsync(new CreateInstanceRequest { RegionId = "cn-hangzhou", ImageId = "ubuntu_22_04_x64_20G_alibase_20240101.vhd" })).Instance;
        var image = (await images.CreateImageAsync(new CreateImageRequest { RegionId = "cn-hangzhou", InstanceId = instance.InstanceId, ImageName = "bench-image" })).Image;
        while ((await images.GetImageAsync(new GetImageRequest { RegionId = "cn-hangzhou", ImageId = image.ImageId })).Image.Status != ImageStatus.Available)
        {
            await Task.Delay(50);
        }
        image = (await images.GetImageAsync(new GetImageRequest { RegionId = "cn-hangzhou", ImageId = image.ImageId })).Image;

        await using var redis = await ConnectionMultiplexer.ConnectAsync(cluster.Redis.ConnectionString);
        await redis.GetDatabase().StringSetAsync(BaselineServer.Key, image.ToByteArray());
        var baselinePort = RedisServer.FreePort();
        await using var baseline = await BaselineServer.StartAsync(cluster.Redis.ConnectionString, baselinePort);

        // For profiling by hand: write where the cluster is, then wait two minutes before measuring.
        if (Environment.GetEnvironmentVariable("BENCH_PAUSE") is { } pause)
        {
            await File.WriteAllTextAsync(pause, $"{cluster.Port(ServiceKind.Catalog)} {baselinePort} {account.Token} {image.ImageId}");
            await Task.Delay(TimeSpan.FromSeconds(120));
        }
        // A second account the image is shared with: its GetImage asks the sharing service (one Redis read there).
        var recipient = await cluster.NewAccountAsync();
        await account.Client<GrpcImages.Contracts.Sharing.V1.SharingService.SharingServiceClient>().ModifyImageSharePermissionAsync(
            new GrpcImages.Contracts.Sharing.V1.ModifyImageSharePermissionRequest { RegionId = "cn-hangzhou", ImageId = image.ImageId, AddAccountIds = { recipient.AccountId } });

        var results = new Dictionary<string, object>();
        var catalog = $"http://127.0.0.1:{cluster.Port(ServiceKind.Catalog)}";
        var baselineResult = Load($"http://127.0.0.1:{baselinePort}", "-", image.ImageId, callers, seconds);
        var getImage = Load(catalog, account.Token, image.ImageId, callers, seconds);
        var getShared = Load(catalog, recipient.Token, image.ImageId, callers, seconds);
        results["baseline_grpc_plus_one_redis_get"] = baselineResult;
        results["get_image_own_custom_image"] = getImage;
        results["get_image_shared_with_caller"] = getShared;
        Console.WriteLine($"{"scenario",-34} {"calls/s",10} {"mean µs",9} {"p99 µs",9} {"errors",7}");
        foreach (var (name, r) in new[] { ("gRPC + one Redis GET (baseline)", baselineResult), ("GetImage (full stack)", getImage), ("GetImage of a shared image", getShared) })
        {
            Console.WriteLine($"{name,-34} {r.CallsPerSecond,10:F0} {r.MeanMicros,9:F0} {(r.P99Micros > 0 ? r.P99Micros.ToString("F0") : "-"),9} {r.Errors,7}");
        }
        Console.WriteLine($"GetImage reaches {getImage.CallsPerSecond / baselineResult.CallsPerSecond:P0} of the baseline at {callers} callers.");

        results["content_stream_memory"] = await StreamingMemoryAsync(cluster);

        Directory.CreateDirectory("bench/results");
        var file = Path.Combine("bench/results", $"bench-{DateTime.UtcNow:yyyyMMddTHHmmss}.json");
        await File.WriteAllTextAsync(file, JsonSerializer.Serialize(results, Indented));
        Console.WriteLine($"Results in {file}");
        return 0;
    }

    private static LoadGenerator.Result Load(string address, string token, string imageId, int callers, double seconds) =>
        H2Load.Available ? H2Load.Run(address, token, "cn-hangzhou", imageId, callers, seconds) : DotnetLoad(address, token, imageId, callers, seconds);

    private static LoadGenerator.Result DotnetLoad(string address, string token, string imageId, int callers, double seconds)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in new[] { typeof(Benchmarks).Assembly.Location, "load", address, token, "cn-hangzhou", imageId, callers.ToString(), seconds.ToString() })
        {
            start.ArgumentList.Add(a);
        }
        start.Environment["DOTNET_gcServer"] = "0";
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return JsonSerializer.Deserialize<LoadGenerator.Result>(output.Trim().Split('\n')[^1])!;
    }

    /// <summary>Writes and reads back content of growing size through ContentService and records the managed heap's peak growth.</summary>
    private static async Task<object> StreamingMemoryAsync(TestCluster cluster)
    {
        var content = cluster.Client<ContentService.ContentServiceClient>(cluster.ServiceToken());
        var rows = new List<object>();
        Console.WriteLine($"{"content size",-14} {"write MiB/s",11} {"read MiB/s",11} {"peak heap growth MiB",21}");
        foreach (var mib in new[] { 64, 256, 1024 })
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            var before = GC.GetTotalMemory(true);
            long peak = 0;
            using var sampling = new CancellationTokenSource();
            var sampler = Task.Run(async () =>
            {
                while (!sampling.IsCancellationRequested)
                {
                    peak = Math.Max(peak, GC.GetTotalMemory(false) - before);
                    await Task.Delay(5);
                }
            });

            var block = new byte[1 << 20];
            var write = Stopwatch.StartNew();
            using (var call = content.WriteContent())
            {
                await call.RequestStream.WriteAsync(new WriteContentRequest { Header = new WriteContentHeader { RegionId = "cn-hangzhou", SizeBytes = (long)mib << 20, HolderId = $"bench-{mib}" } });
                for (var i = 0; i < mib; i++)
                {
                    Random.Shared.NextBytes(block);
                    await call.RequestStream.WriteAsync(new WriteContentRequest { Data = ByteString.CopyFrom(block) });
                }
                await call.RequestStream.CompleteAsync();
                var written = (await call).Content;
                write.Stop();
                var read = Stopwatch.StartNew();
                using var reader = content.ReadContent(new ReadContentRequest { RegionId = "cn-hangzhou", ManifestId = written.ManifestId });
                long bytes = 0;
                while (await reader.ResponseStream.MoveNext(CancellationToken.None))
                {
                    bytes += reader.ResponseStream.Current.Data.Length;
                }
                read.Stop();
                await sampling.CancelAsync();
                await sampler;
                var row = new { mib, write_mib_per_s = mib / write.Elapsed.TotalSeconds, read_mib_per_s = bytes / 1048576.0 / read.Elapsed.TotalSeconds, peak_heap_growth_mib = peak / 1048576.0 };
                rows.Add(row);
                Console.WriteLine($"{mib + " MiB",-14} {row.write_mib_per_s,11:F0} {row.read_mib_per_s,11:F0} {row.peak_heap_growth_mib,21:F1}");
            }
        }
        return rows;
    }

    private static double Option(string[] args, string name, double fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? double.Parse(args[i + 1]) : fallback;
    }
}
