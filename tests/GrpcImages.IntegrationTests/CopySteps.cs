using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.Testing;

namespace GrpcImages.IntegrationTests;

/// <summary>Steps the copy tests share: copy, wait for tasks, compare content.</summary>
internal static class CopySteps
{
    public static TransferService.TransferServiceClient Transfers(this TestAccount account) => account.Client<TransferService.TransferServiceClient>();

    public static TaskService.TaskServiceClient Tasks(this TestAccount account) => account.Client<TaskService.TaskServiceClient>();

    public static async Task<CopyImageResponse> CopyAsync(this TestAccount account, string imageId, string from, string to,
        Contracts.Common.V1.EncryptionSpec? encryption = null, string name = "") =>
        await account.Transfers().CopyImageAsync(new CopyImageRequest
        {
            RegionId = from, ImageId = imageId, DestinationRegionId = to, Encryption = encryption, DestinationImageName = name,
        });

    /// <summary>Polls a task until it ends (or <paramref name="done"/>); every state seen goes to <paramref name="seen"/>.</summary>
    public static async Task<TransferTask> WaitForTaskAsync(this TestAccount account, string taskId, Func<TransferTask, bool>? done = null,
        List<TransferTask>? seen = null, int seconds = 90)
    {
        done ??= static t => t.Status is TaskStatus.Finished or TaskStatus.Failed or TaskStatus.Cancelled;
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            var task = (await account.Tasks().GetTaskAsync(new GetTaskRequest { TaskId = taskId })).Task;
            seen?.Add(task);
            if (done(task))
            {
                return task;
            }
            Assert.True(DateTime.UtcNow < deadline, $"task {taskId} stayed {task.Status} at {task.Progress}%");
            await Task.Delay(20);
        }
    }

    /// <summary>The digests of an image's disks' content, system disk first.</summary>
    public static async Task<IReadOnlyList<string>> DigestsAsync(this TestCluster cluster, string region, string imageId)
    {
        var content = cluster.Client<ContentService.ContentServiceClient>(cluster.ServiceToken());
        var digests = new List<string>();
        foreach (var disk in await cluster.DisksOfAsync(region, imageId))
        {
            digests.Add((await content.GetContentInfoAsync(new GetContentInfoRequest { RegionId = region, ManifestId = disk.ManifestId })).Content.Digest);
        }
        return digests;
    }

    public static async Task<Image> ImageInAsync(this TestAccount account, string region, string imageId) =>
        (await account.Images().GetImageAsync(new GetImageRequest { RegionId = region, ImageId = imageId })).Image;
}
