using Grpc.Core;
using GrpcImages.Catalog.Domain;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.ServiceDefaults.Identity;

namespace GrpcImages.Catalog.Grpc;

public sealed class KeyPairGrpcService(KeyPairManager keyPairs) : KeyPairService.KeyPairServiceBase
{
    public override Task<CreateKeyPairResponse> CreateKeyPair(CreateKeyPairRequest request, ServerCallContext context) =>
        keyPairs.CreateAsync(context.GetCaller(), request);

    public override async Task<ImportKeyPairResponse> ImportKeyPair(ImportKeyPairRequest request, ServerCallContext context) =>
        new() { KeyPair = await keyPairs.ImportAsync(context.GetCaller(), request) };

    public override Task<ListKeyPairsResponse> ListKeyPairs(ListKeyPairsRequest request, ServerCallContext context) =>
        keyPairs.ListAsync(context.GetCaller(), request);

    public override async Task<DeleteKeyPairsResponse> DeleteKeyPairs(DeleteKeyPairsRequest request, ServerCallContext context) =>
        new() { Deleted = { await keyPairs.DeleteAsync(context.GetCaller(), request) } };

    public override async Task<AttachKeyPairResponse> AttachKeyPair(AttachKeyPairRequest request, ServerCallContext context) =>
        new() { KeyPair = await keyPairs.AttachAsync(context.GetCaller(), request) };

    public override Task<DetachKeyPairResponse> DetachKeyPair(DetachKeyPairRequest request, ServerCallContext context) =>
        keyPairs.DetachAsync(context.GetCaller(), request);
}
