using System.CommandLine;
using GrpcImages.Contracts.Kms.V1;

namespace GrpcImages.Cli;

/// <summary>Resource directories (R37): folders, members and handshakes; images are shared with them by `images share --add-org`.</summary>
internal static partial class Commands
{
    private static Command Directories(TextWriter output)
    {
        var directoryId = Id("directory-id");
        var folderId = Id("folder-id");
        var accountId = Id("account-id");
        var handshakeId = Id("handshake-id");
        var directory = new Option<string>("--directory") { Description = "The directory (default: the caller's own)", DefaultValueFactory = _ => "" };
        var folder = new Option<string>("--folder") { Description = "A folder of the directory (default: its root folder)", DefaultValueFactory = _ => "" };
        var management = new Option<string>("--management-account") { Description = "The management account (an operator names it)", DefaultValueFactory = _ => "" };
        var note = new Option<string>("--note") { Description = "A note for the invited account", DefaultValueFactory = _ => "" };
        var name = Id("folder-name");
        var anyAccount = new Argument<string?>("account-id") { Arity = ArgumentArity.ZeroOrOne };
        ResourceDirectoryService.ResourceDirectoryServiceClient Rd(Connection c) => c.Kms<ResourceDirectoryService.ResourceDirectoryServiceClient>();
        void ShowMembers(Output o, IReadOnlyList<Membership> members, Google.Protobuf.IMessage page) =>
            o.List(members, page, ("ACCOUNT", m => m.AccountId), ("FOLDER", m => m.FolderId), ("SITE", m => m.Site.ToString()), ("NAME", m => m.DisplayName));
        void ShowHandshake(Output o, Handshake h) =>
            o.Message(h, ("handshake", () => h.HandshakeId), ("directory", () => h.DirectoryId), ("account", () => h.TargetAccountId), ("status", () => h.Status.ToString()));
        void ShowDirectory(Output o, ResourceDirectory d) =>
            o.Message(d, ("directory", () => d.DirectoryId), ("management account", () => d.ManagementAccountId), ("root folder", () => d.RootFolderId),
                ("members", () => d.MemberCount.ToString(System.Globalization.CultureInfo.InvariantCulture)));

        return Group("directory", "Resource directories of organizations, their folders and members (R37).",
            Cmd("create", "Create a directory managed by the caller's account (or, for an operator, --management-account); prints its id.", output, async (p, c, o) =>
            {
                var created = (await Rd(c).CreateResourceDirectoryAsync(new CreateResourceDirectoryRequest { ManagementAccountId = p.GetValue(management)! })).Directory;
                o.Id(created, created.DirectoryId);
            }, management),
            Cmd("get", "Show a directory (default: the caller's own).", output, async (p, c, o) =>
                ShowDirectory(o, (await Rd(c).GetResourceDirectoryAsync(new GetResourceDirectoryRequest { DirectoryId = p.GetValue(directory)! })).Directory), directory),
            Cmd("delete", "Delete a directory whose only member is its management account.", output, async (p, c, o) =>
            {
                await Rd(c).DeleteResourceDirectoryAsync(new DeleteResourceDirectoryRequest { DirectoryId = p.GetValue(directoryId)! });
                o.Line("deleted");
            }, directoryId),
            Group("folders", "Folders of a directory.",
                Cmd("create", "Create a folder under a parent folder; prints its id.", output, async (p, c, o) =>
                {
                    var created = (await Rd(c).CreateFolderAsync(new CreateFolderRequest { ParentFolderId = p.GetValue(folderId)!, FolderName = p.GetValue(name)! })).Folder;
                    o.Id(created, created.FolderId);
                }, folderId, name),
                Cmd("list", "The sub-folders of a folder (default: of the root folder).", output, async (p, c, o) =>
                {
                    var response = await Rd(c).ListFoldersAsync(new ListFoldersRequest { ParentFolderId = p.GetValue(folder)!, PageSize = 100 });
                    o.List(response.Folders, response, ("FOLDER", f => f.FolderId), ("NAME", f => f.FolderName), ("PATH", f => f.Path));
                }, folder),
                Cmd("delete", "Delete an empty folder.", output, async (p, c, o) =>
                {
                    await Rd(c).DeleteFolderAsync(new DeleteFolderRequest { FolderId = p.GetValue(folderId)! });
                    o.Line("deleted");
                }, folderId)),
            Cmd("members", "The members of a directory, or of one folder.", output, async (p, c, o) =>
            {
                var response = await Rd(c).ListMembersAsync(new ListMembersRequest { DirectoryId = p.GetValue(directory)!, FolderId = p.GetValue(folder)!, PageSize = 100 });
                ShowMembers(o, response.Members, response);
            }, directory, folder),
            Cmd("membership", "Which directory and folder an account belongs to (default: the caller's).", output, async (p, c, o) =>
            {
                var m = (await Rd(c).GetMembershipAsync(new GetMembershipRequest { AccountId = p.GetValue(anyAccount) ?? "" })).Membership;
                o.Message(m, ("account", () => m.AccountId), ("directory", () => m.DirectoryId), ("folder", () => m.FolderId), ("path", () => m.Path));
            }, anyAccount),
            Cmd("invite", "Invite an account to join the directory (it accepts with `directory accept`).", output, async (p, c, o) =>
                ShowHandshake(o, (await Rd(c).InviteAccountAsync(new InviteAccountRequest
                {
                    DirectoryId = p.GetValue(directoryId)!, TargetAccountId = p.GetValue(accountId)!, Note = p.GetValue(note)!,
                })).Handshake), directoryId, accountId, note),
            Cmd("accept", "Accept an invitation: the account joins the directory's root folder.", output, async (p, c, o) =>
                ShowHandshake(o, (await Rd(c).AcceptHandshakeAsync(new AcceptHandshakeRequest { HandshakeId = p.GetValue(handshakeId)! })).Handshake), handshakeId),
            Cmd("decline", "Decline an invitation.", output, async (p, c, o) =>
                ShowHandshake(o, (await Rd(c).DeclineHandshakeAsync(new DeclineHandshakeRequest { HandshakeId = p.GetValue(handshakeId)! })).Handshake), handshakeId),
            Cmd("handshakes", "Invitations sent to the caller's account, or (--directory) those a directory sent.", output, async (p, c, o) =>
            {
                var response = await Rd(c).ListHandshakesAsync(new ListHandshakesRequest { DirectoryId = p.GetValue(directory)!, PageSize = 100 });
                o.List(response.Handshakes, response, ("HANDSHAKE", h => h.HandshakeId), ("DIRECTORY", h => h.DirectoryId), ("ACCOUNT", h => h.TargetAccountId),
                    ("STATUS", h => h.Status.ToString()));
            }, directory),
            Cmd("add", "Add an account without a handshake (operator only).", output, async (p, c, o) =>
            {
                var response = await Rd(c).AddAccountAsync(new AddAccountRequest { DirectoryId = p.GetValue(directoryId)!, AccountId = p.GetValue(accountId)!, FolderId = p.GetValue(folder)! });
                ShowMembers(o, [response.Membership], response);
            }, directoryId, accountId, folder),
            Cmd("move", "Move a member to another folder of its directory.", output, async (p, c, o) =>
            {
                var response = await Rd(c).MoveAccountAsync(new MoveAccountRequest { AccountId = p.GetValue(accountId)!, DestinationFolderId = p.GetValue(folderId)! });
                ShowMembers(o, [response.Membership], response);
            }, accountId, folderId),
            Cmd("remove", "Remove a member from the directory: it loses what was shared with the organization.", output, async (p, c, o) =>
            {
                await Rd(c).RemoveAccountAsync(new RemoveAccountRequest { DirectoryId = p.GetValue(directoryId)!, AccountId = p.GetValue(accountId)! });
                o.Line("removed");
            }, directoryId, accountId));
    }
}
