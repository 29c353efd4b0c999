using Grpc.Core;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Common.V1;
using GrpcImages.Contracts.Sharing.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.ServiceDefaults.Storage;
using GrpcImages.ServiceDefaults.Validation;
using GrpcImages.Testing;
using GrpcImages.Transfer.Domain;
using GrpcImages.Transfer.Storage;
using GrpcImages.Transfer.Tasks;
using Microsoft.Extensions.DependencyInjection;
using static GrpcImages.IntegrationTests.CatalogSteps;

namespace GrpcImages.IntegrationTests;

/// <summary>
/// A task's request that dies half way through setting its task up (R8, R9, R24, R29): the undo is
/// final, whichever arrives first. A hold or a pending image of the task that reaches the catalog after
/// the task was given up is refused, and a worker that finds a task still in setup removes what it made.
/// Each test puts the steps in the order a lost race would, through the catalog's internal API.
/// </summary>
public class TaskSetupTests(ClusterFixture fixture, ITestOutputHelper output) : ClusterTest(fixture, output)
{
    private ImageControlService.ImageControlServiceClient Control => Cluster.Client<ImageControlService.ImageControlServiceClient>(Cluster.ServiceToken("transfer"));

    [Fact]
    public async Task R9_AHoldThatArrivesAfterItsTaskLetTheImageGoIsRefusedAndTheImageCanStillBeDeleted()
    {
        var account = await Cluster.NewAccountAsync();
        var image = await Cluster.NewImageWithContentAsync(account, Hangzhou, ContentImages.Bytes([4101]));
        var (late, live) = (NewTaskId(account), NewTaskId(account));

        await Control.ReleaseImageHoldAsync(new ReleaseImageHoldRequest { RegionId = Hangzhou, ImageId = image.ImageId, TaskId = late });
        await RpcAssert.FailsAsync(StatusCode.Aborted, "TaskAbandoned", () => Control.HoldImageAsync(Hold(account, image.ImageId, late)).ResponseAsync);
        await RpcAssert.FailsAsync(StatusCode.Aborted, "TaskAbandoned", () => Control.HoldImageAsync(Hold(account, image.ImageId, late)).ResponseAsync);

        // Another task's hold still holds (R9: the source of a running copy cannot be deleted) until it is let go.
        await Control.HoldImageAsync(Hold(account, image.ImageId, live));
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, "OperationDenied.ImageCopying", () =>
            account.Images().DeleteImageAsync(new DeleteImageRequest { RegionId = Hangzhou, ImageId = image.ImageId }).ResponseAsync);
        await Control.ReleaseImageHoldAsync(new ReleaseImageHoldRequest { RegionId = Hangzhou, ImageId = image.ImageId, TaskId = live });
        Assert.True((await account.Images().DeleteImageAsync(new DeleteImageRequest { RegionId = Hangzhou, ImageId = image.ImageId })).Deleted);
    }

    [Fact]
    public async Task R24_APendingImageThatArrivesAfterItsTaskWasGivenUpIsRefusedAndUsesNoQuota()
    {
        var account = await Cluster.NewAccountAsync();
        var task = NewTaskId(account);
        var before = await ImageUsageAsync(account);

        await Control.FailPendingAsync(new FailPendingRequest { TaskId = task, Cancelled = true });
        await RpcAssert.FailsAsync(StatusCode.Aborted, "TaskAbandoned", () => Control.CreatePendingImageAsync(Pending(account, task)).ResponseAsync);
        await RpcAssert.FailsAsync(StatusCode.Aborted, "TaskAbandoned", () => Control.CreatePendingSnapshotAsync(new CreatePendingSnapshotRequest
        {
            OwnerAccountId = account.AccountId, RegionId = Hangzhou, TaskId = task, DiskType = DiskType.Data, DiskSizeGib = 20,
        }).ResponseAsync);

        Assert.Equal(before, await ImageUsageAsync(account));
        Assert.Empty((await account.Images().ListImagesAsync(new ListImagesRequest { RegionId = Hangzhou, OwnerAlias = ImageOwnerAlias.Self })).Images);
    }

    [Fact]
    public async Task R3_GivingUpATaskGivesBackTheQuotaUnitACreateTookBeforeItDiedWithoutMakingTheImage()
    {
        var account = await Cluster.NewAccountAsync();
        var task = NewTaskId(account);
        var before = await ImageUsageAsync(account);
        // The catalog derives the image's id from the task's, and reserves its unit before making it.
        var imageId = ResourceIds.Derived('m', ResourceIds.OwnerTag(account.AccountId), $"pending|{task}");
        await Cluster.Client<QuotaService.QuotaServiceClient>(Cluster.ServiceToken("catalog")).ReserveQuotaAsync(new ReserveQuotaRequest
        {
            AccountId = account.AccountId, Kind = QuotaKind.Images, RegionId = Hangzhou, HolderId = imageId,
        });
        Assert.Equal(before + 1, await ImageUsageAsync(account));
        var stranger = await Cluster.NewAccountAsync();

        // Only the task's owner's unit: another account named with the task is refused.
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidParameter", () => Control.FailPendingAsync(new FailPendingRequest
        {
            TaskId = task, Cancelled = true, OwnerAccountId = stranger.AccountId, RegionId = Hangzhou,
        }).ResponseAsync);
        Assert.Equal(before + 1, await ImageUsageAsync(account));
        await Control.FailPendingAsync(new FailPendingRequest { TaskId = task, Cancelled = true, OwnerAccountId = account.AccountId, RegionId = Hangzhou });

        Assert.Equal(before, await ImageUsageAsync(account));
    }

    [Fact]
    public async Task R24_GivingUpATaskRemovesThePendingImageItMadeAndGivesItsQuotaUnitBack()
    {
        var account = await Cluster.NewAccountAsync();
        var task = NewTaskId(account);
        var before = await ImageUsageAsync(account);
        var made = (await Control.CreatePendingImageAsync(Pending(account, task))).Image;
        Assert.Equal(ImageStatus.Waiting, (await account.GetImageAsync(made.ImageId)).Status);
        Assert.Equal(before + 1, await ImageUsageAsync(account));

        await Control.FailPendingAsync(new FailPendingRequest { TaskId = task, Cancelled = true });
        await Control.FailPendingAsync(new FailPendingRequest { TaskId = task, Cancelled = true }); // idempotent

        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidImageId.NotFound", () =>
            account.Images().GetImageAsync(new GetImageRequest { RegionId = Hangzhou, ImageId = made.ImageId }).ResponseAsync);
        Assert.Equal(before, await ImageUsageAsync(account));
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidTaskId.Malformed", () =>
            Control.FailPendingAsync(new FailPendingRequest { TaskId = "t-1", Cancelled = true }).ResponseAsync);
    }

    [Fact]
    public async Task R8_ACopyWhoseRequestDiedAfterMakingItsImageIsUndoneByAWorkerSourceFreedImageGoneQuotaBack()
    {
        var account = await Cluster.NewAccountAsync();
        var source = await Cluster.NewImageWithContentAsync(account, Hangzhou, ContentImages.Bytes([4102]));
        var transfer = Cluster.Services(ServiceKind.Transfer);
        var (store, queues, lifecycle) = (transfer.GetRequiredService<TaskStore>(), transfer.GetRequiredService<TaskQueues>(), transfer.GetRequiredService<TaskLifecycle>());

        // What CopyImage does up to the moment before it accepts its task, and then its request dies:
        // the task in setup, the source held, the destination image made. Its queue item is due now
        // rather than after the setup guard, so the test need not wait for it.
        var plan = new ImageCopyPlan { Region = Shanghai, SourceRegion = Hangzhou, SourceId = source.ImageId };
        var task = lifecycle.NewTask(TaskAction.CopyImage, account.AccountId, Shanghai, source.ImageId, Hangzhou, plan);
        await store.CreateAsync(task, plan.Serialize(), "copy", ClientToken.None);
        await Control.HoldImageAsync(Hold(account, source.ImageId, task.TaskId));
        var made = (await Control.CreatePendingImageAsync(Pending(account, task.TaskId, Shanghai))).Image;
        Assert.Equal(1, await ImageUsageAsync(account, Shanghai));
        await queues.For(TaskAction.CopyImage, Shanghai).EnqueueAsync(task.TaskId, task.TaskId);

        var ended = await account.WaitForTaskAsync(task.TaskId, t => t.Status is TaskStatus.Failed or TaskStatus.Finished or TaskStatus.Cancelled);

        Assert.Equal((TaskStatus.Failed, "TaskAbandoned"), (ended.Status, ended.Error.Reason));
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidImageId.NotFound", () =>
            account.Images().GetImageAsync(new GetImageRequest { RegionId = Shanghai, ImageId = made.ImageId }).ResponseAsync);
        Assert.Equal(0, await ImageUsageAsync(account, Shanghai));
        Assert.True((await account.Images().DeleteImageAsync(new DeleteImageRequest { RegionId = Hangzhou, ImageId = source.ImageId })).Deleted);
    }

    private static string NewTaskId(TestAccount account) => ResourceIds.New('t', ResourceIds.OwnerTag(account.AccountId));

    private static HoldImageRequest Hold(TestAccount account, string imageId, string taskId) => new()
    {
        RegionId = Hangzhou, ImageId = imageId, Kind = ImageHoldKind.CopySource, TaskId = taskId, AccountId = account.AccountId,
    };

    private static CreatePendingImageRequest Pending(TestAccount account, string taskId, string region = Hangzhou) => new()
    {
        OwnerAccountId = account.AccountId,
        RegionId = region,
        SourceKind = ImageSourceKind.Import,
        TaskId = taskId,
        OsType = OsType.Linux,
        OsName = "Ubuntu 22.04",
        SizeGib = 20,
        DiskDeviceMappings = { new DiskDeviceMapping { DiskType = DiskType.System, Device = "/dev/xvda", SizeGib = 20 } },
    };

    private static async Task<int> ImageUsageAsync(TestAccount account, string region = Hangzhou) =>
        (await account.Quotas().GetQuotasAsync(new GetQuotasRequest { RegionId = region })).Quotas.Single(q => q.Kind == QuotaKind.Images).Usage;
}
