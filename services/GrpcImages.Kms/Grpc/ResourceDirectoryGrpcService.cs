using Grpc.Core;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.Kms.Domain;
using GrpcImages.ServiceDefaults.Identity;

namespace GrpcImages.Kms.Grpc;

[RamProduct("resourcemanager")]
public sealed class ResourceDirectoryGrpcService(ResourceDirectories directories) : ResourceDirectoryService.ResourceDirectoryServiceBase
{
    public override async Task<CreateResourceDirectoryResponse> CreateResourceDirectory(CreateResourceDirectoryRequest request, ServerCallContext context) =>
        new() { Directory = await directories.CreateDirectoryAsync(context.GetCaller(), request) };

    public override async Task<GetResourceDirectoryResponse> GetResourceDirectory(GetResourceDirectoryRequest request, ServerCallContext context) =>
        new() { Directory = await directories.GetDirectoryAsync(context.GetCaller(), request.DirectoryId) };

    public override async Task<ListResourceDirectoriesResponse> ListResourceDirectories(ListResourceDirectoriesRequest request, ServerCallContext context)
    {
        var (page, next) = await directories.ListDirectoriesAsync(context.GetCaller(), request);
        return new ListResourceDirectoriesResponse { Directories = { page }, NextPageToken = next };
    }

    public override async Task<DeleteResourceDirectoryResponse> DeleteResourceDirectory(DeleteResourceDirectoryRequest request, ServerCallContext context)
    {
        await directories.DeleteDirectoryAsync(context.GetCaller(), request.DirectoryId);
        return new DeleteResourceDirectoryResponse();
    }

    public override async Task<CreateFolderResponse> CreateFolder(CreateFolderRequest request, ServerCallContext context) =>
        new() { Folder = await directories.CreateFolderAsync(context.GetCaller(), request) };

    public override async Task<GetFolderResponse> GetFolder(GetFolderRequest request, ServerCallContext context) =>
        new() { Folder = await directories.GetFolderAsync(context.GetCaller(), request.FolderId) };

    public override async Task<ListFoldersResponse> ListFolders(ListFoldersRequest request, ServerCallContext context)
    {
        var (page, next) = await directories.ListFoldersAsync(context.GetCaller(), request);
        return new ListFoldersResponse { Folders = { page }, NextPageToken = next };
    }

    public override async Task<DeleteFolderResponse> DeleteFolder(DeleteFolderRequest request, ServerCallContext context)
    {
        await directories.DeleteFolderAsync(context.GetCaller(), request.FolderId);
        return new DeleteFolderResponse();
    }

    public override async Task<InviteAccountResponse> InviteAccount(InviteAccountRequest request, ServerCallContext context) =>
        new() { Handshake = await directories.InviteAsync(context.GetCaller(), request) };

    public override async Task<AcceptHandshakeResponse> AcceptHandshake(AcceptHandshakeRequest request, ServerCallContext context) =>
        new() { Handshake = await directories.AcceptAsync(context.GetCaller(), request.HandshakeId) };

    public override async Task<DeclineHandshakeResponse> DeclineHandshake(DeclineHandshakeRequest request, ServerCallContext context) =>
        new() { Handshake = await directories.DeclineAsync(context.GetCaller(), request.HandshakeId) };

    public override async Task<CancelHandshakeResponse> CancelHandshake(CancelHandshakeRequest request, ServerCallContext context) =>
        new() { Handshake = await directories.CancelAsync(context.GetCaller(), request.HandshakeId) };

    public override async Task<ListHandshakesResponse> ListHandshakes(ListHandshakesRequest request, ServerCallContext context)
    {
        var (page, next) = await directories.ListHandshakesAsync(context.GetCaller(), request);
        return new ListHandshakesResponse { Handshakes = { page }, NextPageToken = next };
    }

    public override async Task<AddAccountResponse> AddAccount(AddAccountRequest request, ServerCallContext context) =>
        new() { Membership = await directories.AddAccountAsync(context.GetCaller(), request) };

    public override async Task<MoveAccountResponse> MoveAccount(MoveAccountRequest request, ServerCallContext context) =>
        new() { Membership = await directories.MoveAccountAsync(context.GetCaller(), request) };

    public override async Task<RemoveAccountResponse> RemoveAccount(RemoveAccountRequest request, ServerCallContext context)
    {
        await directories.RemoveAccountAsync(context.GetCaller(), request);
        return new RemoveAccountResponse();
    }

    public override async Task<ListMembersResponse> ListMembers(ListMembersRequest request, ServerCallContext context)
    {
        var (page, next) = await directories.ListMembersAsync(context.GetCaller(), request);
        return new ListMembersResponse { Members = { page }, NextPageToken = next };
    }

    public override async Task<GetMembershipResponse> GetMembership(GetMembershipRequest request, ServerCallContext context) =>
        new() { Membership = await directories.GetMembershipAsync(context.GetCaller(), request.AccountId) };

    [InternalRpc]
    public override async Task<BatchGetMembershipsResponse> BatchGetMemberships(BatchGetMembershipsRequest request, ServerCallContext context) =>
        new() { Memberships = { await directories.BatchGetMembershipsAsync(request) } };
}
