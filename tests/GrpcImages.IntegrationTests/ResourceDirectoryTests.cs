using Grpc.Core;
using GrpcImages.Contracts.Common.V1;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.Testing;

namespace GrpcImages.IntegrationTests;

/// <summary>Resource directories in kms (R37): folders, handshakes, moves and removals, and who sees what (R36).</summary>
public class ResourceDirectoryTests(ClusterFixture fixture, ITestOutputHelper output) : ClusterTest(fixture, output)
{
    [Fact]
    public async Task R37_AnAccountCreatesADirectoryWithATreeOfFoldersFiveLevelsDeepAtMost()
    {
        var a = await Cluster.NewAccountAsync();
        var directory = await a.NewDirectoryAsync();

        Assert.Matches("^rd-[a-z0-9]{10}$", directory.DirectoryId);
        Assert.Matches("^r-[a-z0-9]{6}$", directory.RootFolderId);
        Assert.Equal((a.AccountId, 1), (directory.ManagementAccountId, directory.MemberCount));
        var own = await a.MembershipAsync();
        Assert.Equal((directory.DirectoryId, directory.RootFolderId, $"{directory.DirectoryId}/{directory.RootFolderId}"), (own.DirectoryId, own.FolderId, own.Path));
        Assert.Equal(directory.DirectoryId, (await a.Client<AccountService.AccountServiceClient>().GetAccountAsync(new GetAccountRequest { AccountId = a.AccountId })).Account.OrganizationId);

        var parent = directory.RootFolderId;
        var path = $"{directory.DirectoryId}/{directory.RootFolderId}";
        for (var level = 1; level <= 5; level++)
        {
            var folder = await a.NewFolderAsync(parent, $"level{level}");
            path += "/" + folder.FolderId;
            Assert.Equal((parent, path, directory.DirectoryId), (folder.ParentFolderId, folder.Path, folder.DirectoryId));
            parent = folder.FolderId;
        }
        await RpcAssert.FailsAsync(StatusCode.ResourceExhausted, "LimitExceeded.FolderDepth", () => a.NewFolderAsync(parent, "level6"));

        var apps = await a.NewFolderAsync(directory.RootFolderId, "apps");
        await RpcAssert.FailsAsync(StatusCode.AlreadyExists, "EntityAlreadyExists.Folder", () => a.NewFolderAsync(directory.RootFolderId, "apps"));
        var ex = await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidParameter.FolderName", () => a.NewFolderAsync(directory.RootFolderId, "no spaces here"));
        Assert.Equal(["folder_name"], RpcAssert.ViolatedFields(ex));
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidParameter.FolderId", () => a.NewFolderAsync("fd-x", "x"));
        var listed = (await a.Directories().ListFoldersAsync(new ListFoldersRequest { PageSize = 1 }));
        Assert.Equal("apps", Assert.Single(listed.Folders).FolderName);
        var second = await a.Directories().ListFoldersAsync(new ListFoldersRequest { PageSize = 1, PageToken = listed.NextPageToken });
        Assert.Equal(("level1", ""), (Assert.Single(second.Folders).FolderName, second.NextPageToken));
        Assert.Equal(apps, (await a.Directories().GetFolderAsync(new GetFolderRequest { FolderId = apps.FolderId })).Folder);

        // R35: a retried create makes the folder once.
        var create = new CreateFolderRequest { ParentFolderId = apps.FolderId, FolderName = "web", ClientToken = Guid.NewGuid().ToString("N") };
        var first = (await a.Directories().CreateFolderAsync(create)).Folder;
        Assert.Equal(first.FolderId, (await a.Directories().CreateFolderAsync(create)).Folder.FolderId);
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "IdempotenceParamNotMatch", () =>
            a.Directories().CreateFolderAsync(new CreateFolderRequest { ParentFolderId = apps.FolderId, FolderName = "api", ClientToken = create.ClientToken }));
    }

    [Fact]
    public async Task R37_AnInvitedAccountJoinsByAcceptingAndBelongsToOneDirectoryAtMost()
    {
        var a = await Cluster.NewAccountAsync();
        var b = await Cluster.NewAccountAsync();
        var c = await Cluster.NewAccountAsync();
        var d = await Cluster.NewAccountAsync();
        var ours = await a.NewDirectoryAsync();
        var theirs = await d.NewDirectoryAsync();

        var invite = (await a.Directories().InviteAccountAsync(new InviteAccountRequest
        {
            DirectoryId = ours.DirectoryId, TargetAccountId = b.AccountId, Note = "Welcome",
        })).Handshake;
        Assert.Equal((HandshakeStatus.Pending, a.AccountId, b.AccountId), (invite.Status, invite.ManagementAccountId, invite.TargetAccountId));
        Assert.InRange(invite.ExpireTime.ToDateTimeOffset() - invite.CreateTime.ToDateTimeOffset(), TimeSpan.FromDays(15), TimeSpan.FromDays(15));
        await RpcAssert.FailsAsync(StatusCode.AlreadyExists, "EntityAlreadyExists.Handshake", () =>
            a.Directories().InviteAccountAsync(new InviteAccountRequest { DirectoryId = ours.DirectoryId, TargetAccountId = b.AccountId }));
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidAccount.NotFound", () =>
            a.Directories().InviteAccountAsync(new InviteAccountRequest { DirectoryId = ours.DirectoryId, TargetAccountId = "1000000000000009" }));
        Assert.Equal(invite.HandshakeId, Assert.Single((await b.Directories().ListHandshakesAsync(new ListHandshakesRequest())).Handshakes).HandshakeId);
        Assert.Contains((await a.Directories().ListHandshakesAsync(new ListHandshakesRequest { DirectoryId = ours.DirectoryId })).Handshakes,
            h => h.HandshakeId == invite.HandshakeId);

        // Only the invited account answers; anyone else finds no such handshake (R36).
        await RpcAssert.FailsAsync(StatusCode.NotFound, "EntityNotExists.Handshake", () =>
            c.Directories().AcceptHandshakeAsync(new AcceptHandshakeRequest { HandshakeId = invite.HandshakeId }));
        Assert.Equal("", (await b.MembershipAsync()).DirectoryId);
        var accepted = (await b.Directories().AcceptHandshakeAsync(new AcceptHandshakeRequest { HandshakeId = invite.HandshakeId })).Handshake;
        Assert.Equal(HandshakeStatus.Accepted, accepted.Status);
        Assert.Equal((ours.DirectoryId, ours.RootFolderId), ((await b.MembershipAsync()).DirectoryId, (await b.MembershipAsync()).FolderId));
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, "HandshakeStatusMismatch", () =>
            b.Directories().DeclineHandshakeAsync(new DeclineHandshakeRequest { HandshakeId = invite.HandshakeId }));

        // One directory at most: B cannot join a second, nor make one of its own.
        var other = (await d.Directories().InviteAccountAsync(new InviteAccountRequest { DirectoryId = theirs.DirectoryId, TargetAccountId = b.AccountId })).Handshake;
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, "NotSupport.AccountInAnotherResourceDirectory", () =>
            b.Directories().AcceptHandshakeAsync(new AcceptHandshakeRequest { HandshakeId = other.HandshakeId }));
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, "NotSupport.AccountInAnotherResourceDirectory", () => b.NewDirectoryAsync());
        Assert.Equal(HandshakeStatus.Declined, (await b.Directories().DeclineHandshakeAsync(new DeclineHandshakeRequest { HandshakeId = other.HandshakeId })).Handshake.Status);

        // The directory withdraws a pending one; its answer is then refused.
        var third = (await a.Directories().InviteAccountAsync(new InviteAccountRequest { DirectoryId = ours.DirectoryId, TargetAccountId = c.AccountId })).Handshake;
        Assert.Equal(HandshakeStatus.Cancelled, (await a.Directories().CancelHandshakeAsync(new CancelHandshakeRequest { HandshakeId = third.HandshakeId })).Handshake.Status);
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, "HandshakeStatusMismatch", () =>
            c.Directories().AcceptHandshakeAsync(new AcceptHandshakeRequest { HandshakeId = third.HandshakeId }));
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidParameter.HandshakeId", () =>
            c.Directories().AcceptHandshakeAsync(new AcceptHandshakeRequest { HandshakeId = "h-1" }));
        var ex = await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidParameter.Note", () =>
            a.Directories().InviteAccountAsync(new InviteAccountRequest { DirectoryId = ours.DirectoryId, TargetAccountId = c.AccountId, Note = new string('n', 1025) }));
        Assert.Equal(["note"], RpcAssert.ViolatedFields(ex));
    }

    [Fact]
    public async Task R37_TheManagementAccountMovesAndRemovesMembersAndOnlyEmptyFoldersAndDirectoriesGo()
    {
        var a = await Cluster.NewAccountAsync();
        var b = await Cluster.NewAccountAsync(Site.Jp);
        var directory = await a.NewDirectoryAsync();
        await a.JoinAsync(directory, b);
        var dev = await a.NewFolderAsync(directory.RootFolderId, "dev");
        var web = await a.NewFolderAsync(dev.FolderId, "web");

        var moved = await a.MoveAsync(b, web.FolderId);
        Assert.Equal((web.FolderId, web.Path, Site.Jp), (moved.FolderId, moved.Path, moved.Site));
        Assert.Equal([b.AccountId], (await a.Directories().ListMembersAsync(new ListMembersRequest { FolderId = web.FolderId })).Members.Select(m => m.AccountId));
        Assert.Equal(new[] { a.AccountId, b.AccountId }.Order(), (await b.Directories().ListMembersAsync(new ListMembersRequest { PageSize = 100 })).Members.Select(m => m.AccountId));
        Assert.Equal(2, (await b.Directories().GetResourceDirectoryAsync(new GetResourceDirectoryRequest())).Directory.MemberCount);

        // A member reads its directory but does not change it.
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, "NoPermission", () => b.NewFolderAsync(dev.FolderId, "mine"));
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, "NoPermission", () => b.MoveAsync(b, dev.FolderId));

        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, "DeleteConflict.Folder.SubFolder", () =>
            a.Directories().DeleteFolderAsync(new DeleteFolderRequest { FolderId = dev.FolderId }));
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, "DeleteConflict.Folder.Account", () =>
            a.Directories().DeleteFolderAsync(new DeleteFolderRequest { FolderId = web.FolderId }));
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, "DeleteConflict.ResourceDir.Account", () =>
            a.Directories().DeleteResourceDirectoryAsync(new DeleteResourceDirectoryRequest { DirectoryId = directory.DirectoryId }));
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, "AccountTypeOrStatusMismatch", () =>
            a.Directories().RemoveAccountAsync(new RemoveAccountRequest { DirectoryId = directory.DirectoryId, AccountId = a.AccountId }));

        await a.Directories().RemoveAccountAsync(new RemoveAccountRequest { DirectoryId = directory.DirectoryId, AccountId = b.AccountId });
        Assert.Equal("", (await b.MembershipAsync()).DirectoryId);
        Assert.Equal("", (await b.Client<AccountService.AccountServiceClient>().GetAccountAsync(new GetAccountRequest { AccountId = b.AccountId })).Account.OrganizationId);
        await RpcAssert.FailsAsync(StatusCode.NotFound, "EntityNotExists.ResourceDirectory", () =>
            b.Directories().GetResourceDirectoryAsync(new GetResourceDirectoryRequest { DirectoryId = directory.DirectoryId }));
        await RpcAssert.FailsAsync(StatusCode.NotFound, "EntityNotExists.Account", () =>
            a.Directories().RemoveAccountAsync(new RemoveAccountRequest { DirectoryId = directory.DirectoryId, AccountId = b.AccountId }));

        await a.Directories().DeleteFolderAsync(new DeleteFolderRequest { FolderId = web.FolderId });
        await a.Directories().DeleteFolderAsync(new DeleteFolderRequest { FolderId = dev.FolderId });
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidParameter.FolderId", () =>
            a.Directories().DeleteFolderAsync(new DeleteFolderRequest { FolderId = directory.RootFolderId }));
        await a.Directories().DeleteResourceDirectoryAsync(new DeleteResourceDirectoryRequest { DirectoryId = directory.DirectoryId });
        Assert.Equal("", (await a.MembershipAsync()).DirectoryId);
        await a.NewDirectoryAsync(); // free to make another
    }

    [Fact]
    public async Task R37_AnotherOrganizationsDirectoryFoldersAndMembersAreMissingToAnOutsider()
    {
        var a = await Cluster.NewAccountAsync();
        var b = await Cluster.NewAccountAsync();
        var outsider = await Cluster.NewAccountAsync();
        var directory = await a.NewDirectoryAsync();
        await a.JoinAsync(directory, b);
        var dev = await a.NewFolderAsync(directory.RootFolderId, "dev");
        var x = outsider.Directories();

        await RpcAssert.FailsAsync(StatusCode.NotFound, "EntityNotExists.ResourceDirectory", () => x.GetResourceDirectoryAsync(new GetResourceDirectoryRequest { DirectoryId = directory.DirectoryId }));
        await RpcAssert.FailsAsync(StatusCode.NotFound, "EntityNotExists.ResourceDirectory", () => x.GetResourceDirectoryAsync(new GetResourceDirectoryRequest { DirectoryId = "rd-0000000000" }));
        await RpcAssert.FailsAsync(StatusCode.NotFound, "EntityNotExists.ResourceDirectory", () => x.GetResourceDirectoryAsync(new GetResourceDirectoryRequest()));
        await RpcAssert.FailsAsync(StatusCode.NotFound, "EntityNotExists.Folder", () => x.GetFolderAsync(new GetFolderRequest { FolderId = dev.FolderId }));
        await RpcAssert.FailsAsync(StatusCode.NotFound, "EntityNotExists.Folder", () => x.CreateFolderAsync(new CreateFolderRequest { ParentFolderId = dev.FolderId, FolderName = "mine" }));
        await RpcAssert.FailsAsync(StatusCode.NotFound, "EntityNotExists.ResourceDirectory", () => x.ListMembersAsync(new ListMembersRequest { DirectoryId = directory.DirectoryId }));
        await RpcAssert.FailsAsync(StatusCode.NotFound, "EntityNotExists.ResourceDirectory", () =>
            x.InviteAccountAsync(new InviteAccountRequest { DirectoryId = directory.DirectoryId, TargetAccountId = outsider.AccountId }));
        await RpcAssert.FailsAsync(StatusCode.NotFound, "EntityNotExists.Folder", () => x.MoveAccountAsync(new MoveAccountRequest { AccountId = b.AccountId, DestinationFolderId = dev.FolderId }));
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidAccount.NotFound", () => x.GetMembershipAsync(new GetMembershipRequest { AccountId = b.AccountId }));
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, "Forbidden.OperatorOnly", () => x.ListResourceDirectoriesAsync(new ListResourceDirectoriesRequest()));
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, "Forbidden.InternalOnly", () => x.BatchGetMembershipsAsync(new BatchGetMembershipsRequest { AccountIds = { b.AccountId } }));
        // A member sees the other members of its own directory.
        Assert.Equal(directory.DirectoryId, (await a.Directories().GetMembershipAsync(new GetMembershipRequest { AccountId = b.AccountId })).Membership.DirectoryId);
    }

    [Fact]
    public async Task R37_AnOperatorMakesDirectoriesForAccountsAndAddsAccountsWithoutAHandshake()
    {
        var a = await Cluster.NewAccountAsync();
        var b = await Cluster.NewAccountAsync();
        var operatorDirectories = await Cluster.OperatorDirectoriesAsync();
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidAccountId.Malformed", () =>
            operatorDirectories.CreateResourceDirectoryAsync(new CreateResourceDirectoryRequest()));
        var directory = (await operatorDirectories.CreateResourceDirectoryAsync(new CreateResourceDirectoryRequest { ManagementAccountId = a.AccountId })).Directory;
        Assert.Equal(a.AccountId, directory.ManagementAccountId);
        var ops = await a.NewFolderAsync(directory.RootFolderId, "ops");

        var added = (await operatorDirectories.AddAccountAsync(new AddAccountRequest { DirectoryId = directory.DirectoryId, AccountId = b.AccountId, FolderId = ops.FolderId })).Membership;
        Assert.Equal((directory.DirectoryId, ops.FolderId), (added.DirectoryId, added.FolderId));
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, "Forbidden.OperatorOnly", () =>
            a.Directories().AddAccountAsync(new AddAccountRequest { DirectoryId = directory.DirectoryId, AccountId = b.AccountId }));

        // An account made in a directory joins its root folder at once.
        var accounts = Cluster.Client<AccountService.AccountServiceClient>(await Cluster.OperatorTokenAsync());
        var made = (await accounts.CreateAccountAsync(new CreateAccountRequest { Site = Site.Intl, DisplayName = "Branch", OrganizationId = directory.DirectoryId })).Account;
        Assert.Equal(directory.DirectoryId, made.OrganizationId);
        var memberships = await Cluster.Client<ResourceDirectoryService.ResourceDirectoryServiceClient>(Cluster.ServiceToken("sharing"))
            .BatchGetMembershipsAsync(new BatchGetMembershipsRequest { AccountIds = { made.AccountId, b.AccountId, "1000000000000009" } });
        Assert.Equal([(made.AccountId, directory.RootFolderId, Site.Intl), (b.AccountId, ops.FolderId, Site.Cn)],
            memberships.Memberships.Select(m => (m.AccountId, m.FolderId, m.Site)));
        await RpcAssert.FailsAsync(StatusCode.NotFound, "EntityNotExists.ResourceDirectory", () =>
            accounts.CreateAccountAsync(new CreateAccountRequest { Site = Site.Cn, DisplayName = "Nowhere", OrganizationId = "rd-0000000000" }));
        Assert.Contains((await operatorDirectories.ListResourceDirectoriesAsync(new ListResourceDirectoriesRequest { PageSize = 100 })).Directories,
            d => d.DirectoryId == directory.DirectoryId);
    }
}
