using Grpc.Core;
using GrpcImages.Contracts.Common.V1;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.Contracts.Sharing.V1;
using GrpcImages.ServiceDefaults.Errors;
using GrpcImages.ServiceDefaults.Validation;
using GrpcImages.Sharing.Storage;

namespace GrpcImages.Sharing.Domain;

/// <summary>
/// The organization side of sharing (R37). Membership is kms's: it is read when a grant is made and at each
/// check, never copied here, so an account that joins a folder is reached by what was shared with it before, and
/// one that leaves is not, as soon as kms has the change (the catalog drops the access checks it holds on kms's
/// announcement).
/// </summary>
public sealed class Organizations(ResourceDirectoryService.ResourceDirectoryServiceClient directories, ShareStore store)
{
    public const int MaxTargetsPerCall = 10;

    /// <summary>The memberships of the accounts that exist (one call to kms); an account in no directory has an empty directory id.</summary>
    public async Task<IReadOnlyDictionary<string, Membership>> MembershipsAsync(IEnumerable<string> accountIds)
    {
        var request = new BatchGetMembershipsRequest { AccountIds = { accountIds.Distinct(StringComparer.Ordinal) } };
        if (request.AccountIds.Count == 0)
        {
            return new Dictionary<string, Membership>();
        }
        var response = await directories.BatchGetMembershipsAsync(request);
        return response.Memberships.ToDictionary(m => m.AccountId, StringComparer.Ordinal);
    }

    /// <summary>What a member stands for as a recipient: its directory, each folder from the root down to its own, and itself.</summary>
    public static IReadOnlyList<OrganizationPrincipal> PrincipalsOf(Membership member)
    {
        if (member.DirectoryId.Length == 0)
        {
            return [];
        }
        var principals = new List<OrganizationPrincipal> { new(member.DirectoryId, member.DirectoryId) };
        principals.AddRange(member.Path.Split('/').Skip(1).Select(folder => new OrganizationPrincipal(member.DirectoryId, folder)));
        principals.Add(new OrganizationPrincipal(member.DirectoryId, member.AccountId));
        return principals;
    }

    /// <summary>
    /// The principals an owner shares with, checked against its directory as it is now: its own directory, a folder
    /// of it, a member account of it (R37). An owner in no directory, or a member target outside it, is
    /// InvalidParameter; another directory's or folder's id is missing (R36). A marketplace-derived image is shared
    /// with no member of another site (R18).
    /// </summary>
    public async Task<IReadOnlyList<OrganizationPrincipal>> ResolveAsync(string owner, Site ownerSite, bool marketplaceDerived, IReadOnlyList<string> targets,
        string field)
    {
        var accounts = targets.Where(Check.IsAccountId).Append(owner).ToList();
        var memberships = await MembershipsAsync(accounts);
        var directory = memberships.GetValueOrDefault(owner)?.DirectoryId ?? "";
        if (directory.Length == 0)
        {
            throw Fault.InvalidArgument("InvalidParameter", field,
                "Your account belongs to no resource directory: an image is shared with an organization only within one's own directory.");
        }
        var principals = new List<OrganizationPrincipal>();
        var elsewhere = new List<string>();
        for (var i = 0; i < targets.Count; i++)
        {
            var target = targets[i];
            if (OrganizationIds.IsDirectoryId(target))
            {
                principals.Add(target == directory ? new OrganizationPrincipal(directory, directory) : throw DirectoryNotFound(target));
            }
            else if (OrganizationIds.IsFolderId(target))
            {
                principals.Add(await FolderOfAsync(target) == directory ? new OrganizationPrincipal(directory, target) : throw FolderNotFound(target));
            }
            else if (target == owner)
            {
                throw SharingErrors.ShareWithSelf($"{field}[{i}]");
            }
            else
            {
                var member = memberships.GetValueOrDefault(target) ?? throw Fault.NotFound("InvalidAccount.NotFound", $"The account {target} does not exist.");
                if (member.DirectoryId != directory)
                {
                    throw Fault.InvalidArgument("InvalidParameter", $"{field}[{i}]",
                        $"The account {target} is not a member of your resource directory: an image is shared with an organization only within one's own directory.");
                }
                if (marketplaceDerived && member.Site != ownerSite)
                {
                    elsewhere.Add(target);
                }
                principals.Add(new OrganizationPrincipal(directory, target));
            }
        }
        if (elsewhere.Count > 0)
        {
            throw SharingErrors.OtherSites(elsewhere);
        }
        return principals;
    }

    /// <summary>
    /// The organization grant through which the account may use the owner's image, and when it was made, or null: both
    /// must belong to the directory the grant names, the account to the site the image is held to (<paramref name="siteOnly"/>,
    /// R18), and the image be shared with the directory, a folder the account is in or above it, or the account as a member.
    /// </summary>
    public async Task<(long SharedAtMs, OrganizationPrincipal Via)?> FindGrantAsync(string owner, string imageId, string account, string siteOnly)
    {
        var memberships = await MembershipsAsync([owner, account]);
        if (!memberships.TryGetValue(owner, out var of) || !memberships.TryGetValue(account, out var member) ||
            of.DirectoryId.Length == 0 || of.DirectoryId != member.DirectoryId || !OnSite(member, siteOnly))
        {
            return null;
        }
        var principals = PrincipalsOf(member);
        var granted = await store.PrincipalGrantsAsync(owner, imageId, principals.Select(p => p.Format()).ToList());
        return Earliest(principals, granted);
    }

    /// <summary>The first of the principals an image was shared with (by when), or null.</summary>
    public static (long SharedAtMs, OrganizationPrincipal Via)? Earliest(IReadOnlyList<OrganizationPrincipal> principals, IReadOnlyList<long?> granted)
    {
        (long, OrganizationPrincipal)? first = null;
        for (var i = 0; i < principals.Count; i++)
        {
            if (granted[i] is { } at && (first is null || at < first.Value.Item1))
            {
                first = (at, principals[i]);
            }
        }
        return first;
    }

    /// <summary>R18 by each member's own site: a marketplace-derived image's organization grants reach only the owner's site.</summary>
    public static bool OnSite(Membership member, string siteOnly) => siteOnly.Length == 0 || member.Site.ToString() == siteOnly;

    /// <summary>The owner's site as an image's organization grants are held to (R18), or "" for an image that is not marketplace-derived.</summary>
    public static string SiteRule(bool marketplaceDerived, Site ownerSite) => marketplaceDerived ? ownerSite.ToString() : "";

    public static OrganizationTarget ToTarget(OrganizationPrincipal principal) => new()
    {
        DirectoryId = principal.DirectoryId,
        TargetId = principal.TargetId,
        Kind = principal.IsDirectory ? OrganizationTargetKind.Directory
            : principal.IsFolder ? OrganizationTargetKind.Folder
            : OrganizationTargetKind.MemberAccount,
    };

    /// <summary>Targets as a call names them: at most <see cref="MaxTargetsPerCall"/>, each a directory, folder or account id.</summary>
    public static List<string> Targets(Google.Protobuf.Collections.RepeatedField<string> targets, string field)
    {
        if (targets.Count > MaxTargetsPerCall)
        {
            throw Fault.InvalidArgument("InvalidParameter.TargetCount", field, $"One call adds or removes at most {MaxTargetsPerCall} organization targets each.");
        }
        for (var i = 0; i < targets.Count; i++)
        {
            var target = targets[i];
            if (!OrganizationIds.IsDirectoryId(target) && !OrganizationIds.IsFolderId(target) && !Check.IsAccountId(target))
            {
                throw Fault.InvalidArgument("InvalidParameter.OrganizationTarget", $"{field}[{i}]",
                    "An organization target is a resource directory (\"rd-...\"), a folder (\"r-...\", \"fd-...\") or a member account (16 digits).");
            }
        }
        return targets.Distinct(StringComparer.Ordinal).ToList();
    }

    /// <summary>The directory a folder belongs to, or "" when there is no such folder.</summary>
    private async Task<string> FolderOfAsync(string folderId)
    {
        try
        {
            return (await directories.GetFolderAsync(new GetFolderRequest { FolderId = folderId })).Folder.DirectoryId;
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound)
        {
            return "";
        }
    }

    private static DomainException DirectoryNotFound(string directoryId) =>
        Fault.NotFound("EntityNotExists.ResourceDirectory", $"The resource directory {directoryId} does not exist.");

    private static DomainException FolderNotFound(string folderId) =>
        Fault.NotFound("EntityNotExists.Folder", $"The folder {folderId} does not exist.");
}
