using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.Testing;
using TaskStatus = GrpcImages.Contracts.Transfer.V1.TaskStatus;

namespace GrpcImages.ReliabilityTests;

/// <summary>
/// Copies survive their worker and Redis: a transfer replica killed (SIGKILL) half way through a copy,
/// or frozen (SIGSTOP) past its lease, loses the task to another replica, which finishes it from the
/// checkpoint; the frozen one, thawed, changes nothing; a Redis frozen past every timeout holds the
/// copy up, then it finishes (R8).
/// </summary>
public class CopyFaultTests(ITestOutputHelper output)
{
    private const string Hangzhou = "cn-hangzhou";
    private const string Shanghai = "cn-shanghai";

    /// <summary>A cluster whose API transfer replica runs no tasks, so the copy runs on the replica the test starts (and kills).</summary>
    private async Task<TestCluster> StartAsync()
    {
        var cluster = await TestCluster.StartAsync(new Dictionary<string, string?>
        {
            ["Regions:0:Id"] = Hangzhou,
            ["Regions:1:Id"] = Shanghai,
            // 64 MiB at 8 MiB/s: about eight seconds of copying.
            ["Transfer:MaxBytesPerSecondPerTask"] = (8L << 20).ToString(System.Globalization.CultureInfo.InvariantCulture),
            [$"Queues:copy:{Shanghai}:Lease"] = "00:00:02",
        }, [ServiceKind.Kms, ServiceKind.Sharing], output: output);
        await cluster.WaitUntilServingAsync(await cluster.StartReplicaAsync(ServiceKind.Transfer, new Dictionary<string, string?> { ["Transfer:RunTasks"] = "false" }));
        await cluster.WaitUntilServingAsync(await cluster.StartReplicaAsync(ServiceKind.Catalog));
        return cluster;
    }

    [Fact]
    public async Task R8_ACopyWhoseTransferReplicaIsKilledHalfWayIsFinishedByAnotherFromItsCheckpoint()
    {
        await using var cluster = await StartAsync();
        var doomed = await cluster.StartProcessAsync(ServiceKind.Transfer);
        var (account, source, tasks, copy) = await CopyAsync(cluster, firstSeed: 40);
        var before = await WaitAsync(tasks, copy.Task.TaskId, t => t.Progress >= 40);
        doomed.Kill();
        await cluster.StartReplicaAsync(ServiceKind.Transfer);
        var seen = new List<TransferTask>();
        var done = await WaitAsync(tasks, copy.Task.TaskId, t => t.Status is TaskStatus.Finished or TaskStatus.Failed, seen);

        Assert.Equal(TaskStatus.Finished, done.Status);
        Assert.All(seen, t => Assert.True(t.BytesDone >= before.BytesDone, $"the copy went back from {before.BytesDone} to {t.BytesDone} bytes"));
        Assert.Equal(await DigestsAsync(cluster, Hangzhou, source.ImageId), await DigestsAsync(cluster, Shanghai, copy.ImageId));
        Assert.Equal(ImageStatus.Available, (await account.Client<ImageService.ImageServiceClient>().GetImageAsync(new GetImageRequest
        {
            RegionId = Shanghai, ImageId = copy.ImageId,
        })).Image.Status);
        await ReliabilitySteps.AssertInvariantsAsync(cluster, "transfer replica killed during a copy", 1, 1, output);
    }

    [Fact]
    public async Task R8_AFrozenTransferReplicaLosesItsCopyAndChangesNothingWhenItThaws()
    {
        await using var cluster = await StartAsync();
        var frozen = await cluster.StartProcessAsync(ServiceKind.Transfer);
        var (account, source, tasks, copy) = await CopyAsync(cluster, firstSeed: 80);
        await WaitAsync(tasks, copy.Task.TaskId, t => t.Progress >= 20);
        frozen.Pause();
        await cluster.StartReplicaAsync(ServiceKind.Transfer);
        var tookOver = await WaitAsync(tasks, copy.Task.TaskId, t => t.Progress >= 50);
        frozen.Resume();
        var seen = new List<TransferTask>();
        var done = await WaitAsync(tasks, copy.Task.TaskId, t => t.Status is TaskStatus.Finished or TaskStatus.Failed, seen);

        Assert.Equal(TaskStatus.Finished, done.Status);
        Assert.All(seen, t => Assert.True(t.BytesDone >= tookOver.BytesDone, $"the copy went back from {tookOver.BytesDone} to {t.BytesDone} bytes"));
        Assert.Equal(await DigestsAsync(cluster, Hangzhou, source.ImageId), await DigestsAsync(cluster, Shanghai, copy.ImageId));
        // The thawed replica found its claim gone: it lost its lease or was refused by the task's fence.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!cluster.Logs.Recent.Any(l => l.Contains($"pid {frozen.Pid}", StringComparison.Ordinal) &&
                                             (l.Contains("taken over by another worker", StringComparison.Ordinal) || l.Contains("Lost the lease", StringComparison.Ordinal))))
        {
            Assert.True(DateTime.UtcNow < deadline, "the thawed replica did not report giving up its copy");
            await Task.Delay(100);
        }
        Assert.Equal(TaskStatus.Finished, (await tasks.GetTaskAsync(new GetTaskRequest { TaskId = copy.Task.TaskId })).Task.Status);
        await ReliabilitySteps.AssertInvariantsAsync(cluster, "transfer replica frozen during a copy, then thawed", 1, 1, output);
    }

    [Fact]
    public async Task R8_ACopyRunningWhileRedisIsFrozenLongerThanTheClientTimeoutFinishesWithoutARestart()
    {
        await using var cluster = await StartAsync();
        await cluster.StartProcessAsync(ServiceKind.Transfer);
        var (account, source, tasks, copy) = await CopyAsync(cluster, firstSeed: 120);
        await WaitAsync(tasks, copy.Task.TaskId, t => t.Progress >= 20);
        await ReliabilitySteps.FreezeRedisAsync(cluster);
        var done = await ReliabilitySteps.RetryAsync(() => WaitAsync(tasks, copy.Task.TaskId, t => t.Status is TaskStatus.Finished or TaskStatus.Failed));

        Assert.Equal(TaskStatus.Finished, done.Status);
        Assert.Equal(await DigestsAsync(cluster, Hangzhou, source.ImageId), await DigestsAsync(cluster, Shanghai, copy.ImageId));
        await ReliabilitySteps.AssertInvariantsAsync(cluster, "Redis SIGSTOP for 7 s during a copy", 1, 1, output);
    }

    /// <summary>A new account's 64 MiB image (16 chunks made from consecutive seeds) being copied from Hangzhou to Shanghai.</summary>
    private static async Task<(TestAccount Account, Image Source, TaskService.TaskServiceClient Tasks, CopyImageResponse Copy)> CopyAsync(
        TestCluster cluster, int firstSeed)
    {
        var account = await cluster.NewAccountAsync();
        var source = await cluster.NewImageWithContentAsync(account, Hangzhou, ContentImages.Bytes(Enumerable.Range(firstSeed, 16).ToList()));
        var copy = await account.Client<TransferService.TransferServiceClient>().CopyImageAsync(new CopyImageRequest
        {
            RegionId = Hangzhou, ImageId = source.ImageId, DestinationRegionId = Shanghai,
        });
        return (account, source, account.Client<TaskService.TaskServiceClient>(), copy);
    }

    private static async Task<TransferTask> WaitAsync(TaskService.TaskServiceClient tasks, string taskId, Func<TransferTask, bool> done, List<TransferTask>? seen = null)
    {
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (true)
        {
            var task = (await tasks.GetTaskAsync(new GetTaskRequest { TaskId = taskId })).Task;
            seen?.Add(task);
            if (done(task))
            {
                return task;
            }
            Assert.True(DateTime.UtcNow < deadline, $"task {taskId} stayed {task.Status} at {task.Progress}%");
            await Task.Delay(50);
        }
    }

    private static async Task<IReadOnlyList<string>> DigestsAsync(TestCluster cluster, string region, string imageId)
    {
        var content = cluster.Client<ContentService.ContentServiceClient>(cluster.ServiceToken());
        var digests = new List<string>();
        foreach (var disk in await cluster.DisksOfAsync(region, imageId))
        {
            digests.Add((await content.GetContentInfoAsync(new GetContentInfoRequest { RegionId = region, ManifestId = disk.ManifestId })).Content.Digest);
        }
        return digests;
    }
}
