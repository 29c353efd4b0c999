using System.Text.Json;
using GrpcImages.Cli;
using GrpcImages.Testing;
using static GrpcImages.IntegrationTests.CatalogSteps;

namespace GrpcImages.IntegrationTests;

/// <summary>imgctl against the running cluster, as a user would type it.</summary>
public class CliTests(ClusterFixture fixture, ITestOutputHelper output) : ClusterTest(fixture, output)
{
    private readonly TestCluster _cluster = fixture.Cluster;

    private async Task<(int Exit, string Out, string Error)> Run(string? token, params string[] args)
    {
        var endpoints = new[]
        {
            "--catalog", $"http://127.0.0.1:{_cluster.Port(ServiceKind.Catalog)}",
            "--transfer", $"http://127.0.0.1:{_cluster.Port(ServiceKind.Transfer)}",
            "--sharing", $"http://127.0.0.1:{_cluster.Port(ServiceKind.Sharing)}",
            "--kms", $"http://127.0.0.1:{_cluster.Port(ServiceKind.Kms)}",
        };
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = await ImgCtl.RunAsync([.. args, .. endpoints, .. (token is null ? [] : new[] { "--token", token })], output, error);
        return (exit, output.ToString(), error.ToString());
    }

    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement;

    [Fact]
    public async Task AnOperatorAndAnAccountWorkThroughImgctl()
    {
        var (exit, operatorToken, _) = await Run(null, "token", "operator", "--credential", TestCluster.OperatorCredential);
        Assert.Equal(0, exit);
        operatorToken = operatorToken.Trim();

        var account = Json((await Run(operatorToken, "accounts", "create", "--site", "Jp", "--name", "Tokyo KK", "--json")).Out).GetProperty("accountId").GetString()!;
        var root = (await Run(operatorToken, "token", "account", account)).Out.Trim();
        Assert.Contains(account, (await Run(root, "whoami")).Out);

        var publicImages = (await Run(root, "images", "list", "--alias", "System")).Out;
        Assert.Contains(Ubuntu, publicImages);
        Assert.Contains("Available", publicImages);

        var instance = Json((await Run(root, "instances", "create", "--image", Ubuntu, "--data-disk-gib", "20", "--json")).Out).GetProperty("instanceId").GetString()!;
        var image = Json((await Run(root, "images", "create", "--instance", instance, "--name", "cli-image", "--wait", "--json")).Out);
        Assert.Equal("IMAGE_STATUS_AVAILABLE", image.GetProperty("status").GetString());
        var imageId = image.GetProperty("imageId").GetString()!;
        await Run(root, "instances", "create", "--image", imageId);

        var refused = await Run(root, "images", "delete", imageId);
        Assert.Equal(1, refused.Exit);
        Assert.StartsWith("error: FailedPrecondition ImageUsingByInstance:", refused.Error);
        Assert.Contains("yes", (await Run(root, "images", "delete", imageId, "--force")).Out);
        Assert.Contains("no such image", (await Run(root, "images", "delete", imageId)).Out);

        var quotas = (await Run(root, "quotas", "show")).Out;
        Assert.Contains("Images", quotas);

        // R2 from the command line: snapshot the system disk, make an image of it.
        var systemDisk = Json((await Run(root, "instances", "get", instance, "--json")).Out).GetProperty("systemDisk").GetProperty("diskId").GetString()!;
        var snapshot = Json((await Run(root, "snapshots", "create", "--disk", systemDisk, "--json")).Out).GetProperty("snapshotId").GetString()!;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!(await Run(root, "snapshots", "get", snapshot)).Out.Contains("Accomplished"))
        {
            Assert.True(DateTime.UtcNow < deadline);
            await Task.Delay(100);
        }
        var fromSnapshot = Json((await Run(root, "images", "create", "--snapshot", snapshot, "--name", "from-snapshot", "--wait", "--json")).Out);
        Assert.Equal("IMAGE_SOURCE_KIND_SNAPSHOTS", fromSnapshot.GetProperty("sourceKind").GetString());
    }

    [Fact]
    public async Task ImgctlReportsTheRulesCodeAndTheField()
    {
        var noToken = await Run(null, "images", "list");
        Assert.Equal(1, noToken.Exit);
        Assert.StartsWith("error: Unauthenticated MissingSecurityToken:", noToken.Error);

        var account = await _cluster.NewAccountAsync();
        var badName = await Run(account.Token, "instances", "create", "--image", Ubuntu, "--name", "-bad");
        Assert.Equal(1, badName.Exit);
        Assert.Contains("InvalidArgument InvalidInstanceName.Malformed", badName.Error);
        Assert.Contains("(field: instance_name)", badName.Error);
    }

    [Fact]
    public async Task ImgctlCopiesAnImageFollowingItsProgressAndListsTheTask()
    {
        var account = await _cluster.NewAccountAsync();
        var image = await account.NewImageAsync((await account.NewInstanceAsync()).InstanceId);

        var copied = await Run(account.Token, "images", "copy", image.ImageId, "--to", Tokyo, "--name", "cli-copy", "--wait");

        Assert.True(copied.Exit == 0, copied.Error);
        Assert.Contains("Finished 100%", copied.Out); // the task at the end
        Assert.Contains("[##############################] 100%", copied.Out); // the progress drawn from WatchTask
        var tasks = (await Run(account.Token, "tasks", "list", "--region", Tokyo)).Out;
        Assert.Contains("CopyImage", tasks);
        Assert.Contains(image.ImageId, tasks);
        var copy = (await account.Images().ListImagesAsync(new Contracts.Catalog.V1.ListImagesRequest { RegionId = Tokyo, ImageName = "cli-copy" })).Images.Single();
        var again = await Run(account.Token, "images", "cancel-copy", copy.ImageId, "--region", Tokyo);
        Assert.Equal(1, again.Exit);
        Assert.StartsWith("error: FailedPrecondition IncorrectImageStatus:", again.Error);
    }
}
