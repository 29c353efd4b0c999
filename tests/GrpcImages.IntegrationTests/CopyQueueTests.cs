using Grpc.Core;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Sharing.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.Testing;
using static GrpcImages.IntegrationTests.CatalogSteps;

namespace GrpcImages.IntegrationTests;

/// <summary>
/// Copies that take a while (a bandwidth cap per task), on a cluster of their own with two transfer
/// replicas: the per-region limit across replicas, FIFO starts and queue positions (R8), and
/// cancelling waiting and running copies (R10).
/// </summary>
public sealed class CopyQueueTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int ChunksPerImage = 3;
    private TestCluster _cluster = null!;

    public async Task InitializeAsync()
    {
        _cluster = await TestCluster.StartAsync(new Dictionary<string, string?>
        {
            ["Regions:0:Id"] = Hangzhou,
            ["Regions:1:Id"] = Shanghai,
            // 12 MiB per image at 12 MiB/s: about a second each (see SourcesAsync).
            ["Transfer:MaxBytesPerSecondPerTask"] = (12L << 20).ToString(System.Globalization.CultureInfo.InvariantCulture),
        }, output: output);
        await _cluster.StartReplicaAsync(ServiceKind.Transfer);
    }

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task R8_EightCopiesIntoARegionRunFiveAtATimeAcrossReplicasStartInOrderAndAllArrive()
    {
        var account = await _cluster.NewAccountAsync();
        var sources = await SourcesAsync(account, 8, firstSeed: 0);

        var copies = new List<CopyImageResponse>();
        foreach (var source in sources)
        {
            copies.Add(await account.CopyAsync(source.ImageId, Hangzhou, Shanghai));
        }
        var waiting = await account.ImageInAsync(Shanghai, copies[^1].ImageId);
        var firstSeenRunning = new Dictionary<string, int>();
        var mostRunning = 0;
        for (var sample = 0; firstSeenRunning.Count < copies.Count || !await AllEndedAsync(account); sample++)
        {
            var running = (await account.Tasks().ListTasksAsync(new ListTasksRequest
            {
                RegionId = Shanghai, Statuses = { TaskStatus.Processing }, PageSize = 100,
            })).Tasks;
            mostRunning = Math.Max(mostRunning, running.Count);
            foreach (var task in running)
            {
                firstSeenRunning.TryAdd(task.TaskId, sample);
            }
            foreach (var done in (await account.Tasks().ListTasksAsync(new ListTasksRequest { RegionId = Shanghai, Statuses = { TaskStatus.Finished }, PageSize = 100 })).Tasks)
            {
                firstSeenRunning.TryAdd(done.TaskId, sample); // ran between two samples
            }
            Assert.True(sample < 3000, "the copies did not end");
            await Task.Delay(20);
        }

        Assert.InRange(mostRunning, 1, 5);
        Assert.Equal(ImageStatus.Waiting, waiting.Status); // the last one queued waited behind the first five ...
        Assert.True(waiting.QueuePosition > 0, $"queue position {waiting.QueuePosition}");
        var order = copies.Select(c => firstSeenRunning[c.Task.TaskId]).ToList();
        Assert.Equal(order.Order(), order); // ... and they started in the order they were asked for
        for (var i = 0; i < copies.Count; i++)
        {
            Assert.Equal(await _cluster.DigestsAsync(Hangzhou, sources[i].ImageId), await _cluster.DigestsAsync(Shanghai, copies[i].ImageId));
            Assert.Equal(ImageStatus.Available, (await account.ImageInAsync(Shanghai, copies[i].ImageId)).Status);
        }
    }

    [Fact]
    public async Task R10_ACancelledCopyLeavesNoImageNoQuotaUnitAndNoChunksOfItsOwnAndTheSourceUntouched()
    {
        var account = await _cluster.NewAccountAsync();
        var source = await _cluster.NewImageWithContentAsync(account, Hangzhou, ContentImages.Bytes(Enumerable.Range(5000, 12).ToList())); // about four seconds
        var before = await ImageUsageAsync(account, Shanghai);

        var copy = await account.CopyAsync(source.ImageId, Hangzhou, Shanghai);
        await account.WaitForTaskAsync(copy.Task.TaskId, t => t.Status == TaskStatus.Processing && t.BytesDone > 0);
        var cancelled = (await account.Transfers().CancelCopyImageAsync(new CancelCopyImageRequest { RegionId = Shanghai, ImageId = copy.ImageId })).Task;
        var task = await account.WaitForTaskAsync(copy.Task.TaskId);

        Assert.True(cancelled.Status is TaskStatus.Cancelling or TaskStatus.Cancelled);
        Assert.Equal(TaskStatus.Cancelled, task.Status);
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidImageId.NotFound", () =>
            account.Images().GetImageAsync(new GetImageRequest { RegionId = Shanghai, ImageId = copy.ImageId }));
        Assert.Equal(before, await ImageUsageAsync(account, Shanghai));
        // Nothing of the copy is left in the destination's store once collected.
        await _cluster.Client<ContentService.ContentServiceClient>(_cluster.ServiceToken()).CollectGarbageAsync(new CollectGarbageRequest { RegionId = Shanghai });
        var sourceChunks = await _cluster.ChunkIdsAsync(Hangzhou, new ContentInfo { ManifestId = (await _cluster.DisksOfAsync(Hangzhou, source.ImageId))[0].ManifestId });
        Assert.Equal(12, sourceChunks.Count);
        Assert.All(sourceChunks, chunk => Assert.False(File.Exists(_cluster.BlobPath(Shanghai, chunk)), $"chunk {chunk} of the cancelled copy is still stored"));
        // The source is as it was and is no longer held.
        Assert.Equal(ImageStatus.Available, (await account.ImageInAsync(Hangzhou, source.ImageId)).Status);
        Assert.True((await account.Images().DeleteImageAsync(new DeleteImageRequest { RegionId = Hangzhou, ImageId = source.ImageId })).Deleted);
    }

    [Fact]
    public async Task R10_AWaitingCopyIsCancelledAtOnceAndFinishedOrForeignImagesCannotBeCancelled()
    {
        var account = await _cluster.NewAccountAsync();
        var sources = await SourcesAsync(account, 7, firstSeed: 9000);
        var copies = new List<CopyImageResponse>();
        foreach (var source in sources)
        {
            copies.Add(await account.CopyAsync(source.ImageId, Hangzhou, Shanghai));
        }
        var last = copies[^1];
        Assert.Equal(TaskStatus.Waiting, (await account.Tasks().GetTaskAsync(new GetTaskRequest { TaskId = last.Task.TaskId })).Task.Status);

        var cancelled = (await account.Tasks().CancelTaskAsync(new CancelTaskRequest { TaskId = last.Task.TaskId })).Task;

        Assert.Equal(TaskStatus.Cancelled, cancelled.Status);
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidImageId.NotFound", () =>
            account.Images().GetImageAsync(new GetImageRequest { RegionId = Shanghai, ImageId = last.ImageId }));
        var first = await account.WaitForTaskAsync(copies[0].Task.TaskId);
        Assert.Equal(TaskStatus.Finished, first.Status);
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, "IncorrectImageStatus", () =>
            account.Transfers().CancelCopyImageAsync(new CancelCopyImageRequest { RegionId = Shanghai, ImageId = copies[0].ImageId }));
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, "IncorrectTaskStatus", () =>
            account.Tasks().CancelTaskAsync(new CancelTaskRequest { TaskId = first.TaskId }));
        var own = await account.NewImageAsync((await account.NewInstanceAsync()).InstanceId);
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, "ImageCreatedNotFromCopy", () =>
            account.Transfers().CancelCopyImageAsync(new CancelCopyImageRequest { RegionId = Hangzhou, ImageId = own.ImageId }));
        var stranger = await _cluster.NewAccountAsync();
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidTaskId.NotFound", () =>
            stranger.Tasks().CancelTaskAsync(new CancelTaskRequest { TaskId = copies[1].Task.TaskId }));
        foreach (var copy in copies.SkipLast(1))
        {
            await account.WaitForTaskAsync(copy.Task.TaskId);
        }
    }

    /// <summary>
    /// Images to copy: the five that run first take about four seconds each and the rest one, so those
    /// queued behind the five are surely still waiting when a test looks at them.
    /// </summary>
    private async Task<List<Image>> SourcesAsync(TestAccount account, int count, int firstSeed)
    {
        var sources = new List<Image>();
        for (var i = 0; i < count; i++)
        {
            var chunks = i < 5 ? 4 * ChunksPerImage : ChunksPerImage;
            sources.Add(await _cluster.NewImageWithContentAsync(account, Hangzhou, ContentImages.Bytes(Enumerable.Range(firstSeed + 20 * i, chunks).ToList())));
        }
        return sources;
    }

    private static async Task<bool> AllEndedAsync(TestAccount account) =>
        (await account.Tasks().ListTasksAsync(new ListTasksRequest
        {
            RegionId = Shanghai, Statuses = { TaskStatus.Waiting, TaskStatus.Processing, TaskStatus.Cancelling }, PageSize = 100,
        })).Tasks.Count == 0;

    private static async Task<int> ImageUsageAsync(TestAccount account, string region) =>
        (await account.Quotas().GetQuotasAsync(new GetQuotasRequest { RegionId = region })).Quotas.Single(q => q.Kind == QuotaKind.Images).Usage;
}
