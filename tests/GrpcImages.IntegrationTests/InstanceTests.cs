using System.Text;
using Grpc.Core;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Common.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.Testing;
using static GrpcImages.IntegrationTests.CatalogSteps;

namespace GrpcImages.IntegrationTests;

/// <summary>Instances: made from visible images with their disks' bytes, states, re-initialize, replace the system disk (R28).</summary>
public class InstanceTests(ClusterFixture fixture, ITestOutputHelper output) : ClusterTest(fixture, output)
{
    [Fact]
    public async Task AnInstanceGetsItsImagesSystemDiskBlankDataDisksAndWritesItsIdentity()
    {
        var account = await Cluster.NewAccountAsync();
        var instance = await account.NewInstanceAsync(Ubuntu, Hangzhou, 30, 20, 100);

        Assert.Equal(InstanceStatus.Running, instance.Status);
        Assert.Equal(Ubuntu, instance.ImageId);
        Assert.Equal((30L, DiskType.System, "/dev/xvda"), (instance.SystemDisk.SizeGib, instance.SystemDisk.DiskType, instance.SystemDisk.Device));
        Assert.Equal([20L, 100L], instance.DataDisks.Select(d => d.SizeGib));
        Assert.Equal(["/dev/xvdb", "/dev/xvdc"], instance.DataDisks.Select(d => d.Device));
        Assert.Equal(LicenseType.Aliyun, instance.LicenseType);
        Assert.Equal(instance.InstanceId, instance.InstanceName);

        // Its system disk holds the public image's bytes with the instance's identity written at 1 MiB.
        var image = await account.NewImageAsync(instance.InstanceId);
        var disks = await Cluster.DisksOfAsync(Hangzhou, image.ImageId);
        var content = Cluster.Client<ContentService.ContentServiceClient>(Cluster.ServiceToken());
        async Task<string> Read(string manifest, long offset, int length) => Encoding.ASCII.GetString(await Cluster.ReadContentAsync(Hangzhou, manifest, offset, length));
        Assert.StartsWith($"GRPCIMAGES SEED DISK\nlabel: {Ubuntu}", await Read(disks[0].ManifestId, 0, 128));
        Assert.StartsWith($"GRPCIMAGES INSTANCE\ninstance-id: {instance.InstanceId}\n", await Read(disks[0].ManifestId, 1 << 20, 64));
        var info = (await content.GetContentInfoAsync(new GetContentInfoRequest { RegionId = Hangzhou, ManifestId = disks[2].ManifestId })).Content;
        Assert.Equal(100L << 30, info.SizeBytes);
        Assert.Equal(0, info.StoredBytes); // a blank disk stores nothing
    }

    [Fact]
    public async Task InstancesStopStartAndRefuseTheWrongState()
    {
        var account = await Cluster.NewAccountAsync();
        var instance = await account.NewInstanceAsync();
        var request = new StopInstanceRequest { RegionId = Hangzhou, InstanceId = instance.InstanceId };

        Assert.Equal(InstanceStatus.Stopped, (await account.Instances().StopInstanceAsync(request)).Instance.Status);
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, "IncorrectInstanceStatus", () => account.Instances().StopInstanceAsync(request));
        Assert.Equal(InstanceStatus.Running, (await account.Instances().StartInstanceAsync(new StartInstanceRequest { RegionId = Hangzhou, InstanceId = instance.InstanceId })).Instance.Status);
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, "IncorrectInstanceStatus", () =>
            account.Instances().ReinitializeSystemDiskAsync(new ReinitializeSystemDiskRequest { RegionId = Hangzhou, InstanceId = instance.InstanceId }));
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, "IncorrectInstanceStatus", () =>
            account.Instances().ReplaceSystemDiskAsync(new ReplaceSystemDiskRequest { RegionId = Hangzhou, InstanceId = instance.InstanceId, ImageId = WindowsServer }));
    }

    [Fact]
    public async Task AStoppedInstanceReinitializesFromItsImage()
    {
        var account = await Cluster.NewAccountAsync();
        var image = await account.NewImageAsync((await account.NewInstanceAsync()).InstanceId);
        var instance = await account.StopAsync(await account.NewInstanceAsync(image.ImageId));

        var reinitialized = (await account.Instances().ReinitializeSystemDiskAsync(new ReinitializeSystemDiskRequest
        {
            RegionId = Hangzhou, InstanceId = instance.InstanceId,
        })).Instance;

        Assert.Equal(instance.SystemDisk.DiskId, reinitialized.SystemDisk.DiskId);
        Assert.Equal(image.ImageId, reinitialized.ImageId);
    }

    [Fact]
    public async Task R28_ReplacingTheSystemDiskMakesTheInstanceFollowTheNewImage()
    {
        var account = await Cluster.NewAccountAsync();
        var sqlServer = await account.MarketplaceSqlServerAsync();
        var instance = await account.StopAsync(await account.NewInstanceAsync());

        var replaced = (await account.Instances().ReplaceSystemDiskAsync(new ReplaceSystemDiskRequest
        {
            RegionId = Hangzhou, InstanceId = instance.InstanceId, ImageId = sqlServer.ImageId,
        })).Instance;

        Assert.Equal(sqlServer.ImageId, replaced.ImageId);
        Assert.NotEqual(instance.SystemDisk.DiskId, replaced.SystemDisk.DiskId);
        Assert.Equal(40, replaced.SystemDisk.SizeGib); // the larger of the image's and the old disk's
        Assert.Equal((OsType.Windows, sqlServer.ProductCode, LicenseType.Aliyun), (replaced.OsType, replaced.ProductCode, replaced.LicenseType));
        Assert.Equal(replaced, (await account.Instances().GetInstanceAsync(new GetInstanceRequest { RegionId = Hangzhou, InstanceId = instance.InstanceId })).Instance);

        var back = (await account.Instances().ReplaceSystemDiskAsync(new ReplaceSystemDiskRequest
        {
            RegionId = Hangzhou, InstanceId = instance.InstanceId, ImageId = Ubuntu, SystemDiskSizeGib = 50,
        })).Instance;
        Assert.Equal((OsType.Linux, "", 50L), (back.OsType, back.ProductCode, back.SystemDisk.SizeGib));
    }

    [Fact]
    public async Task ANewSystemDiskCanBeSnapshottedAndTheOldOneIsGone()
    {
        var account = await Cluster.NewAccountAsync();
        var instance = await account.StopAsync(await account.NewInstanceAsync());

        var replaced = (await account.Instances().ReplaceSystemDiskAsync(new ReplaceSystemDiskRequest
        {
            RegionId = Hangzhou, InstanceId = instance.InstanceId, ImageId = Ubuntu,
        })).Instance;

        var snapshot = await account.SnapshotOfAsync(replaced.SystemDisk.DiskId);
        Assert.Equal(replaced.SystemDisk.DiskId, snapshot.SourceDiskId);
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidDiskId.NotFound", () =>
            account.Snapshots().CreateSnapshotAsync(new CreateSnapshotRequest { RegionId = Hangzhou, DiskId = instance.SystemDisk.DiskId }));
    }

    [Fact]
    public async Task ReplacingTheSystemDiskMovesTheInstanceOffItsOldImage()
    {
        var account = await Cluster.NewAccountAsync();
        var image = await account.NewImageAsync((await account.NewInstanceAsync()).InstanceId);
        var instance = await account.StopAsync(await account.NewInstanceAsync(image.ImageId));

        await account.Instances().ReplaceSystemDiskAsync(new ReplaceSystemDiskRequest { RegionId = Hangzhou, InstanceId = instance.InstanceId, ImageId = Ubuntu });

        // R31: nothing uses the old image now.
        Assert.True((await account.Images().DeleteImageAsync(new DeleteImageRequest { RegionId = Hangzhou, ImageId = image.ImageId })).Deleted);
    }

    [Fact]
    public async Task BadInstanceRequestsAreRefusedWithTheFieldNamed()
    {
        var account = await Cluster.NewAccountAsync();
        async Task Refused(string reason, string field, CreateInstanceRequest request)
        {
            var ex = await RpcAssert.FailsAsync(StatusCode.InvalidArgument, reason, () => account.Instances().CreateInstanceAsync(request));
            Assert.Equal([field], RpcAssert.ViolatedFields(ex));
        }

        await Refused("InvalidSystemDiskSize.LessThanImageSize", "system_disk_size_gib",
            new CreateInstanceRequest { RegionId = Hangzhou, ImageId = WindowsServer, SystemDiskSizeGib = 30 });
        await Refused("InvalidSystemDiskSize", "system_disk_size_gib",
            new CreateInstanceRequest { RegionId = Hangzhou, ImageId = Ubuntu, SystemDiskSizeGib = 4096 });
        await Refused("InvalidDataDiskSize", "data_disks[0].size_gib",
            new CreateInstanceRequest { RegionId = Hangzhou, ImageId = Ubuntu, DataDisks = { new DataDiskSpec { SizeGib = 10 } } });
        var many = new CreateInstanceRequest { RegionId = Hangzhou, ImageId = Ubuntu };
        many.DataDisks.AddRange(Enumerable.Range(0, 17).Select(_ => new DataDiskSpec { SizeGib = 20 }));
        await Refused("InvalidDataDiskCount", "data_disks", many);
        await Refused("InvalidInstanceName.Malformed", "instance_name",
            new CreateInstanceRequest { RegionId = Hangzhou, ImageId = Ubuntu, InstanceName = "-bad" });
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidImageId.NotFound", () =>
            account.Instances().CreateInstanceAsync(new CreateInstanceRequest { RegionId = Hangzhou, ImageId = "m-0000aaaaaaaaaaaaaaaa" }));
        Assert.Empty((await account.Instances().ListInstancesAsync(new ListInstancesRequest { RegionId = Hangzhou })).Instances);
    }

    [Fact]
    public async Task InstancesListDeleteAndHonourClientTokens() // R35
    {
        var account = await Cluster.NewAccountAsync();
        var token = Guid.NewGuid().ToString();
        var request = new CreateInstanceRequest { RegionId = Hangzhou, ImageId = Ubuntu, InstanceName = "web-1", ClientToken = token };
        var first = (await account.Instances().CreateInstanceAsync(request)).Instance;
        Assert.Equal(first.InstanceId, (await account.Instances().CreateInstanceAsync(request)).Instance.InstanceId);
        request.InstanceName = "web-2";
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "IdempotenceParamNotMatch", () => account.Instances().CreateInstanceAsync(request));
        var second = await account.NewInstanceAsync();
        var third = await account.NewInstanceAsync();

        var page1 = await account.Instances().ListInstancesAsync(new ListInstancesRequest { RegionId = Hangzhou, PageSize = 2 });
        var page2 = await account.Instances().ListInstancesAsync(new ListInstancesRequest { RegionId = Hangzhou, PageSize = 2, PageToken = page1.NextPageToken });
        Assert.Equal([third.InstanceId, second.InstanceId, first.InstanceId], page1.Instances.Concat(page2.Instances).Select(i => i.InstanceId));
        Assert.Empty(page2.NextPageToken);

        Assert.True((await account.Instances().DeleteInstanceAsync(new DeleteInstanceRequest { RegionId = Hangzhou, InstanceId = first.InstanceId })).Deleted);
        Assert.False((await account.Instances().DeleteInstanceAsync(new DeleteInstanceRequest { RegionId = Hangzhou, InstanceId = first.InstanceId })).Deleted);
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidInstanceId.NotFound", () =>
            account.Instances().GetInstanceAsync(new GetInstanceRequest { RegionId = Hangzhou, InstanceId = first.InstanceId }));
    }

    [Fact]
    public async Task R35_ARetriedReplaceWithTheSameTokenMakesNoSecondDisk()
    {
        var account = await Cluster.NewAccountAsync();
        var instance = await account.StopAsync(await account.NewInstanceAsync());
        var request = new ReplaceSystemDiskRequest { RegionId = Hangzhou, InstanceId = instance.InstanceId, ImageId = WindowsServer, ClientToken = Guid.NewGuid().ToString() };

        var first = (await account.Instances().ReplaceSystemDiskAsync(request)).Instance;
        var retried = (await account.Instances().ReplaceSystemDiskAsync(request)).Instance;

        Assert.Equal(first.SystemDisk.DiskId, retried.SystemDisk.DiskId);
        request.ImageId = Ubuntu;
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "IdempotenceParamNotMatch", () => account.Instances().ReplaceSystemDiskAsync(request));
    }
}
