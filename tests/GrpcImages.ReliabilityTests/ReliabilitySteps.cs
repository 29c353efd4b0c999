using Grpc.Core;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.Testing;

namespace GrpcImages.ReliabilityTests;

internal static class ReliabilitySteps
{
    public const string Hangzhou = "cn-hangzhou";
    public const string Ubuntu = "ubuntu_22_04_x64_20G_alibase_20240101.vhd";

    public static async Task<Instance> NewInstanceAsync(TestAccount account, long systemGib, params long[] dataGib)
    {
        var request = new CreateInstanceRequest { RegionId = Hangzhou, ImageId = Ubuntu, SystemDiskSizeGib = systemGib };
        request.DataDisks.AddRange(dataGib.Select(size => new DataDiskSpec { SizeGib = size }));
        return (await account.Client<InstanceService.InstanceServiceClient>().CreateInstanceAsync(request)).Instance;
    }

    public static async Task<Image> WaitForAsync(ImageService.ImageServiceClient images, string imageId, Func<Image, bool> done, List<Image>? seen = null)
    {
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (true)
        {
            var image = (await images.GetImageAsync(new GetImageRequest { RegionId = Hangzhou, ImageId = imageId })).Image;
            seen?.Add(image);
            if (done(image))
            {
                return image;
            }
            Assert.True(DateTime.UtcNow < deadline, $"image {imageId} stayed {image.Status} at {image.Progress}%");
            await Task.Delay(50);
        }
    }

    public static async Task<TransferTask> WaitForTaskAsync(TaskService.TaskServiceClient tasks, string taskId, Func<TransferTask, bool> done)
    {
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (true)
        {
            var task = (await tasks.GetTaskAsync(new GetTaskRequest { TaskId = taskId })).Task;
            if (done(task))
            {
                return task;
            }
            Assert.True(DateTime.UtcNow < deadline, $"task {taskId} stayed {task.Status} at {task.Progress}%");
            await Task.Delay(50);
        }
    }

    /// <summary>
    /// A one-region cluster whose only task-running transfer replica is a process of its own (to kill or
    /// freeze), with tasks of <paramref name="queue"/> kept to 8 MiB/s and a 2 s lease; the API-only
    /// transfer replica and the catalog run in this process.
    /// </summary>
    public static async Task<(TestCluster Cluster, ServiceProcess Worker)> StartTransferWorkerAsync(string queue, ITestOutputHelper output)
    {
        var cluster = await TestCluster.StartAsync(new Dictionary<string, string?>
        {
            ["Regions:0:Id"] = Hangzhou,
            ["Transfer:MaxBytesPerSecondPerTask"] = (8L << 20).ToString(System.Globalization.CultureInfo.InvariantCulture),
            [$"Queues:{queue}:{Hangzhou}:Lease"] = "00:00:02",
        }, [ServiceKind.Kms, ServiceKind.Sharing], output: output);
        await cluster.WaitUntilServingAsync(await cluster.StartReplicaAsync(ServiceKind.Transfer, new Dictionary<string, string?> { ["Transfer:RunTasks"] = "false" }));
        await cluster.WaitUntilServingAsync(await cluster.StartReplicaAsync(ServiceKind.Catalog));
        return (cluster, await cluster.StartProcessAsync(ServiceKind.Transfer));
    }

    /// <summary>Freezes Redis (SIGSTOP) for 7 s: longer than the tests' 5 s client timeout and a 2 s lease.</summary>
    public static async Task FreezeRedisAsync(TestCluster cluster)
    {
        CreationFaultTests.Signal(cluster.Redis.Pid, "STOP");
        await Task.Delay(TimeSpan.FromSeconds(7));
        CreationFaultTests.Signal(cluster.Redis.Pid, "CONT");
    }

    /// <summary>Retries a call that failed for a reason a client retries on (the service was killed or stalled) until it answers.</summary>
    public static async Task<T> RetryAsync<T>(Func<Task<T>> call)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                return await call();
            }
            catch (RpcException ex) when (ex.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.Internal or StatusCode.Cancelled
                                          && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
    }

    /// <summary>All of an account's images in the region, whatever their status.</summary>
    public static async Task<List<Image>> AllImagesAsync(TestAccount account)
    {
        var request = new ListImagesRequest { RegionId = Hangzhou, OwnerAlias = ImageOwnerAlias.Self, PageSize = 100 };
        request.Statuses.AddRange(Enum.GetValues<ImageStatus>().Where(s => s != ImageStatus.Unspecified));
        var images = new List<Image>();
        var client = account.Client<ImageService.ImageServiceClient>();
        do
        {
            var page = await client.ListImagesAsync(request);
            images.AddRange(page.Images);
            request.PageToken = page.NextPageToken;
        }
        while (request.PageToken.Length > 0);
        return images;
    }

    /// <summary>Asserts the invariants hold once the jobs that restore them have run, and records the run in the summary.</summary>
    public static async Task AssertInvariantsAsync(TestCluster cluster, string fault, int runs, int survived, ITestOutputHelper output)
    {
        var violations = await Invariants.SettleAsync(cluster.RedisConfiguration);
        FaultSummary.Record(fault, runs, survived, violations.Count);
        foreach (var violation in violations)
        {
            output.WriteLine($"violation: {violation}");
        }
        Assert.Empty(violations);
    }
}
