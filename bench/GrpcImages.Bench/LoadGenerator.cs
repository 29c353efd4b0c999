using System.Diagnostics;
using System.Text.Json;
using Grpc.Core;
using Grpc.Net.Client;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Sharing.V1;

namespace GrpcImages.Bench;

/// <summary>
/// The .NET client side, run as its own process so it does not share the server's runtime: N callers
/// each make one kind of call back to back for a fixed time over a few HTTP/2 connections. Used for
/// the calls h2load cannot make (each create needs its own name), and for their baseline.
/// </summary>
public static class LoadGenerator
{
    /// <summary>What a load run measured (latencies in microseconds).</summary>
    public sealed record Result(long Calls, long Errors, double Seconds, double CallsPerSecond, double MeanMicros, double P50Micros, double P99Micros);

    /// <summary>What a run calls: one scenario's addresses, token and ids.</summary>
    public sealed record Plan(string Scenario, string Address, string Token, string Region, string ImageId, string SnapshotId, string[] ImageIds, string RecipientId);

    // load <plan json file> <callers> <seconds> <warm-up seconds>
    public static async Task<int> RunAsync(string[] args)
    {
        var plan = JsonSerializer.Deserialize<Plan>(await File.ReadAllTextAsync(args[0]))!;
        var callers = int.Parse(args[1]);
        var seconds = double.Parse(args[2]);
        var warmup = double.Parse(args[3]);
        using var channel = GrpcChannel.ForAddress(plan.Address, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true },
        });
        var call = Call(plan, channel);

        await Run(call, callers, TimeSpan.FromSeconds(warmup), null);
        var samples = new List<long>[callers];
        var stopwatch = Stopwatch.StartNew();
        var (calls, errors) = await Run(call, callers, TimeSpan.FromSeconds(seconds), samples);
        var elapsed = stopwatch.Elapsed.TotalSeconds;

        var all = samples.SelectMany(s => s).Order().ToArray();
        double Micros(long ticks) => ticks * 1_000_000.0 / Stopwatch.Frequency;
        double Percentile(double p) => all.Length == 0 ? 0 : Micros(all[(int)Math.Min(all.Length - 1, p * all.Length)]);
        var mean = all.Length == 0 ? 0 : Micros((long)all.Average());
        Console.WriteLine(JsonSerializer.Serialize(new Result(calls, errors, elapsed, calls / elapsed, mean, Percentile(0.5), Percentile(0.99))));
        return 0;
    }

    private static Func<int, long, Task> Call(Plan plan, GrpcChannel channel)
    {
        var headers = plan.Token.Length == 0 ? null : new Metadata { { "authorization", $"Bearer {plan.Token}" } };
        var images = new ImageService.ImageServiceClient(channel);
        var sharing = new SharingService.SharingServiceClient(channel);
        var prefix = $"bench-{Environment.ProcessId}";
        long made = 0; // names stay unique across the warm-up and the measured run
        return plan.Scenario switch
        {
            "get_image" => async (_, _) => await images.GetImageAsync(new GetImageRequest { RegionId = plan.Region, ImageId = plan.ImageId }, headers),
            "create_image" => async (_, _) => await images.CreateImageAsync(new CreateImageRequest
            {
                RegionId = plan.Region,
                ImageName = $"{prefix}-{Interlocked.Increment(ref made)}",
                DiskDeviceMappings = { new DiskDeviceMappingSpec { SnapshotId = plan.SnapshotId } },
            }, headers),
            "share_add_remove" => async (caller, _) =>
            {
                var image = plan.ImageIds[caller % plan.ImageIds.Length];
                await sharing.ModifyImageSharePermissionAsync(new ModifyImageSharePermissionRequest { RegionId = plan.Region, ImageId = image, AddAccountIds = { plan.RecipientId } }, headers);
                await sharing.ModifyImageSharePermissionAsync(new ModifyImageSharePermissionRequest { RegionId = plan.Region, ImageId = image, RemoveAccountIds = { plan.RecipientId } }, headers);
            }
            ,
            _ => throw new ArgumentException($"unknown scenario {plan.Scenario}"),
        };
    }

    private static async Task<(long Calls, long Errors)> Run(Func<int, long, Task> call, int callers, TimeSpan duration, List<long>[]? samples)
    {
        long calls = 0, errors = 0;
        var end = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        await Task.WhenAll(Enumerable.Range(0, callers).Select(async caller =>
        {
            var mine = samples is null ? null : samples[caller] = new List<long>(1 << 16);
            long n = 0;
            while (Stopwatch.GetTimestamp() < end)
            {
                var start = Stopwatch.GetTimestamp();
                try
                {
                    await call(caller, n++);
                    Interlocked.Increment(ref calls);
                }
                catch (RpcException ex)
                {
                    if (Interlocked.Increment(ref errors) == 1)
                    {
                        await Console.Error.WriteLineAsync($"first error: {ex.StatusCode} {ex.Status.Detail}");
                    }
                }
                mine?.Add(Stopwatch.GetTimestamp() - start);
            }
        }));
        return (calls, errors);
    }
}
