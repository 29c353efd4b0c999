using GrpcImages.Contracts.Kms.V1;
using GrpcImages.Contracts.Sharing.V1;
using GrpcImages.Testing;
using static GrpcImages.IntegrationTests.CatalogSteps;

namespace GrpcImages.IntegrationTests;

/// <summary>Steps of the resource-directory and organization-sharing tests (R37).</summary>
internal static class OrganizationSteps
{
    public static ResourceDirectoryService.ResourceDirectoryServiceClient Directories(this TestAccount account) =>
        account.Client<ResourceDirectoryService.ResourceDirectoryServiceClient>();

    public static async Task<ResourceDirectoryService.ResourceDirectoryServiceClient> OperatorDirectoriesAsync(this TestCluster cluster) =>
        cluster.Client<ResourceDirectoryService.ResourceDirectoryServiceClient>(await cluster.OperatorTokenAsync());

    /// <summary>A directory the account manages (it is its first member, in the root folder).</summary>
    public static async Task<ResourceDirectory> NewDirectoryAsync(this TestAccount management) =>
        (await management.Directories().CreateResourceDirectoryAsync(new CreateResourceDirectoryRequest())).Directory;

    public static async Task<Folder> NewFolderAsync(this TestAccount management, string parentFolderId, string? name = null) =>
        (await management.Directories().CreateFolderAsync(new CreateFolderRequest
        {
            ParentFolderId = parentFolderId, FolderName = name ?? UniqueName("f")[..12],
        })).Folder;

    /// <summary>Invites the account and has it accept: it joins the root folder.</summary>
    public static async Task JoinAsync(this TestAccount management, ResourceDirectory directory, TestAccount member)
    {
        var handshake = (await management.Directories().InviteAccountAsync(new InviteAccountRequest
        {
            DirectoryId = directory.DirectoryId, TargetAccountId = member.AccountId,
        })).Handshake;
        await member.Directories().AcceptHandshakeAsync(new AcceptHandshakeRequest { HandshakeId = handshake.HandshakeId });
    }

    public static async Task<Membership> MoveAsync(this TestAccount management, TestAccount member, string folderId) =>
        (await management.Directories().MoveAccountAsync(new MoveAccountRequest { AccountId = member.AccountId, DestinationFolderId = folderId })).Membership;

    public static async Task<Membership> MembershipAsync(this TestAccount account) =>
        (await account.Directories().GetMembershipAsync(new GetMembershipRequest())).Membership;

    /// <summary>Shares an image with organization targets: the directory, folders or member accounts (R37).</summary>
    public static async Task<ModifyImageSharePermissionResponse> ShareWithOrganizationAsync(this TestAccount owner, string imageId, params string[] targets) =>
        await owner.Client<SharingService.SharingServiceClient>().ModifyImageSharePermissionAsync(new ModifyImageSharePermissionRequest
        {
            RegionId = Hangzhou, ImageId = imageId, AddOrganizationTargets = { targets },
        });

    public static async Task<ModifyImageSharePermissionResponse> UnshareWithOrganizationAsync(this TestAccount owner, string imageId, params string[] targets) =>
        await owner.Client<SharingService.SharingServiceClient>().ModifyImageSharePermissionAsync(new ModifyImageSharePermissionRequest
        {
            RegionId = Hangzhou, ImageId = imageId, RemoveOrganizationTargets = { targets },
        });
}
