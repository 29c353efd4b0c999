using Google.Protobuf.WellKnownTypes;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.Contracts.Sharing.V1;
using GrpcImages.ServiceDefaults.Errors;
using GrpcImages.ServiceDefaults.Hosting;
using GrpcImages.ServiceDefaults.Identity;
using GrpcImages.ServiceDefaults.Validation;
using GrpcImages.Sharing.Storage;
using Microsoft.Extensions.Options;

namespace GrpcImages.Sharing.Domain;

/// <summary>
/// Sharing an owner's custom images with other accounts (R13-R19, R32). The image's owner and
/// state come from the catalog, the recipients' existence and sites from kms; the grant and both
/// share quotas are one atomic step.
/// </summary>
public sealed partial class ShareManager(
    ShareStore store,
    RecipientOutbox outbox,
    ImageService.ImageServiceClient catalog,
    AccountService.AccountServiceClient accounts,
    RoleService.RoleServiceClient roles,
    Regions regions,
    IOptions<SharingOptions> options,
    TimeProvider time,
    ILogger<ShareManager> logger)
{
    public const int MaxAccountsPerCall = 10;

    public async Task<(IReadOnlyList<ShareGrant> Grants, int Total)> ModifyAsync(Caller caller, ModifyImageSharePermissionRequest request)
    {
        var owner = caller.RequireAccount();
        var region = regions.Require(request.RegionId);
        var add = Accounts(request.AddAccountIds, "add_account_ids");
        var remove = Accounts(request.RemoveAccountIds, "remove_account_ids");
        if (add.Intersect(remove).FirstOrDefault() is { } both)
        {
            throw Fault.InvalidArgument("InvalidParameter", "remove_account_ids", $"Account {both} is both added and removed.");
        }
        if (add.IndexOf(owner) is var self and >= 0)
        {
            throw SharingErrors.ShareWithSelf($"add_account_ids[{self}]");
        }

        var image = await OwnedImageAsync(caller, region, request.ImageId);
        if (add.Count > 0)
        {
            if (image.Status == ImageStatus.Deprecated)
            {
                throw SharingErrors.Deprecated();
            }
            if (image.Status != ImageStatus.Available)
            {
                throw SharingErrors.NotAvailable();
            }
            if (image.Encryption is { Encrypted: true })
            {
                await RequireSharableEncryptionAsync(owner, image.Encryption);
            }
            var recipients = await Task.WhenAll(add.Select(a => accounts.GetAccountAsync(new GetAccountRequest { AccountId = a }).ResponseAsync));
            if (image.ProductCode.Length > 0)
            {
                var elsewhere = recipients.Where(r => r.Account.Site != caller.Site).Select(r => r.Account.AccountId).ToList();
                if (elsewhere.Count > 0)
                {
                    throw SharingErrors.OtherSites(elsewhere);
                }
            }
        }

        var limits = options.Value;
        await outbox.ExpectAsync(owner);
        var change = await store.ModifyAsync(owner, image.ImageId, region, time.GetUtcNow().ToUnixTimeMilliseconds(),
            limits.AccountsPerImage, limits.SharedImages, caller.Actor, add, remove);
        switch (change.Result)
        {
            case ShareResult.AccountsPerImageExceeded:
                throw SharingErrors.AccountsPerImageQuota(change.Limit);
            case ShareResult.SharedImagesExceeded:
                throw SharingErrors.SharedImagesQuota(change.Limit);
        }
        LogModified(image.ImageId, owner, change.Added.Count, change.Removed.Count);
        await outbox.DrainAsync(owner);
        var (grants, _, total) = await store.GrantsAsync(owner, image.ImageId, "", 100);
        return (grants.Select(ToGrant).ToList(), (int)total);
    }

    public async Task<DescribeImageSharePermissionResponse> DescribeAsync(Caller caller, DescribeImageSharePermissionRequest request)
    {
        var region = regions.Require(request.RegionId);
        var size = Check.PageSize(request.PageSize);
        var image = await OwnedImageAsync(caller, region, request.ImageId);
        var (grants, next, total) = await store.GrantsAsync(image.OwnerAccountId, image.ImageId, PageToken.Decode(request.PageToken), size);
        return new DescribeImageSharePermissionResponse
        {
            ImageId = image.ImageId,
            Grants = { grants.Select(ToGrant) },
            TotalAccounts = (int)total,
            NextPageToken = PageToken.Encode(next),
        };
    }

    /// <summary>R19: what other accounts shared with the caller in a region, oldest share first.</summary>
    public async Task<(IReadOnlyList<SharedImage> Images, string NextPageToken)> ListSharedAsync(Caller caller, ListSharedImagesRequest request)
    {
        var recipient = caller.RequireAccount();
        var region = regions.Require(request.RegionId);
        var size = Check.PageSize(request.PageSize);
        var (page, next) = await store.ReceivedAsync(recipient, region, PageToken.Decode(request.PageToken), size);
        var live = await store.StillGrantedAsync(recipient, region, page);
        return (live.Select(s => new SharedImage
        {
            ImageId = s.ImageId,
            RegionId = region,
            OwnerAccountId = s.Owner,
            ShareTime = Timestamp.FromDateTimeOffset(DateTimeOffset.FromUnixTimeMilliseconds(s.SharedAtMs)),
        }).ToList(), PageToken.Encode(next));
    }

    public async Task<(IReadOnlyList<ShareAuditRecord> Records, string NextPageToken)> ListAuditAsync(Caller caller, ListShareAuditRecordsRequest request)
    {
        var owner = caller.RequireAccount();
        var size = Check.PageSize(request.PageSize);
        var (page, next) = await store.AuditAsync(owner, request.ImageId, PageToken.Decode(request.PageToken), size);
        return (page.Select(e => new ShareAuditRecord
        {
            ImageId = e.ImageId,
            RegionId = e.Region,
            AccountId = e.Account,
            Action = (ShareAction)int.Parse(e.Action),
            Actor = e.Actor,
            Time = Timestamp.FromDateTimeOffset(DateTimeOffset.FromUnixTimeMilliseconds(e.TimeMs)),
        }).ToList(), PageToken.Encode(next));
    }

    /// <summary>Internal: one Redis read.</summary>
    public async Task<CheckImageAccessResponse> CheckAccessAsync(CheckImageAccessRequest request)
    {
        if (!Check.IsAccountId(request.OwnerAccountId) || !Check.IsAccountId(request.AccountId) || !ResourceIds.IsValid(request.ImageId, 'm'))
        {
            return new CheckImageAccessResponse();
        }
        var at = await store.GrantedAtAsync(request.OwnerAccountId, request.ImageId, request.AccountId);
        return at is null
            ? new CheckImageAccessResponse()
            : new CheckImageAccessResponse { Allowed = true, ShareTime = Timestamp.FromDateTimeOffset(DateTimeOffset.FromUnixTimeMilliseconds(at.Value)) };
    }

    public async Task<int> CountAsync(string owner, string imageId) =>
        Check.IsAccountId(owner) && ResourceIds.IsValid(imageId, 'm') ? (int)await store.CountAsync(owner, imageId) : 0;

    /// <summary>Internal, on a forced delete (R32): every grant goes, recipients lose the image at once.</summary>
    public async Task<int> RevokeAllAsync(Caller caller, RevokeAllSharesRequest request)
    {
        Check.AccountId(request.OwnerAccountId, "owner_account_id");
        await outbox.ExpectAsync(request.OwnerAccountId);
        var revoked = await store.RevokeAllAsync(request.OwnerAccountId, request.ImageId, regions.Require(request.RegionId),
            time.GetUtcNow().ToUnixTimeMilliseconds(), caller.IsAccount ? caller.Actor : $"service:{caller.ViaService ?? caller.Name}");
        if (revoked > 0)
        {
            LogRevokedAll(revoked, request.ImageId);
            await outbox.DrainAsync(request.OwnerAccountId);
        }
        return revoked;
    }

    /// <summary>R22: only CMK-encrypted images are shared, and only while the owner authorizes it with its role.</summary>
    private async Task RequireSharableEncryptionAsync(string owner, Contracts.Common.V1.EncryptionInfo encryption)
    {
        if (encryption.ServiceKey)
        {
            throw SharingErrors.ServiceKeyEncrypted();
        }
        try
        {
            await roles.GetServiceRoleAsync(new GetServiceRoleRequest { AccountId = owner, RoleName = ServiceRoles.ShareEncryptImage });
        }
        catch (global::Grpc.Core.RpcException ex) when (ex.StatusCode == global::Grpc.Core.StatusCode.NotFound)
        {
            throw SharingErrors.AssumeRole();
        }
    }

    /// <summary>The caller's own custom image, as the catalog sees it for the caller.</summary>
    private async Task<Image> OwnedImageAsync(Caller caller, string region, string imageId)
    {
        var image = (await catalog.GetImageAsync(new GetImageRequest { RegionId = region, ImageId = imageId })).Image;
        return image.OwnerAccountId == caller.AccountId ? image : throw SharingErrors.ImageNotFound(imageId);
    }

    private static List<string> Accounts(Google.Protobuf.Collections.RepeatedField<string> ids, string field)
    {
        if (ids.Count > MaxAccountsPerCall)
        {
            throw Fault.InvalidArgument("InvalidParameter.AccountCount", field, $"One call adds or removes at most {MaxAccountsPerCall} accounts each.");
        }
        for (var i = 0; i < ids.Count; i++)
        {
            Check.AccountId(ids[i], $"{field}[{i}]");
        }
        return ids.Distinct(StringComparer.Ordinal).ToList();
    }

    private static ShareGrant ToGrant((string Account, long SharedAtMs) grant) => new()
    {
        AccountId = grant.Account,
        ShareTime = Timestamp.FromDateTimeOffset(DateTimeOffset.FromUnixTimeMilliseconds(grant.SharedAtMs)),
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "Image {ImageId} of {Owner}: shared with {Added} accounts, unshared from {Removed}")]
    private partial void LogModified(string imageId, string owner, int added, int removed);

    [LoggerMessage(Level = LogLevel.Information, Message = "Revoked {Count} shares of deleted image {ImageId}")]
    private partial void LogRevokedAll(int count, string imageId);
}
