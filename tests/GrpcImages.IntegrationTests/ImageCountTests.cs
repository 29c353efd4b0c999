using GrpcImages.Catalog.Storage;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.Testing;
using StackExchange.Redis;
using static GrpcImages.IntegrationTests.CatalogSteps;
using static GrpcImages.IntegrationTests.NetworkSteps;

namespace GrpcImages.IntegrationTests;

/// <summary>
/// ListImages' total_size comes from per-status counts that every change of an image keeps (created, renamed, tagged,
/// deprecated, copied through Waiting and Creating, cancelled, deleted): it stays what walking every page finds.
/// </summary>
public class ImageCountTests(ClusterFixture fixture, ITestOutputHelper output) : ClusterTest(fixture, output)
{
    private static readonly ImageStatus[][] Filters =
    [
        [ImageStatus.Available], [ImageStatus.Deprecated], [ImageStatus.Available, ImageStatus.Deprecated],
        [ImageStatus.Waiting, ImageStatus.Creating, ImageStatus.Available, ImageStatus.Deprecated, ImageStatus.CreateFailed],
    ];

    /// <summary>For each filter, the first page's total_size against the images every page lists.</summary>
    private static async Task AssertTotalsAsync(TestAccount account, string region)
    {
        foreach (var statuses in Filters)
        {
            var request = new ListImagesRequest { RegionId = region, OwnerAlias = ImageOwnerAlias.Self, PageSize = 2, Statuses = { statuses } };
            var (total, listed) = await ImageLists.WalkAsync(account.Images(), request);
            Assert.True(listed == total, $"{string.Join(",", statuses)} in {region}: total_size {total}, listed {listed}");
        }
    }

    [Fact]
    public async Task TotalSizeFollowsEveryChangeOfAnImagesStatus()
    {
        var account = await Cluster.NewAccountAsync();
        var instance = await account.NewInstanceAsync();
        var images = new List<Image>();
        for (var i = 0; i < 4; i++)
        {
            images.Add(await account.NewImageAsync(instance.InstanceId));
        }
        await AssertTotalsAsync(account, Hangzhou);

        await account.Images().UpdateImageAsync(new UpdateImageRequest { RegionId = Hangzhou, ImageId = images[0].ImageId, Deprecated = true });
        await account.Images().UpdateImageAsync(new UpdateImageRequest { RegionId = Hangzhou, ImageId = images[1].ImageId, ImageName = UniqueName() });
        await account.Tags().TagResourcesAsync(new TagResourcesRequest
        {
            RegionId = Hangzhou, ResourceType = TaggedResourceType.Image, ResourceIds = { images[2].ImageId }, Tags = { Tag("team", "web") },
        });
        await account.Images().DeleteImageAsync(new DeleteImageRequest { RegionId = Hangzhou, ImageId = images[3].ImageId });
        await AssertTotalsAsync(account, Hangzhou);
        var listed = await account.Images().ListImagesAsync(new ListImagesRequest { RegionId = Hangzhou, OwnerAlias = ImageOwnerAlias.Self });
        Assert.Equal(2, listed.TotalSize); // Available: the renamed and the tagged one

        // A copy goes through Waiting and Creating to Available in its region; one cancelled at once may go before it is made.
        var copy = await account.CopyAsync(images[1].ImageId, Hangzhou, Shanghai);
        var cancelled = await account.CopyAsync(images[2].ImageId, Hangzhou, Tokyo);
        await account.Tasks().CancelTaskAsync(new CancelTaskRequest { TaskId = cancelled.Task.TaskId });
        Assert.Equal(TaskStatus.Finished, (await account.WaitForTaskAsync(copy.Task.TaskId)).Status);
        await account.WaitForTaskAsync(cancelled.Task.TaskId);
        await AssertTotalsAsync(account, Shanghai);
        await AssertTotalsAsync(account, Tokyo);
        Assert.Equal(1, (await account.Images().ListImagesAsync(new ListImagesRequest { RegionId = Shanghai, OwnerAlias = ImageOwnerAlias.Self })).TotalSize);

        await account.Images().DeleteImageAsync(new DeleteImageRequest { RegionId = Shanghai, ImageId = copy.ImageId });
        await AssertTotalsAsync(account, Shanghai);
        Assert.Equal(0, (await account.Images().ListImagesAsync(new ListImagesRequest { RegionId = Shanghai, OwnerAlias = ImageOwnerAlias.Self })).TotalSize);
    }

    [Fact]
    public async Task AnIndexWrittenBeforeCountsWereKeptIsRecountedOnceAndKeptFromThen()
    {
        var account = await Cluster.NewAccountAsync();
        var instance = await account.NewInstanceAsync();
        var kept = await account.NewImageAsync(instance.InstanceId);
        var deprecated = await account.NewImageAsync(instance.InstanceId);
        await account.Images().UpdateImageAsync(new UpdateImageRequest { RegionId = Hangzhou, ImageId = deprecated.ImageId, Deprecated = true });
        await using var redis = await ConnectionMultiplexer.ConnectAsync(Cluster.RedisConfiguration);
        var db = redis.GetDatabase();
        var counts = CatalogKeys.ImageCounts(account.AccountId, Hangzhou);
        Assert.True(await db.KeyDeleteAsync(counts)); // as an index from before counts were kept

        // Changes while there are no counts do not start wrong ones.
        await account.Images().UpdateImageAsync(new UpdateImageRequest { RegionId = Hangzhou, ImageId = kept.ImageId, ImageName = UniqueName() });
        await account.NewImageAsync(instance.InstanceId);
        Assert.False(await db.KeyExistsAsync(counts));

        await AssertTotalsAsync(account, Hangzhou);
        Assert.Equal(2, (int)await db.HashGetAsync(counts, (int)ImageStatus.Available));
        Assert.Equal(1, (int)await db.HashGetAsync(counts, (int)ImageStatus.Deprecated));

        await account.Images().DeleteImageAsync(new DeleteImageRequest { RegionId = Hangzhou, ImageId = kept.ImageId });
        Assert.Equal(1, (int)await db.HashGetAsync(counts, (int)ImageStatus.Available));
        await AssertTotalsAsync(account, Hangzhou);

        // The fault tiers' invariant check finds these counts right, and would tell one that drifted.
        Assert.DoesNotContain(await Invariants.CheckAsync(Cluster.RedisConfiguration), v => v.Contains(account.AccountId, StringComparison.Ordinal));
        await db.HashIncrementAsync(counts, (int)ImageStatus.Available);
        Assert.Contains(await Invariants.CheckAsync(Cluster.RedisConfiguration), v => v.Contains(account.AccountId, StringComparison.Ordinal));
        await db.HashDecrementAsync(counts, (int)ImageStatus.Available);
    }
}
