using Google.Protobuf;
using Grpc.Core;
using GrpcImages.Catalog.Storage;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Common.V1;
using GrpcImages.ServiceDefaults.Validation;
using GrpcImages.Testing;
using StackExchange.Redis;
using static GrpcImages.IntegrationTests.CatalogSteps;

namespace GrpcImages.IntegrationTests;

/// <summary>GetImage and ListImages: regions (R4), owner aliases (R19), filters, pages, visibility (R36).</summary>
public class ImageQueryTests(ClusterFixture fixture, ITestOutputHelper output) : ClusterTest(fixture, output)
{
    private static async Task<List<Image>> ListAllAsync(TestAccount account, ListImagesRequest request)
    {
        var all = new List<Image>();
        do
        {
            var page = await account.Images().ListImagesAsync(request);
            Assert.True(page.Images.Count <= (request.PageSize == 0 ? 10 : request.PageSize));
            all.AddRange(page.Images);
            request.PageToken = page.NextPageToken;
        } while (request.PageToken.Length > 0);
        return all;
    }

    [Fact]
    public async Task R4_AnImageIsFoundOnlyInItsOwnRegion()
    {
        var account = await Cluster.NewAccountAsync();
        var image = await account.NewImageAsync((await account.NewInstanceAsync()).InstanceId);

        Assert.Equal(image.ImageId, (await account.GetImageAsync(image.ImageId, Hangzhou)).ImageId);
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidImageId.NotFound", () =>
            account.Images().GetImageAsync(new GetImageRequest { RegionId = Shanghai, ImageId = image.ImageId }));
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidImageId.NotFound", () =>
            account.Instances().CreateInstanceAsync(new CreateInstanceRequest { RegionId = Shanghai, ImageId = image.ImageId }));
        Assert.DoesNotContain((await ListAllAsync(account, new ListImagesRequest { RegionId = Shanghai, OwnerAlias = ImageOwnerAlias.Self })),
            i => i.ImageId == image.ImageId);
    }

    [Fact]
    public async Task R36_AnotherAccountCannotSeeUseOrDeleteAPrivateImage()
    {
        var a = await Cluster.NewAccountAsync();
        var b = await Cluster.NewAccountAsync();
        var image = await a.NewImageAsync((await a.NewInstanceAsync()).InstanceId);

        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidImageId.NotFound", () =>
            b.Images().GetImageAsync(new GetImageRequest { RegionId = Hangzhou, ImageId = image.ImageId }));
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidImageId.NotFound", () =>
            b.Instances().CreateInstanceAsync(new CreateInstanceRequest { RegionId = Hangzhou, ImageId = image.ImageId }));
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidImageId.NotFound", () =>
            b.Images().UpdateImageAsync(new UpdateImageRequest { RegionId = Hangzhou, ImageId = image.ImageId, ImageName = "stolen" }));
        // To B the image does not exist, and deleting what does not exist succeeds without doing anything (R33).
        Assert.False((await b.Images().DeleteImageAsync(new DeleteImageRequest { RegionId = Hangzhou, ImageId = image.ImageId, Force = true })).Deleted);
        Assert.Equal(ImageStatus.Available, (await a.GetImageAsync(image.ImageId)).Status);
        Assert.DoesNotContain(await ListAllAsync(b, new ListImagesRequest { RegionId = Hangzhou }), i => i.ImageId == image.ImageId);
        // Nor can B reach A's instances and snapshots.
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidInstanceId.NotFound", () =>
            b.Images().CreateImageAsync(new CreateImageRequest { RegionId = Hangzhou, InstanceId = image.SourceInstanceId, ImageName = UniqueName() }));
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidSnapshotId.NotFound", () =>
            b.Snapshots().GetSnapshotAsync(new GetSnapshotRequest { RegionId = Hangzhou, SnapshotId = image.DiskDeviceMappings[0].SnapshotId }));
    }

    [Fact]
    public async Task R6_PublicImagesAreInEveryRegionAndMarketplaceImagesOnlyInSome()
    {
        var account = await Cluster.NewAccountAsync();
        foreach (var region in new[] { Hangzhou, Shanghai, Tokyo })
        {
            var system = await ListAllAsync(account, new ListImagesRequest { RegionId = region, OwnerAlias = ImageOwnerAlias.System, PageSize = 3 });
            Assert.Equal(7, system.Count);
            Assert.All(system, i => Assert.Equal(ImageOwnerAlias.System, i.OwnerAlias));
            Assert.Contains(system, i => i.ImageId == Ubuntu && i.OsType == OsType.Linux);
            Assert.Contains(system, i => i.ImageId == WindowsServer && i.OsType == OsType.Windows && i.SizeGib == 40);
            Assert.Equal(system.Count, system.Select(i => i.ImageId).Distinct().Count());
        }
        var hangzhou = await ListAllAsync(account, new ListImagesRequest { RegionId = Hangzhou, OwnerAlias = ImageOwnerAlias.Marketplace });
        var shanghai = await ListAllAsync(account, new ListImagesRequest { RegionId = Shanghai, OwnerAlias = ImageOwnerAlias.Marketplace });
        Assert.Equal(3, hangzhou.Count);
        Assert.All(hangzhou, i => Assert.True(i.ProductCode.Length > 0 && i.OwnerAlias == ImageOwnerAlias.Marketplace));
        Assert.DoesNotContain(shanghai, i => i.ImageName.StartsWith("rhel", StringComparison.Ordinal));
        Assert.Contains(shanghai, i => i.ImageName.StartsWith("sqlserver", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ListingPagesThroughEveryAliasWithoutRepeats()
    {
        var account = await Cluster.NewAccountAsync();
        var instance = await account.NewInstanceAsync();
        var mine = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            mine.Add((await account.NewImageAsync(instance.InstanceId)).ImageId);
        }

        var all = await ListAllAsync(account, new ListImagesRequest { RegionId = Hangzhou, PageSize = 4 });

        Assert.Equal(mine.AsEnumerable().Reverse(), all.Take(3).Select(i => i.ImageId)); // own images first, newest first
        Assert.All(all.Take(3), i => Assert.Equal(ImageOwnerAlias.Self, i.OwnerAlias));
        Assert.Equal(3 + 7 + 3, all.Count);
        Assert.Equal(all.Count, all.Select(i => i.ImageId).Distinct().Count());
    }

    [Fact]
    public async Task ListsFilterByStatusNameAndFamily()
    {
        var account = await Cluster.NewAccountAsync();
        var instance = await account.NewInstanceAsync();
        var web = await account.NewImageAsync(instance.InstanceId, Hangzhou, "web-v1");
        await account.NewImageAsync(instance.InstanceId, Hangzhou, "web-v2");
        var db = (await account.Images().CreateImageAsync(new CreateImageRequest
        {
            RegionId = Hangzhou, InstanceId = instance.InstanceId, ImageName = "db-v1", ImageFamily = "databases",
        })).Image;
        await account.WaitUntilAvailableAsync(db.ImageId);
        await account.Images().UpdateImageAsync(new UpdateImageRequest { RegionId = Hangzhou, ImageId = web.ImageId, Deprecated = true });

        async Task<List<string>> Names(ListImagesRequest request) =>
            (await ListAllAsync(account, request)).Select(i => i.ImageName).Order(StringComparer.Ordinal).ToList();

        Assert.Equal(["db-v1", "web-v2"], await Names(new ListImagesRequest { RegionId = Hangzhou, OwnerAlias = ImageOwnerAlias.Self }));
        Assert.Equal(["web-v1"], await Names(new ListImagesRequest { RegionId = Hangzhou, OwnerAlias = ImageOwnerAlias.Self, Statuses = { ImageStatus.Deprecated } }));
        Assert.Equal(["web-v1", "web-v2"], await Names(new ListImagesRequest
        {
            RegionId = Hangzhou, OwnerAlias = ImageOwnerAlias.Self, ImageName = "web*", Statuses = { ImageStatus.Available, ImageStatus.Deprecated },
        }));
        Assert.Equal(["web-v2"], await Names(new ListImagesRequest { RegionId = Hangzhou, OwnerAlias = ImageOwnerAlias.Self, ImageName = "web-v2" }));
        Assert.Equal(["db-v1"], await Names(new ListImagesRequest { RegionId = Hangzhou, ImageFamily = "databases" }));
        Assert.Empty(await Names(new ListImagesRequest { RegionId = Hangzhou, OwnerAlias = ImageOwnerAlias.Others }));
    }

    [Fact]
    public async Task PageSizesAreCheckedAndPageTokensCannotBeForged()
    {
        var account = await Cluster.NewAccountAsync();

        var ex = await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidArgument", () =>
            account.Images().ListImagesAsync(new ListImagesRequest { RegionId = Hangzhou, PageSize = -1 }));
        Assert.Equal(["page_size"], RpcAssert.ViolatedFields(ex));
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidNextToken", () =>
            account.Images().ListImagesAsync(new ListImagesRequest { RegionId = Hangzhou, PageToken = "bm9wZQ" }));
        var big = await account.Images().ListImagesAsync(new ListImagesRequest { RegionId = Hangzhou, PageSize = 1000 });
        Assert.Equal(10, big.Images.Count); // 7 public and 3 marketplace images, all on one page of at most 100
        Assert.Empty(big.NextPageToken);
        var small = await account.Images().ListImagesAsync(new ListImagesRequest { RegionId = Hangzhou });
        Assert.Equal(10, small.Images.Count); // the default page size
    }

    [Fact]
    public async Task SkipPassesMatchingImagesAcrossEverySourceAndTotalSizeCountsThemAll()
    {
        var account = await Cluster.NewAccountAsync();
        var owner = await Cluster.NewAccountAsync();
        var snapshot = await account.SnapshotOfAsync((await account.NewInstanceAsync()).SystemDisk.DiskId);
        var theirs = await owner.SnapshotOfAsync((await owner.NewInstanceAsync()).SystemDisk.DiskId);
        for (var i = 0; i < 3; i++)
        {
            await account.QuickImageAsync(snapshot.SnapshotId);
        }
        for (var i = 0; i < 2; i++)
        {
            await owner.ShareAsync((await owner.QuickImageAsync(theirs.SnapshotId)).ImageId, account.AccountId);
        }
        var all = (await ListAllAsync(account, new ListImagesRequest { RegionId = Hangzhou, PageSize = 100 })).Select(i => i.ImageId).ToList();
        Assert.Equal(3 + 2 + 7 + 3, all.Count); // own, shared, public, marketplace

        foreach (var skip in new[] { 0, 2, 3, 4, 5, 11, 14, 15, 40 })
        {
            var page = await account.Images().ListImagesAsync(new ListImagesRequest { RegionId = Hangzhou, PageSize = 4, Skip = skip });
            Assert.Equal(all.Skip(skip).Take(4), page.Images.Select(i => i.ImageId));
            Assert.Equal(all.Count, page.TotalSize);
            Assert.Equal(skip + 4 < all.Count, page.NextPageToken.Length > 0);
        }

        // After a skip, the token goes on from the page; a skip with a token counts from the token's position.
        var first = await account.Images().ListImagesAsync(new ListImagesRequest { RegionId = Hangzhou, PageSize = 4, Skip = 2 });
        var second = await account.Images().ListImagesAsync(new ListImagesRequest { RegionId = Hangzhou, PageSize = 4, PageToken = first.NextPageToken });
        var third = await account.Images().ListImagesAsync(new ListImagesRequest { RegionId = Hangzhou, PageSize = 4, PageToken = second.NextPageToken, Skip = 1 });
        Assert.Equal(all.Skip(6).Take(4), second.Images.Select(i => i.ImageId));
        Assert.Equal(all.Skip(11).Take(4), third.Images.Select(i => i.ImageId));
        Assert.All(new[] { first, second, third }, p => Assert.Equal(all.Count, p.TotalSize));
    }

    [Fact]
    public async Task SkipAndTotalSizeCountOnlyImagesThatMatchTheFilters()
    {
        var account = await Cluster.NewAccountAsync();
        var instance = await account.NewInstanceAsync();
        var webs = new List<Image>();
        foreach (var name in new[] { "web-1", "db-1", "web-2", "db-2", "web-3" })
        {
            var image = await account.NewImageAsync(instance.InstanceId, Hangzhou, name);
            if (name.StartsWith("web", StringComparison.Ordinal))
            {
                webs.Insert(0, image); // newest first
            }
        }
        await account.Images().UpdateImageAsync(new UpdateImageRequest { RegionId = Hangzhou, ImageId = webs[0].ImageId, Deprecated = true });

        var available = await account.Images().ListImagesAsync(new ListImagesRequest { RegionId = Hangzhou, OwnerAlias = ImageOwnerAlias.Self, ImageName = "web*", Skip = 1 });
        Assert.Equal([webs[2].ImageId], available.Images.Select(i => i.ImageId));
        Assert.Equal(2, available.TotalSize);
        var any = await account.Images().ListImagesAsync(new ListImagesRequest
        {
            RegionId = Hangzhou, OwnerAlias = ImageOwnerAlias.Self, ImageName = "web*", Statuses = { ImageStatus.Available, ImageStatus.Deprecated }, Skip = 1, PageSize = 1,
        });
        Assert.Equal([webs[1].ImageId], any.Images.Select(i => i.ImageId));
        Assert.Equal(3, any.TotalSize);
        Assert.NotEmpty(any.NextPageToken);
    }

    [Fact]
    public async Task ASkipPastMoreUnmatchedImagesThanOneCallReadsGoesOnFromItsToken()
    {
        var account = await Cluster.NewAccountAsync();
        // 2,500 images written straight into the account's index, one in 400 Available: more than one call looks at.
        await using var redis = await ConnectionMultiplexer.ConnectAsync(Cluster.RedisConfiguration);
        var batch = redis.GetDatabase().CreateBatch();
        var writes = new List<Task>();
        var available = new List<string>();
        for (var i = 0; i < 2500; i++)
        {
            var image = new Image
            {
                ImageId = ResourceIds.New('m', ResourceIds.OwnerTag(account.AccountId)),
                RegionId = Hangzhou,
                OwnerAccountId = account.AccountId,
                ImageName = $"bulk-{i:D4}",
                Status = i % 400 == 0 ? ImageStatus.Available : ImageStatus.CreateFailed,
            };
            writes.Add(batch.HashSetAsync(CatalogKeys.Image(Hangzhou, image.ImageId),
                [new("d", image.ToByteArray()), new("s", (int)image.Status), new("n", image.ImageName), new("f", ""), new("v", 1)]));
            writes.Add(batch.SortedSetAddAsync(CatalogKeys.Images(account.AccountId, Hangzhou), image.ImageId, 1_700_000_000_000 + i));
            if (image.Status == ImageStatus.Available)
            {
                available.Insert(0, image.ImageId); // newest first
            }
        }
        batch.Execute();
        await Task.WhenAll(writes);

        var seen = new List<string>();
        var pages = 0;
        var request = new ListImagesRequest { RegionId = Hangzhou, OwnerAlias = ImageOwnerAlias.Self, PageSize = 10, Skip = 4 };
        do
        {
            var page = await account.Images().ListImagesAsync(request);
            pages++;
            Assert.Equal(available.Count, page.TotalSize);
            seen.AddRange(page.Images.Select(i => i.ImageId));
            request = new ListImagesRequest { RegionId = Hangzhou, OwnerAlias = ImageOwnerAlias.Self, PageSize = 10, PageToken = page.NextPageToken };
        }
        while (request.PageToken.Length > 0);

        Assert.Equal(available.Skip(4), seen); // the skip left when the first call stopped went on in its token
        Assert.Equal(3, pages); // each call looks at 1,000 entries past what it skips
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(10_001)]
    [InlineData(int.MaxValue)]
    public async Task ASkipOutside0To10000IsRefused(int skip)
    {
        var account = await Cluster.NewAccountAsync();

        foreach (var call in new Func<Task>[]
        {
            () => account.Images().ListImagesAsync(new ListImagesRequest { RegionId = Hangzhou, Skip = skip }).ResponseAsync,
            () => account.Snapshots().ListSnapshotsAsync(new ListSnapshotsRequest { RegionId = Hangzhou, Skip = skip }).ResponseAsync,
            () => account.Instances().ListInstancesAsync(new ListInstancesRequest { RegionId = Hangzhou, Skip = skip }).ResponseAsync,
        })
        {
            var ex = await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidParameter", call);
            Assert.Equal(["skip"], RpcAssert.ViolatedFields(ex));
        }
        var last = await account.Images().ListImagesAsync(new ListImagesRequest { RegionId = Hangzhou, Skip = 10_000 });
        Assert.Empty(last.Images);
        Assert.Empty(last.NextPageToken);
        Assert.Equal(10, last.TotalSize); // 7 public and 3 marketplace images
    }

    [Fact]
    public async Task ANonexistentOrMalformedImageIsNotFound()
    {
        var account = await Cluster.NewAccountAsync();
        foreach (var id in new[] { "m-0000aaaaaaaaaaaaaaaa", "m-bad", "not an id", "" })
        {
            await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidImageId.NotFound", () =>
                account.Images().GetImageAsync(new GetImageRequest { RegionId = Hangzhou, ImageId = id }));
        }
    }
}
