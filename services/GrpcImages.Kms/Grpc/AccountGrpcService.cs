using Grpc.Core;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.Kms.Domain;
using GrpcImages.ServiceDefaults.Identity;
using Microsoft.AspNetCore.Authorization;

namespace GrpcImages.Kms.Grpc;

[RamProduct("ram")]
public sealed class AccountGrpcService(AccountDirectory directory) : AccountService.AccountServiceBase
{
    public override async Task<CreateAccountResponse> CreateAccount(CreateAccountRequest request, ServerCallContext context) =>
        new() { Account = await directory.CreateAccountAsync(context.GetCaller(), request) };

    public override async Task<GetAccountResponse> GetAccount(GetAccountRequest request, ServerCallContext context) =>
        new() { Account = await directory.GetAccountAsync(context.GetCaller(), request.AccountId) };

    public override async Task<ListAccountsResponse> ListAccounts(ListAccountsRequest request, ServerCallContext context)
    {
        var (accounts, next) = await directory.ListAccountsAsync(context.GetCaller(), request.PageSize, request.PageToken);
        return new ListAccountsResponse { Accounts = { accounts }, NextPageToken = next };
    }

    public override async Task<CreateRamUserResponse> CreateRamUser(CreateRamUserRequest request, ServerCallContext context) =>
        new() { User = await directory.CreateRamUserAsync(context.GetCaller(), request) };

    public override async Task<GetRamUserResponse> GetRamUser(GetRamUserRequest request, ServerCallContext context) =>
        new() { User = await directory.GetRamUserAsync(context.GetCaller(), request.AccountId, request.UserName) };

    public override async Task<UpdateRamUserResponse> UpdateRamUser(UpdateRamUserRequest request, ServerCallContext context) =>
        new() { User = await directory.UpdateRamUserAsync(context.GetCaller(), request) };

    public override async Task<DeleteRamUserResponse> DeleteRamUser(DeleteRamUserRequest request, ServerCallContext context)
    {
        await directory.DeleteRamUserAsync(context.GetCaller(), request.AccountId, request.UserName);
        return new DeleteRamUserResponse();
    }

    /// <summary>Anonymous at the transport: the bootstrap credential stands in for a token.</summary>
    [AllowAnonymous]
    public override Task<IssueTokenResponse> IssueToken(IssueTokenRequest request, ServerCallContext context) =>
        directory.IssueTokenAsync(context.FindCaller(), request);

    [SelfServiceRpc]
    public override Task<GetCallerIdentityResponse> GetCallerIdentity(GetCallerIdentityRequest request, ServerCallContext context) =>
        Task.FromResult(new GetCallerIdentityResponse { Principal = AccountDirectory.ToPrincipal(context.GetCaller()) });
}
