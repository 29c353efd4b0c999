using Grpc.Core;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Testing;
using static GrpcImages.IntegrationTests.CatalogSteps;

namespace GrpcImages.IntegrationTests;

/// <summary>Snapshots of disks: progressing then accomplished; kept while an image uses them.</summary>
public class SnapshotTests(ClusterFixture fixture, ITestOutputHelper output) : ClusterTest(fixture, output)
{
    [Fact]
    public async Task ASnapshotOfADataDiskProgressesThenIsAccomplished()
    {
        var account = await Cluster.NewAccountAsync();
        var instance = await account.NewInstanceAsync(Ubuntu, Hangzhou, 0, 200);

        var created = (await account.Snapshots().CreateSnapshotAsync(new CreateSnapshotRequest
        {
            RegionId = Hangzhou, DiskId = instance.DataDisks[0].DiskId, SnapshotName = "nightly", Description = "Before the upgrade",
        })).Snapshot;
        var done = await account.WaitForSnapshotAsync(created.SnapshotId);

        Assert.Equal(SnapshotStatus.Progressing, created.Status);
        Assert.Equal(100, done.Progress);
        Assert.Equal((DiskType.Data, 200L, instance.InstanceId), (done.SourceDiskType, done.SourceDiskSizeGib, done.SourceInstanceId));
        Assert.Equal("nightly", done.SnapshotName);
        Assert.Contains((await account.Snapshots().ListSnapshotsAsync(new ListSnapshotsRequest { RegionId = Hangzhou })).Snapshots, s => s.SnapshotId == done.SnapshotId);
    }

    [Fact]
    public async Task ASnapshotUsedByAnImageCannotBeDeletedUntilTheImageIsGone()
    {
        var account = await Cluster.NewAccountAsync();
        var image = await account.NewImageAsync((await account.NewInstanceAsync()).InstanceId);
        var snapshotId = image.DiskDeviceMappings[0].SnapshotId;
        var request = new DeleteSnapshotRequest { RegionId = Hangzhou, SnapshotId = snapshotId };

        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, "SnapshotCreatedImage", () => account.Snapshots().DeleteSnapshotAsync(request));
        await account.Images().DeleteImageAsync(new DeleteImageRequest { RegionId = Hangzhou, ImageId = image.ImageId });

        Assert.Empty((await account.Snapshots().GetSnapshotAsync(new GetSnapshotRequest { RegionId = Hangzhou, SnapshotId = snapshotId })).Snapshot.ImageIds);
        Assert.True((await account.Snapshots().DeleteSnapshotAsync(request)).Deleted);
        Assert.False((await account.Snapshots().DeleteSnapshotAsync(request)).Deleted);
    }

    [Fact]
    public async Task OnlyTheOwnersDisksCanBeSnapshotted()
    {
        var a = await Cluster.NewAccountAsync();
        var b = await Cluster.NewAccountAsync();
        var instance = await a.NewInstanceAsync();

        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidDiskId.NotFound", () =>
            b.Snapshots().CreateSnapshotAsync(new CreateSnapshotRequest { RegionId = Hangzhou, DiskId = instance.SystemDisk.DiskId }));
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidDiskId.NotFound", () =>
            a.Snapshots().CreateSnapshotAsync(new CreateSnapshotRequest { RegionId = Shanghai, DiskId = instance.SystemDisk.DiskId }));
    }

    [Fact]
    public async Task R35_TheSameClientTokenReturnsTheFirstSnapshot()
    {
        var account = await Cluster.NewAccountAsync();
        var instance = await account.NewInstanceAsync(Ubuntu, Hangzhou, 0, 20);
        var request = new CreateSnapshotRequest { RegionId = Hangzhou, DiskId = instance.SystemDisk.DiskId, ClientToken = Guid.NewGuid().ToString() };

        var first = (await account.Snapshots().CreateSnapshotAsync(request)).Snapshot;

        Assert.Equal(first.SnapshotId, (await account.Snapshots().CreateSnapshotAsync(request)).Snapshot.SnapshotId);
        request.DiskId = instance.DataDisks[0].DiskId;
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "IdempotenceParamNotMatch", () => account.Snapshots().CreateSnapshotAsync(request));
        Assert.Single((await account.Snapshots().ListSnapshotsAsync(new ListSnapshotsRequest { RegionId = Hangzhou })).Snapshots);
    }
}
