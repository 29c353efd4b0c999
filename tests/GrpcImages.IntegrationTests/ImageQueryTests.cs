using Grpc.Core;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Common.V1;
using GrpcImages.Testing;
using static GrpcImages.IntegrationTests.CatalogSteps;

namespace GrpcImages.IntegrationTests;

/// <summary>GetImage and ListImages: regions (R4), owner aliases (R19), filters, pages, visibility (R36).</summary>
public class ImageQueryTests(ClusterFixture fixture, ITestOutputHelper output) : ClusterTest(fixture, output)
{
    private readonly TestCluster _cluster = fixture.Cluster;

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
        var account = await _cluster.NewAccountAsync();
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
        var a = await _cluster.NewAccountAsync();
        var b = await _cluster.NewAccountAsync();
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
        var account = await _cluster.NewAccountAsync();
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
        var account = await _cluster.NewAccountAsync();
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
        var account = await _cluster.NewAccountAsync();
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
        var account = await _cluster.NewAccountAsync();

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
    public async Task ANonexistentOrMalformedImageIsNotFound()
    {
        var account = await _cluster.NewAccountAsync();
        foreach (var id in new[] { "m-0000aaaaaaaaaaaaaaaa", "m-bad", "not an id", "" })
        {
            await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidImageId.NotFound", () =>
                account.Images().GetImageAsync(new GetImageRequest { RegionId = Hangzhou, ImageId = id }));
        }
    }
}
