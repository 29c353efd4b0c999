using System.Diagnostics;
using System.Text.Json;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.Testing;
using static GrpcImages.Bench.BenchTools;

namespace GrpcImages.Bench;

/// <summary>
/// Imports and exports against qemu-img itself, alternating the two sides of each pair (medians):
/// <list type="number">
/// <item>the import of a QCOW2 object of random bytes against <c>qemu-img convert -f qcow2 -O raw</c> of the same file, then sync;</item>
/// <item>the export of that image as VHD against <c>qemu-img convert -f raw -O vpc</c> of its raw file, then sync;</item>
/// <item>the transfer process's peak RSS during both, at two sizes.</item>
/// </list>
/// Our import reads the QCOW2 in place from the object's chunks and stores the disk it holds; our VHD
/// export writes the VHD from the image's chunks straight into the object; every chunk is hashed and
/// flushed to disk. The floor is the conversion alone.
/// </summary>
public static class ImportExportBench
{
    private const string Region = "cn-hangzhou";
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static async Task<int> RunAsync(string[] args)
    {
        var mib = (int)Option(args, "--mib", 2048);
        var pairs = (int)Option(args, "--pairs", 5);
        var smallMib = (int)Option(args, "--small-mib", 512);
        Console.WriteLine($"Import/export benchmark: {mib} MiB QCOW2, {pairs} alternating pairs, {Environment.ProcessorCount} cores");
        await using var cluster = await TestCluster.StartAsync(new Dictionary<string, string?>
        {
            ["Regions:0:Id"] = Region,
            ["Logging:LogLevel:Default"] = "Error",
            ["Logging:LogLevel:GrpcImages"] = args.Contains("--verbose") ? "Information" : "Warning",
            ["Blobs:GcGraceSeconds"] = "0",
        }, [ServiceKind.Kms, ServiceKind.Sharing]);
        var transferPort = RedisServer.FreePort();
        cluster.SetSetting("Peers:Transfer", $"http://127.0.0.1:{transferPort}");
        var catalog = await cluster.StartReplicaAsync(ServiceKind.Catalog);
        var transfer = await cluster.StartProcessAsync(ServiceKind.Transfer, primary: true, port: transferPort);
        await cluster.WaitUntilServingAsync(catalog);
        var account = await cluster.NewAccountAsync();
        await account.Client<RoleService.RoleServiceClient>().CreateServiceRoleAsync(new CreateServiceRoleRequest { RoleName = "AliyunECSImageImportDefaultRole" });
        var bucket = await account.NewBucketAsync(Region);
        var work = Directory.CreateDirectory(Path.Combine(cluster.DataDirectory, "bench")).FullName;

        Console.WriteLine($"Writing QCOW2 files of random bytes ({mib} MiB, {smallMib} MiB) and uploading them ...");
        var largeQcow2 = await UploadAsync(account, bucket.Name, work, mib, "large");
        var smallQcow2 = await UploadAsync(account, bucket.Name, work, smallMib, "small");
        Run("sync");

        // 1. Imports against qemu-img convert to raw.
        var importTimes = new List<double>();
        var convertTimes = new List<double>();
        var importPeaks = new List<double>();
        var imported = "";
        for (var pair = 0; pair < pairs; pair++)
        {
            if (imported.Length > 0)
            {
                await DeleteImageAsync(cluster, account, transferPort, Region, imported);
            }
            (var seconds, var peak, imported) = await TimedImportAsync(account, transfer, $"oss://{bucket.Name}/{Path.GetFileName(largeQcow2)}");
            importTimes.Add(seconds);
            importPeaks.Add(peak);
            var raw = Path.Combine(work, "converted.raw");
            File.Delete(raw);
            convertTimes.Add(Timed("qemu-img", "convert", "-f", "qcow2", "-O", "raw", largeQcow2, raw));
            Console.WriteLine($"  pair {pair + 1}: import {seconds:F2} s (peak RSS {peak:F0} MiB), qemu-img convert + sync {convertTimes[^1]:F2} s");
            foreach (var line in cluster.Logs.Recent.Where(l => l.Contains(" disk 0: ", StringComparison.Ordinal)).TakeLast(1))
            {
                Console.WriteLine($"    {line}");
            }
        }
        var results = new Dictionary<string, object>
        {
            ["import"] = new { mib, pairs, import_seconds = importTimes, convert_seconds = convertTimes, ratio = Median(importTimes) / Median(convertTimes) },
        };
        Console.WriteLine($"Import of a {mib} MiB QCOW2: median {Median(importTimes):F2} s against qemu-img convert {Median(convertTimes):F2} s: "
            + $"{Median(importTimes) / Median(convertTimes):F2}x (goal at most 1.5x)");

        // 2. Exports as VHD against qemu-img convert of the raw file to VHD.
        var exportTimes = new List<double>();
        var vpcTimes = new List<double>();
        var exportPeaks = new List<double>();
        var rawFile = Path.Combine(work, "converted.raw");
        for (var pair = 0; pair < pairs; pair++)
        {
            var (seconds, peak) = await TimedExportAsync(account, transfer, imported, bucket.Name);
            exportTimes.Add(seconds);
            exportPeaks.Add(peak);
            var vhd = Path.Combine(work, "converted.vhd");
            File.Delete(vhd);
            vpcTimes.Add(Timed("qemu-img", "convert", "-f", "raw", "-O", "vpc", "-o", "subformat=dynamic,force_size=on", rawFile, vhd));
            Console.WriteLine($"  pair {pair + 1}: export {seconds:F2} s (peak RSS {peak:F0} MiB), qemu-img convert + sync {vpcTimes[^1]:F2} s");
        }
        results["export_vhd"] = new { mib, pairs, export_seconds = exportTimes, convert_seconds = vpcTimes, ratio = Median(exportTimes) / Median(vpcTimes) };
        Console.WriteLine($"Export of {mib} MiB as VHD: median {Median(exportTimes):F2} s against qemu-img convert {Median(vpcTimes):F2} s: "
            + $"{Median(exportTimes) / Median(vpcTimes):F2}x (goal at most 1.5x)");

        // 3. Peak RSS at the small size, for comparison.
        var (_, smallImportPeak, smallImage) = await TimedImportAsync(account, transfer, $"oss://{bucket.Name}/{Path.GetFileName(smallQcow2)}");
        var (_, smallExportPeak) = await TimedExportAsync(account, transfer, smallImage, bucket.Name);
        results["transfer_peak_rss_mib"] = new
        {
            small_mib = smallMib, import_small = smallImportPeak, export_small = smallExportPeak, large_mib = mib, import_large = importPeaks.Max(), export_large = exportPeaks.Max(),
        };
        Console.WriteLine($"Transfer process peak RSS: import {smallImportPeak:F0} / {importPeaks.Max():F0} MiB, export {smallExportPeak:F0} / {exportPeaks.Max():F0} MiB "
            + $"at {smallMib} / {mib} MiB (goal under 300 MiB, flat)");

        Directory.CreateDirectory("bench/results");
        var output = Path.Combine("bench/results", $"import-export-{DateTime.UtcNow:yyyyMMddTHHmmss}.json");
        await File.WriteAllTextAsync(output, JsonSerializer.Serialize(results, Indented));
        Console.WriteLine($"Results in {output}");
        return 0;
    }

    /// <summary>A QCOW2 of random bytes, uploaded as an object; returns the file.</summary>
    private static async Task<string> UploadAsync(TestAccount account, string bucket, string work, int mib, string name)
    {
        var raw = Path.Combine(work, $"{name}.raw");
        await using (var file = File.Create(raw))
        {
            var chunk = new byte[ContentImages.ChunkBytes];
            for (var i = 0; i < mib / 4; i++)
            {
                ContentImages.Fill(i + (name.Length << 20), chunk);
                await file.WriteAsync(chunk);
            }
        }
        var qcow2 = Path.ChangeExtension(raw, "qcow2");
        Run("qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw, qcow2);
        File.Delete(raw);
        await using (var stream = File.OpenRead(qcow2))
        {
            await account.PutObjectAsync(Region, bucket, Path.GetFileName(qcow2), stream);
        }
        return qcow2;
    }

    private static async Task<(double Seconds, double Peak, string ImageId)> TimedImportAsync(TestAccount account, ServiceProcess transfer, string url)
    {
        var memory = new PeakMemory(transfer.Pid);
        var clock = Stopwatch.StartNew();
        var import = await account.Client<TransferService.TransferServiceClient>().ImportImageAsync(new ImportImageRequest
        {
            RegionId = Region, Disks = { new ImportDiskSpec { SourceUrl = url } },
        });
        await FinishedAsync(account, import.Task.TaskId);
        var seconds = clock.Elapsed.TotalSeconds;
        await memory.DisposeAsync();
        return (seconds, memory.Peak, import.ImageId);
    }

    private static async Task<(double Seconds, double Peak)> TimedExportAsync(TestAccount account, ServiceProcess transfer, string imageId, string bucket)
    {
        var memory = new PeakMemory(transfer.Pid);
        var clock = Stopwatch.StartNew();
        var export = await account.Client<TransferService.TransferServiceClient>().ExportImageAsync(new ExportImageRequest
        {
            RegionId = Region, ImageId = imageId, Bucket = bucket, Format = DiskImageFormat.Vhd, ObjectPrefix = "bench",
        });
        await FinishedAsync(account, export.Task.TaskId);
        var seconds = clock.Elapsed.TotalSeconds;
        await memory.DisposeAsync();
        return (seconds, memory.Peak);
    }
}
