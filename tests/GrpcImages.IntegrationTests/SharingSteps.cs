using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Sharing.V1;
using GrpcImages.Testing;
using static GrpcImages.IntegrationTests.CatalogSteps;

namespace GrpcImages.IntegrationTests;

internal static class SharingSteps
{
    public static SharingService.SharingServiceClient Sharing(this TestAccount account) => account.Client<SharingService.SharingServiceClient>();

    public static QuotaService.QuotaServiceClient Quotas(this TestAccount account) => account.Client<QuotaService.QuotaServiceClient>();

    public static Task<ModifyImageSharePermissionResponse> ShareAsync(this TestAccount owner, string imageId, params string[] accounts) =>
        owner.ShareInAsync(Hangzhou, imageId, accounts);

    public static async Task<ModifyImageSharePermissionResponse> ShareInAsync(this TestAccount owner, string region, string imageId, params string[] accounts) =>
        await owner.Sharing().ModifyImageSharePermissionAsync(new ModifyImageSharePermissionRequest { RegionId = region, ImageId = imageId, AddAccountIds = { accounts } });

    public static async Task<ModifyImageSharePermissionResponse> UnshareAsync(this TestAccount owner, string imageId, params string[] accounts) =>
        await owner.Sharing().ModifyImageSharePermissionAsync(new ModifyImageSharePermissionRequest { RegionId = Hangzhou, ImageId = imageId, RemoveAccountIds = { accounts } });

    public static async Task<List<Image>> OthersAsync(this TestAccount account, string region = Hangzhou) =>
        [.. (await account.Images().ListImagesAsync(new ListImagesRequest { RegionId = region, OwnerAlias = ImageOwnerAlias.Others, PageSize = 100 })).Images];

    /// <summary>An image made quickly: from the system snapshot of a throwaway instance (no snapshot to wait for).</summary>
    public static async Task<Image> QuickImageAsync(this TestAccount account, string snapshotId, string region = Hangzhou)
    {
        var image = (await account.Images().CreateImageAsync(new CreateImageRequest
        {
            RegionId = region, ImageName = UniqueName(), DiskDeviceMappings = { new DiskDeviceMappingSpec { SnapshotId = snapshotId } },
        })).Image;
        return await account.WaitUntilAvailableAsync(image.ImageId, region);
    }
}
