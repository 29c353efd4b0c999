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
/// Sharing an owner's custom images with other accounts (R13-R19, R32) and with its organization (R37). The
/// image's owner and state come from the catalog, the recipients' existence, sites and memberships from kms; the
/// grant and both share quotas are one atomic step.
/// </summary>
public sealed partial class ShareManager(
    ShareStore store,
    RecipientOutbox outbox,
    Organizations organizations,
    ImageService.ImageServiceClient catalog,
    AccountService.AccountServiceClient accounts,
    RoleService.RoleServiceClient roles,
    Regions regions,
    IOptions<SharingOptions> options,
    TimeProvider time,
    ILogger<ShareManager> logger)
{
    public const int MaxAccountsPerCall = 10;

    public async Task<ModifyImageSharePermissionResponse> ModifyAsync(Caller caller, ModifyImageSharePermissionRequest request)
    {
        var owner = caller.RequireAccount();
        var region = regions.Require(request.RegionId);
        var add = Accounts(request.AddAccountIds, "add_account_ids");
        var remove = Accounts(request.RemoveAccountIds, "remove_account_ids");
        var addTargets = Organizations.Targets(request.AddOrganizationTargets, "add_organization_targets");
        var removeTargets = Organizations.Targets(request.RemoveOrganizationTargets, "remove_organization_targets");
        if (add.Intersect(remove).FirstOrDefault() is { } both)
        {
            throw Fault.InvalidArgument("InvalidParameter", "remove_account_ids", $"Account {both} is both added and removed.");
        }
        if (addTargets.Intersect(removeTargets).FirstOrDefault() is { } twice)
        {
            throw Fault.InvalidArgument("InvalidParameter", "remove_organization_targets", $"Target {twice} is both added and removed.");
        }
        if (add.IndexOf(owner) is var self and >= 0)
        {
            throw SharingErrors.ShareWithSelf($"add_account_ids[{self}]");
        }

        // The owner is queued for its outbox (before any grant changes) while the image is read, not after: one wait less.
        // A change refused below leaves that queued look at an outbox with nothing new, which costs one read.
        var expected = outbox.ExpectAsync(owner);
        var read = OwnedImageAsync(caller, region, request.ImageId);
        await Task.WhenAll(expected, read);
        var image = await read;
        var marketplaceDerived = image.ProductCode.Length > 0;
        IReadOnlyList<OrganizationPrincipal> principals = [];
        if (add.Count > 0 || addTargets.Count > 0)
        {
            if (image.Status == ImageStatus.Deprecated)
            {
                throw SharingErrors.Deprecated();
            }
            // An image still being made (a copy, an import, a creation) may be shared: tools such as Packer share a copy
            // as soon as it is asked for. Recipients see it as it is, and can use it once it is Available.
            if (image.Status is not (ImageStatus.Available or ImageStatus.Waiting or ImageStatus.Creating))
            {
                throw SharingErrors.NotAvailable();
            }
            if (image.Encryption is { Encrypted: true })
            {
                await RequireSharableEncryptionAsync(owner, image.Encryption);
            }
            var recipients = await Task.WhenAll(add.Select(a => accounts.GetAccountAsync(new GetAccountRequest { AccountId = a }).ResponseAsync));
            if (marketplaceDerived)
            {
                var elsewhere = recipients.Where(r => r.Account.Site != caller.Site).Select(r => r.Account.AccountId).ToList();
                if (elsewhere.Count > 0)
                {
                    throw SharingErrors.OtherSites(elsewhere);
                }
            }
            if (addTargets.Count > 0)
            {
                principals = await organizations.ResolveAsync(owner, caller.Site, marketplaceDerived, addTargets, "add_organization_targets");
            }
        }

        var limits = options.Value;
        var change = await store.ModifyAsync(owner, image.ImageId, region, time.GetUtcNow().ToUnixTimeMilliseconds(),
            limits.AccountsPerImage, limits.SharedImages, caller.Actor, add, remove, principals.Select(p => p.Format()).ToList(), removeTargets,
            Organizations.SiteRule(marketplaceDerived, caller.Site));
        switch (change.Result)
        {
            case ShareResult.AccountsPerImageExceeded:
                throw SharingErrors.AccountsPerImageQuota(change.Limit);
            case ShareResult.SharedImagesExceeded:
                throw SharingErrors.SharedImagesQuota(change.Limit);
        }
        LogModified(image.ImageId, owner, change.Added.Count, change.Removed.Count);
        if (change.AddedPrincipals.Count + change.RemovedPrincipals.Count > 0)
        {
            LogOrganizationModified(image.ImageId, owner, change.AddedPrincipals, change.RemovedPrincipals);
        }
        await outbox.DrainAsync(owner);
        var (grants, _, total, organizationTotal) = await store.GrantsAsync(owner, image.ImageId, "", 100);
        return new ModifyImageSharePermissionResponse
        {
            Grants = { grants.Where(g => !g.IsOrganization).Select(ToGrant) },
            TotalAccounts = (int)total,
            OrganizationGrants = { grants.Where(g => g.IsOrganization).Select(ToOrganizationGrant) },
            TotalOrganizationGrants = (int)organizationTotal,
        };
    }

    /// <summary>The image's account and organization grants, both kinds on one page by when they were made (R19, R37).</summary>
    public async Task<DescribeImageSharePermissionResponse> DescribeAsync(Caller caller, DescribeImageSharePermissionRequest request)
    {
        var region = regions.Require(request.RegionId);
        var size = Check.PageSize(request.PageSize);
        var image = await OwnedImageAsync(caller, region, request.ImageId);
        var (grants, next, total, organizationTotal) = await store.GrantsAsync(image.OwnerAccountId, image.ImageId, PageToken.Decode(request.PageToken), size);
        return new DescribeImageSharePermissionResponse
        {
            ImageId = image.ImageId,
            Grants = { grants.Where(g => !g.IsOrganization).Select(ToGrant) },
            TotalAccounts = (int)total,
            OrganizationGrants = { grants.Where(g => g.IsOrganization).Select(ToOrganizationGrant) },
            TotalOrganizationGrants = (int)organizationTotal,
            NextPageToken = PageToken.Encode(next),
        };
    }

    /// <summary>
    /// R19, R37: what other accounts shared with the caller in a region, oldest share first: with its account, or with
    /// its directory, a folder it is in or above it, or it as a member, as its membership stands now. Each image is
    /// checked as an access check would be; an index entry whose grant has gone is dropped.
    /// </summary>
    public async Task<(IReadOnlyList<SharedImage> Images, string NextPageToken)> ListSharedAsync(Caller caller, ListSharedImagesRequest request)
    {
        var recipient = caller.RequireAccount();
        var region = regions.Require(request.RegionId);
        var size = Check.PageSize(request.PageSize);
        var position = PageToken.Decode(request.PageToken);
        var member = (await organizations.MembershipsAsync([recipient])).GetValueOrDefault(recipient);
        IReadOnlyList<OrganizationPrincipal> principals = member is null ? [] : Organizations.PrincipalsOf(member);
        var (page, next) = await store.ReceivedAsync(recipient, region, principals, position, size);

        var direct = await store.DirectlyGrantedAsync(recipient, page);
        var viaOrganization = new (long SharedAtMs, OrganizationPrincipal Via)?[page.Count];
        var unsure = Enumerable.Range(0, page.Count).Where(i => !direct[i]).ToList();
        if (member is not null && principals.Count > 0 && unsure.Count > 0)
        {
            var owners = await organizations.MembershipsAsync(unsure.Select(i => page[i].Owner));
            var sameDirectory = unsure.Where(i => owners.GetValueOrDefault(page[i].Owner)?.DirectoryId == member.DirectoryId).ToList();
            var facts = await store.OrganizationFactsAsync(sameDirectory.Select(i => page[i]).ToList(), principals.Select(p => p.Format()).ToList());
            for (var n = 0; n < sameDirectory.Count; n++)
            {
                if (Organizations.OnSite(member, facts[n].SiteOnly))
                {
                    viaOrganization[sameDirectory[n]] = Organizations.Earliest(principals, facts[n].Granted);
                }
            }
        }

        var images = new List<SharedImage>();
        for (var i = 0; i < page.Count; i++)
        {
            var share = page[i];
            if (!direct[i] && viaOrganization[i] is null)
            {
                if (share.Via is null || !await store.StillGrantedToAsync(share))
                {
                    await store.DropStaleAsync(recipient, region, share);
                }
                continue;
            }
            var image = new SharedImage
            {
                ImageId = share.ImageId,
                RegionId = region,
                OwnerAccountId = share.Owner,
                ShareTime = Timestamp.FromDateTimeOffset(DateTimeOffset.FromUnixTimeMilliseconds(share.SharedAtMs)),
            };
            if (!direct[i] && viaOrganization[i] is { } via)
            {
                image.OrganizationTarget = Organizations.ToTarget(via.Via);
            }
            images.Add(image);
        }
        return (images, PageToken.Encode(next));
    }

    /// <summary>
    /// Internal: what the catalog needs to count a recipient's shared images from its own counts: how many entries the
    /// account's index holds (one read) and whether organization shares may reach it as well (a kms look-up).
    /// </summary>
    public async Task<CountSharedImagesResponse> CountSharedAsync(CountSharedImagesRequest request)
    {
        Check.AccountId(request.AccountId, "account_id");
        var region = regions.Require(request.RegionId);
        var count = store.ReceivedCountAsync(request.AccountId, region);
        var member = (await organizations.MembershipsAsync([request.AccountId])).GetValueOrDefault(request.AccountId);
        return new CountSharedImagesResponse
        {
            AccountShares = (int)await count,
            InResourceDirectory = member is not null && Organizations.PrincipalsOf(member).Count > 0,
        };
    }

    /// <summary>How often one recipient's grants in a region may be handed to the catalog again.</summary>
    public static readonly TimeSpan ResendInterval = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Internal: the recipient's grants in a region handed to the catalog again through their owners' outboxes (shares
    /// made before the catalog counted them). Each owner is queued first, as a grant change is, so a request that dies
    /// midway is finished by the outbox queue.
    /// </summary>
    public async Task<ResendSharedImagesResponse> ResendSharedAsync(ResendSharedImagesRequest request)
    {
        Check.AccountId(request.AccountId, "account_id");
        var region = regions.Require(request.RegionId);
        if (!await store.TryMarkResendAsync(request.AccountId, region, ResendInterval))
        {
            return new ResendSharedImagesResponse();
        }
        var members = await store.ReceivedMembersAsync(request.AccountId, region);
        var owners = members.Select(m => m.Owner).Distinct(StringComparer.Ordinal).ToList();
        foreach (var owner in owners)
        {
            await outbox.ExpectAsync(owner);
        }
        var resent = await store.ResendAsync(request.AccountId, region, members);
        foreach (var owner in owners)
        {
            await outbox.DrainAsync(owner);
        }
        LogResent(resent, request.AccountId, region);
        return new ResendSharedImagesResponse { Resent = resent };
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
            OrganizationTarget = e.Target.Length > 0 ? Organizations.ToTarget(OrganizationPrincipal.Parse(e.Target)) : null,
        }).ToList(), PageToken.Encode(next));
    }

    /// <summary>
    /// Internal: one Redis read for a grant to the account (R19); an image with organization grants and none to the
    /// account costs a call to kms for the memberships of both, as they stand now (R37).
    /// </summary>
    public async Task<CheckImageAccessResponse> CheckAccessAsync(CheckImageAccessRequest request)
    {
        if (!Check.IsAccountId(request.OwnerAccountId) || !Check.IsAccountId(request.AccountId) || !ResourceIds.IsValid(request.ImageId, 'm'))
        {
            return new CheckImageAccessResponse();
        }
        var facts = await store.AccessFactsAsync(request.OwnerAccountId, request.ImageId, request.AccountId);
        if (facts.GrantedAtMs is { } at)
        {
            return new CheckImageAccessResponse { Allowed = true, ShareTime = Time(at) };
        }
        if (facts.OrganizationGrants == 0 || request.OwnerAccountId == request.AccountId)
        {
            return new CheckImageAccessResponse();
        }
        return await organizations.FindGrantAsync(request.OwnerAccountId, request.ImageId, request.AccountId, facts.SiteOnly) is { } grant
            ? new CheckImageAccessResponse { Allowed = true, ShareTime = Time(grant.SharedAtMs), OrganizationTarget = Organizations.ToTarget(grant.Via) }
            : new CheckImageAccessResponse();
    }

    /// <summary>How many accounts and organization targets an image is shared with (R32's ImageUseShared counts both).</summary>
    public async Task<GetImageShareSummaryResponse> SummaryAsync(string owner, string imageId)
    {
        if (!Check.IsAccountId(owner) || !ResourceIds.IsValid(imageId, 'm'))
        {
            return new GetImageShareSummaryResponse();
        }
        var (accounts, principals) = await store.CountAsync(owner, imageId);
        return new GetImageShareSummaryResponse { TotalAccounts = (int)accounts, TotalOrganizationGrants = (int)principals };
    }

    /// <summary>Internal, on a forced delete (R32): every grant goes, to accounts and organizations, and recipients lose the image at once.</summary>
    public async Task<RevokeAllSharesResponse> RevokeAllAsync(Caller caller, RevokeAllSharesRequest request)
    {
        Check.AccountId(request.OwnerAccountId, "owner_account_id");
        await outbox.ExpectAsync(request.OwnerAccountId);
        var (accounts, principals) = await store.RevokeAllAsync(request.OwnerAccountId, request.ImageId, regions.Require(request.RegionId),
            time.GetUtcNow().ToUnixTimeMilliseconds(), caller.IsAccount ? caller.Actor : $"service:{caller.ViaService ?? caller.Name}");
        if (accounts + principals > 0)
        {
            LogRevokedAll(accounts, principals, request.ImageId);
            await outbox.DrainAsync(request.OwnerAccountId);
        }
        return new RevokeAllSharesResponse { RevokedAccounts = accounts, RevokedOrganizationGrants = principals };
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

    private static Timestamp Time(long ms) => Timestamp.FromDateTimeOffset(DateTimeOffset.FromUnixTimeMilliseconds(ms));

    private static ShareGrant ToGrant(GrantEntry grant) => new() { AccountId = grant.Member, ShareTime = Time(grant.SharedAtMs) };

    private static OrganizationGrant ToOrganizationGrant(GrantEntry grant) => new()
    {
        Target = Organizations.ToTarget(OrganizationPrincipal.Parse(grant.Member)),
        ShareTime = Time(grant.SharedAtMs),
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "Image {ImageId} of {Owner}: shared with {Added} accounts, unshared from {Removed}")]
    private partial void LogModified(string imageId, string owner, int added, int removed);

    [LoggerMessage(Level = LogLevel.Information, Message = "Image {ImageId} of {Owner}: shared with organization targets [{Added}], unshared from [{Removed}]")]
    private partial void LogOrganizationModified(string imageId, string owner, IReadOnlyList<string> added, IReadOnlyList<string> removed);

    [LoggerMessage(Level = LogLevel.Information, Message = "Handed {Resent} grants to {Recipient} in {Region} to the catalog again")]
    private partial void LogResent(int resent, string recipient, string region);

    [LoggerMessage(Level = LogLevel.Information, Message = "Revoked {Accounts} account and {Principals} organization shares of deleted image {ImageId}")]
    private partial void LogRevokedAll(int accounts, int principals, string imageId);
}
