using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Google.Protobuf;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.Contracts.Sharing.V1;
using GrpcImages.Testing;
using StackExchange.Redis;

namespace GrpcImages.Bench;

/// <summary>
/// The API against an honest floor. The cluster runs as deployed (Redis and each service in a
/// process of its own); the baseline is a bare gRPC service doing one Redis GET, in a process of its
/// own, on the same Redis; the load comes from a separate process, the same driver for a scenario
/// and its baseline (h2load where one fixed request does, a .NET client for creates and shares).
/// Each scenario runs at 1, 16 and 64 callers, alternating with its baseline, and the medians of
/// the runs are compared.
/// </summary>
public static class ApiBench
{
    public const string Region = "cn-hangzhou";
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    private sealed record Scenario(string Name, string Driver, string Address, string Method, string Token, IMessage? Request, LoadGenerator.Plan? Plan);

    private sealed record Row(string Scenario, int Callers, double CallsPerSecond, double P50Micros, double P99Micros, long Errors,
        double BaselineCallsPerSecond, double BaselineP50Micros, double BaselineP99Micros, double Ratio);

    public static async Task<int> RunAsync(string[] args)
    {
        var quick = args.Contains("--quick");
        var runs = quick ? 1 : (int)BenchTools.Option(args, "--runs", 3);
        var seconds = quick ? 3 : BenchTools.Option(args, "--seconds", 5);
        var warmup = quick ? 1 : 2;
        // Each scenario's path first runs this long unmeasured at 64 callers, so what is measured is the services' steady
        // state: a path first hit in a scenario is otherwise still being compiled to its final tier during its runs.
        var prime = BenchTools.Option(args, "--prime", quick ? 4 : 10);
        int[] levels = quick ? [64] : args.Contains("--callers") ? [(int)BenchTools.Option(args, "--callers", 64)] : [1, 16, 64];
        var only = args.SkipWhile(a => a != "--only").Skip(1).FirstOrDefault();
        if (!H2Load.Available)
        {
            Console.Error.WriteLine("h2load is missing: scripts/bench.sh installs it (nghttp2-client).");
            return 1;
        }

        var (cluster, pids) = await StartBenchClusterAsync();
        await using var _ = cluster;
        var owner = await cluster.NewAccountAsync();
        var recipient = await cluster.NewAccountAsync();
        var images = owner.Client<ImageService.ImageServiceClient>();
        var instance = (await owner.Client<InstanceService.InstanceServiceClient>().CreateInstanceAsync(
            new CreateInstanceRequest { RegionId = Region, ImageId = "ubuntu_22_04_x64_20G_alibase_20240101.vhd" })).Instance;
        var snapshots = owner.Client<SnapshotService.SnapshotServiceClient>();
        var snapshot = (await snapshots.CreateSnapshotAsync(new CreateSnapshotRequest { RegionId = Region, DiskId = instance.SystemDisk.DiskId })).Snapshot;
        while ((await snapshots.GetSnapshotAsync(new GetSnapshotRequest { RegionId = Region, SnapshotId = snapshot.SnapshotId })).Snapshot.Status != SnapshotStatus.Accomplished)
        {
            await Task.Delay(50);
        }
        // 64 images: a page of 50 to list, one per caller to share and unshare.
        var made = new List<string>();
        for (var i = 0; i < 64; i++)
        {
            made.Add((await images.CreateImageAsync(new CreateImageRequest
            {
                RegionId = Region,
                ImageName = $"bench-{i:D2}",
                DiskDeviceMappings = { new DiskDeviceMappingSpec { SnapshotId = snapshot.SnapshotId } },
            })).Image.ImageId);
        }
        var image = made[0];
        await owner.Client<SharingService.SharingServiceClient>().ModifyImageSharePermissionAsync(
            new ModifyImageSharePermissionRequest { RegionId = Region, ImageId = image, AddAccountIds = { recipient.AccountId } });

        var (baseline, baselineAddress) = await StartBaselineAsync(cluster,
            (await images.GetImageAsync(new GetImageRequest { RegionId = Region, ImageId = image })).Image);
        using var _b = baseline;

        var catalog = $"http://127.0.0.1:{cluster.Port(ServiceKind.Catalog)}";
        var sharing = $"http://127.0.0.1:{cluster.Port(ServiceKind.Sharing)}";
        var kms = $"http://127.0.0.1:{cluster.Port(ServiceKind.Kms)}";
        LoadGenerator.Plan DotnetPlan(string scenario, string address, string token) =>
            new(scenario, address, token, Region, image, snapshot.SnapshotId, [.. made], recipient.AccountId);
        var getImage = "/grpcimages.catalog.v1.ImageService/GetImage";
        var scenarios = new List<Scenario>
        {
            new("GetImage (own)", "h2load", catalog, getImage, owner.Token, new GetImageRequest { RegionId = Region, ImageId = image }, null),
            new("GetImage (shared)", "h2load", catalog, getImage, recipient.Token, new GetImageRequest { RegionId = Region, ImageId = image }, null),
            new("ListImages (page of 50)", "h2load", catalog, "/grpcimages.catalog.v1.ImageService/ListImages", owner.Token,
                new ListImagesRequest { RegionId = Region, OwnerAlias = ImageOwnerAlias.Self, PageSize = 50 }, null),
            new("GetQuotas", "h2load", sharing, "/grpcimages.sharing.v1.QuotaService/GetQuotas", owner.Token, new GetQuotasRequest { RegionId = Region }, null),
            new("IssueToken (own root)", "h2load", kms, "/grpcimages.kms.v1.AccountService/IssueToken", owner.Token, new IssueTokenRequest { AccountId = owner.AccountId }, null),
            new("CreateImage (from a snapshot)", "dotnet", catalog, "", "", null, DotnetPlan("create_image", catalog, owner.Token)),
            new("share add + remove", "dotnet", sharing, "", "", null, DotnetPlan("share_add_remove", sharing, owner.Token)),
        };
        if (only is not null)
        {
            scenarios = scenarios.Where(s => s.Name.Contains(only, StringComparison.OrdinalIgnoreCase)).ToList();
        }
        var h2Baseline = new Scenario("baseline", "h2load", baselineAddress, getImage, "", new GetImageRequest { RegionId = Region, ImageId = image }, null);
        var dotnetBaseline = new Scenario("baseline", "dotnet", baselineAddress, "", "", null, DotnetPlan("get_image", baselineAddress, ""));

        // For profiling by hand (bench/README.md): the services' process ids, written once the cluster is ready.
        if (Environment.GetEnvironmentVariable("BENCH_PIDS") is { Length: > 0 } pidFile)
        {
            await File.WriteAllLinesAsync(pidFile, pids);
        }
        var rows = new List<Row>();
        Console.WriteLine($"{prime} s of each scenario unmeasured first, then {runs} run(s) of {seconds} s after {warmup} s of warm-up, alternating with the baseline (gRPC + one Redis GET, own process, same driver)");
        Console.WriteLine($"{"scenario",-30} {"callers",7} {"calls/s",9} {"p50 ms",7} {"p99 ms",7} {"baseline/s",10} {"b p50",6} {"b p99",6} {"ratio",6}");
        var primedFloors = new HashSet<Scenario>();
        foreach (var scenario in scenarios)
        {
            var floor = scenario.Driver == "h2load" ? h2Baseline : dotnetBaseline;
            if (prime > 0)
            {
                // The baseline is primed too (once per driver), or a quick run would compare a warm service with a cold floor.
                if (primedFloors.Add(floor))
                {
                    Measure(floor, 64, prime, 0);
                }
                Measure(scenario, 64, prime, 0);
            }
            foreach (var callers in levels)
            {
                var mine = new List<LoadGenerator.Result>();
                var theirs = new List<LoadGenerator.Result>();
                for (var run = 0; run < runs; run++)
                {
                    theirs.Add(Measure(floor, callers, seconds, warmup));
                    mine.Add(Measure(scenario, callers, seconds, warmup));
                }
                var m = Median(mine);
                var b = Median(theirs);
                var row = new Row(scenario.Name, callers, m.CallsPerSecond, m.P50Micros, m.P99Micros, mine.Sum(r => r.Errors),
                    b.CallsPerSecond, b.P50Micros, b.P99Micros, m.CallsPerSecond / b.CallsPerSecond);
                rows.Add(row);
                Console.WriteLine($"{row.Scenario,-30} {callers,7} {row.CallsPerSecond,9:F0} {row.P50Micros / 1000,7:F2} {row.P99Micros / 1000,7:F2} " +
                                  $"{row.BaselineCallsPerSecond,10:F0} {row.BaselineP50Micros / 1000,6:F2} {row.BaselineP99Micros / 1000,6:F2} {row.Ratio,6:F2}" +
                                  (row.Errors > 0 ? $"  ({row.Errors} errors)" : ""));
            }
        }

        Directory.CreateDirectory("bench/results");
        var file = Path.Combine("bench/results", $"api-{DateTime.UtcNow:yyyyMMddTHHmmss}.json");
        await File.WriteAllTextAsync(file, JsonSerializer.Serialize(new { cores = Environment.ProcessorCount, runs, seconds, rows }, Indented));
        Console.WriteLine($"Results in {file}");
        return 0;
    }

    /// <summary>The cluster the API and scale benches measure: as deployed, one region, room for a million images, quiet logs.</summary>
    public static Task<(TestCluster Cluster, List<string> Pids)> StartBenchClusterAsync()
    {
        Console.WriteLine($"Starting Redis and the four services, each in a process of its own ... {Environment.ProcessorCount} cores");
        return StartDeployedAsync(new Dictionary<string, string?>
        {
            ["Regions:0:Id"] = Region,
            ["Quotas:Images"] = "1000000",
            ["Logging:LogLevel:Default"] = "Error",
            ["Logging:LogLevel:GrpcImages"] = "Error",
        });
    }

    /// <summary>
    /// The baseline (a bare gRPC service, one Redis GET) in a process of its own, serving <paramref name="stored"/>, once it
    /// answers; with its address.
    /// </summary>
    internal static async Task<(KilledOnDispose Process, string Address)> StartBaselineAsync(TestCluster cluster, Image stored)
    {
        await using (var redis = await ConnectionMultiplexer.ConnectAsync(cluster.RedisConfiguration))
        {
            await redis.GetDatabase().StringSetAsync(BaselineServer.Key, stored.ToByteArray());
        }
        var port = RedisServer.FreePort();
        var process = new KilledOnDispose(StartBaseline(cluster.RedisConfiguration, port));
        var probe = new ImageService.ImageServiceClient(cluster.Channel(port));
        for (var tries = 0; ; tries++)
        {
            try
            {
                await probe.GetImageAsync(new GetImageRequest { RegionId = stored.RegionId, ImageId = stored.ImageId });
                return (process, $"http://127.0.0.1:{port}");
            }
            catch (Grpc.Core.RpcException) when (tries < 300)
            {
                await Task.Delay(100); // the baseline process is still starting
            }
            catch
            {
                process.Dispose();
                throw;
            }
        }
    }

    /// <summary>The cluster as deployed: Redis, then each service in a process of its own, told where its peers are (as scripts/run.sh does).</summary>
    public static async Task<(TestCluster Cluster, List<string> Pids)> StartDeployedAsync(Dictionary<string, string?> settings)
    {
        var cluster = await TestCluster.StartAsync(settings, services: []);
        // Ports chosen first: each process is told where all its peers will be.
        var order = new[] { ServiceKind.Kms, ServiceKind.Sharing, ServiceKind.Transfer, ServiceKind.Catalog };
        var ports = order.ToDictionary(s => s, _ => RedisServer.FreePort());
        foreach (var (service, port) in ports)
        {
            cluster.SetSetting($"Peers:{service}", $"http://127.0.0.1:{port}");
        }
        var pids = new List<string>();
        try
        {
            foreach (var service in order)
            {
                pids.Add($"{service} {(await cluster.StartProcessAsync(service, primary: true, port: ports[service])).Pid}");
            }
        }
        catch (TimeoutException)
        {
            cluster.Logs.Recent.TakeLast(40).ToList().ForEach(Console.Error.WriteLine);
            await cluster.DisposeAsync();
            throw;
        }
        return (cluster, pids);
    }

    private static LoadGenerator.Result Measure(Scenario scenario, int callers, double seconds, double warmup)
    {
        if (scenario.Driver == "h2load")
        {
            return H2Load.Run(scenario.Address, scenario.Method, scenario.Token, scenario.Request!, callers, seconds, warmup);
        }
        var plan = Path.GetTempFileName();
        File.WriteAllText(plan, JsonSerializer.Serialize(scenario.Plan));
        try
        {
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, UseShellExecute = false };
            foreach (var a in new[] { typeof(ApiBench).Assembly.Location, "load", plan, callers.ToString(CultureInfo.InvariantCulture),
                         seconds.ToString(CultureInfo.InvariantCulture), warmup.ToString(CultureInfo.InvariantCulture) })
            {
                start.ArgumentList.Add(a);
            }
            start.Environment["DOTNET_gcServer"] = "0";
            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            return JsonSerializer.Deserialize<LoadGenerator.Result>(output.Trim().Split('\n')[^1])!;
        }
        finally
        {
            File.Delete(plan);
        }
    }

    private static Process StartBaseline(string redis, int port)
    {
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { typeof(ApiBench).Assembly.Location, "baseline", redis, port.ToString(CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(a);
        }
        start.Environment["DOTNET_gcServer"] = "0"; // as the services run (ServiceProcess)
        return Process.Start(start)!;
    }

    private static LoadGenerator.Result Median(List<LoadGenerator.Result> results) => results.OrderBy(r => r.CallsPerSecond).ElementAt(results.Count / 2);

    /// <summary>The baseline's process, ended with the bench whatever way the bench ends.</summary>
    internal sealed class KilledOnDispose(Process process) : IDisposable
    {
        public void Dispose()
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
            process.Dispose();
        }
    }
}
