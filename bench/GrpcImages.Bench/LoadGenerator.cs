using System.Diagnostics;
using System.Text.Json;
using Grpc.Core;
using Grpc.Net.Client;
using GrpcImages.Contracts.Catalog.V1;

namespace GrpcImages.Bench;

/// <summary>
/// The client side, run as its own process so it does not share the server's runtime: N callers
/// each send GetImage back to back for a fixed time over a few HTTP/2 connections.
/// </summary>
public static class LoadGenerator
{
    /// <summary>What a load run measured; P99Micros is 0 when the driver does not report percentiles (h2load).</summary>
    public sealed record Result(long Calls, long Errors, double Seconds, double CallsPerSecond, double MeanMicros, double P99Micros);

    // load <address> <token or -> <region> <image id> <callers> <seconds>
    public static async Task<int> RunAsync(string[] args)
    {
        var (address, token, region, imageId) = (args[0], args[1], args[2], args[3]);
        var callers = int.Parse(args[4]);
        var seconds = double.Parse(args[5]);
        using var channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true },
        });
        var client = new ImageService.ImageServiceClient(channel);
        var headers = token == "-" ? null : new Metadata { { "authorization", $"Bearer {token}" } };
        var request = new GetImageRequest { RegionId = region, ImageId = imageId };

        await Run(client, headers, request, callers, TimeSpan.FromSeconds(Math.Min(3, seconds / 3)), null); // warm up
        var samples = new List<long>[callers];
        var stopwatch = Stopwatch.StartNew();
        var (calls, errors) = await Run(client, headers, request, callers, TimeSpan.FromSeconds(seconds), samples);
        var elapsed = stopwatch.Elapsed.TotalSeconds;

        var all = samples.SelectMany(s => s).Order().ToArray();
        double Percentile(double p) => all.Length == 0 ? 0 : all[(int)Math.Min(all.Length - 1, p * all.Length)] * 1_000_000.0 / Stopwatch.Frequency;
        var mean = all.Length == 0 ? 0 : all.Average() * 1_000_000.0 / Stopwatch.Frequency;
        Console.WriteLine(JsonSerializer.Serialize(new Result(calls, errors, elapsed, calls / elapsed, mean, Percentile(0.99))));
        return 0;
    }

    private static async Task<(long Calls, long Errors)> Run(ImageService.ImageServiceClient client, Metadata? headers, GetImageRequest request,
        int callers, TimeSpan duration, List<long>[]? samples)
    {
        long calls = 0, errors = 0;
        var end = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        await Task.WhenAll(Enumerable.Range(0, callers).Select(async caller =>
        {
            var mine = samples is null ? null : samples[caller] = new List<long>(1 << 16);
            while (Stopwatch.GetTimestamp() < end)
            {
                var start = Stopwatch.GetTimestamp();
                try
                {
                    await client.GetImageAsync(request, headers);
                    Interlocked.Increment(ref calls);
                }
                catch (RpcException)
                {
                    Interlocked.Increment(ref errors);
                }
                mine?.Add(Stopwatch.GetTimestamp() - start);
            }
        }));
        return (calls, errors);
    }
}
