using Grpc.Core;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Common.V1;
using GrpcImages.Testing;
using static GrpcImages.IntegrationTests.CatalogSteps;

namespace GrpcImages.IntegrationTests;

/// <summary>
/// What Terraform's image resources change and filter by (issue 21): UpdateImage's boot mode, license type and NVMe
/// support with their rules, and ListImages by usage and by several states at once.
/// </summary>
public class ImageAttributeTests(ClusterFixture fixture, ITestOutputHelper output) : ClusterTest(fixture, output)
{
    [Fact]
    public async Task BootModeLicenseAndNvmeSupportChangeAndStay()
    {
        var account = await Cluster.NewAccountAsync();
        var image = await account.NewImageAsync((await account.NewInstanceAsync()).InstanceId);

        var updated = (await account.Images().UpdateImageAsync(new UpdateImageRequest
        {
            RegionId = Hangzhou, ImageId = image.ImageId, BootMode = BootMode.Uefi, LicenseType = LicenseType.Byol, NvmeSupport = NvmeSupport.Supported,
        })).Image;

        Assert.Equal((BootMode.Uefi, LicenseType.Byol, NvmeSupport.Supported), (updated.BootMode, updated.LicenseType, updated.NvmeSupport));
        var read = await account.GetImageAsync(image.ImageId);
        Assert.Equal((BootMode.Uefi, LicenseType.Byol, NvmeSupport.Supported, image.ImageName), (read.BootMode, read.LicenseType, read.NvmeSupport, read.ImageName));

        // Fields left unset do not change; an instance of it follows its license (R28).
        var renamed = (await account.Images().UpdateImageAsync(new UpdateImageRequest { RegionId = Hangzhou, ImageId = image.ImageId, ImageFamily = "web" })).Image;
        Assert.Equal((BootMode.Uefi, LicenseType.Byol, NvmeSupport.Supported, "web"), (renamed.BootMode, renamed.LicenseType, renamed.NvmeSupport, renamed.ImageFamily));
        Assert.Equal(LicenseType.Byol, (await account.NewInstanceAsync(image.ImageId)).LicenseType);
        var back = (await account.Images().UpdateImageAsync(new UpdateImageRequest
        {
            RegionId = Hangzhou, ImageId = image.ImageId, BootMode = BootMode.Bios, NvmeSupport = NvmeSupport.Unsupported,
        })).Image;
        Assert.Equal((BootMode.Bios, NvmeSupport.Unsupported), (back.BootMode, back.NvmeSupport));
    }

    [Fact]
    public async Task AnArm64ImageBootsWithUefiOnly()
    {
        var account = await Cluster.NewAccountAsync();
        var image = await PlacementTests.NewArm64ImageAsync(account);

        var ex = await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidBootMode.NotSupported", () =>
            account.Images().UpdateImageAsync(new UpdateImageRequest { RegionId = Hangzhou, ImageId = image.ImageId, BootMode = BootMode.Bios, ImageName = "renamed" }));

        Assert.Equal(["boot_mode"], RpcAssert.ViolatedFields(ex));
        Assert.Equal(image.ImageName, (await account.GetImageAsync(image.ImageId)).ImageName); // nothing of the call changed
        Assert.Equal(BootMode.Uefi, (await account.Images().UpdateImageAsync(new UpdateImageRequest { RegionId = Hangzhou, ImageId = image.ImageId, BootMode = BootMode.Uefi })).Image.BootMode);
    }

    [Fact]
    public async Task R28_AMarketplaceDerivedImageKeepsItsProductsLicense()
    {
        var account = await Cluster.NewAccountAsync();
        var sqlServer = await account.MarketplaceSqlServerAsync();
        var image = await account.NewImageAsync((await account.NewInstanceAsync(sqlServer.ImageId)).InstanceId);
        Assert.Equal(sqlServer.ProductCode, image.ProductCode);

        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidLicenseType.NotSupported", () =>
            account.Images().UpdateImageAsync(new UpdateImageRequest { RegionId = Hangzhou, ImageId = image.ImageId, LicenseType = LicenseType.Byol }));

        Assert.Equal(image.LicenseType, (await account.GetImageAsync(image.ImageId)).LicenseType);
        // Naming its own license again is no change, and allowed.
        await account.Images().UpdateImageAsync(new UpdateImageRequest { RegionId = Hangzhou, ImageId = image.ImageId, LicenseType = image.LicenseType });
    }

    [Fact]
    public async Task OnlyTheOwnerUpdatesAnImageAndPublicImagesAreNobodys()
    {
        var a = await Cluster.NewAccountAsync();
        var b = await Cluster.NewAccountAsync();
        var image = await a.NewImageAsync((await a.NewInstanceAsync()).InstanceId);

        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidImageId.NotFound", () =>
            b.Images().UpdateImageAsync(new UpdateImageRequest { RegionId = Hangzhou, ImageId = image.ImageId, BootMode = BootMode.Uefi }));
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidImageId.NotFound", () =>
            a.Images().UpdateImageAsync(new UpdateImageRequest { RegionId = Hangzhou, ImageId = Ubuntu, NvmeSupport = NvmeSupport.Supported }));
        Assert.Equal(image.BootMode, (await a.GetImageAsync(image.ImageId)).BootMode);
    }

    [Fact]
    public async Task ImagesAreListedByWhetherInstancesUseThem()
    {
        var account = await Cluster.NewAccountAsync();
        var source = await account.NewInstanceAsync();
        var used = await account.NewImageAsync(source.InstanceId);
        var unused = await account.NewImageAsync(source.InstanceId);
        var instance = await account.NewInstanceAsync(used.ImageId);
        async Task<List<string>> Listed(ImageUsage usage) => (await account.Images().ListImagesAsync(new ListImagesRequest
        {
            RegionId = Hangzhou, OwnerAlias = ImageOwnerAlias.Self, Usage = usage,
        })).Images.Select(i => i.ImageId).ToList();

        Assert.Equal([used.ImageId], await Listed(ImageUsage.Instance));
        Assert.Equal([unused.ImageId], await Listed(ImageUsage.None));
        Assert.Equal([unused.ImageId, used.ImageId], await Listed(ImageUsage.Unspecified));
        // Each listed image says whether it is in use, as GetImage does.
        var page = await account.Images().ListImagesAsync(new ListImagesRequest { RegionId = Hangzhou, OwnerAlias = ImageOwnerAlias.Self });
        Assert.Equal([ImageUsage.None, ImageUsage.Instance], page.Images.Select(i => i.Usage));
        Assert.Equal(ImageUsage.Instance, (await account.GetImageAsync(used.ImageId)).Usage);
        Assert.Equal(ImageUsage.None, (await account.GetImageAsync(unused.ImageId)).Usage);

        await account.DeleteInstanceAsync(instance.InstanceId);
        Assert.Empty(await Listed(ImageUsage.Instance));
        Assert.Equal([unused.ImageId, used.ImageId], await Listed(ImageUsage.None));
    }

    [Fact]
    public async Task ImagesAreListedInSeveralStatesAtOnce()
    {
        var account = await Cluster.NewAccountAsync();
        var source = await account.NewInstanceAsync();
        var available = await account.NewImageAsync(source.InstanceId);
        var deprecated = await account.NewImageAsync(source.InstanceId);
        await account.Images().UpdateImageAsync(new UpdateImageRequest { RegionId = Hangzhou, ImageId = deprecated.ImageId, Deprecated = true });
        async Task<List<string>> Listed(params ImageStatus[] statuses) => (await account.Images().ListImagesAsync(new ListImagesRequest
        {
            RegionId = Hangzhou, OwnerAlias = ImageOwnerAlias.Self, Statuses = { statuses },
        })).Images.Select(i => i.ImageId).ToList();

        Assert.Equal([available.ImageId], await Listed());
        Assert.Equal([deprecated.ImageId], await Listed(ImageStatus.Deprecated));
        Assert.Equal([deprecated.ImageId, available.ImageId], await Listed(ImageStatus.Available, ImageStatus.Deprecated));
        Assert.Equal([deprecated.ImageId, available.ImageId], await Listed(ImageStatus.Deprecated, ImageStatus.Available, ImageStatus.Deprecated));
    }
}
