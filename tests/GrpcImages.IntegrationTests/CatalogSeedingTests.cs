using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.Testing;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace GrpcImages.IntegrationTests;

/// <summary>The platform catalog is seeded with real content, once per region, whatever the number of replicas.</summary>
public class CatalogSeedingTests(ClusterFixture fixture, ITestOutputHelper output) : ClusterTest(fixture, output)
{
    [Fact]
    public async Task TwoCatalogReplicasStartingTogetherSeedEachRegionOnce()
    {
        var regions = new Dictionary<string, string?>
        {
            ["Regions:0:Id"] = "cn-hangzhou",
            ["Regions:1:Id"] = "ap-northeast-1",
        };
        await using var cluster = await TestCluster.StartAsync(regions, [ServiceKind.Kms, ServiceKind.Sharing, ServiceKind.Transfer], output: Output);

        var ports = await Task.WhenAll(cluster.StartReplicaAsync(ServiceKind.Catalog), cluster.StartReplicaAsync(ServiceKind.Catalog));
        await Task.WhenAll(ports.Select(p => cluster.WaitUntilServingAsync(p)));
        var later = await cluster.StartReplicaAsync(ServiceKind.Catalog);
        await cluster.WaitUntilServingAsync(later);

        await using var redis = await ConnectionMultiplexer.ConnectAsync(cluster.Redis.ConnectionString);
        Assert.Equal(2, (int)await redis.GetDatabase().StringGetAsync("gi:cat:{seed}:runs"));

        var account = await cluster.NewAccountAsync();
        foreach (var port in ports.Append(later))
        {
            var images = new ImageService.ImageServiceClient(cluster.Invoker(port, account.Token));
            var tokyo = (await images.ListImagesAsync(new ListImagesRequest { RegionId = "ap-northeast-1", PageSize = 100 })).Images;
            Assert.Equal(7 + 2, tokyo.Count); // public images, and the marketplace images offered in Tokyo
            Assert.Equal(tokyo.Count, tokyo.Select(i => i.ImageId).Distinct().Count());
        }
    }

    [Fact]
    public async Task EachSeededImageHasItsOwnRealContent()
    {
        var cluster = Cluster;
        var content = cluster.Client<ContentService.ContentServiceClient>(cluster.ServiceToken());
        var account = await cluster.NewAccountAsync();
        var all = (await account.Images().ListImagesAsync(new ListImagesRequest { RegionId = CatalogSteps.Hangzhou, PageSize = 100 })).Images;

        var digests = new HashSet<string>();
        foreach (var image in all)
        {
            var disk = (await cluster.DisksOfAsync(CatalogSteps.Hangzhou, image.ImageId)).Single();
            var info = (await content.GetContentInfoAsync(new GetContentInfoRequest { RegionId = CatalogSteps.Hangzhou, ManifestId = disk.ManifestId })).Content;
            Assert.Equal(image.SizeGib << 30, info.SizeBytes);
            Assert.InRange(info.StoredBytes, 1, 8 << 20); // a few MiB of data on a sparse disk
            Assert.All((await cluster.ChunkIdsAsync(CatalogSteps.Hangzhou, info)), chunk => Assert.True(File.Exists(cluster.BlobPath(CatalogSteps.Hangzhou, chunk))));
            digests.Add(info.Digest);
        }
        Assert.Equal(all.Count, digests.Count); // every image's bytes differ
    }
}
