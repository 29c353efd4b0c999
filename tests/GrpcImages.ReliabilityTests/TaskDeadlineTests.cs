using Grpc.Core;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Common.V1;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.Testing;
using TaskStatus = GrpcImages.Contracts.Transfer.V1.TaskStatus;

namespace GrpcImages.ReliabilityTests;

/// <summary>
/// Callers of the task-making calls (CopyImage, ImportImage, ExportImage) that give up after 1-100 ms:
/// whatever each call got to make ends (its task Finished, or undone), no image stays being made, no
/// source stays held, and no quota unit or content hold is left behind.
/// </summary>
public class TaskDeadlineTests(ITestOutputHelper output)
{
    private const string Hangzhou = "cn-hangzhou";
    private const string Shanghai = "cn-shanghai";

    [Fact]
    public async Task TaskCallsWhoseCallersGiveUpAfter1To100MsLeaveNothingStuckOrHeld()
    {
        await using var cluster = await TestCluster.StartAsync(output: output);
        var account = await cluster.NewAccountAsync();
        await account.Client<RoleService.RoleServiceClient>().CreateServiceRoleAsync(new CreateServiceRoleRequest { RoleName = "AliyunECSImageImportDefaultRole" });
        var bucket = await account.NewBucketAsync(Hangzhou);
        var directory = Directory.CreateDirectory(Path.Combine(cluster.DataDirectory, "test-files")).FullName;
        await account.PutObjectAsync(Hangzhou, bucket.Name, "disk.qcow2", await File.ReadAllBytesAsync(DiskFiles.Make(directory, DiskFiles.RawBytes(8, seed: 5), "qcow2")));
        var transfers = account.Client<TransferService.TransferServiceClient>();
        int[] deadlines = [1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 100];
        var sources = new List<string>();
        foreach (var ms in deadlines)
        {
            sources.Add((await cluster.NewImageWithContentAsync(account, Hangzhou, ContentImages.Bytes([3000 + ms]))).ImageId);
        }
        var outcomes = new Dictionary<StatusCode, int>();

        for (var i = 0; i < deadlines.Length; i++)
        {
            var (ms, source) = (deadlines[i], sources[i]);
            foreach (var call in new Func<DateTime, Task>[]
                     {
                         d => transfers.CopyImageAsync(new CopyImageRequest { RegionId = Hangzhou, ImageId = source, DestinationRegionId = Shanghai }, deadline: d).ResponseAsync,
                         d => transfers.ImportImageAsync(new ImportImageRequest
                         {
                             RegionId = Hangzhou, OsType = OsType.Linux, OsName = "Ubuntu 22.04",
                             Disks = { new ImportDiskSpec { SourceUrl = $"oss://{bucket.Name}/disk.qcow2" } },
                         }, deadline: d).ResponseAsync,
                         d => transfers.ExportImageAsync(new ExportImageRequest
                         {
                             RegionId = Hangzhou, ImageId = source, Bucket = bucket.Name, ObjectPrefix = $"d{ms}", Format = DiskImageFormat.Vhd,
                         }, deadline: d).ResponseAsync,
                     })
            {
                try
                {
                    await call(DateTime.UtcNow.AddMilliseconds(ms));
                    outcomes[StatusCode.OK] = outcomes.GetValueOrDefault(StatusCode.OK) + 1;
                }
                catch (RpcException ex)
                {
                    Assert.True(ex.StatusCode is StatusCode.DeadlineExceeded or StatusCode.Cancelled, $"{ex.StatusCode}: {ex.Status.Detail}");
                    outcomes[ex.StatusCode] = outcomes.GetValueOrDefault(ex.StatusCode) + 1;
                }
            }
        }
        output.WriteLine(string.Join(", ", outcomes.Select(o => $"{o.Key}: {o.Value}")));

        // Every accepted task ends by itself.
        var tasks = account.Client<TaskService.TaskServiceClient>();
        foreach (var region in new[] { Hangzhou, Shanghai })
        {
            var request = new ListTasksRequest { RegionId = region, PageSize = 100, Statuses = { TaskStatus.Waiting, TaskStatus.Processing, TaskStatus.Cancelling } };
            var deadline = DateTime.UtcNow.AddSeconds(120);
            while ((await tasks.ListTasksAsync(request)).Tasks is { Count: > 0 } running)
            {
                Assert.True(DateTime.UtcNow < deadline, $"{running.Count} tasks in {region} did not end, e.g. {running[0].TaskId} {running[0].Status}");
                await Task.Delay(200);
            }
        }
        // No image is left being made (one whose request died before its task was accepted is undone once
        // the task's 30 s setup guard has passed), and no source is left held: each can be deleted.
        var images = account.Client<ImageService.ImageServiceClient>();
        foreach (var region in new[] { Hangzhou, Shanghai })
        {
            var request = new ListImagesRequest { RegionId = region, OwnerAlias = ImageOwnerAlias.Self, PageSize = 100, Statuses = { ImageStatus.Creating, ImageStatus.Waiting } };
            var deadline = DateTime.UtcNow.AddSeconds(120);
            while ((await images.ListImagesAsync(request)).Images is { Count: > 0 } made)
            {
                Assert.True(DateTime.UtcNow < deadline, $"{made.Count} images in {region} are still being made, e.g. {made[0].ImageId} {made[0].Status}");
                await Task.Delay(500);
            }
        }
        foreach (var source in sources)
        {
            Assert.True((await images.DeleteImageAsync(new DeleteImageRequest { RegionId = Hangzhou, ImageId = source })).Deleted);
        }
        await ReliabilitySteps.AssertInvariantsAsync(cluster, "deadlines of 1-100 ms on CopyImage, ImportImage, ExportImage", deadlines.Length * 3,
            deadlines.Length * 3, output);
    }
}
