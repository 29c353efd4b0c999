using GrpcImages.Catalog.Storage;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.ServiceDefaults.Work;
using GrpcImages.Testing;
using StackExchange.Redis;
using static GrpcImages.ReliabilityTests.ReliabilitySteps;

namespace GrpcImages.ReliabilityTests;

/// <summary>
/// Image creation jobs run on the catalog's work queue: a catalog killed mid-job (SIGKILL) or frozen
/// past its lease (SIGSTOP) loses the job to another replica, which finishes it from the recorded
/// progress; the frozen one, thawed, changes nothing.
/// </summary>
public class CreationJobFaultTests(ITestOutputHelper output)
{
    private static Dictionary<string, string?> Settings(long snapshotBytesPerSecond) => new()
    {
        ["Regions:0:Id"] = Hangzhou,
        ["Catalog:SnapshotBytesPerSecond"] = snapshotBytesPerSecond.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Queues:jobs:Lease"] = "00:00:02",
    };

    [Fact]
    public async Task AJobWhoseCatalogIsKilledIsFinishedByAnotherReplicaFromWhereItWas()
    {
        // 60 GiB of disks at 6 GiB/s: about ten seconds of work.
        await using var cluster = await TestCluster.StartAsync(Settings(6L << 30), [ServiceKind.Kms, ServiceKind.Sharing, ServiceKind.Transfer], output: output);
        var doomed = await cluster.StartProcessAsync(ServiceKind.Catalog, primary: true);
        var account = await cluster.NewAccountAsync();
        var images = account.Client<ImageService.ImageServiceClient>();
        var instance = await NewInstanceAsync(account, 20, 20);
        var image = (await images.CreateImageAsync(new CreateImageRequest { RegionId = Hangzhou, InstanceId = instance.InstanceId, ImageName = "doomed-job" })).Image;
        var before = await WaitForAsync(images, image.ImageId, i => i.Progress >= 20);

        doomed.Kill();
        var survivor = await cluster.StartReplicaAsync(ServiceKind.Catalog);
        cluster.UsePrimary(ServiceKind.Catalog, survivor);
        images = account.Client<ImageService.ImageServiceClient>();
        var seen = new List<Image>();
        var done = await WaitForAsync(images, image.ImageId, i => i.Status == ImageStatus.Available, seen);

        Assert.True(before.Progress >= 20);
        Assert.All(seen, i => Assert.True(i.Progress >= before.Progress, $"progress went back from {before.Progress} to {i.Progress}"));
        Assert.Equal(100, done.Progress);
        await using var redis = await ConnectionMultiplexer.ConnectAsync(cluster.RedisConfiguration);
        var jobs = new WorkQueue(redis, CatalogKeys.Root, "jobs", new WorkQueueOptions());
        Assert.Null(await jobs.GetAsync($"img|{image.ImageId}"));
    }

    [Fact]
    public async Task AFrozenCatalogLosesItsJobAndChangesNothingWhenItThaws()
    {
        // 60 GiB at 3 GiB/s: about twenty seconds, so the job is still running when the frozen replica thaws.
        await using var cluster = await TestCluster.StartAsync(Settings(3L << 30), [ServiceKind.Kms, ServiceKind.Sharing, ServiceKind.Transfer], output: output);
        var frozen = await cluster.StartProcessAsync(ServiceKind.Catalog, primary: true);
        var account = await cluster.NewAccountAsync();
        var images = account.Client<ImageService.ImageServiceClient>();
        var instance = await NewInstanceAsync(account, 20, 20);
        var image = (await images.CreateImageAsync(new CreateImageRequest { RegionId = Hangzhou, InstanceId = instance.InstanceId, ImageName = "frozen-job" })).Image;
        await WaitForAsync(images, image.ImageId, i => i.Progress >= 5);

        frozen.Pause();
        var survivor = await cluster.StartReplicaAsync(ServiceKind.Catalog);
        cluster.UsePrimary(ServiceKind.Catalog, survivor);
        images = account.Client<ImageService.ImageServiceClient>();
        var tookOver = await WaitForAsync(images, image.ImageId, i => i.Progress >= 40); // the survivor runs it now
        frozen.Resume();

        var seen = new List<Image>();
        var done = await WaitForAsync(images, image.ImageId, i => i.Status == ImageStatus.Available, seen);
        Assert.All(seen, i => Assert.True(i.Progress >= tookOver.Progress, $"progress went back from {tookOver.Progress} to {i.Progress}"));
        Assert.Equal(100, done.Progress);
        // The thawed replica found its claim gone: it either lost the lease or was refused by the image's fence.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!cluster.Logs.Recent.Any(l => l.Contains($"pid {frozen.Pid}", StringComparison.Ordinal) &&
                                             (l.Contains("took over the job of", StringComparison.Ordinal) || l.Contains("Lost the lease", StringComparison.Ordinal))))
        {
            Assert.True(DateTime.UtcNow < deadline, "the thawed replica did not report giving up its job");
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task AWorkerWhoseJobWasTakenOverCannotSaveAStep()
    {
        await using var cluster = await TestCluster.StartAsync(Settings(1L << 30), output: output);
        var account = await cluster.NewAccountAsync();
        var images = account.Client<ImageService.ImageServiceClient>();
        var instance = await NewInstanceAsync(account, 20);
        var image = (await images.CreateImageAsync(new CreateImageRequest { RegionId = Hangzhou, InstanceId = instance.InstanceId, ImageName = "fenced-step" })).Image;
        await WaitForAsync(images, image.ImageId, i => i.Progress >= 1);

        await using var redis = await ConnectionMultiplexer.ConnectAsync(cluster.RedisConfiguration);
        var store = new ImageStore(redis.GetDatabase());
        var current = (await new WorkQueue(redis, CatalogKeys.Root, "jobs", new WorkQueueOptions()).GetAsync($"img|{image.ImageId}"))!;
        var stored = (await store.GetImageAsync(Hangzhou, image.ImageId))!;
        var stale = stored.Image.Clone();
        stale.Status = ImageStatus.Available;
        stale.Progress = 100;

        Assert.Equal(SaveResult.Fenced, await store.SaveCreationStepAsync(stored, stale, [], current.Fence - 1));
        Assert.Equal(ImageStatus.Creating, (await store.GetImageAsync(Hangzhou, image.ImageId))!.Image.Status);
    }
}
