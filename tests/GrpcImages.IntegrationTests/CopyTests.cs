using Grpc.Core;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Common.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.Testing;
using static GrpcImages.IntegrationTests.CatalogSteps;

namespace GrpcImages.IntegrationTests;

/// <summary>Copying images between regions and within one (R5-R12, R17, R20, R21).</summary>
public class CopyTests(ClusterFixture fixture, ITestOutputHelper output) : ClusterTest(fixture, output)
{
    private readonly TestCluster _cluster = fixture.Cluster;

    [Fact]
    public async Task R5_ACopyInAnotherRegionIsTheCallersOwnImageWithItsSourceRecordedAndTheSameBytes()
    {
        var account = await _cluster.NewAccountAsync();
        var source = await account.NewImageAsync((await account.NewInstanceAsync(Ubuntu, Hangzhou, 0, 20)).InstanceId);

        var copy = await account.CopyAsync(source.ImageId, Hangzhou, Shanghai, name: "web-copy");
        var task = await account.WaitForTaskAsync(copy.Task.TaskId);
        var image = await account.ImageInAsync(Shanghai, copy.ImageId);

        Assert.Equal(TaskStatus.Finished, task.Status);
        Assert.Equal(100, task.Progress);
        Assert.Equal((TaskAction.CopyImage, Shanghai, source.ImageId, Hangzhou), (task.Action, task.RegionId, task.SourceResourceId, task.SourceRegionId));
        Assert.Equal(copy.ImageId, task.ResourceId);
        Assert.NotEqual(source.ImageId, image.ImageId);
        Assert.Equal((ImageStatus.Available, ImageOwnerAlias.Self, true), (image.Status, image.OwnerAlias, image.IsCopied));
        Assert.Equal((source.ImageId, Hangzhou, ImageSourceKind.Copy), (image.SourceImageId, image.SourceRegionId, image.SourceKind));
        Assert.Equal("web-copy", image.ImageName);
        Assert.Equal(2, image.DiskDeviceMappings.Count);
        Assert.Equal(await _cluster.DigestsAsync(Hangzhou, source.ImageId), await _cluster.DigestsAsync(Shanghai, image.ImageId));
        // R4: regional; the copy is used in its own region.
        var instance = await account.NewInstanceAsync(image.ImageId, Shanghai);
        Assert.Equal(image.ImageId, instance.ImageId);
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidImageId.NotFound", () =>
            account.Images().GetImageAsync(new GetImageRequest { RegionId = Hangzhou, ImageId = image.ImageId }));
    }

    [Fact]
    public async Task R6_OnlyAvailableCustomImagesAreCopied()
    {
        var account = await _cluster.NewAccountAsync();

        var publicImage = await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, "OperationDenied", () => account.CopyAsync(Ubuntu, Hangzhou, Shanghai));
        Assert.Contains("Only custom images can be copied", publicImage.Status.Detail);
        var image = await account.NewImageAsync((await account.NewInstanceAsync()).InstanceId);
        await account.Images().UpdateImageAsync(new UpdateImageRequest { RegionId = Hangzhou, ImageId = image.ImageId, Deprecated = true });
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, "IncorrectImageStatus", () => account.CopyAsync(image.ImageId, Hangzhou, Shanghai));
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidImageId.NotFound", () => account.CopyAsync("m-aaaaaaaaaaaaaaaaaaaa", Hangzhou, Shanghai));

        Assert.Empty((await account.Tasks().ListTasksAsync(new ListTasksRequest { RegionId = Shanghai })).Tasks); // refusals leave no task
    }

    [Fact]
    public async Task R9_TheSameSourceCannotBeCopiedTwiceAtOnceNorDeletedWhileItIsCopied()
    {
        var account = await _cluster.NewAccountAsync();
        var source = await account.NewImageAsync((await account.NewInstanceAsync()).InstanceId);
        var first = await account.CopyAsync(source.ImageId, Hangzhou, Shanghai);

        var second = account.CopyAsync(source.ImageId, Hangzhou, Tokyo);
        var deleteSource = account.Images().DeleteImageAsync(new DeleteImageRequest { RegionId = Hangzhou, ImageId = source.ImageId, Force = true }).ResponseAsync;
        var deleteCopy = account.Images().DeleteImageAsync(new DeleteImageRequest { RegionId = Shanghai, ImageId = first.ImageId, Force = true }).ResponseAsync;

        var task = await account.WaitForTaskAsync(first.Task.TaskId);
        Assert.Equal(TaskStatus.Finished, task.Status);
        // While the first copy ran (or waited), the second was refused, and neither image could be deleted.
        var conflict = await Assert.ThrowsAsync<RpcException>(() => second);
        Assert.Equal("OperationDenied.ImageCopyConflict", RpcAssert.Reason(conflict));
        Assert.Equal("OperationDenied.ImageCopying", RpcAssert.Reason(await Assert.ThrowsAsync<RpcException>(() => deleteSource)));
        Assert.Equal("OperationDenied.ImageCopying", RpcAssert.Reason(await Assert.ThrowsAsync<RpcException>(() => deleteCopy)));
        // Once it ended, the source copies again.
        var again = await account.CopyAsync(source.ImageId, Hangzhou, Tokyo);
        Assert.Equal(TaskStatus.Finished, (await account.WaitForTaskAsync(again.Task.TaskId)).Status);
    }

    [Fact]
    public async Task R35_TheSameClientTokenReturnsTheFirstCopy()
    {
        var account = await _cluster.NewAccountAsync();
        var source = await account.NewImageAsync((await account.NewInstanceAsync()).InstanceId);
        var request = new CopyImageRequest { RegionId = Hangzhou, ImageId = source.ImageId, DestinationRegionId = Tokyo, ClientToken = "copy-once" };

        var first = await account.Transfers().CopyImageAsync(request);
        var again = await account.Transfers().CopyImageAsync(request);

        Assert.Equal((first.ImageId, first.Task.TaskId), (again.ImageId, again.Task.TaskId));
        request.DestinationRegionId = Shanghai;
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "IdempotenceParamNotMatch", () => account.Transfers().CopyImageAsync(request));
        await account.WaitForTaskAsync(first.Task.TaskId);
    }
}
