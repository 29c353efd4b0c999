using Grpc.Core;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.Testing;
using static GrpcImages.IntegrationTests.CatalogSteps;

namespace GrpcImages.IntegrationTests;

/// <summary>Updating and deleting images: force and its consequences (R31), states (R33), freed bytes (R34).</summary>
public class ImageDeletionTests(ClusterFixture fixture, ITestOutputHelper output) : ClusterTest(fixture, output)
{
    private static async Task<bool> DeleteAsync(TestAccount account, string imageId, bool force = false) =>
        (await account.Images().DeleteImageAsync(new DeleteImageRequest { RegionId = Hangzhou, ImageId = imageId, Force = force })).Deleted;

    [Fact]
    public async Task R31_AnImageInUseIsRefusedThenForceDeletedAndItsInstancesKeepRunningButCannotReinitialize()
    {
        var account = await Cluster.NewAccountAsync();
        var image = await account.NewImageAsync((await account.NewInstanceAsync()).InstanceId);
        var instance = await account.NewInstanceAsync(image.ImageId);

        var refused = await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, "ImageUsingByInstance", () => DeleteAsync(account, image.ImageId));
        Assert.Contains("associated with instances", refused.Status.Detail);
        Assert.Equal(ImageStatus.Available, (await account.GetImageAsync(image.ImageId)).Status);

        Assert.True(await DeleteAsync(account, image.ImageId, force: true));

        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidImageId.NotFound", () => account.GetImageAsync(image.ImageId));
        var running = (await account.Instances().GetInstanceAsync(new GetInstanceRequest { RegionId = Hangzhou, InstanceId = instance.InstanceId })).Instance;
        Assert.Equal(InstanceStatus.Running, running.Status);
        Assert.Equal(image.ImageId, running.ImageId);
        await account.StopAsync(running);
        var ex = await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, "InvalidImageId.NotFound", () =>
            account.Instances().ReinitializeSystemDiskAsync(new ReinitializeSystemDiskRequest { RegionId = Hangzhou, InstanceId = instance.InstanceId }));
        Assert.Contains("cannot be re-initialized", ex.Status.Detail);
        // The instance still starts, and can move to another image.
        await account.Instances().StartInstanceAsync(new StartInstanceRequest { RegionId = Hangzhou, InstanceId = instance.InstanceId });
    }

    [Fact]
    public async Task R31_OnceItsInstancesAreDeletedAnImageDeletesWithoutForce()
    {
        var account = await Cluster.NewAccountAsync();
        var image = await account.NewImageAsync((await account.NewInstanceAsync()).InstanceId);
        var instance = await account.NewInstanceAsync(image.ImageId);
        await account.Instances().DeleteInstanceAsync(new DeleteInstanceRequest { RegionId = Hangzhou, InstanceId = instance.InstanceId });

        Assert.True(await DeleteAsync(account, image.ImageId));
    }

    [Fact]
    public async Task R33_AnImageBeingCreatedCannotBeDeletedAndAMissingOneDeletesQuietly()
    {
        var account = await Cluster.NewAccountAsync();
        // 32 TiB of data disk at 100 GiB/s: the image is Creating for minutes.
        var instance = await account.NewInstanceAsync(Ubuntu, Hangzhou, 0, 32768);
        var creating = (await account.Images().CreateImageAsync(new CreateImageRequest
        {
            RegionId = Hangzhou, InstanceId = instance.InstanceId, ImageName = UniqueName(),
        })).Image;

        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, "IncorrectImageStatus", () => DeleteAsync(account, creating.ImageId, force: true));
        Assert.Equal(ImageStatus.Creating, (await account.GetImageAsync(creating.ImageId)).Status);
        Assert.False(await DeleteAsync(account, "m-0000zzzzzzzzzzzzzzzz"));
        Assert.False(await DeleteAsync(account, "m-not-even-an-id"));
    }

    [Fact]
    public async Task R6_PublicImagesAreNotCustomImagesSoNoAccountDeletesOrChangesThem()
    {
        var account = await Cluster.NewAccountAsync();

        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidImageId.NotFound", () =>
            account.Images().UpdateImageAsync(new UpdateImageRequest { RegionId = Hangzhou, ImageId = Ubuntu, ImageName = "mine-now" }));
        Assert.False(await DeleteAsync(account, Ubuntu, force: true)); // not an "m-" image of anyone's: nothing to delete
        Assert.Equal(ImageStatus.Available, (await account.GetImageAsync(Ubuntu)).Status);
    }

    [Fact]
    public async Task R34_AnImagesOwnBytesAreGoneFromDiskOnceNoImageOrSnapshotUsesThem()
    {
        var account = await Cluster.NewAccountAsync();
        var instance = await account.NewInstanceAsync();
        var image = await account.NewImageAsync(instance.InstanceId);
        var content = Cluster.Client<ContentService.ContentServiceClient>(Cluster.ServiceToken("transfer"));
        async Task<IReadOnlyList<string>> ChunksOf(string imageId) =>
            (await Cluster.ChunkIdsAsync(Hangzhou, (await content.GetContentInfoAsync(new GetContentInfoRequest
            {
                RegionId = Hangzhou,
                ManifestId = (await Cluster.DisksOfAsync(Hangzhou, imageId))[0].ManifestId,
            })).Content));
        var publicChunks = await ChunksOf(Ubuntu);
        var own = (await ChunksOf(image.ImageId)).Except(publicChunks).ToList();
        Assert.Single(own); // the chunk where the instance wrote its identity
        async Task Collect() => await content.CollectGarbageAsync(new CollectGarbageRequest { RegionId = Hangzhou });
        bool OnDisk(string chunk) => File.Exists(Cluster.BlobPath(Hangzhou, chunk));

        await account.Instances().DeleteInstanceAsync(new DeleteInstanceRequest { RegionId = Hangzhou, InstanceId = instance.InstanceId });
        Assert.True(await DeleteAsync(account, image.ImageId));
        await Collect();
        Assert.True(OnDisk(own[0])); // the image's snapshots still hold it

        foreach (var mapping in image.DiskDeviceMappings)
        {
            Assert.True((await account.Snapshots().DeleteSnapshotAsync(new DeleteSnapshotRequest { RegionId = Hangzhou, SnapshotId = mapping.SnapshotId })).Deleted);
        }
        await Collect();

        Assert.False(OnDisk(own[0]));
        Assert.All(publicChunks, chunk => Assert.True(OnDisk(chunk))); // the public image still uses these
    }

    [Fact]
    public async Task UpdatesRenameDescribeAndDeprecateTheOwnersImage()
    {
        var account = await Cluster.NewAccountAsync();
        var instance = await account.NewInstanceAsync();
        var image = await account.NewImageAsync(instance.InstanceId, Hangzhou, "first-name");
        var other = await account.NewImageAsync(instance.InstanceId, Hangzhou, "taken-name");

        var renamed = (await account.Images().UpdateImageAsync(new UpdateImageRequest
        {
            RegionId = Hangzhou, ImageId = image.ImageId, ImageName = "second-name", Description = "Renamed", ImageFamily = "web",
        })).Image;
        Assert.Equal(("second-name", "Renamed", "web"), (renamed.ImageName, renamed.Description, renamed.ImageFamily));
        Assert.Equal(renamed.ImageName, (await account.GetImageAsync(image.ImageId)).ImageName);
        await RpcAssert.FailsAsync(StatusCode.AlreadyExists, "InvalidImageName.Duplicated", () =>
            account.Images().UpdateImageAsync(new UpdateImageRequest { RegionId = Hangzhou, ImageId = image.ImageId, ImageName = other.ImageName }));
        // The old name is free again.
        await account.Images().UpdateImageAsync(new UpdateImageRequest { RegionId = Hangzhou, ImageId = other.ImageId, ImageName = "first-name" });
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidImageName.Malformed", () =>
            account.Images().UpdateImageAsync(new UpdateImageRequest { RegionId = Hangzhou, ImageId = image.ImageId, ImageName = "x" }));

        var deprecated = (await account.Images().UpdateImageAsync(new UpdateImageRequest { RegionId = Hangzhou, ImageId = image.ImageId, Deprecated = true })).Image;
        Assert.Equal(ImageStatus.Deprecated, deprecated.Status);
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, "IncorrectImageStatus", () =>
            account.Instances().CreateInstanceAsync(new CreateInstanceRequest { RegionId = Hangzhou, ImageId = image.ImageId }));
        var restored = (await account.Images().UpdateImageAsync(new UpdateImageRequest { RegionId = Hangzhou, ImageId = image.ImageId, Deprecated = false })).Image;
        Assert.Equal(ImageStatus.Available, restored.Status);
        await account.NewInstanceAsync(image.ImageId);
    }
}
