using Grpc.Core;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Common.V1;
using GrpcImages.Testing;
using static GrpcImages.IntegrationTests.CatalogSteps;

namespace GrpcImages.IntegrationTests;

/// <summary>Creating custom images from instances (R1) and from snapshots (R2).</summary>
public class ImageCreationTests(ClusterFixture fixture, ITestOutputHelper output) : ClusterTest(fixture, output)
{
    [Fact]
    public async Task R1_AnImageOfAnInstanceWithASystemAndTwoDataDisksShowsProgressAndEndsAvailableWithThreeSnapshots()
    {
        var account = await Cluster.NewAccountAsync();
        var instance = await account.NewInstanceAsync(WindowsServer, Hangzhou, 40, 40, 40);

        var created = (await account.Images().CreateImageAsync(new CreateImageRequest
        {
            RegionId = Hangzhou, InstanceId = instance.InstanceId, ImageName = "web-server-v1", Description = "The web tier",
        })).Image;
        var seen = new List<Image>();
        var image = await account.WaitForImageAsync(created.ImageId, i => i.Status == ImageStatus.Available, seen: seen);

        Assert.Equal(ImageStatus.Creating, created.Status);
        Assert.Equal(0, created.Progress);
        Assert.Contains(seen, i => i.Status == ImageStatus.Creating && i.Progress is > 0 and < 100);
        var progress = seen.Select(i => i.Progress).ToList();
        Assert.Equal(progress.Order(), progress); // never goes back
        Assert.Equal(100, image.Progress);
        Assert.Equal(ImageOwnerAlias.Self, image.OwnerAlias);
        Assert.Equal(ImageSourceKind.Instance, image.SourceKind);
        Assert.Equal(instance.InstanceId, image.SourceInstanceId);
        Assert.Equal(3, image.DiskDeviceMappings.Count);
        Assert.Equal([DiskType.System, DiskType.Data, DiskType.Data], image.DiskDeviceMappings.Select(m => m.DiskType));

        var disks = new[] { instance.SystemDisk }.Concat(instance.DataDisks).ToList();
        for (var i = 0; i < 3; i++)
        {
            var snapshot = (await account.Snapshots().GetSnapshotAsync(new GetSnapshotRequest
            {
                RegionId = Hangzhou, SnapshotId = image.DiskDeviceMappings[i].SnapshotId,
            })).Snapshot;
            Assert.Equal(SnapshotStatus.Accomplished, snapshot.Status);
            Assert.Equal(disks[i].DiskId, snapshot.SourceDiskId);
            Assert.Equal(disks[i].DiskType, snapshot.SourceDiskType);
            Assert.Equal([image.ImageId], snapshot.ImageIds);
        }
    }

    [Fact]
    public async Task R1_AStoppedInstanceMakesAnImageTooAndItKeepsTheInstancesOperatingSystem()
    {
        var account = await Cluster.NewAccountAsync();
        var instance = await account.StopAsync(await account.NewInstanceAsync());

        var image = await account.NewImageAsync(instance.InstanceId);

        Assert.Equal("Ubuntu 22.04 64 bit", image.OsName);
        Assert.Equal(OsType.Linux, image.OsType);
        Assert.Equal(20, image.SizeGib);
        Assert.Equal(LicenseType.Aliyun, image.LicenseType);
        Assert.Empty(image.ProductCode);
    }

    [Fact]
    public async Task R2_AnImageFromOneSystemSnapshotAndTwoDataSnapshots()
    {
        var account = await Cluster.NewAccountAsync();
        var instance = await account.NewInstanceAsync(Ubuntu, Hangzhou, 20, 30, 50);
        var system = await account.SnapshotOfAsync(instance.SystemDisk.DiskId);
        var data1 = await account.SnapshotOfAsync(instance.DataDisks[0].DiskId);
        var data2 = await account.SnapshotOfAsync(instance.DataDisks[1].DiskId);

        var created = (await account.Images().CreateImageAsync(new CreateImageRequest
        {
            RegionId = Hangzhou,
            ImageName = UniqueName(),
            DiskDeviceMappings =
            {
                new DiskDeviceMappingSpec { SnapshotId = data1.SnapshotId },
                new DiskDeviceMappingSpec { SnapshotId = system.SnapshotId, SizeGib = 40 },
                new DiskDeviceMappingSpec { SnapshotId = data2.SnapshotId },
            },
        })).Image;
        var image = await account.WaitUntilAvailableAsync(created.ImageId);

        Assert.Equal(ImageSourceKind.Snapshots, image.SourceKind);
        Assert.Equal(40, image.SizeGib);
        Assert.Equal([system.SnapshotId, data1.SnapshotId, data2.SnapshotId], image.DiskDeviceMappings.Select(m => m.SnapshotId));
        Assert.Equal(["/dev/xvda", "/dev/xvdb", "/dev/xvdc"], image.DiskDeviceMappings.Select(m => m.Device));
        // An instance made from it boots from the system snapshot's content.
        var fromImage = await account.NewInstanceAsync(image.ImageId);
        Assert.Equal(40, fromImage.SystemDisk.SizeGib);
    }

    [Fact]
    public async Task R2_ADataDiskSnapshotAloneCannotMakeAnImage()
    {
        var account = await Cluster.NewAccountAsync();
        var instance = await account.NewInstanceAsync(Ubuntu, Hangzhou, 0, 20);
        var data = await account.SnapshotOfAsync(instance.DataDisks[0].DiskId);

        var alone = await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "OperationDenied", () => account.Images().CreateImageAsync(new CreateImageRequest
        {
            RegionId = Hangzhou, ImageName = UniqueName(), DiskDeviceMappings = { new DiskDeviceMappingSpec { SnapshotId = data.SnapshotId } },
        }));
        Assert.Contains("not from system disk", alone.Status.Detail);

        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "OperationDenied", () => account.Images().CreateImageAsync(new CreateImageRequest
        {
            RegionId = Hangzhou, ImageName = UniqueName(),
            DiskDeviceMappings = { new DiskDeviceMappingSpec { SnapshotId = data.SnapshotId, DiskType = DiskType.System } },
        }));
        Assert.Empty((await account.Images().ListImagesAsync(new ListImagesRequest
        {
            RegionId = Hangzhou, OwnerAlias = ImageOwnerAlias.Self, Statuses = { ImageStatus.Creating, ImageStatus.Available },
        })).Images);
    }

    [Fact]
    public async Task R2_TwoSystemSnapshotsOrMoreThanSixteenDataSnapshotsAreDenied()
    {
        var account = await Cluster.NewAccountAsync();
        var instance = await account.NewInstanceAsync(Ubuntu, Hangzhou, 0, 20);
        var system = await account.SnapshotOfAsync(instance.SystemDisk.DiskId);
        var other = await account.SnapshotOfAsync((await account.NewInstanceAsync()).SystemDisk.DiskId);
        var data = await account.SnapshotOfAsync(instance.DataDisks[0].DiskId);

        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "OperationDenied", () => account.Images().CreateImageAsync(new CreateImageRequest
        {
            RegionId = Hangzhou, ImageName = UniqueName(),
            DiskDeviceMappings = { new DiskDeviceMappingSpec { SnapshotId = system.SnapshotId }, new DiskDeviceMappingSpec { SnapshotId = other.SnapshotId } },
        }));
        var seventeen = new CreateImageRequest { RegionId = Hangzhou, ImageName = UniqueName(), DiskDeviceMappings = { new DiskDeviceMappingSpec { SnapshotId = system.SnapshotId } } };
        seventeen.DiskDeviceMappings.AddRange(Enumerable.Range(0, 17).Select(_ => new DiskDeviceMappingSpec { SnapshotId = data.SnapshotId }));
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "OperationDenied", () => account.Images().CreateImageAsync(seventeen));
    }

    [Fact]
    public async Task R2_ASnapshotStillProgressingIsNotReady()
    {
        var account = await Cluster.NewAccountAsync();
        var instance = await account.NewInstanceAsync(Ubuntu, Hangzhou, 0, 32768);
        var system = await account.SnapshotOfAsync(instance.SystemDisk.DiskId);
        // 32 TiB at 100 GiB/s: this snapshot progresses for minutes.
        var big = (await account.Snapshots().CreateSnapshotAsync(new CreateSnapshotRequest { RegionId = Hangzhou, DiskId = instance.DataDisks[0].DiskId })).Snapshot;

        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, "InvalidSnapshotId.NotReady", () => account.Images().CreateImageAsync(new CreateImageRequest
        {
            RegionId = Hangzhou, ImageName = UniqueName(),
            DiskDeviceMappings = { new DiskDeviceMappingSpec { SnapshotId = system.SnapshotId }, new DiskDeviceMappingSpec { SnapshotId = big.SnapshotId } },
        }));
        await account.Snapshots().DeleteSnapshotAsync(new DeleteSnapshotRequest { RegionId = Hangzhou, SnapshotId = big.SnapshotId });
    }

    [Fact]
    public async Task MarketplaceDerivedImagesKeepTheProductCode()
    {
        var account = await Cluster.NewAccountAsync();
        var sqlServer = await account.MarketplaceSqlServerAsync();
        var instance = await account.NewInstanceAsync(sqlServer.ImageId);

        var derived = await account.NewImageAsync(instance.InstanceId);
        var again = await account.NewImageAsync((await account.NewInstanceAsync(derived.ImageId)).InstanceId);

        Assert.Equal(sqlServer.ProductCode, instance.ProductCode);
        Assert.Equal(sqlServer.ProductCode, derived.ProductCode);
        Assert.Equal(sqlServer.ProductCode, again.ProductCode);
        Assert.Equal(ImageOwnerAlias.Self, derived.OwnerAlias);
    }

    [Theory]
    [InlineData("a", "image_name", "InvalidImageName.Malformed")]
    [InlineData("aliyun-custom", "image_name", "InvalidImageName.Malformed")]
    [InlineData("my http://x", "image_name", "InvalidImageName.Malformed")]
    public async Task BadNamesAreRefusedAndNothingIsCreated(string name, string field, string reason)
    {
        var account = await Cluster.NewAccountAsync();
        var instance = await account.NewInstanceAsync();

        var ex = await RpcAssert.FailsAsync(StatusCode.InvalidArgument, reason, () => account.Images().CreateImageAsync(new CreateImageRequest
        {
            RegionId = Hangzhou, InstanceId = instance.InstanceId, ImageName = name,
        }));

        Assert.Equal([field], RpcAssert.ViolatedFields(ex));
        Assert.Empty((await account.Snapshots().ListSnapshotsAsync(new ListSnapshotsRequest { RegionId = Hangzhou })).Snapshots);
    }

    [Fact]
    public async Task BadDescriptionsFamiliesTagsAndSourcesAreRefused()
    {
        var account = await Cluster.NewAccountAsync();
        var instance = await account.NewInstanceAsync();
        CreateImageRequest Request() => new() { RegionId = Hangzhou, InstanceId = instance.InstanceId, ImageName = UniqueName() };

        var description = Request();
        description.Description = "https://example.com/image";
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidDescription.Malformed", () => account.Images().CreateImageAsync(description));
        var family = Request();
        family.ImageFamily = "9lives";
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidImageFamily.Malformed", () => account.Images().CreateImageAsync(family));
        var tags = Request();
        tags.Tags.AddRange(Enumerable.Range(0, 21).Select(i => new Tag { Key = $"k{i}" }));
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidTagCount", () => account.Images().CreateImageAsync(tags));
        var both = Request();
        both.DiskDeviceMappings.Add(new DiskDeviceMappingSpec { SnapshotId = "s-aaaaaaaaaaaaaaaaaaaa" });
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidParameter", () => account.Images().CreateImageAsync(both));
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidRegionId.Malformed", () => account.Images().CreateImageAsync(new CreateImageRequest
        {
            RegionId = "moon-1", InstanceId = instance.InstanceId, ImageName = UniqueName(),
        }));
    }

    [Fact]
    public async Task R20_AKmsKeyWithoutEncryptedIsIllegal()
    {
        var account = await Cluster.NewAccountAsync();
        var instance = await account.NewInstanceAsync();

        var ex = await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidParameter.EncryptedIllegal", () => account.Images().CreateImageAsync(new CreateImageRequest
        {
            RegionId = Hangzhou, InstanceId = instance.InstanceId, ImageName = UniqueName(),
            Encryption = new EncryptionSpec { KmsKeyId = Guid.NewGuid().ToString() },
        }));
        Assert.Equal(["encryption.kms_key_id"], RpcAssert.ViolatedFields(ex));
    }

    [Fact]
    public async Task ImageNamesAreUniquePerOwnerAndRegion()
    {
        var a = await Cluster.NewAccountAsync();
        var b = await Cluster.NewAccountAsync();
        var name = UniqueName();
        await a.NewImageAsync((await a.NewInstanceAsync()).InstanceId, Hangzhou, name);

        await RpcAssert.FailsAsync(StatusCode.AlreadyExists, "InvalidImageName.Duplicated", () => a.Images().CreateImageAsync(new CreateImageRequest
        {
            RegionId = Hangzhou, InstanceId = (a.NewInstanceAsync().Result).InstanceId, ImageName = name,
        }));
        // Another region, another owner: the name is free there.
        await a.NewImageAsync((await a.NewInstanceAsync(Ubuntu, Shanghai)).InstanceId, Shanghai, name);
        await b.NewImageAsync((await b.NewInstanceAsync()).InstanceId, Hangzhou, name);
    }

    [Fact]
    public async Task AFailedCreateLeavesNoImageNoSnapshotAndNoHeldContent()
    {
        var account = await Cluster.NewAccountAsync();
        var instance = await account.NewInstanceAsync(Ubuntu, Hangzhou, 0, 20);
        var first = await account.NewImageAsync(instance.InstanceId);
        var content = Cluster.Client<GrpcImages.Contracts.Transfer.V1.ContentService.ContentServiceClient>(Cluster.ServiceToken());
        var manifests = (await Cluster.DisksOfAsync(Hangzhou, first.ImageId))
            .Select(d => d.ManifestId).ToList();
        async Task<List<int>> Holders() => [.. await Task.WhenAll(manifests.Select(async m =>
            (await content.GetContentInfoAsync(new GrpcImages.Contracts.Transfer.V1.GetContentInfoRequest { RegionId = Hangzhou, ManifestId = m })).Content.HolderCount))];
        var before = await Holders();
        var snapshots = (await account.Snapshots().ListSnapshotsAsync(new ListSnapshotsRequest { RegionId = Hangzhou })).Snapshots.Count;

        await RpcAssert.FailsAsync(StatusCode.AlreadyExists, "InvalidImageName.Duplicated", () => account.Images().CreateImageAsync(new CreateImageRequest
        {
            RegionId = Hangzhou, InstanceId = instance.InstanceId, ImageName = first.ImageName,
        }));

        Assert.Equal(before, await Holders());
        Assert.Equal(snapshots, (await account.Snapshots().ListSnapshotsAsync(new ListSnapshotsRequest { RegionId = Hangzhou })).Snapshots.Count);
        Assert.Single((await account.Images().ListImagesAsync(new ListImagesRequest { RegionId = Hangzhou, OwnerAlias = ImageOwnerAlias.Self })).Images);
    }

    [Fact]
    public async Task R35_TheSameClientTokenReturnsTheFirstImageAndRefusesAnotherRequest()
    {
        var account = await Cluster.NewAccountAsync();
        var instance = await account.NewInstanceAsync();
        var request = new CreateImageRequest { RegionId = Hangzhou, InstanceId = instance.InstanceId, ImageName = UniqueName(), ClientToken = Guid.NewGuid().ToString() };

        var first = (await account.Images().CreateImageAsync(request)).Image;
        var retried = (await account.Images().CreateImageAsync(request)).Image;
        var racing = await Task.WhenAll(Enumerable.Range(0, 5).Select(async _ => (await account.Images().CreateImageAsync(request)).Image.ImageId));

        Assert.Equal(first.ImageId, retried.ImageId);
        Assert.All(racing, id => Assert.Equal(first.ImageId, id));
        var other = request.Clone();
        other.Description = "something else";
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "IdempotenceParamNotMatch", () => account.Images().CreateImageAsync(other));
        Assert.Single((await account.Images().ListImagesAsync(new ListImagesRequest
        {
            RegionId = Hangzhou, OwnerAlias = ImageOwnerAlias.Self, Statuses = { ImageStatus.Creating, ImageStatus.Available },
        })).Images);
    }
}
