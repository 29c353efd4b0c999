using Grpc.Core;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Common.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.Testing;
using TaskStatus = GrpcImages.Contracts.Transfer.V1.TaskStatus;

namespace GrpcImages.ReliabilityTests;

/// <summary>
/// Exports survive their worker (R29): a transfer replica killed (SIGKILL) while it streams an image as
/// a VHD into a bucket loses the task to another replica, which writes the object again; the object is
/// the image's disk, the image is no longer held, and nothing stays held or stuck.
/// </summary>
public class ExportFaultTests(ITestOutputHelper output)
{
    private const string Hangzhou = "cn-hangzhou";

    [Fact]
    public async Task R29_AnExportWhoseTransferReplicaIsKilledHalfWayIsFinishedByAnother()
    {
        await using var cluster = await TestCluster.StartAsync(new Dictionary<string, string?>
        {
            ["Regions:0:Id"] = Hangzhou,
            // 48 MiB at 8 MiB/s: about six seconds of exporting.
            ["Transfer:MaxBytesPerSecondPerTask"] = (8L << 20).ToString(System.Globalization.CultureInfo.InvariantCulture),
            [$"Queues:export:{Hangzhou}:Lease"] = "00:00:02",
        }, [ServiceKind.Kms, ServiceKind.Sharing], output: output);
        await cluster.WaitUntilServingAsync(await cluster.StartReplicaAsync(ServiceKind.Transfer, new Dictionary<string, string?> { ["Transfer:RunTasks"] = "false" }));
        await cluster.WaitUntilServingAsync(await cluster.StartReplicaAsync(ServiceKind.Catalog));
        var doomed = await cluster.StartProcessAsync(ServiceKind.Transfer);
        var account = await cluster.NewAccountAsync();
        var raw = ContentImages.Bytes(Enumerable.Range(700, 12).ToList());
        var image = await cluster.NewImageWithContentAsync(account, Hangzhou, raw);
        var bucket = await account.NewBucketAsync(Hangzhou);
        var tasks = account.Client<TaskService.TaskServiceClient>();

        var export = await account.Client<TransferService.TransferServiceClient>().ExportImageAsync(new ExportImageRequest
        {
            RegionId = Hangzhou, ImageId = image.ImageId, Bucket = bucket.Name, Format = DiskImageFormat.Vhd,
        });
        await ReliabilitySteps.WaitForTaskAsync(tasks, export.Task.TaskId, t => t.Progress >= 30);
        doomed.Kill();
        await cluster.StartReplicaAsync(ServiceKind.Transfer);
        var done = await ReliabilitySteps.WaitForTaskAsync(tasks, export.Task.TaskId, t => t.Status is TaskStatus.Finished or TaskStatus.Failed);

        Assert.Equal(TaskStatus.Finished, done.Status);
        var vhd = Path.Combine(Directory.CreateDirectory(Path.Combine(cluster.DataDirectory, "test-files")).FullName, "exported.vhd");
        await File.WriteAllBytesAsync(vhd, await account.GetObjectBytesAsync(Hangzhou, bucket.Name, export.ObjectNames.Single()));
        DiskFiles.QemuImg(["convert", "-f", "vpc", "-O", "raw", vhd, vhd + ".raw"]);
        Assert.Equal(raw, await File.ReadAllBytesAsync(vhd + ".raw"));
        // The export ended, so the image is no longer held: it can be deleted.
        Assert.True((await account.Client<ImageService.ImageServiceClient>().DeleteImageAsync(new DeleteImageRequest { RegionId = Hangzhou, ImageId = image.ImageId })).Deleted);
        await ReliabilitySteps.AssertInvariantsAsync(cluster, "transfer replica killed during an export", 1, 1, output);
    }
}
