using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Google.Protobuf;
using GrpcImages.Contracts.Catalog.V1;

namespace GrpcImages.Bench;

/// <summary>
/// Load from h2load (Debian's nghttp2-client), a native HTTP/2 client that costs the server's
/// two cores far less than a .NET client does: it posts one framed GetImage request over and over
/// on <c>callers</c> concurrent streams (4 connections).
/// </summary>
public static partial class H2Load
{
    public static bool Available { get; } = File.Exists("/usr/bin/h2load") && Environment.GetEnvironmentVariable("BENCH_DRIVER") != "dotnet";

    public static LoadGenerator.Result Run(string address, string token, string region, string imageId, int callers, double seconds)
    {
        var message = new GetImageRequest { RegionId = region, ImageId = imageId }.ToByteArray();
        var frame = new byte[5 + message.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)message.Length);
        message.CopyTo(frame, 5);
        var body = Path.GetTempFileName();
        File.WriteAllBytes(body, frame);
        try
        {
            var connections = Math.Min(4, callers);
            var warmup = Math.Min(3, seconds / 3);
            var args = new List<string>
            {
                "-c", connections.ToString(), "-m", (callers / connections).ToString(), "-t", "1",
                "--warm-up-time", $"{warmup:F0}", "-D", $"{seconds:F0}", "-d", body,
                "-H", "content-type: application/grpc", "-H", "te: trailers",
            };
            if (token != "-")
            {
                args.AddRange(["-H", $"authorization: Bearer {token}"]);
            }
            args.Add($"{address}/grpcimages.catalog.v1.ImageService/GetImage");
            var start = new ProcessStartInfo("h2load") { RedirectStandardOutput = true, UseShellExecute = false };
            args.ForEach(start.ArgumentList.Add);
            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            var done = long.Parse(Done().Match(output).Groups[1].Value);
            var failed = long.Parse(Failed().Match(output).Groups[1].Value);
            var rate = double.Parse(Rate().Match(output).Groups[1].Value, CultureInfo.InvariantCulture);
            var mean = Mean().Match(output);
            return new LoadGenerator.Result(done, failed, done / rate, rate, Micros(mean.Groups[1].Value, mean.Groups[2].Value), 0);
        }
        finally
        {
            File.Delete(body);
        }
    }

    private static double Micros(string value, string unit) =>
        double.Parse(value, CultureInfo.InvariantCulture) * unit switch { "us" => 1, "ms" => 1000, _ => 1_000_000 };

    [GeneratedRegex(@"requests: \d+ total, \d+ started, (\d+) done")]
    private static partial Regex Done();

    [GeneratedRegex(@"(\d+) failed")]
    private static partial Regex Failed();

    [GeneratedRegex(@"finished in [^,]+, ([0-9.]+) req/s")]
    private static partial Regex Rate();

    [GeneratedRegex(@"time for request:\s+\S+\s+\S+\s+([0-9.]+)(us|ms|s)\s")]
    private static partial Regex Mean();
}
