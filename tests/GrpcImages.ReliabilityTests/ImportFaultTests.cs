using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Common.V1;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.Testing;
using TaskStatus = GrpcImages.Contracts.Transfer.V1.TaskStatus;

namespace GrpcImages.ReliabilityTests;

/// <summary>
/// Imports survive their worker (R24): a transfer replica killed (SIGKILL) while it reads a QCOW2 object
/// into an image loses the task to another replica, which finishes it from its write session's
/// checkpoint; the image holds the file's disk, and nothing stays held or stuck.
/// </summary>
public class ImportFaultTests(ITestOutputHelper output)
{
    private const string Hangzhou = "cn-hangzhou";

    [Fact]
    public async Task R24_AnImportWhoseTransferReplicaIsKilledHalfWayIsFinishedByAnother()
    {
        await using var cluster = await TestCluster.StartAsync(new Dictionary<string, string?>
        {
            ["Regions:0:Id"] = Hangzhou,
            // 48 MiB at 8 MiB/s: about six seconds of importing.
            ["Transfer:MaxBytesPerSecondPerTask"] = (8L << 20).ToString(System.Globalization.CultureInfo.InvariantCulture),
            [$"Queues:import:{Hangzhou}:Lease"] = "00:00:02",
        }, [ServiceKind.Kms, ServiceKind.Sharing], output: output);
        await cluster.WaitUntilServingAsync(await cluster.StartReplicaAsync(ServiceKind.Transfer, new Dictionary<string, string?> { ["Transfer:RunTasks"] = "false" }));
        await cluster.WaitUntilServingAsync(await cluster.StartReplicaAsync(ServiceKind.Catalog));
        var doomed = await cluster.StartProcessAsync(ServiceKind.Transfer);
        var account = await cluster.NewAccountAsync();
        await account.Client<RoleService.RoleServiceClient>().CreateServiceRoleAsync(new CreateServiceRoleRequest { RoleName = "AliyunECSImageImportDefaultRole" });
        var raw = DiskFiles.RawBytes(48, seed: 17);
        var directory = Directory.CreateDirectory(Path.Combine(cluster.DataDirectory, "test-files")).FullName;
        var bucket = await account.NewBucketAsync(Hangzhou);
        await account.PutObjectAsync(Hangzhou, bucket.Name, "disk.qcow2", await File.ReadAllBytesAsync(DiskFiles.Make(directory, raw, "qcow2")));
        var tasks = account.Client<TaskService.TaskServiceClient>();

        var import = await account.Client<TransferService.TransferServiceClient>().ImportImageAsync(new ImportImageRequest
        {
            RegionId = Hangzhou, OsType = OsType.Linux, OsName = "Ubuntu 22.04",
            Disks = { new ImportDiskSpec { SourceUrl = $"oss://{bucket.Name}/disk.qcow2" } },
        });
        await ReliabilitySteps.WaitForTaskAsync(tasks, import.Task.TaskId, t => t.Progress >= 30);
        doomed.Kill();
        await cluster.StartReplicaAsync(ServiceKind.Transfer);
        var done = await ReliabilitySteps.WaitForTaskAsync(tasks, import.Task.TaskId, t => t.Status is TaskStatus.Finished or TaskStatus.Failed);

        Assert.Equal(TaskStatus.Finished, done.Status);
        var image = (await account.Client<ImageService.ImageServiceClient>().GetImageAsync(new GetImageRequest { RegionId = Hangzhou, ImageId = import.ImageId })).Image;
        Assert.Equal(ImageStatus.Available, image.Status);
        var disk = (await cluster.DisksOfAsync(Hangzhou, import.ImageId))[0];
        Assert.Equal(raw, await cluster.ReadContentAsync(Hangzhou, disk.ManifestId, 0, raw.Length));
        await ReliabilitySteps.AssertInvariantsAsync(cluster, "transfer replica killed during an import", 1, 1, output);
    }
}
