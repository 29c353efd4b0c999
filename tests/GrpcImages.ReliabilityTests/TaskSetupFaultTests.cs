using Grpc.Core;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Common.V1;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.Contracts.Sharing.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.Testing;
using static GrpcImages.ReliabilityTests.ReliabilitySteps;
using TaskStatus = GrpcImages.Contracts.Transfer.V1.TaskStatus;

namespace GrpcImages.ReliabilityTests;

/// <summary>
/// A task's setup call to the catalog that ends without an answer (R24): the catalog is frozen (SIGSTOP)
/// while ImportImage makes its pending image, and the caller gives up. The request cannot know whether
/// its call will still be carried out, so it leaves the task to a worker; the catalog thaws and carries
/// out (or drops) the stale call; the worker then ends the task and removes whatever it made.
/// </summary>
public class TaskSetupFaultTests(ITestOutputHelper output)
{
    [Fact]
    public async Task R24_AnImportWhoseCatalogCallIsLeftUnansweredEndsWithNoImageAndNoQuotaUnitLeft()
    {
        await using var cluster = await TestCluster.StartAsync(new Dictionary<string, string?> { ["Regions:0:Id"] = Hangzhou },
            [ServiceKind.Kms, ServiceKind.Sharing, ServiceKind.Transfer], output: output);
        var catalog = await cluster.StartProcessAsync(ServiceKind.Catalog, primary: true);
        var account = await cluster.NewAccountAsync();
        await account.Client<RoleService.RoleServiceClient>().CreateServiceRoleAsync(new CreateServiceRoleRequest { RoleName = "AliyunECSImageImportDefaultRole" });
        var bucket = await account.NewBucketAsync(Hangzhou);
        var directory = Directory.CreateDirectory(Path.Combine(cluster.DataDirectory, "test-files")).FullName;
        await account.PutObjectAsync(Hangzhou, bucket.Name, "disk.qcow2", await File.ReadAllBytesAsync(DiskFiles.Make(directory, DiskFiles.RawBytes(8, seed: 23), "qcow2")));
        var tasks = account.Client<TaskService.TaskServiceClient>();

        catalog.Pause();
        try
        {
            var gaveUp = await Assert.ThrowsAsync<RpcException>(() => account.Client<TransferService.TransferServiceClient>().ImportImageAsync(new ImportImageRequest
            {
                RegionId = Hangzhou, OsType = OsType.Linux, OsName = "Ubuntu 22.04",
                Disks = { new ImportDiskSpec { SourceUrl = $"oss://{bucket.Name}/disk.qcow2" } },
            }, deadline: DateTime.UtcNow.AddSeconds(3)).ResponseAsync);
            Assert.Equal(StatusCode.DeadlineExceeded, gaveUp.StatusCode);

            // The task stays, for a worker to end: the request could not know what its call did.
            var left = Assert.Single((await tasks.ListTasksAsync(new ListTasksRequest { RegionId = Hangzhou, PageSize = 10 })).Tasks);
            Assert.Equal(TaskStatus.Waiting, left.Status);
            await Task.Delay(TimeSpan.FromSeconds(1));
        }
        finally
        {
            catalog.Resume();
        }

        var task = (await tasks.ListTasksAsync(new ListTasksRequest { RegionId = Hangzhou, PageSize = 10 })).Tasks.Single();
        var ended = await WaitForTaskAsync(tasks, task.TaskId, t => t.Status is TaskStatus.Finished or TaskStatus.Failed or TaskStatus.Cancelled);

        Assert.Equal((TaskStatus.Failed, "TaskAbandoned"), (ended.Status, ended.Error.Reason));
        Assert.Empty(await RetryAsync(() => AllImagesAsync(account)));
        var quota = (await account.Client<QuotaService.QuotaServiceClient>().GetQuotasAsync(new GetQuotasRequest { RegionId = Hangzhou })).Quotas;
        Assert.Equal(0, quota.Single(q => q.Kind == QuotaKind.Images).Usage);
        await AssertInvariantsAsync(cluster, "catalog frozen under ImportImage's setup, caller gave up after 3 s", 1, 1, output);
    }
}
