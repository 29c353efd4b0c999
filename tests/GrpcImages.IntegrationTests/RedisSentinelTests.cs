using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Testing;
using static GrpcImages.IntegrationTests.CatalogSteps;

namespace GrpcImages.IntegrationTests;

/// <summary>The cluster on Redis behind Sentinel, through a failover of the master.</summary>
public sealed class RedisSentinelTests(ITestOutputHelper output) : IAsyncLifetime
{
    private TestCluster _cluster = null!;

    public async Task InitializeAsync() =>
        _cluster = await TestCluster.StartAsync(new Dictionary<string, string?> { ["Regions:0:Id"] = Hangzhou }, topology: RedisTopology.Sentinel, output: output);

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task TheServicesFollowSentinelToANewMasterAndKeepTheirState()
    {
        var sentinel = _cluster.RedisSentinel!;
        var account = await _cluster.NewAccountAsync();
        var image = await account.NewImageAsync((await account.NewInstanceAsync()).InstanceId);
        sentinel.WaitForReplica();

        sentinel.Master.Stop();

        // Sentinel promotes the replica ...
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (sentinel.CurrentMaster() != sentinel.Replica.Port.ToString())
        {
            Assert.True(DateTime.UtcNow < deadline, "Sentinel did not promote the replica");
            await Task.Delay(200);
        }
        // ... and the services reconnect to it: the state is there, and writes work again.
        while (true)
        {
            try
            {
                Assert.Equal(ImageStatus.Available, (await account.GetImageAsync(image.ImageId)).Status);
                var again = await account.NewImageAsync((await account.NewInstanceAsync()).InstanceId);
                Assert.Equal(ImageStatus.Available, again.Status);
                break;
            }
            catch (Grpc.Core.RpcException ex) when (ex.StatusCode == Grpc.Core.StatusCode.Unavailable && DateTime.UtcNow < deadline)
            {
                await Task.Delay(250);
            }
        }
    }
}
