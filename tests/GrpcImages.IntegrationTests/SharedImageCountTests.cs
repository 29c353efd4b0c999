using Grpc.Core;
using GrpcImages.Catalog.Storage;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Sharing.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.Testing;
using StackExchange.Redis;
using static GrpcImages.IntegrationTests.CatalogSteps;

namespace GrpcImages.IntegrationTests;

/// <summary>
/// R19: a recipient's ListImages of "others" counts its shared images from counts the catalog keeps per owner,
/// recipient and status (moved by every grant, revoke, status change and delete); its total_size stays what
/// walking every page finds, and shares made before the counts were kept are still counted.
/// </summary>
public class SharedImageCountTests(ClusterFixture fixture, ITestOutputHelper output) : ClusterTest(fixture, output)
{
    private static readonly ImageStatus[][] Filters =
    [
        [ImageStatus.Available], [ImageStatus.Deprecated], [ImageStatus.Creating], [ImageStatus.Available, ImageStatus.Deprecated],
        [ImageStatus.Waiting, ImageStatus.Creating, ImageStatus.Available, ImageStatus.Deprecated, ImageStatus.CreateFailed],
    ];

    /// <summary>For each filter, the first page's total_size against what every page of the recipient's "others" lists; returns the default (Available) total.</summary>
    private static async Task<int> AssertTotalsAsync(TestAccount recipient, string region = Hangzhou)
    {
        foreach (var statuses in Filters)
        {
            var request = new ListImagesRequest { RegionId = region, OwnerAlias = ImageOwnerAlias.Others, PageSize = 2, Statuses = { statuses } };
            var (total, listed) = await ImageLists.WalkAsync(recipient.Images(), request);
            Assert.True(listed == total, $"{string.Join(",", statuses)} in {region}: total_size {total}, listed {listed}");
        }
        return (await recipient.Images().ListImagesAsync(new ListImagesRequest { RegionId = region, OwnerAlias = ImageOwnerAlias.Others })).TotalSize;
    }

    [Fact]
    public async Task R19_ARecipientsTotalFollowsSharesRevokesStatusChangesAndDeletes()
    {
        var a = await Cluster.NewAccountAsync();
        var b = await Cluster.NewAccountAsync();
        var r = await Cluster.NewAccountAsync();
        var other = await Cluster.NewAccountAsync();
        var instance = await a.NewInstanceAsync();
        var images = new List<Image>();
        for (var i = 0; i < 3; i++)
        {
            images.Add(await a.NewImageAsync(instance.InstanceId));
            await a.ShareAsync(images[i].ImageId, r.AccountId, other.AccountId);
        }
        var fromB = await b.NewImageAsync((await b.NewInstanceAsync()).InstanceId);
        await b.ShareAsync(fromB.ImageId, r.AccountId);
        // One still being made (a 32 TiB data disk keeps it Creating for minutes): counted under Creating only.
        var big = await a.NewInstanceAsync(dataDiskGib: 32_768);
        var creating = (await a.Images().CreateImageAsync(new CreateImageRequest { RegionId = Hangzhou, InstanceId = big.InstanceId, ImageName = UniqueName() })).Image;
        await a.ShareAsync(creating.ImageId, r.AccountId);
        Assert.Equal(4, await AssertTotalsAsync(r));

        await a.Images().UpdateImageAsync(new UpdateImageRequest { RegionId = Hangzhou, ImageId = images[0].ImageId, Deprecated = true });
        Assert.Equal(3, await AssertTotalsAsync(r));
        await a.UnshareAsync(images[1].ImageId, r.AccountId);
        Assert.Equal(2, await AssertTotalsAsync(r));
        await a.Images().DeleteImageAsync(new DeleteImageRequest { RegionId = Hangzhou, ImageId = images[2].ImageId, Force = true });
        Assert.Equal(1, await AssertTotalsAsync(r));
        Assert.Equal(1, await AssertTotalsAsync(other)); // images[1]; images[0] is Deprecated
        await a.ShareAsync(images[1].ImageId, r.AccountId);
        Assert.Equal(2, await AssertTotalsAsync(r));
        var deprecated = await r.Images().ListImagesAsync(new ListImagesRequest
        {
            RegionId = Hangzhou, OwnerAlias = ImageOwnerAlias.Others, Statuses = { ImageStatus.Deprecated, ImageStatus.Creating },
        });
        Assert.Equal(2, deprecated.TotalSize);

        // What answered is the catalog's counts, kept as the recipients and statuses changed.
        await using var redis = await ConnectionMultiplexer.ConnectAsync(Cluster.RedisConfiguration);
        var db = redis.GetDatabase();
        var counts = (await db.HashGetAllAsync(CatalogKeys.RecipientCounts(a.AccountId, Hangzhou))).ToDictionary(e => (string)e.Name!, e => (int)e.Value);
        Assert.Equal(new Dictionary<string, int>
        {
            [$"{r.AccountId}|{(int)ImageStatus.Available}"] = 1,
            [$"{r.AccountId}|{(int)ImageStatus.Deprecated}"] = 1,
            [$"{r.AccountId}|{(int)ImageStatus.Creating}"] = 1,
            [$"{other.AccountId}|{(int)ImageStatus.Available}"] = 1,
            [$"{other.AccountId}|{(int)ImageStatus.Deprecated}"] = 1,
        }, counts);
        Assert.False(await db.KeyExistsAsync(CatalogKeys.ImageRecipients(images[2].ImageId))); // forgotten with the image
        Assert.DoesNotContain(await Invariants.CheckAsync(Cluster.RedisConfiguration),
            v => v.Contains(a.AccountId, StringComparison.Ordinal) || v.Contains(r.AccountId, StringComparison.Ordinal));
    }

    [Fact]
    public async Task R19_ASharedCopyIsCountedThroughWaitingAndCreatingToAvailable()
    {
        var a = await Cluster.NewAccountAsync();
        var r = await Cluster.NewAccountAsync();
        var image = await a.NewImageAsync((await a.NewInstanceAsync()).InstanceId);
        var copy = await a.CopyAsync(image.ImageId, Hangzhou, Shanghai);
        await a.ShareInAsync(Shanghai, copy.ImageId, r.AccountId); // Packer shares a copy as soon as it asked for it
        // Whichever step the copy is at, it is counted once among them (a list is no snapshot: its total and its page
        // are read one after the other, so only a total is asserted while the copy moves).
        var steps = new ListImagesRequest
        {
            RegionId = Shanghai, OwnerAlias = ImageOwnerAlias.Others, Statuses = { ImageStatus.Waiting, ImageStatus.Creating, ImageStatus.Available },
        };
        Assert.Equal(1, (await r.Images().ListImagesAsync(steps)).TotalSize);
        Assert.Equal(TaskStatus.Finished, (await a.WaitForTaskAsync(copy.Task.TaskId)).Status);
        Assert.Equal(1, await AssertTotalsAsync(r, Shanghai));
        Assert.Equal(0, await AssertTotalsAsync(r));
    }

    [Fact]
    public async Task R19_SharesMadeBeforeTheCountsWereKeptAreCountedByReadingAndThenHandedOver()
    {
        var a = await Cluster.NewAccountAsync();
        var r = await Cluster.NewAccountAsync();
        var instance = await a.NewInstanceAsync();
        var shared = new List<string>();
        for (var i = 0; i < 2; i++)
        {
            shared.Add((await a.NewImageAsync(instance.InstanceId)).ImageId);
            await a.ShareAsync(shared[i], r.AccountId);
        }
        await using var redis = await ConnectionMultiplexer.ConnectAsync(Cluster.RedisConfiguration);
        var db = redis.GetDatabase();
        // As shares from before the catalog kept counts: the recipient's index has them, the catalog nothing.
        var counts = CatalogKeys.RecipientCounts(a.AccountId, Hangzhou);
        await db.KeyDeleteAsync([CatalogKeys.SharingOwners(r.AccountId, Hangzhou), counts, .. shared.Select(id => (RedisKey)CatalogKeys.ImageRecipients(id))]);

        // The first list counts them by reading, and has the sharing service hand the grants over again.
        Assert.Equal(2, await AssertTotalsAsync(r));
        Assert.Equal(2, (int)await db.HashGetAsync(counts, $"{r.AccountId}|{(int)ImageStatus.Available}"));
        Assert.True(await db.SetContainsAsync(CatalogKeys.SharingOwners(r.AccountId, Hangzhou), a.AccountId));

        await a.ShareAsync((await a.NewImageAsync(instance.InstanceId)).ImageId, r.AccountId);
        Assert.Equal(3, await AssertTotalsAsync(r));
        Assert.Equal(3, (int)await db.HashGetAsync(counts, $"{r.AccountId}|{(int)ImageStatus.Available}"));
        Assert.DoesNotContain(await Invariants.CheckAsync(Cluster.RedisConfiguration), v => v.Contains(r.AccountId, StringComparison.Ordinal));
    }

    [Fact]
    public async Task TheCallsThatKeepTheCountsAreTheClustersOnlyAndCheckWhatTheyAreGiven()
    {
        var a = await Cluster.NewAccountAsync();
        var r = await Cluster.NewAccountAsync();
        var image = await a.NewImageAsync((await a.NewInstanceAsync()).InstanceId);
        await a.ShareAsync(image.ImageId, r.AccountId);
        ShareChange Revoke() => new() { ImageId = image.ImageId, OwnerAccountId = a.AccountId, RegionId = Hangzhou, RecipientAccountId = r.AccountId };

        // An account may neither learn another's shares nor change what counts them.
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, "Forbidden.InternalOnly", () =>
            a.Sharing().CountSharedImagesAsync(new CountSharedImagesRequest { AccountId = r.AccountId, RegionId = Hangzhou }));
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, "Forbidden.InternalOnly", () =>
            a.Sharing().ResendSharedImagesAsync(new ResendSharedImagesRequest { AccountId = r.AccountId, RegionId = Hangzhou }));
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, "Forbidden.InternalOnly", () =>
            a.Client<ImageControlService.ImageControlServiceClient>().RecordShareChangesAsync(new RecordShareChangesRequest { Changes = { Revoke() } }));

        // A service's malformed batch is refused whole: nothing of it is recorded.
        var control = Cluster.Client<ImageControlService.ImageControlServiceClient>(Cluster.ServiceToken("sharing"));
        var othersImage = (await r.NewImageAsync((await r.NewInstanceAsync()).InstanceId)).ImageId; // not an image of the owner named
        var ex = await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidImageId.Malformed", () => control.RecordShareChangesAsync(new RecordShareChangesRequest
        {
            Changes = { Revoke(), new ShareChange(Revoke()) { ImageId = othersImage } },
        }));
        Assert.Equal(["changes[1].image_id"], RpcAssert.ViolatedFields(ex));
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidParameter", () =>
            control.RecordShareChangesAsync(new RecordShareChangesRequest { Changes = { Enumerable.Range(0, 101).Select(_ => Revoke()) } }));
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidAccountId.Malformed", () =>
            control.RecordShareChangesAsync(new RecordShareChangesRequest { Changes = { new ShareChange(Revoke()) { RecipientAccountId = "12" } } }));
        Assert.Equal(1, await AssertTotalsAsync(r));

        // The sharing service's count: the recipient's own index, and no directory.
        var sharing = Cluster.Client<SharingService.SharingServiceClient>(Cluster.ServiceToken("catalog"));
        var counted = await sharing.CountSharedImagesAsync(new CountSharedImagesRequest { AccountId = r.AccountId, RegionId = Hangzhou });
        Assert.Equal((1, false), (counted.AccountShares, counted.InResourceDirectory));
    }
}
