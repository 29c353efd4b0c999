using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Testing;

namespace GrpcImages.IntegrationTests;

/// <summary>Steps the catalog tests share: make instances and images, wait for them.</summary>
internal static class CatalogSteps
{
    public const string Hangzhou = "cn-hangzhou";
    public const string Shanghai = "cn-shanghai";
    public const string Tokyo = "ap-northeast-1";
    public const string Ubuntu = "ubuntu_22_04_x64_20G_alibase_20240101.vhd";
    public const string WindowsServer = "win2022_21H2_x64_dtc_en-us_40G_alibase_20240815.vhd";

    public static string UniqueName(string prefix = "img") => $"{prefix}-{Guid.NewGuid():N}"[..20];

    public static ImageService.ImageServiceClient Images(this TestAccount account) => account.Client<ImageService.ImageServiceClient>();

    public static InstanceService.InstanceServiceClient Instances(this TestAccount account) => account.Client<InstanceService.InstanceServiceClient>();

    public static SnapshotService.SnapshotServiceClient Snapshots(this TestAccount account) => account.Client<SnapshotService.SnapshotServiceClient>();

    public static async Task<Instance> NewInstanceAsync(this TestAccount account, string imageId = Ubuntu, string region = Hangzhou,
        long systemGib = 0, params long[] dataDiskGib)
    {
        var request = new CreateInstanceRequest { RegionId = region, ImageId = imageId, SystemDiskSizeGib = systemGib };
        request.DataDisks.AddRange(dataDiskGib.Select(size => new DataDiskSpec { SizeGib = size }));
        return (await account.Instances().CreateInstanceAsync(request)).Instance;
    }

    public static async Task<Image> GetImageAsync(this TestAccount account, string imageId, string region = Hangzhou) =>
        (await account.Images().GetImageAsync(new GetImageRequest { RegionId = region, ImageId = imageId })).Image;

    /// <summary>Polls an image until <paramref name="done"/>; every state seen goes to <paramref name="seen"/>.</summary>
    public static async Task<Image> WaitForImageAsync(this TestAccount account, string imageId, Func<Image, bool> done,
        string region = Hangzhou, List<Image>? seen = null)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var image = await account.GetImageAsync(imageId, region);
            seen?.Add(image);
            if (done(image))
            {
                return image;
            }
            Assert.True(DateTime.UtcNow < deadline, $"image {imageId} stayed {image.Status} at {image.Progress}%");
            await Task.Delay(20);
        }
    }

    /// <summary>The marketplace's SQL Server image in Hangzhou (a product code, a license: what marketplace-derived images keep).</summary>
    public static async Task<Image> MarketplaceSqlServerAsync(this TestAccount account) =>
        (await account.Images().ListImagesAsync(new ListImagesRequest
        {
            RegionId = Hangzhou, OwnerAlias = ImageOwnerAlias.Marketplace, ImageName = "sqlserver*",
        })).Images.Single();

    public static Task<Image> WaitUntilAvailableAsync(this TestAccount account, string imageId, string region = Hangzhou) =>
        account.WaitForImageAsync(imageId, i => i.Status == ImageStatus.Available, region);

    /// <summary>Makes an image of an instance and waits until it is Available.</summary>
    public static async Task<Image> NewImageAsync(this TestAccount account, string instanceId, string region = Hangzhou, string? name = null)
    {
        var image = (await account.Images().CreateImageAsync(new CreateImageRequest
        {
            RegionId = region,
            InstanceId = instanceId,
            ImageName = name ?? UniqueName(),
        })).Image;
        return await account.WaitUntilAvailableAsync(image.ImageId, region);
    }

    public static async Task<Snapshot> WaitForSnapshotAsync(this TestAccount account, string snapshotId, string region = Hangzhou)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var snapshot = (await account.Snapshots().GetSnapshotAsync(new GetSnapshotRequest { RegionId = region, SnapshotId = snapshotId })).Snapshot;
            if (snapshot.Status == SnapshotStatus.Accomplished)
            {
                return snapshot;
            }
            Assert.True(DateTime.UtcNow < deadline, $"snapshot {snapshotId} stayed {snapshot.Status}");
            await Task.Delay(20);
        }
    }

    public static async Task<Snapshot> SnapshotOfAsync(this TestAccount account, string diskId, string region = Hangzhou)
    {
        var snapshot = (await account.Snapshots().CreateSnapshotAsync(new CreateSnapshotRequest { RegionId = region, DiskId = diskId })).Snapshot;
        return await account.WaitForSnapshotAsync(snapshot.SnapshotId, region);
    }

    public static async Task<Instance> StopAsync(this TestAccount account, Instance instance) =>
        (await account.Instances().StopInstanceAsync(new StopInstanceRequest { RegionId = instance.RegionId, InstanceId = instance.InstanceId })).Instance;
}
