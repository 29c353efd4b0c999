using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Common.V1;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.Testing;
using TaskStatus = GrpcImages.Contracts.Transfer.V1.TaskStatus;

namespace GrpcImages.ReliabilityTests;

/// <summary>
/// Imports survive their worker and Redis (R24): a transfer replica killed (SIGKILL) while it reads a
/// QCOW2 object into an image loses the task to another replica, which finishes it from its write
/// session's checkpoint; a Redis frozen past every timeout holds the import up, then it finishes. Each
/// time the image holds the file's disk, and nothing stays held or stuck.
/// </summary>
public class ImportFaultTests(ITestOutputHelper output)
{
    private const string Hangzhou = "cn-hangzhou";

    [Fact]
    public async Task R24_AnImportWhoseTransferReplicaIsKilledHalfWayIsFinishedByAnother()
    {
        await using var import = await ImportUnderWayAsync();
        import.Worker.Kill();
        await import.Cluster.StartReplicaAsync(ServiceKind.Transfer);
        var done = await import.WaitAsync(t => t.Status is TaskStatus.Finished or TaskStatus.Failed);

        Assert.Equal(TaskStatus.Finished, done.Status);
        await import.AssertTheImageIsTheFileAsync("transfer replica killed during an import");
    }

    [Fact]
    public async Task R24_AnImportRunningWhileRedisIsFrozenLongerThanTheClientTimeoutFinishesWithoutARestart()
    {
        await using var import = await ImportUnderWayAsync();
        await ReliabilitySteps.FreezeRedisAsync(import.Cluster);
        var done = await ReliabilitySteps.RetryAsync(() => import.WaitAsync(t => t.Status is TaskStatus.Finished or TaskStatus.Failed));

        Assert.Equal(TaskStatus.Finished, done.Status);
        await import.AssertTheImageIsTheFileAsync("Redis SIGSTOP for 7 s during an import");
    }

    /// <summary>
    /// A cluster whose only task-running transfer replica is a process of its own, importing a 48 MiB
    /// QCOW2 object at 8 MiB/s (about six seconds), about a third of the way through.
    /// </summary>
    private async Task<RunningImport> ImportUnderWayAsync()
    {
        var (cluster, worker) = await ReliabilitySteps.StartTransferWorkerAsync("import", output);
        var account = await cluster.NewAccountAsync();
        await account.Client<RoleService.RoleServiceClient>().CreateServiceRoleAsync(new CreateServiceRoleRequest { RoleName = "AliyunECSImageImportDefaultRole" });
        var raw = DiskFiles.RawBytes(48, seed: 17);
        var directory = Directory.CreateDirectory(Path.Combine(cluster.DataDirectory, "test-files")).FullName;
        var bucket = await account.NewBucketAsync(Hangzhou);
        await account.PutObjectAsync(Hangzhou, bucket.Name, "disk.qcow2", await File.ReadAllBytesAsync(DiskFiles.Make(directory, raw, "qcow2")));
        var response = await account.Client<TransferService.TransferServiceClient>().ImportImageAsync(new ImportImageRequest
        {
            RegionId = Hangzhou, OsType = OsType.Linux, OsName = "Ubuntu 22.04",
            Disks = { new ImportDiskSpec { SourceUrl = $"oss://{bucket.Name}/disk.qcow2" } },
        });
        var import = new RunningImport(cluster, worker, account, raw, response, output);
        await import.WaitAsync(t => t.Progress >= 30);
        return import;
    }

    private sealed record RunningImport(TestCluster Cluster, ServiceProcess Worker, TestAccount Account, byte[] Raw, ImportImageResponse Response,
        ITestOutputHelper Output) : IAsyncDisposable
    {
        public Task<TransferTask> WaitAsync(Func<TransferTask, bool> until) =>
            ReliabilitySteps.WaitForTaskAsync(Account.Client<TaskService.TaskServiceClient>(), Response.Task.TaskId, until);

        /// <summary>The imported image is Available and holds the file's disk, and the invariants hold.</summary>
        public async Task AssertTheImageIsTheFileAsync(string fault)
        {
            var image = (await Account.Client<ImageService.ImageServiceClient>().GetImageAsync(new GetImageRequest { RegionId = Hangzhou, ImageId = Response.ImageId })).Image;
            Assert.Equal(ImageStatus.Available, image.Status);
            var disk = (await Cluster.DisksOfAsync(Hangzhou, Response.ImageId))[0];
            Assert.Equal(Raw, await Cluster.ReadContentAsync(Hangzhou, disk.ManifestId, 0, Raw.Length));
            await ReliabilitySteps.AssertInvariantsAsync(Cluster, fault, 1, 1, Output);
        }

        public ValueTask DisposeAsync() => Cluster.DisposeAsync();
    }
}
