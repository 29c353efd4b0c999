using GrpcImages.Catalog.Storage;
using GrpcImages.Contracts.Sharing.V1;

namespace GrpcImages.Catalog.Domain;

/// <summary>The sharing service as the catalog uses it: access checks, shared lists, share counts and the image quota (R3, R19, R32).</summary>
public sealed class SharingClient(SharingService.SharingServiceClient sharing, QuotaService.QuotaServiceClient quotas, Releases releases,
    IAccessCheckCache accessChecks)
{
    /// <summary>
    /// How long an access check is trusted: the sharing service announces every grant change and the
    /// check is dropped at once; this bounds a revoke whose announcement was lost (R32).
    /// </summary>
    public static readonly TimeSpan AccessCheckMaxAge = TimeSpan.FromSeconds(1);

    /// <summary>Whether the image is shared with the account: the sharing service reads one key, and the answer is kept until the image's grants change.</summary>
    public ValueTask<bool> IsSharedWithAsync(string imageId, string owner, string account) =>
        accessChecks.GetAsync(imageId, $"{owner}:{account}", async () =>
            (await sharing.CheckImageAccessAsync(new CheckImageAccessRequest { ImageId = imageId, OwnerAccountId = owner, AccountId = account })).Allowed);

    public async Task<ListSharedImagesResponse> ListSharedAsync(string region, int pageSize, string pageToken) =>
        await sharing.ListSharedImagesAsync(new ListSharedImagesRequest { RegionId = region, PageSize = pageSize, PageToken = pageToken });

    public async Task<CountSharedImagesResponse> CountSharedAsync(string account, string region) =>
        await sharing.CountSharedImagesAsync(new CountSharedImagesRequest { AccountId = account, RegionId = region });

    public Task ResendSharedAsync(string account, string region) =>
        sharing.ResendSharedImagesAsync(new ResendSharedImagesRequest { AccountId = account, RegionId = region }).ResponseAsync;

    /// <summary>How many grants an image has: accounts and organization targets (R32, R37).</summary>
    public async Task<int> ShareCountAsync(string imageId, string owner)
    {
        var summary = await sharing.GetImageShareSummaryAsync(new GetImageShareSummaryRequest { ImageId = imageId, OwnerAccountId = owner });
        return summary.TotalAccounts + summary.TotalOrganizationGrants;
    }

    public Task RevokeAllAsync(string imageId, string owner, string region) =>
        sharing.RevokeAllSharesAsync(new RevokeAllSharesRequest { ImageId = imageId, OwnerAccountId = owner, RegionId = region }).ResponseAsync;

    /// <summary>R3: one unit of the account's image quota in the region for the new image; QuotaExceed.Image when full.</summary>
    public Task ReserveImageAsync(string account, string region, string imageId) =>
        quotas.ReserveQuotaAsync(new ReserveQuotaRequest { AccountId = account, Kind = QuotaKind.Images, RegionId = region, HolderId = imageId }).ResponseAsync;

    /// <summary>Gives the unit back without failing the caller: the releases queue retries one that cannot be returned now.</summary>
    public Task ReleaseImageAsync(string account, string region, string imageId) => releases.ReleaseQuotaAsync(account, region, imageId);
}
