using Grpc.Core;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.Kms.Domain;
using GrpcImages.ServiceDefaults.Identity;

namespace GrpcImages.Kms.Grpc;

[RamProduct("ram")]
public sealed class AccessKeyGrpcService(AccessKeys keys) : AccessKeyService.AccessKeyServiceBase
{
    public override async Task<CreateAccessKeyResponse> CreateAccessKey(CreateAccessKeyRequest request, ServerCallContext context)
    {
        var (key, secret) = await keys.CreateAsync(context.GetCaller(), request);
        return new CreateAccessKeyResponse { AccessKey = key, AccessKeySecret = secret };
    }

    public override async Task<ListAccessKeysResponse> ListAccessKeys(ListAccessKeysRequest request, ServerCallContext context) =>
        new() { AccessKeys = { await keys.ListAsync(context.GetCaller(), request) } };

    public override async Task<UpdateAccessKeyResponse> UpdateAccessKey(UpdateAccessKeyRequest request, ServerCallContext context) =>
        new() { AccessKey = await keys.UpdateAsync(context.GetCaller(), request) };

    public override async Task<DeleteAccessKeyResponse> DeleteAccessKey(DeleteAccessKeyRequest request, ServerCallContext context)
    {
        await keys.DeleteAsync(context.GetCaller(), request);
        return new DeleteAccessKeyResponse();
    }

    /// <summary>Anonymous at the transport: the signature made with the pair's secret stands in for a token.</summary>
    [Microsoft.AspNetCore.Authorization.AllowAnonymous]
    public override Task<SignInResponse> SignIn(SignInRequest request, ServerCallContext context) => keys.SignInAsync(request);

    [InternalRpc]
    public override Task<VerifySignatureResponse> VerifySignature(VerifySignatureRequest request, ServerCallContext context) =>
        keys.VerifyAsync(request);
}
