using Grpc.Core;
using GrpcImages.Contracts.Sharing.V1;

namespace GrpcImages.Catalog.Domain;

/// <summary>The sharing service as the catalog uses it: access checks, shared lists, share counts and the image quota (R3, R19, R32).</summary>
public sealed class SharingClient(SharingService.SharingServiceClient sharing, QuotaService.QuotaServiceClient quotas, PendingReleases pending, ILogger<SharingClient> logger)
{
    /// <summary>Whether the image is shared with the account: the sharing service reads one key.</summary>
    public async Task<bool> IsSharedWithAsync(string imageId, string owner, string account) =>
        (await sharing.CheckImageAccessAsync(new CheckImageAccessRequest { ImageId = imageId, OwnerAccountId = owner, AccountId = account })).Allowed;

    public async Task<ListSharedImagesResponse> ListSharedAsync(string region, int pageSize, string pageToken) =>
        await sharing.ListSharedImagesAsync(new ListSharedImagesRequest { RegionId = region, PageSize = pageSize, PageToken = pageToken });

    public async Task<int> ShareCountAsync(string imageId, string owner) =>
        (await sharing.GetImageShareSummaryAsync(new GetImageShareSummaryRequest { ImageId = imageId, OwnerAccountId = owner })).TotalAccounts;

    public Task RevokeAllAsync(string imageId, string owner, string region) =>
        sharing.RevokeAllSharesAsync(new RevokeAllSharesRequest { ImageId = imageId, OwnerAccountId = owner, RegionId = region }).ResponseAsync;

    /// <summary>R3: one unit of the account's image quota in the region for the new image; QuotaExceed.Image when full.</summary>
    public Task ReserveImageAsync(string account, string region, string imageId) =>
        quotas.ReserveQuotaAsync(new ReserveQuotaRequest { AccountId = account, Kind = QuotaKind.Images, RegionId = region, HolderId = imageId }).ResponseAsync;

    /// <summary>Gives the unit back without failing the caller: one that cannot be returned now is queued and retried.</summary>
    public async Task ReleaseImageAsync(string account, string region, string imageId)
    {
        if (!await TryReleaseImageAsync(account, region, imageId))
        {
            await pending.AddQuotaAsync(account, region, imageId);
        }
    }

    /// <summary>Returns one unit; false when the sharing service could not be reached.</summary>
    public async Task<bool> TryReleaseImageAsync(string account, string region, string imageId)
    {
        try
        {
            await quotas.ReleaseQuotaAsync(new ReleaseQuotaRequest { AccountId = account, Kind = QuotaKind.Images, RegionId = region, HolderId = imageId });
            return true;
        }
        catch (RpcException ex) when (ex.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.Cancelled or StatusCode.Internal)
        {
            logger.LogWarning(ex, "Could not return the image quota held by {ImageId} of {Account} in {Region} now; it will be retried", imageId, account, region);
            return false;
        }
    }
}
