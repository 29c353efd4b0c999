using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.Testing;
using static GrpcImages.IntegrationTests.CatalogSteps;

namespace GrpcImages.IntegrationTests;

/// <summary>What happens while a peer is down: nothing is lost (R34).</summary>
public sealed class ResilienceTests(ITestOutputHelper output) : IAsyncLifetime
{
    private TestCluster _cluster = null!;

    public async Task InitializeAsync() =>
        _cluster = await TestCluster.StartAsync(new Dictionary<string, string?> { ["Regions:0:Id"] = Hangzhou }, output: output);

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task AHoldReleasedWhileTheTransferServiceIsDownIsReleasedWhenItIsBack()
    {
        var account = await _cluster.NewAccountAsync();
        var instance = await account.NewInstanceAsync();
        var image = await account.NewImageAsync(instance.InstanceId);
        var manifest = (await _cluster.DisksOfAsync(Hangzhou, image.ImageId))[0].ManifestId;
        var content = _cluster.Client<ContentService.ContentServiceClient>(_cluster.ServiceToken());
        async Task<int> Holders() => (await content.GetContentInfoAsync(new GetContentInfoRequest { RegionId = Hangzhou, ManifestId = manifest })).Content.HolderCount;
        Assert.Equal(3, await Holders()); // the instance's disk, the image's snapshot, the image

        await _cluster.StopAsync(ServiceKind.Transfer);
        Assert.True((await account.Instances().DeleteInstanceAsync(new DeleteInstanceRequest { RegionId = Hangzhou, InstanceId = instance.InstanceId })).Deleted);
        await _cluster.RestartAsync(ServiceKind.Transfer);

        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (await Holders() != 2)
        {
            Assert.True(DateTime.UtcNow < deadline, "the disk's hold was never released");
            await Task.Delay(200);
        }
    }
}
