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

    /// <summary>
    /// Follows a task through WatchTask until it ends (or <paramref name="done"/>); every state pushed goes to
    /// <paramref name="seen"/>. A stream that breaks is opened again after the last revision seen.
    /// </summary>
    public static async Task<TransferTask> WaitForTaskAsync(this TestAccount account, string taskId, Func<TransferTask, bool>? done = null,
        List<TransferTask>? seen = null, int seconds = 90)
    {
        done ??= static t => t.Status is TaskStatus.Finished or TaskStatus.Failed or TaskStatus.Cancelled;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        TransferTask? last = null;
        try
        {
            while (true)
            {
                using var watch = account.Tasks().WatchTask(new WatchTaskRequest { TaskId = taskId, AfterRevision = last?.Revision ?? 0 }, cancellationToken: timeout.Token);
                try
                {
                    while (await watch.ResponseStream.MoveNext(timeout.Token))
                    {
                        last = watch.ResponseStream.Current.Task;
                        seen?.Add(last);
                        if (done(last))
                        {
                            return last;
                        }
                    }
                }
                catch (Grpc.Core.RpcException ex) when (ex.StatusCode is Grpc.Core.StatusCode.Unavailable or Grpc.Core.StatusCode.Internal && !timeout.IsCancellationRequested)
                {
                    continue; // the stream broke: open it again after the last revision seen
                }
                Assert.Fail($"task {taskId} ended {last?.Status} before what the test waits for");
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or Grpc.Core.RpcException { StatusCode: Grpc.Core.StatusCode.Cancelled } && timeout.IsCancellationRequested)
        {
            Assert.Fail($"task {taskId} stayed {last?.Status} at {last?.Progress}% for {seconds} s");
            throw;
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
