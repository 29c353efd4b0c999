using GrpcImages.Contracts.Catalog.V1;
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
    private async Task<EcsClient> ClientOfAsync(TestAccount account)
    {
        var key = await account.Client<AccessKeyService.AccessKeyServiceClient>().CreateAccessKeyAsync(new CreateAccessKeyRequest { AccountId = account.AccountId });
        return new EcsClient(await Cluster.StartGatewayAsync(), key.AccessKey.AccessKeyId, key.AccessKeySecret);
    }

    [Fact]
    public async Task DescribeImagesAnswersInTheEcsShape()
    {
        using var ecs = await ClientOfAsync(await Cluster.NewAccountAsync());
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
    public async Task APageNumberIsAskedForWithSkipAndTotalCountComesFromTheCatalog()
    {
        var account = await Cluster.NewAccountAsync();
        var snapshot = await account.SnapshotOfAsync((await account.NewInstanceAsync()).SystemDisk.DiskId);
        await Task.WhenAll(Enumerable.Range(0, 25).Select(_ => account.QuickImageAsync(snapshot.SnapshotId)));
        var all = (await account.Images().ListImagesAsync(new ListImagesRequest { RegionId = Hangzhou, OwnerAlias = ImageOwnerAlias.Self, PageSize = 100 }))
            .Images.Select(i => i.ImageId).ToList();
        using var ecs = await ClientOfAsync(account);

        async Task<(List<string> Ids, int Total)> PageAsync(int number)
        {
            var (status, body) = await ecs.CallAsync("DescribeImages", ("RegionId", Hangzhou), ("ImageOwnerAlias", "self"), ("PageSize", "10"), ("PageNumber", $"{number}"));
            Assert.True(status == 200, body.ToString());
            Assert.Equal(number, body.GetProperty("PageNumber").GetInt32());
            var ids = body.GetProperty("Images").GetProperty("Image").EnumerateArray().Select(i => i.GetProperty("ImageId").GetString()!).ToList();
            return (ids, body.GetProperty("TotalCount").GetInt32());
        }

        var (third, total) = await PageAsync(3);
        Assert.Equal(all.Skip(20), third); // the last 5
        Assert.Equal(25, total);
        var (second, _) = await PageAsync(2);
        Assert.Equal(all.Skip(10).Take(10), second);
        foreach (var beyond in new[] { 4, 5000 }) // 5000 is past the most a list skips
        {
            var (none, stillTotal) = await PageAsync(beyond);
            Assert.Empty(none);
            Assert.Equal(25, stillTotal);
        }

        var instances = await ecs.CallAsync("DescribeInstances", ("RegionId", Hangzhou), ("PageSize", "1"), ("PageNumber", "1"));
        Assert.Equal(1, instances.Body.GetProperty("TotalCount").GetInt32());
        var snapshots = await ecs.CallAsync("DescribeSnapshots", ("RegionId", Hangzhou), ("PageSize", "1"), ("PageNumber", "2"));
        Assert.Equal(1, snapshots.Body.GetProperty("TotalCount").GetInt32());
        Assert.Equal(0, snapshots.Body.GetProperty("Snapshots").GetProperty("Snapshot").GetArrayLength());
    }

    [Fact]
    public async Task AnotherAccountsImageIsNotFoundAndNothingChanges()
    {
        var owner = await Cluster.NewAccountAsync();
        var image = await owner.NewImageAsync((await owner.NewInstanceAsync()).InstanceId);
        using var ecs = await ClientOfAsync(await Cluster.NewAccountAsync());

        var (status, body) = await ecs.CallAsync("ModifyImageAttribute", ("RegionId", Hangzhou), ("ImageId", image.ImageId), ("Description", "mine now"));
        Assert.Equal(404, status);
        Assert.Equal("InvalidImageId.NotFound", body.GetProperty("Code").GetString());
        Assert.Equal(image.Description, (await owner.GetImageAsync(image.ImageId)).Description);

        var (deleted, _) = await ecs.CallAsync("DeleteImage", ("RegionId", Hangzhou), ("ImageId", image.ImageId), ("Force", "true"));
        Assert.Equal(200, deleted); // R33: deleting an image the caller does not have succeeds, and deletes nothing
        Assert.Equal(image.ImageId, (await owner.GetImageAsync(image.ImageId)).ImageId);
    }

    [Fact]
    public async Task ASignature10RequestLongerThan8KiBIsServed()
    {
        var account = await Cluster.NewAccountAsync();
        var instance = await account.NewInstanceAsync();
        using var ecs = await ClientOfAsync(account);
        // 20 tags of 20 CJK characters: each is 15 characters of the string to sign, about 12 KiB in all.
        var tags = Enumerable.Range(1, 20).SelectMany(i => new[] { ($"Tag.{i}.Key", $"鍵{i:00}" + new string('鍵', 17)), ($"Tag.{i}.Value", new string('値', 20)) });

        var (status, body) = await ecs.CallAsync("CreateImage", [("RegionId", Hangzhou), ("InstanceId", instance.InstanceId), ("ImageName", "cjk-tags"), .. tags]);

        Assert.True(status == 200, body.ToString());
        var image = await account.GetImageAsync(body.GetProperty("ImageId").GetString()!);
        Assert.Equal(20, image.Tags.Count);
        Assert.Contains(image.Tags, t => t.Key == "鍵07" + new string('鍵', 17) && t.Value == new string('値', 20));
    }

    [Theory]
    [InlineData("PUT", "/?Action=DescribeRegions", 405)]
    [InlineData("DELETE", "/", 405)]
    [InlineData("GET", "/foo", 404)]
    [InlineData("POST", "/a/b/favicon.ico", 404)]
    [InlineData("GET", "/", 400)]
    public async Task EveryErrorOfTheGatewayCarriesTheEcsErrorBody(string method, string path, int expected)
    {
        using var ecs = await ClientOfAsync(await Cluster.NewAccountAsync());
        using var http = new HttpClient { BaseAddress = ecs.Endpoint };

        using var response = await http.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));

        Assert.Equal(expected, (int)response.StatusCode);
        var body = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        foreach (var field in new[] { "RequestId", "Code", "Message", "Recommend" })
        {
            Assert.False(string.IsNullOrEmpty(body.GetProperty(field).GetString()), field);
        }
    }
}
