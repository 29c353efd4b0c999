using Grpc.Core;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Common.V1;
using GrpcImages.Contracts.Sharing.V1;
using GrpcImages.Testing;
using static GrpcImages.ReliabilityTests.ReliabilitySteps;

namespace GrpcImages.ReliabilityTests;

/// <summary>
/// What one tenant stores cannot break another's listing: every field of an image is bounded, so a
/// full page of the largest images another account can share stays far below the 4 MiB a gRPC client
/// accepts by default.
/// </summary>
public class ResponseSizeTests(ITestOutputHelper output)
{
    private const int ClientReceiveLimit = 4 * 1024 * 1024;
    private const int MaxPageSize = 100;

    [Fact]
    public async Task AFullPageOfTheLargestImagesSharedWithAnAccountFitsInAResponse()
    {
        await using var cluster = await TestCluster.StartAsync(new Dictionary<string, string?> { ["Regions:0:Id"] = Hangzhou }, output: output);
        var owner = await cluster.NewAccountAsync();
        var recipient = await cluster.NewAccountAsync();
        var instance = await NewInstanceAsync(owner, 20, Enumerable.Repeat(20L, 16).ToArray());
        var snapshots = owner.Client<SnapshotService.SnapshotServiceClient>();
        var disks = new[] { instance.SystemDisk }.Concat(instance.DataDisks).ToList();
        var request = new CreateImageRequest
        {
            RegionId = Hangzhou,
            ImageName = "m" + new string('a', 127),
            Description = new string('d', 256),
            ImageFamily = "f" + new string('a', 127),
        };
        for (var i = 0; i < 20; i++)
        {
            request.Tags.Add(new Tag { Key = $"{i:D2}" + new string('k', 126), Value = new string('v', 128) });
        }
        foreach (var disk in disks)
        {
            var snapshot = (await snapshots.CreateSnapshotAsync(new CreateSnapshotRequest { RegionId = Hangzhou, DiskId = disk.DiskId })).Snapshot;
            while ((await snapshots.GetSnapshotAsync(new GetSnapshotRequest { RegionId = Hangzhou, SnapshotId = snapshot.SnapshotId })).Snapshot.Status != SnapshotStatus.Accomplished)
            {
                await Task.Delay(50);
            }
            request.DiskDeviceMappings.Add(new DiskDeviceMappingSpec { SnapshotId = snapshot.SnapshotId, Device = $"/dev/{request.DiskDeviceMappings.Count:D2}" + new string('x', 25) });
        }
        var images = owner.Client<ImageService.ImageServiceClient>();

        // The attack of issue 11: 180 KiB device names, shown in every recipient's listing.
        var hostile = request.Clone();
        hostile.DiskDeviceMappings[1].Device = "/dev/" + new string('x', 180 * 1024);
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidParameter", () => images.CreateImageAsync(hostile));

        var image = (await images.CreateImageAsync(request)).Image;
        await WaitForAsync(images, image.ImageId, i => i.Status == ImageStatus.Available);
        await owner.Client<SharingService.SharingServiceClient>().ModifyImageSharePermissionAsync(
            new ModifyImageSharePermissionRequest { RegionId = Hangzhou, ImageId = image.ImageId, AddAccountIds = { recipient.AccountId } });

        var page = await recipient.Client<ImageService.ImageServiceClient>().ListImagesAsync(
            new ListImagesRequest { RegionId = Hangzhou, OwnerAlias = ImageOwnerAlias.Others, PageSize = MaxPageSize });
        var largest = Assert.Single(page.Images);
        output.WriteLine($"the largest image a tenant can share is {largest.CalculateSize()} bytes; a full page of them {largest.CalculateSize() * MaxPageSize} bytes");
        Assert.True(largest.CalculateSize() * MaxPageSize < ClientReceiveLimit / 2, $"{largest.CalculateSize()} bytes per image");
        Assert.Equal(17, largest.DiskDeviceMappings.Count);
    }
}
