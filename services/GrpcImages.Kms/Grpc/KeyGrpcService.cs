using Grpc.Core;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.Kms.Domain;
using GrpcImages.ServiceDefaults.Identity;

namespace GrpcImages.Kms.Grpc;

[RamProduct("kms")]
public sealed class KeyGrpcService(KeyManager keys) : KeyService.KeyServiceBase
{
    public override async Task<EnableKmsResponse> EnableKms(EnableKmsRequest request, ServerCallContext context)
    {
        await keys.EnableKmsAsync(context.GetCaller(), request.RegionId);
        return new EnableKmsResponse { Enabled = true };
    }

    public override async Task<GetKmsStatusResponse> GetKmsStatus(GetKmsStatusRequest request, ServerCallContext context) =>
        new() { Enabled = await keys.IsEnabledAsync(context.GetCaller(), request.RegionId) };

    public override async Task<CreateKeyResponse> CreateKey(CreateKeyRequest request, ServerCallContext context) =>
        new() { Key = await keys.CreateKeyAsync(context.GetCaller(), request) };

    public override async Task<GetKeyResponse> GetKey(GetKeyRequest request, ServerCallContext context) =>
        new() { Key = await keys.GetKeyAsync(context.GetCaller(), request.RegionId, request.KeyId) };

    public override async Task<ListKeysResponse> ListKeys(ListKeysRequest request, ServerCallContext context)
    {
        var (list, next) = await keys.ListKeysAsync(context.GetCaller(), request);
        return new ListKeysResponse { Keys = { list }, NextPageToken = next };
    }

    public override async Task<EnableKeyResponse> EnableKey(EnableKeyRequest request, ServerCallContext context) =>
        new() { Key = await keys.EnableKeyAsync(context.GetCaller(), request.RegionId, request.KeyId) };

    public override async Task<DisableKeyResponse> DisableKey(DisableKeyRequest request, ServerCallContext context) =>
        new() { Key = await keys.DisableKeyAsync(context.GetCaller(), request.RegionId, request.KeyId) };

    public override async Task<ScheduleKeyDeletionResponse> ScheduleKeyDeletion(ScheduleKeyDeletionRequest request, ServerCallContext context) =>
        new() { Key = await keys.ScheduleDeletionAsync(context.GetCaller(), request) };

    public override async Task<CancelKeyDeletionResponse> CancelKeyDeletion(CancelKeyDeletionRequest request, ServerCallContext context) =>
        new() { Key = await keys.CancelDeletionAsync(context.GetCaller(), request.RegionId, request.KeyId) };

    [InternalRpc]
    public override async Task<CheckKeyUsableResponse> CheckKeyUsable(CheckKeyUsableRequest request, ServerCallContext context) =>
        new() { Key = await keys.CheckUsableAsync(request.AccountId, request.RegionId, request.KeyId) };

    [InternalRpc]
    public override Task<ResolveEncryptionResponse> ResolveEncryption(ResolveEncryptionRequest request, ServerCallContext context) =>
        keys.ResolveAsync(request);

    [InternalRpc]
    public override Task<GenerateDataKeyResponse> GenerateDataKey(GenerateDataKeyRequest request, ServerCallContext context) =>
        keys.GenerateDataKeyAsync(request);

    [InternalRpc]
    public override Task<DecryptDataKeyResponse> DecryptDataKey(DecryptDataKeyRequest request, ServerCallContext context) =>
        keys.DecryptDataKeyAsync(request);
}
