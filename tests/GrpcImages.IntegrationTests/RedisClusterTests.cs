using Grpc.Core;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Sharing.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.Testing;
using static GrpcImages.IntegrationTests.CatalogSteps;

namespace GrpcImages.IntegrationTests;

/// <summary>
/// The whole cluster on a 3-node Redis Cluster: every multi-key step uses keys of one hash tag,
/// so creates, quota races, grants and collection work unchanged.
/// </summary>
public sealed class RedisClusterTests(ITestOutputHelper output) : IAsyncLifetime
{
    private TestCluster _cluster = null!;

    public async Task InitializeAsync() =>
        _cluster = await TestCluster.StartAsync(new Dictionary<string, string?>
        {
            ["Regions:0:Id"] = Hangzhou,
            ["Regions:1:Id"] = Shanghai,
        }, topology: RedisTopology.Cluster, output: output);

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task ImagesInstancesSharesAndCollectionWorkOnRedisCluster()
    {
        var a = await _cluster.NewAccountAsync();
        var b = await _cluster.NewAccountAsync();
        var instance = await a.NewInstanceAsync(Ubuntu, Hangzhou, 0, 20);
        var image = await a.NewImageAsync(instance.InstanceId);
        await a.ShareAsync(image.ImageId, b.AccountId);
        Assert.Single(await b.OthersAsync());
        var theirs = await b.NewInstanceAsync(image.ImageId);
        // The recipient's total comes from the catalog's counts: kept on the owner's slot, its owners on its own.
        var deprecated = new ListImagesRequest { RegionId = Hangzhou, OwnerAlias = ImageOwnerAlias.Others, Statuses = { ImageStatus.Deprecated } };
        Assert.Equal(1, (await b.Images().ListImagesAsync(new ListImagesRequest { RegionId = Hangzhou, OwnerAlias = ImageOwnerAlias.Others })).TotalSize);
        await a.Images().UpdateImageAsync(new UpdateImageRequest { RegionId = Hangzhou, ImageId = image.ImageId, Deprecated = true });
        Assert.Equal(1, (await b.Images().ListImagesAsync(deprecated)).TotalSize);

        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, "ImageUsingByInstance", () =>
            a.Images().DeleteImageAsync(new DeleteImageRequest { RegionId = Hangzhou, ImageId = image.ImageId }));
        Assert.True((await a.Images().DeleteImageAsync(new DeleteImageRequest { RegionId = Hangzhou, ImageId = image.ImageId, Force = true })).Deleted);
        Assert.Empty(await b.OthersAsync());
        Assert.Equal(0, (await b.Images().ListImagesAsync(deprecated)).TotalSize);
        await b.Instances().DeleteInstanceAsync(new DeleteInstanceRequest { RegionId = Hangzhou, InstanceId = theirs.InstanceId });
        foreach (var mapping in image.DiskDeviceMappings)
        {
            await a.Snapshots().DeleteSnapshotAsync(new DeleteSnapshotRequest { RegionId = Hangzhou, SnapshotId = mapping.SnapshotId });
        }
        await a.Instances().DeleteInstanceAsync(new DeleteInstanceRequest { RegionId = Hangzhou, InstanceId = instance.InstanceId });
        var collected = await _cluster.Client<ContentService.ContentServiceClient>(_cluster.ServiceToken())
            .CollectGarbageAsync(new CollectGarbageRequest { RegionId = Hangzhou });
        Assert.True(collected.ChunksDeleted >= 2); // the identity chunks of both instances
    }

    [Fact]
    public async Task TheQuotaRaceIsExactOnRedisCluster()
    {
        var a = await _cluster.NewAccountAsync();
        var quotas = _cluster.Client<QuotaService.QuotaServiceClient>(_cluster.ServiceToken("catalog"));
        ReserveQuotaRequest Reserve(string holder) => new() { AccountId = a.AccountId, Kind = QuotaKind.Images, RegionId = Shanghai, HolderId = holder };
        await Task.WhenAll(Enumerable.Range(0, 95).Select(i => quotas.ReserveQuotaAsync(Reserve($"held-{i}")).ResponseAsync));

        var granted = await Task.WhenAll(Enumerable.Range(0, 200).Select(async i =>
        {
            try
            {
                await quotas.ReserveQuotaAsync(Reserve($"racer-{i}"));
                return 1;
            }
            catch (RpcException ex) when (RpcAssert.Reason(ex) == "QuotaExceed.Image")
            {
                return 0;
            }
        }));

        Assert.Equal(5, granted.Sum());
    }
}
