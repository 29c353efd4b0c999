using GrpcImages.Contracts.Kms.V1;
using GrpcImages.Testing;
using static GrpcImages.IntegrationTests.CatalogSteps;

namespace GrpcImages.IntegrationTests;

/// <summary>
/// The ECS gateway in front of the cluster, called by a signer written independently of it (the
/// official SDKs run against it in the smoke tier, tests/ecs-sdk).
/// </summary>
public class GatewayTests(ClusterFixture fixture, ITestOutputHelper output) : ClusterTest(fixture, output)
{
    private readonly TestCluster _cluster = fixture.Cluster;

    private async Task<EcsClient> ClientOfAsync(TestAccount account)
    {
        var key = await account.Client<AccessKeyService.AccessKeyServiceClient>().CreateAccessKeyAsync(new CreateAccessKeyRequest { AccountId = account.AccountId });
        return new EcsClient(await _cluster.StartGatewayAsync(), key.AccessKey.AccessKeyId, key.AccessKeySecret);
    }

    [Fact]
    public async Task DescribeImagesAnswersInTheEcsShape()
    {
        using var ecs = await ClientOfAsync(await _cluster.NewAccountAsync());
        var (status, body) = await ecs.CallAsync("DescribeImages", ("RegionId", Hangzhou), ("ImageOwnerAlias", "system"), ("PageSize", "3"));
        Assert.Equal(200, status);
        Assert.Matches("^[0-9A-F-]{36}$", body.GetProperty("RequestId").GetString());
        Assert.Equal(3, body.GetProperty("PageSize").GetInt32());
        Assert.True(body.GetProperty("TotalCount").GetInt32() >= 3);
        var images = body.GetProperty("Images").GetProperty("Image");
        Assert.Equal(3, images.GetArrayLength());
        Assert.All(images.EnumerateArray(), i => Assert.Equal("system", i.GetProperty("ImageOwnerAlias").GetString()));
        Assert.Contains(images.EnumerateArray(), i => i.GetProperty("Status").GetString() == "Available");
    }

    [Fact]
    public async Task AnotherAccountsImageIsNotFoundAndNothingChanges()
    {
        var owner = await _cluster.NewAccountAsync();
        var image = await owner.NewImageAsync((await owner.NewInstanceAsync()).InstanceId);
        using var ecs = await ClientOfAsync(await _cluster.NewAccountAsync());

        var (status, body) = await ecs.CallAsync("ModifyImageAttribute", ("RegionId", Hangzhou), ("ImageId", image.ImageId), ("Description", "mine now"));
        Assert.Equal(404, status);
        Assert.Equal("InvalidImageId.NotFound", body.GetProperty("Code").GetString());
        Assert.Equal(image.Description, (await owner.GetImageAsync(image.ImageId)).Description);

        var (deleted, _) = await ecs.CallAsync("DeleteImage", ("RegionId", Hangzhou), ("ImageId", image.ImageId), ("Force", "true"));
        Assert.Equal(200, deleted); // R33: deleting an image the caller does not have succeeds, and deletes nothing
        Assert.Equal(image.ImageId, (await owner.GetImageAsync(image.ImageId)).ImageId);
    }
}
