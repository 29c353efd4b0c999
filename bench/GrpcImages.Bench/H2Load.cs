using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Google.Protobuf;

namespace GrpcImages.Bench;

/// <summary>
/// Load from h2load (Debian's nghttp2-client), a native HTTP/2 client that costs the server's two
/// cores far less than a .NET client does: it posts one framed request over and over on
/// <c>callers</c> concurrent streams (at most 4 connections); latencies come from its per-request log.
/// </summary>
public static partial class H2Load
{
    public static bool Available => File.Exists("/usr/bin/h2load");

    public static LoadGenerator.Result Run(string address, string method, string token, IMessage request, int callers, double seconds, double warmup)
    {
        var message = request.ToByteArray();
        var frame = new byte[5 + message.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)message.Length);
        message.CopyTo(frame, 5);
        var body = Path.GetTempFileName();
        var log = Path.GetTempFileName();
        File.WriteAllBytes(body, frame);
        try
        {
            var connections = Math.Min(4, callers);
            var args = new List<string>
            {
                "-c", connections.ToString(CultureInfo.InvariantCulture), "-m", (callers / connections).ToString(CultureInfo.InvariantCulture), "-t", "1",
                "--warm-up-time", $"{Math.Max(1, warmup):F0}", "-D", $"{seconds:F0}", "-d", body, "--log-file", log,
                "-H", "content-type: application/grpc", "-H", "te: trailers",
            };
            if (token.Length > 0)
            {
                args.AddRange(["-H", $"authorization: Bearer {token}"]);
            }
            args.Add($"{address}{method}");
            var start = new ProcessStartInfo("h2load") { RedirectStandardOutput = true, UseShellExecute = false };
            args.ForEach(start.ArgumentList.Add);
            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            var done = long.Parse(Done().Match(output).Groups[1].Value, CultureInfo.InvariantCulture);
            var failed = long.Parse(Failed().Match(output).Groups[1].Value, CultureInfo.InvariantCulture);
            var rate = double.Parse(Rate().Match(output).Groups[1].Value, CultureInfo.InvariantCulture);
            var latencies = File.ReadLines(log)
                .Select(line => line.Split('\t'))
                .Where(columns => columns.Length >= 3)
                .Select(columns => double.Parse(columns[2], CultureInfo.InvariantCulture))
                .Order()
                .ToArray();
            double Percentile(double p) => latencies.Length == 0 ? 0 : latencies[(int)Math.Min(latencies.Length - 1, p * latencies.Length)];
            return new LoadGenerator.Result(done, failed, done / Math.Max(rate, 1e-9), rate,
                latencies.Length == 0 ? 0 : latencies.Average(), Percentile(0.5), Percentile(0.99));
        }
        finally
        {
            File.Delete(body);
            File.Delete(log);
        }
    }

    [GeneratedRegex(@"requests: \d+ total, \d+ started, (\d+) done")]
    private static partial Regex Done();

    [GeneratedRegex(@"(\d+) failed")]
    private static partial Regex Failed();

    [GeneratedRegex(@"finished in [^,]+, ([0-9.]+) req/s")]
    private static partial Regex Rate();
}
