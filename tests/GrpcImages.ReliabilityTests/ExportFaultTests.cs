using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Common.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.Testing;
using GrpcImages.Transfer.Formats;
using TaskStatus = GrpcImages.Contracts.Transfer.V1.TaskStatus;

namespace GrpcImages.ReliabilityTests;

/// <summary>
/// Exports survive their worker and Redis (R29): a transfer replica killed (SIGKILL) or frozen (SIGSTOP)
/// while it streams an image as a VHD into a bucket loses the task to another replica, which writes the
/// object again; a Redis frozen past every timeout holds the export up, then it finishes. Each time the
/// object is the image's disk, a thawed replica changes nothing, the image is no longer held, and nothing
/// stays held or stuck.
/// </summary>
public class ExportFaultTests(ITestOutputHelper output)
{
    private const string Hangzhou = "cn-hangzhou";

    [Fact]
    public async Task R29_AnExportWhoseTransferReplicaIsKilledHalfWayIsFinishedByAnother()
    {
        await using var export = await ExportUnderWayAsync();
        export.Worker.Kill();
        await export.Cluster.StartReplicaAsync(ServiceKind.Transfer);
        var done = await export.WaitAsync(t => t.Status is TaskStatus.Finished or TaskStatus.Failed);

        Assert.Equal(TaskStatus.Finished, done.Status);
        await export.AssertTheObjectIsTheImageAsync();
        await export.AssertTheImageIsFreeAndNothingIsHeldAsync("transfer replica killed during an export");
    }

    [Fact]
    public async Task R29_AFrozenTransferReplicaLosesItsExportAndChangesNothingWhenItThaws()
    {
        await using var export = await ExportUnderWayAsync();
        export.Worker.Pause();
        await export.Cluster.StartReplicaAsync(ServiceKind.Transfer);
        var done = await export.WaitAsync(t => t.Status is TaskStatus.Finished or TaskStatus.Failed);
        var written = await export.ObjectAsync();
        export.Worker.Resume();
        // The thawed replica finds its claim gone: it lost its lease or was refused by the task's fence.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!export.Cluster.Logs.Recent.Any(l => l.Contains($"pid {export.Worker.Pid}", StringComparison.Ordinal) &&
                                                    (l.Contains("taken over by another worker", StringComparison.Ordinal) || l.Contains("Lost the lease", StringComparison.Ordinal))))
        {
            Assert.True(DateTime.UtcNow < deadline, "the thawed replica did not report giving up its export");
            await Task.Delay(100);
        }

        Assert.Equal(TaskStatus.Finished, done.Status);
        Assert.Equal(written.Sha256, (await export.ObjectAsync()).Sha256); // the finisher's VHD (each has its own footer id), not the thawed one's
        await export.AssertTheObjectIsTheImageAsync();
        await export.AssertTheImageIsFreeAndNothingIsHeldAsync("transfer replica frozen during an export, then thawed");
    }

    [Fact]
    public async Task R29_AnExportRunningWhileRedisIsFrozenLongerThanTheClientTimeoutFinishesWithoutARestart()
    {
        await using var export = await ExportUnderWayAsync();
        await ReliabilitySteps.FreezeRedisAsync(export.Cluster);
        var done = await ReliabilitySteps.RetryAsync(() => export.WaitAsync(t => t.Status is TaskStatus.Finished or TaskStatus.Failed));

        Assert.Equal(TaskStatus.Finished, done.Status);
        await export.AssertTheObjectIsTheImageAsync();
        await export.AssertTheImageIsFreeAndNothingIsHeldAsync("Redis SIGSTOP for 7 s during an export");
    }

    /// <summary>
    /// A cluster whose only task-running transfer replica is a process of its own, exporting a 48 MiB
    /// image as a VHD at 8 MiB/s (about six seconds), about a third of the way through.
    /// </summary>
    private async Task<RunningExport> ExportUnderWayAsync()
    {
        var (cluster, worker) = await ReliabilitySteps.StartTransferWorkerAsync("export", output);
        var account = await cluster.NewAccountAsync();
        var raw = ContentImages.Bytes(Enumerable.Range(700, 12).ToList());
        var image = await cluster.NewImageWithContentAsync(account, Hangzhou, raw);
        var bucket = await account.NewBucketAsync(Hangzhou);
        var response = await account.Client<TransferService.TransferServiceClient>().ExportImageAsync(new ExportImageRequest
        {
            RegionId = Hangzhou, ImageId = image.ImageId, Bucket = bucket.Name, Format = DiskImageFormat.Vhd,
        });
        var export = new RunningExport(cluster, worker, account, image.ImageId, raw, bucket.Name, response, output);
        await export.WaitAsync(t => t.Progress >= 30);
        return export;
    }

    private sealed record RunningExport(TestCluster Cluster, ServiceProcess Worker, TestAccount Account, string ImageId, byte[] Raw, string Bucket,
        ExportImageResponse Response, ITestOutputHelper Output) : IAsyncDisposable
    {
        public Task<TransferTask> WaitAsync(Func<TransferTask, bool> until) =>
            ReliabilitySteps.WaitForTaskAsync(Account.Client<TaskService.TaskServiceClient>(), Response.Task.TaskId, until);

        public async Task<ObjectInfo> ObjectAsync() =>
            (await Account.Client<ObjectStoreService.ObjectStoreServiceClient>().HeadObjectAsync(new HeadObjectRequest
            {
                RegionId = Hangzhou, Bucket = Bucket, Name = Response.ObjectNames.Single(),
            })).Object;

        /// <summary>The exported VHD, read back by qemu-img, is the image's disk.</summary>
        public async Task AssertTheObjectIsTheImageAsync()
        {
            var vhd = Path.Combine(Directory.CreateDirectory(Path.Combine(Cluster.DataDirectory, "test-files")).FullName, "exported.vhd");
            await File.WriteAllBytesAsync(vhd, await Account.GetObjectBytesAsync(Hangzhou, Bucket, Response.ObjectNames.Single()));
            File.Delete(vhd + ".raw");
            DiskFiles.QemuImg(["convert", "-f", "vpc", "-O", "raw", vhd, vhd + ".raw"]);
            Assert.Equal(Raw, await File.ReadAllBytesAsync(vhd + ".raw"));
        }

        /// <summary>The export ended, so the image is no longer held (it can be deleted), and the invariants hold.</summary>
        public async Task AssertTheImageIsFreeAndNothingIsHeldAsync(string fault)
        {
            Assert.True((await Account.Client<ImageService.ImageServiceClient>().DeleteImageAsync(new DeleteImageRequest { RegionId = Hangzhou, ImageId = ImageId })).Deleted);
            await ReliabilitySteps.AssertInvariantsAsync(Cluster, fault, 1, 1, Output);
        }

        public ValueTask DisposeAsync() => Cluster.DisposeAsync();
    }
}
