using System.Diagnostics;
using System.Globalization;
using Grpc.Core;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Testing;
using static GrpcImages.ReliabilityTests.ReliabilitySteps;

namespace GrpcImages.ReliabilityTests;

/// <summary>
/// Creates under faults: the catalog killed (SIGKILL) in the middle of parallel creates, callers
/// giving up after 1-100 ms, Redis frozen (SIGSTOP) longer than the client timeout while jobs run,
/// and many calls racing with one client token near the quota. Afterwards every image is made once,
/// none is stuck, and the invariants hold.
/// </summary>
public class CreationFaultTests(ITestOutputHelper output)
{
    /// <summary>Creates given up after 2 s (instead of minutes) and jobs taken over after 2 s, so the test waits little.</summary>
    private static Dictionary<string, string?> Settings(params (string Key, string Value)[] more)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Regions:0:Id"] = Hangzhou,
            ["Catalog:CreationGrace"] = "00:00:02",
            ["Queues:jobs:Lease"] = "00:00:02",
            ["Queues:releases:Lease"] = "00:00:02",
        };
        foreach (var (key, value) in more)
        {
            settings[key] = value;
        }
        return settings;
    }

    [Fact]
    public async Task ACatalogKilledDuringParallelCreatesLeavesEveryImageMadeOnceAndNothingHeld()
    {
        await using var cluster = await TestCluster.StartAsync(Settings(), [ServiceKind.Kms, ServiceKind.Sharing, ServiceKind.Transfer], output: output);
        var catalog = await cluster.StartProcessAsync(ServiceKind.Catalog, primary: true);
        var account = await cluster.NewAccountAsync();
        var instance = await NewInstanceAsync(account, 20, 20);
        var made = new Dictionary<string, string>(StringComparer.Ordinal);
        const int Runs = 3;
        const int Calls = 20;
        var survived = 0;
        var answeredBeforeKill = 0;
        for (var run = 0; run < Runs; run++)
        {
            var images = account.Client<ImageService.ImageServiceClient>();
            var requests = Enumerable.Range(0, Calls).Select(i => new CreateImageRequest
            {
                RegionId = Hangzhou,
                InstanceId = instance.InstanceId,
                ImageName = $"kill-{run}-{i}",
                ClientToken = $"kill-{run}-{i}",
            }).ToList();
            var first = requests.Select(async r =>
            {
                try
                {
                    return (await images.CreateImageAsync(r)).Image;
                }
                catch (RpcException)
                {
                    return null;
                }
            }).ToList();
            await Task.Delay(5 + (run * 20)); // a different moment of the burst each run
            catalog.Kill();
            var answers = await Task.WhenAll(first);
            answeredBeforeKill += answers.Count(a => a is not null);

            catalog = await cluster.StartProcessAsync(ServiceKind.Catalog, primary: true);
            images = account.Client<ImageService.ImageServiceClient>();
            for (var i = 0; i < Calls; i++)
            {
                // A client that lost its answer retries with the same token: it gets the one image of the token.
                var request = requests[i];
                var image = (await RetryAsync(() => images.CreateImageAsync(request).ResponseAsync)).Image;
                if (answers[i] is { } answered)
                {
                    Assert.Equal(answered.ImageId, image.ImageId);
                }
                made[request.ClientToken] = image.ImageId;
            }
            foreach (var imageId in made.Values)
            {
                await WaitForAsync(images, imageId, i => i.Status == ImageStatus.Available);
            }
            survived++;
        }

        var all = await AllImagesAsync(account);
        output.WriteLine($"{answeredBeforeKill} of {Runs * Calls} calls were answered before their catalog was killed");
        Assert.Equal(made.Values.Order().ToList(), all.Select(i => i.ImageId).Order().ToList());
        Assert.All(all, i => Assert.Equal(ImageStatus.Available, i.Status));
        await AssertInvariantsAsync(cluster, "catalog SIGKILL during 20 parallel CreateImage", Runs, survived, output);
    }

    [Fact]
    public async Task ACatalogKilledBetweenTheReservationAndTheCreateLeavesNoQuotaUnitHeld()
    {
        await using var cluster = await TestCluster.StartAsync(Settings(), [ServiceKind.Kms, ServiceKind.Sharing], output: output);
        var transfer = await cluster.StartProcessAsync(ServiceKind.Transfer, primary: true);
        var catalog = await cluster.StartProcessAsync(ServiceKind.Catalog, primary: true);
        var account = await cluster.NewAccountAsync();
        var instance = await NewInstanceAsync(account, 20);

        // The point is chosen with real processes: transfer frozen, the create has its quota unit and waits on the content.
        transfer.Pause();
        var call = account.Client<ImageService.ImageServiceClient>().CreateImageAsync(
            new CreateImageRequest { RegionId = Hangzhou, InstanceId = instance.InstanceId, ImageName = "between" }).ResponseAsync;
        await using var redis = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(cluster.RedisConfiguration);
        var units = GrpcImages.Sharing.Storage.SharingKeys.ImageQuota(account.AccountId, Hangzhou);
        while (await redis.GetDatabase().SetLengthAsync(units) == 0)
        {
            await Task.Delay(10);
        }
        catalog.Kill();
        await Assert.ThrowsAsync<RpcException>(() => call);
        transfer.Resume();
        await cluster.StartProcessAsync(ServiceKind.Catalog, primary: true);

        Assert.Empty(await AllImagesAsync(account));
        await AssertInvariantsAsync(cluster, "catalog SIGKILL between quota reservation and create", 1, 1, output);
    }

    [Fact]
    public async Task AReservationWhoseReplyIsLostIsGivenBack()
    {
        await using var cluster = await TestCluster.StartAsync(Settings(), output: output);
        var account = await cluster.NewAccountAsync();
        var instance = await NewInstanceAsync(account, 20);

        // Redis frozen for less than the services' timeout: the reservation waits in Redis while the
        // caller's 300 ms run out, and is made when Redis thaws, after its caller has gone.
        Signal(cluster.Redis.Pid, "STOP");
        var call = account.Client<ImageService.ImageServiceClient>().CreateImageAsync(
            new CreateImageRequest { RegionId = Hangzhou, InstanceId = instance.InstanceId, ImageName = "lost-reply" }, deadline: DateTime.UtcNow.AddMilliseconds(300)).ResponseAsync;
        await Task.Delay(700);
        Signal(cluster.Redis.Pid, "CONT");
        var ex = await Assert.ThrowsAsync<RpcException>(() => call);
        Assert.Equal(StatusCode.DeadlineExceeded, ex.StatusCode);

        Assert.Empty(await AllImagesAsync(account));
        await AssertInvariantsAsync(cluster, "reservation made after its caller's deadline (Redis frozen 0.7 s)", 1, 1, output);
    }

    [Fact]
    public async Task CreatesWhoseCallersGiveUpAfter1To100MsLeaveNothingStuckOrHeld()
    {
        await using var cluster = await TestCluster.StartAsync(Settings(), output: output);
        var account = await cluster.NewAccountAsync();
        var instance = await NewInstanceAsync(account, 20, 20);
        var images = account.Client<ImageService.ImageServiceClient>();
        var snapshots = account.Client<SnapshotService.SnapshotServiceClient>();
        var instances = account.Client<InstanceService.InstanceServiceClient>();
        int[] deadlines = [1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 100];
        var outcomes = new Dictionary<StatusCode, int>();
        void Note(StatusCode code) => outcomes[code] = outcomes.GetValueOrDefault(code) + 1;

        foreach (var ms in deadlines)
        {
            foreach (var call in new Func<DateTime, Task>[]
                     {
                         d => images.CreateImageAsync(new CreateImageRequest { RegionId = Hangzhou, InstanceId = instance.InstanceId, ImageName = $"deadline-{ms}" }, deadline: d).ResponseAsync,
                         d => snapshots.CreateSnapshotAsync(new CreateSnapshotRequest { RegionId = Hangzhou, DiskId = instance.SystemDisk.DiskId }, deadline: d).ResponseAsync,
                         d => instances.CreateInstanceAsync(new CreateInstanceRequest { RegionId = Hangzhou, ImageId = Ubuntu, SystemDiskSizeGib = 20 }, deadline: d).ResponseAsync,
                     })
            {
                try
                {
                    await call(DateTime.UtcNow.AddMilliseconds(ms));
                    Note(StatusCode.OK);
                }
                catch (RpcException ex)
                {
                    Assert.True(ex.StatusCode is StatusCode.DeadlineExceeded or StatusCode.Cancelled, $"{ex.StatusCode}: {ex.Status.Detail}");
                    Note(ex.StatusCode);
                }
            }
        }
        output.WriteLine(string.Join(", ", outcomes.Select(o => $"{o.Key}: {o.Value}")));

        // Whatever was made finishes; nothing is left being made for ever.
        foreach (var image in await AllImagesAsync(account))
        {
            await WaitForAsync(images, image.ImageId, i => i.Status == ImageStatus.Available);
        }
        await AssertInvariantsAsync(cluster, "deadlines of 1-100 ms on CreateImage, CreateSnapshot, CreateInstance", deadlines.Length * 3, deadlines.Length * 3, output);
    }

    [Fact]
    public async Task R35_FiftyCallsWithOneClientTokenNearTheQuotaAllGetTheOneImage()
    {
        await using var cluster = await TestCluster.StartAsync(Settings(("Quotas:Images", "12")), output: output);
        var account = await cluster.NewAccountAsync();
        var instance = await NewInstanceAsync(account, 20);
        var images = account.Client<ImageService.ImageServiceClient>();
        for (var i = 0; i < 10; i++)
        {
            await images.CreateImageAsync(new CreateImageRequest { RegionId = Hangzhou, InstanceId = instance.InstanceId, ImageName = $"filler-{i}" });
        }

        var request = new CreateImageRequest { RegionId = Hangzhou, InstanceId = instance.InstanceId, ImageName = "raced", ClientToken = "one-token" };
        var answers = await Task.WhenAll(Enumerable.Range(0, 50).Select(async _ => (await images.CreateImageAsync(request)).Image.ImageId));

        Assert.Single(answers.Distinct());
        Assert.Equal(11, (await AllImagesAsync(account)).Count);
        // The twelfth unit is still free.
        await images.CreateImageAsync(new CreateImageRequest { RegionId = Hangzhou, InstanceId = instance.InstanceId, ImageName = "last" });
        await AssertInvariantsAsync(cluster, "50 CreateImage with one client token at 10/12", 1, 1, output);
    }

    [Fact]
    public async Task JobsRunningWhileRedisIsFrozenLongerThanTheClientTimeoutFinishWithoutARestart()
    {
        // 40 GiB per image at 8 GiB/s: five seconds of work each, so the freeze lands in the middle.
        await using var cluster = await TestCluster.StartAsync(Settings(("Catalog:SnapshotBytesPerSecond", (8L << 30).ToString(CultureInfo.InvariantCulture))), output: output);
        var account = await cluster.NewAccountAsync();
        var instance = await NewInstanceAsync(account, 20, 20);
        var images = account.Client<ImageService.ImageServiceClient>();
        var made = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            made.Add((await images.CreateImageAsync(new CreateImageRequest { RegionId = Hangzhou, InstanceId = instance.InstanceId, ImageName = $"frozen-{i}" })).Image.ImageId);
        }
        await WaitForAsync(images, made[0], i => i.Progress >= 10);

        await FreezeRedisAsync(cluster);

        foreach (var imageId in made)
        {
            Assert.Equal(100, (await RetryAsync(() => WaitForAsync(images, imageId, i => i.Status == ImageStatus.Available))).Progress);
        }
        await AssertInvariantsAsync(cluster, "Redis SIGSTOP for 7 s while 4 creation jobs run", 1, 1, output);
    }

    internal static void Signal(int pid, string signal)
    {
        using var kill = Process.Start("kill", $"-{signal} {pid}");
        kill.WaitForExit();
    }
}
