using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using GrpcImages.Contracts.Transfer.V1;
using Microsoft.Extensions.Options;

namespace GrpcImages.Transfer.Formats;

/// <summary>What qemu-img may take ("Import" settings, where imports configure it).</summary>
public sealed class QemuOptions
{
    public const string Section = "Import";

    /// <summary>How long one qemu-img run may take before it is killed.</summary>
    public TimeSpan QemuTimeout { get; set; } = TimeSpan.FromHours(6);

    /// <summary>The address space qemu-img may use (prlimit --as).</summary>
    public long QemuMemoryBytes { get; set; } = 2L << 30;
}

/// <summary>
/// Runs qemu-img (Debian's qemu-utils) on files this service made: always with the format named
/// (-f, never probed), the input given as a json: spec that reads one local file and opens no backing
/// file, under an address-space and CPU limit (prlimit) and a time limit, and killed when its task is
/// cancelled. Its failures become InvalidImageFormat.Malformed with qemu-img's own words, paths removed.
/// </summary>
public sealed class QemuImg(IOptions<QemuOptions> options)
{
    private const string Prlimit = "/usr/bin/prlimit";

    /// <summary>Converts a file to a raw disk file (imports); <paramref name="progress"/> gets 0-1 as qemu-img reports it.</summary>
    public async Task ConvertToRawAsync(string source, DiskImageFormat from, string destination, Func<double, Task>? progress, CancellationToken cancellationToken) =>
        await RunAsync(["convert", "-p", "-f", DiskFormats.QemuName(from), "-O", "raw", Spec(source, from), destination], source, progress, cancellationToken);

    /// <summary>The virtual size qemu-img reads from a file.</summary>
    public async Task<long> VirtualSizeAsync(string path, DiskImageFormat format, CancellationToken cancellationToken)
    {
        var output = await RunAsync(["info", "--output=json", "-f", DiskFormats.QemuName(format), Spec(path, format)], path, null, cancellationToken);
        return JsonNode.Parse(output)?["virtual-size"]?.GetValue<long>() ?? throw DiskFormats.Malformed("qemu-img did not report a virtual size.");
    }

    /// <summary>json:{...}: the file protocol only (a name like "nbd://" stays a file name), and for QCOW2 no backing file even if one is named.</summary>
    private static string Spec(string path, DiskImageFormat format)
    {
        var spec = new JsonObject
        {
            ["driver"] = DiskFormats.QemuName(format),
            ["file"] = new JsonObject { ["driver"] = "file", ["filename"] = path },
        };
        if (format == DiskImageFormat.Qcow2)
        {
            spec["backing"] = null;
        }
        return "json:" + spec.ToJsonString(new JsonSerializerOptions { WriteIndented = false });
    }

    private async Task<string> RunAsync(List<string> args, string source, Func<double, Task>? progress, CancellationToken cancellationToken)
    {
        var limits = options.Value;
        var start = new ProcessStartInfo(File.Exists(Prlimit) ? Prlimit : "qemu-img")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (File.Exists(Prlimit))
        {
            start.ArgumentList.Add($"--as={limits.QemuMemoryBytes.ToString(CultureInfo.InvariantCulture)}");
            start.ArgumentList.Add($"--cpu={((long)limits.QemuTimeout.TotalSeconds).ToString(CultureInfo.InvariantCulture)}");
            start.ArgumentList.Add("--");
            start.ArgumentList.Add("qemu-img");
        }
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException("qemu-img did not start.");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(limits.QemuTimeout);
        var errors = process.StandardError.ReadToEndAsync(CancellationToken.None);
        var output = new System.Text.StringBuilder();
        try
        {
            var buffer = new char[4096];
            var tail = "";
            int read;
            while ((read = await process.StandardOutput.ReadAsync(buffer, timeout.Token)) > 0)
            {
                if (progress is null)
                {
                    output.Append(buffer, 0, read);
                    continue;
                }
                // Progress lines only: look at what just arrived (and the end of what came before), never the whole.
                tail = tail[Math.Max(0, tail.Length - 32)..] + new string(buffer, 0, read);
                if (LastPercent(tail) is { } percent)
                {
                    await progress(percent / 100);
                }
            }
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
            if (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            throw DiskFormats.Malformed($"qemu-img took longer than {limits.QemuTimeout} and was stopped.");
        }
        if (process.ExitCode != 0)
        {
            var message = (await errors).Replace(source, "the file", StringComparison.Ordinal).Trim();
            message = message.Length > 300 ? message[..300] : message;
            throw DiskFormats.Malformed($"qemu-img could not read the disk image: {(message.Length > 0 ? message : $"exit code {process.ExitCode}")}");
        }
        return output.ToString();
    }

    /// <summary>The last "(NN.NN/100%)" qemu-img printed.</summary>
    private static double? LastPercent(string text)
    {
        var end = text.LastIndexOf("/100%)", StringComparison.Ordinal);
        var open = end > 0 ? text.LastIndexOf('(', end) : -1;
        return open >= 0 && double.TryParse(text.AsSpan(open + 1, end - open - 1), NumberStyles.Float, CultureInfo.InvariantCulture, out var value) ? value : null;
    }
}
