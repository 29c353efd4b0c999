using System.Diagnostics;
using System.Text.Json;
using Google.Protobuf;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.Testing;
using StackExchange.Redis;

namespace GrpcImages.Bench;

/// <summary>Memory while content streams: a real cluster in this process, content of growing size written and read back.</summary>
public static class Benchmarks
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static async Task<int> RunAsync(string[] args)
    {
        var logging = new Dictionary<string, string?> { ["Logging:LogLevel:Default"] = "Error", ["Logging:LogLevel:Microsoft.Extensions.Diagnostics.HealthChecks"] = "Critical" };
        Console.WriteLine("Starting the cluster (redis-server + 4 services in this process) ...");
        await using var cluster = await TestCluster.StartAsync(logging);
        var results = new Dictionary<string, object> { ["content_stream_memory"] = await StreamingMemoryAsync(cluster) };
        Directory.CreateDirectory("bench/results");
        var file = Path.Combine("bench/results", $"memory-{DateTime.UtcNow:yyyyMMddTHHmmss}.json");
        await File.WriteAllTextAsync(file, JsonSerializer.Serialize(results, Indented));
        Console.WriteLine($"Results in {file}");
        return 0;
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
}
