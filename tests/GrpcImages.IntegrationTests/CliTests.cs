using System.Text.Json;
using GrpcImages.Cli;
using GrpcImages.Testing;
using GrpcImages.Transfer.Formats;
using static GrpcImages.IntegrationTests.CatalogSteps;

namespace GrpcImages.IntegrationTests;

/// <summary>imgctl against the running cluster, as a user would type it.</summary>
public class CliTests(ClusterFixture fixture, ITestOutputHelper output) : ClusterTest(fixture, output)
{
    private async Task<(int Exit, string Out, string Error)> Run(string? token, params string[] args)
    {
        var endpoints = new[]
        {
            "--catalog", $"http://127.0.0.1:{Cluster.Port(ServiceKind.Catalog)}",
            "--transfer", $"http://127.0.0.1:{Cluster.Port(ServiceKind.Transfer)}",
            "--sharing", $"http://127.0.0.1:{Cluster.Port(ServiceKind.Sharing)}",
            "--kms", $"http://127.0.0.1:{Cluster.Port(ServiceKind.Kms)}",
        };
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = await ImgCtl.RunAsync([.. args, .. endpoints, .. (token is null ? [] : new[] { "--token", token })], output, error);
        return (exit, output.ToString(), error.ToString());
    }

    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement;

    [Fact]
    public async Task AnAccountManagesItsAccessKeysThroughImgctl()
    {
        var account = await Cluster.NewAccountAsync();
        var created = Json((await Run(account.Token, "accesskeys", "create", "--json")).Out);
        var id = created.GetProperty("accessKey").GetProperty("accessKeyId").GetString()!;
        Assert.StartsWith("LTAI", id);
        Assert.Equal(30, created.GetProperty("accessKeySecret").GetString()!.Length);

        var disabled = await Run(account.Token, "accesskeys", "disable", id);
        Assert.Equal(0, disabled.Exit);
        var listed = (await Run(account.Token, "accesskeys", "list")).Out;
        Assert.Contains(id, listed);
        Assert.Contains("Inactive", listed);
        Assert.Equal(0, (await Run(account.Token, "accesskeys", "delete", id)).Exit);
        Assert.DoesNotContain(id, (await Run(account.Token, "accesskeys", "list")).Out);
    }

    [Fact]
    public async Task AnOperatorAndAnAccountWorkThroughImgctl()
    {
        var (exit, operatorToken, _) = await Run(null, "token", "operator", "--credential", TestCluster.OperatorCredential);
        Assert.Equal(0, exit);
        operatorToken = operatorToken.Trim();

        // What the README says: create prints the id alone, for a script to capture.
        var account = (await Run(operatorToken, "accounts", "create", "--site", "Jp", "--name", "Tokyo KK")).Out.Trim();
        Assert.Matches("^[1-9][0-9]{15}$", account);
        Assert.Equal(account, Json((await Run(operatorToken, "accounts", "get", account, "--json")).Out).GetProperty("accountId").GetString());
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
    public async Task R37_AnOrganizationIsBuiltAndSharedWithThroughImgctl()
    {
        var a = await Cluster.NewAccountAsync();
        var b = await Cluster.NewAccountAsync();
        var image = await a.NewImageAsync((await a.NewInstanceAsync()).InstanceId);

        var directory = (await Run(a.Token, "directory", "create")).Out.Trim();
        Assert.Matches("^rd-[a-z0-9]{10}$", directory);
        var root = Json((await Run(a.Token, "directory", "get", "--json")).Out).GetProperty("rootFolderId").GetString()!;
        var folder = (await Run(a.Token, "directory", "folders", "create", root, "dev")).Out.Trim();
        var handshake = Json((await Run(a.Token, "directory", "invite", directory, b.AccountId, "--json")).Out).GetProperty("handshakeId").GetString()!;
        Assert.Contains(handshake, (await Run(b.Token, "directory", "handshakes")).Out);
        Assert.Equal(0, (await Run(b.Token, "directory", "accept", handshake)).Exit);
        Assert.Equal(0, (await Run(a.Token, "directory", "move", b.AccountId, folder)).Exit);
        Assert.Contains(b.AccountId, (await Run(a.Token, "directory", "members", "--folder", folder)).Out);

        var shared = await Run(a.Token, "images", "share", image.ImageId, "--add-org", folder);
        Assert.True(shared.Exit == 0, shared.Error);
        Assert.Contains("folder", shared.Out);
        Assert.Contains(folder, (await Run(a.Token, "images", "shared-with", image.ImageId)).Out);
        Assert.Contains(image.ImageId, (await Run(b.Token, "images", "list", "--alias", "Others")).Out);

        Assert.Equal(0, (await Run(a.Token, "directory", "remove", directory, b.AccountId)).Exit);
        Assert.Equal("", Json((await Run(b.Token, "directory", "membership", "--json")).Out).TryGetProperty("directoryId", out var left) ? left.GetString() : "");
        var refused = await Run(b.Token, "images", "share", image.ImageId, "--add-org", directory);
        Assert.StartsWith("error: NotFound InvalidImageId.NotFound:", refused.Error);
    }

    [Fact]
    public async Task APackerStyleNetworkIsBuiltAndTornDownThroughImgctl()
    {
        var account = await Cluster.NewAccountAsync();
        async Task<string> Ok(params string[] args)
        {
            var (exit, text, error) = await Run(account.Token, args);
            Assert.True(exit == 0, $"imgctl {string.Join(' ', args)}: {error}");
            return text;
        }

        Assert.Contains("cn-hangzhou-h", await Ok("zones"));
        Assert.Contains("ecs.g8y.large", await Ok("instance-types", "--zone", "cn-hangzhou-b"));
        Assert.DoesNotContain("ecs.g8y.large", await Ok("instance-types", "--zone", "cn-hangzhou-h"));

        var keyFile = Path.Combine(Cluster.DataDirectory, $"cli-key-{Guid.NewGuid():N}");
        Assert.Contains("packer_key", await Ok("keypairs", "create", "packer_key", "--private-key-file", keyFile));
        Assert.StartsWith("-----BEGIN RSA PRIVATE KEY-----", await File.ReadAllTextAsync(keyFile));
        var vpc = (await Ok("vpcs", "create", "--cidr", "192.168.0.0/16", "--name", "packer-vpc")).Trim();
        Assert.Matches("^vpc-[a-z0-9]{20}$", vpc);
        var vswitch = (await Ok("vswitches", "create", "--vpc", vpc, "--zone", "cn-hangzhou-h", "--cidr", "192.168.1.0/24")).Trim();
        var group = (await Ok("securitygroups", "create", "--vpc", vpc, "--name", "packer_sg")).Trim();
        Assert.Contains("22/22", await Ok("securitygroups", "authorize", group, "--protocol", "tcp", "--ports", "22/22"));
        var instance = Json(await Ok("instances", "create", "--image", Ubuntu, "--vswitch", vswitch, "--security-group", group, "--key-pair", "packer_key",
            "--type", "ecs.c7.large", "--stopped", "--json"));
        Assert.Equal(("192.168.1.1", "INSTANCE_STATUS_STOPPED", "packer_key"),
            (instance.GetProperty("privateIpAddress").GetString(), instance.GetProperty("status").GetString(), instance.GetProperty("keyPairName").GetString()));
        var instanceId = instance.GetProperty("instanceId").GetString()!;
        Assert.Contains(instanceId, await Ok("keypairs", "list"));
        Assert.Contains(instanceId, await Ok("disks", "--instance", instanceId));

        var eip = (await Ok("eips", "allocate")).Trim();
        Assert.Contains("InUse", await Ok("eips", "associate", eip, "--instance", instanceId));
        await Ok("tags", "add", "--type", "Instance", instanceId, "--tag", "team=web", "--tag", "stage");
        var tags = await Ok("tags", "list", "--type", "Instance", "--tag", "team");
        Assert.Contains("web", tags);
        Assert.Contains("stage", tags);

        // Out of order, the rules say why.
        var refused = await Run(account.Token, "vpcs", "delete", vpc);
        Assert.Equal(1, refused.Exit);
        Assert.StartsWith("error: FailedPrecondition DependencyViolation.VSwitch:", refused.Error);
        var badCidr = await Run(account.Token, "vswitches", "create", "--vpc", vpc, "--zone", "cn-hangzhou-h", "--cidr", "10.0.0.0/24");
        Assert.Contains("InvalidArgument InvalidCidrBlock.Malformed", badCidr.Error);
        Assert.Contains("(field: cidr_block)", badCidr.Error);

        // Packer's cleanup, in its order.
        await Ok("instances", "delete", instanceId);
        Assert.Contains("yes", await Ok("eips", "release", eip));
        Assert.Contains("packer_key", await Ok("keypairs", "delete", "packer_key"));
        Assert.Contains("yes", await Ok("securitygroups", "delete", group));
        Assert.Contains("yes", await Ok("vswitches", "delete", vswitch));
        Assert.Contains("yes", await Ok("vpcs", "delete", vpc));
        Assert.Contains("no such VPC", await Ok("vpcs", "delete", vpc));
        Assert.DoesNotContain("vpc-", await Ok("vpcs", "list"));
    }

    [Fact]
    public async Task ImgctlImportsAPublicKeyAndListsImagesByTag()
    {
        var account = await Cluster.NewAccountAsync();
        using var rsa = System.Security.Cryptography.RSA.Create(2048);
        var blob = KeyPairTests.RsaBlob(rsa.ExportParameters(false));
        var publicKeyFile = Path.Combine(Cluster.DataDirectory, $"cli-{Guid.NewGuid():N}.pub");
        await File.WriteAllTextAsync(publicKeyFile, $"ssh-rsa {Convert.ToBase64String(blob)} me@laptop\n");

        var imported = await Run(account.Token, "keypairs", "import", "laptop", "--public-key-file", publicKeyFile);
        Assert.True(imported.Exit == 0, imported.Error);
        Assert.Contains(KeyPairTests.Md5Fingerprint(blob), imported.Out);
        var garbage = await Run(account.Token, "keypairs", "import", "bad", "--public-key", "ssh-rsa nope");
        Assert.StartsWith("error: InvalidArgument InvalidPublicKeyBody.Malformed:", garbage.Error);

        var image = await account.NewImageAsync((await account.NewInstanceAsync()).InstanceId);
        Assert.Equal(0, (await Run(account.Token, "tags", "add", "--type", "Image", image.ImageId, "--tag", "team=web")).Exit);
        Assert.Contains(image.ImageId, (await Run(account.Token, "images", "list", "--alias", "Self", "--tag", "team=web")).Out);
        Assert.DoesNotContain(image.ImageId, (await Run(account.Token, "images", "list", "--alias", "Self", "--tag", "team=db")).Out);
        Assert.Contains(image.ImageId, (await Run(account.Token, "images", "list", "--alias", "Self", "--usage", "None")).Out);
        var updated = Json((await Run(account.Token, "images", "update", image.ImageId, "--boot-mode", "Uefi", "--nvme", "Supported", "--json")).Out);
        Assert.Equal("BOOT_MODE_UEFI", updated.GetProperty("bootMode").GetString());
        Assert.Equal(0, (await Run(account.Token, "tags", "remove", "--type", "Image", image.ImageId, "--all")).Exit);
        Assert.DoesNotContain(image.ImageId, (await Run(account.Token, "images", "list", "--alias", "Self", "--tag", "team")).Out);
    }

    [Fact]
    public async Task ImgctlReportsTheRulesCodeAndTheField()
    {
        var noToken = await Run(null, "images", "list");
        Assert.Equal(1, noToken.Exit);
        Assert.StartsWith("error: Unauthenticated MissingSecurityToken:", noToken.Error);

        var account = await Cluster.NewAccountAsync();
        var badName = await Run(account.Token, "instances", "create", "--image", Ubuntu, "--name", "-bad");
        Assert.Equal(1, badName.Exit);
        Assert.Contains("InvalidArgument InvalidInstanceName.Malformed", badName.Error);
        Assert.Contains("(field: instance_name)", badName.Error);
    }

    [Fact]
    public async Task ImgctlCopiesAnImageFollowingItsProgressAndListsTheTask()
    {
        var account = await Cluster.NewAccountAsync();
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

    [Fact]
    public async Task ImgctlImportsALocalFileExportsItAsVhdAndDownloadsItThroughASignedLink()
    {
        var account = await Cluster.NewAccountAsync();
        await account.AddRoleAsync(ImportSteps.ImportRole);
        var directory = Directory.CreateDirectory(Path.Combine(Cluster.DataDirectory, "cli-files", Guid.NewGuid().ToString("N"))).FullName;
        var raw = DiskFiles.RawBytes(3, seed: 404);
        var qcow2 = DiskFiles.Make(directory, raw, "qcow2");
        var bucket = $"cli-{Guid.NewGuid():N}"[..24];

        Assert.Equal(0, (await Run(account.Token, "buckets", "create", bucket)).Exit);
        var imported = await Run(account.Token, "images", "import", qcow2, "--bucket", bucket, "--name", "cli-import", "--os-name", "Debian 12", "--wait", "--json");
        Assert.True(imported.Exit == 0, imported.Error);
        var task = Json(imported.Out.Trim().Split('\n')[^1]);
        Assert.Equal("TASK_STATUS_FINISHED", task.GetProperty("status").GetString());
        var imageId = task.GetProperty("resourceId").GetString()!;
        var exported = await Run(account.Token, "images", "export", imageId, "--bucket", bucket, "--format", "Vhd", "--prefix", "cli", "--wait");
        Assert.True(exported.Exit == 0, exported.Error);
        Assert.Contains("not expected to boot on other platforms", exported.Out); // R30
        Assert.Contains("Finished 100%", exported.Out);
        var listed = await Run(account.Token, "objects", "list", bucket);
        Assert.Contains($"cli_{imageId}_system.vhd", listed.Out);
        Assert.Contains(Path.GetFileName(qcow2), listed.Out); // the uploaded source
        var url = (await Run(account.Token, "objects", "url", bucket, $"cli_{imageId}_system.vhd")).Out.Trim();
        var vhd = Path.Combine(directory, "downloaded.vhd");
        using (var http = new HttpClient())
        {
            await File.WriteAllBytesAsync(vhd, await http.GetByteArrayAsync(new Uri(url)));
        }
        var back = Path.Combine(directory, "back.raw");
        DiskFiles.QemuImg(["convert", "-f", "vpc", "-O", "raw", vhd, back]);
        Assert.Equal(raw, await File.ReadAllBytesAsync(back));
        var got = await Run(account.Token, "objects", "get", bucket, $"cli_{imageId}_system.vhd", "--output", Path.Combine(directory, "got.vhd"));
        Assert.True(got.Exit == 0, got.Error);
        Assert.Equal(await File.ReadAllBytesAsync(vhd), await File.ReadAllBytesAsync(Path.Combine(directory, "got.vhd")));
    }
}
