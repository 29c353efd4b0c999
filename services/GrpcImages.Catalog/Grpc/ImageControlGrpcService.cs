using Grpc.Core;
using GrpcImages.Catalog.Domain;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.ServiceDefaults.Identity;

namespace GrpcImages.Catalog.Grpc;

/// <summary>For the transfer service. Copies and imports (the pending-image RPCs) are not built yet: they answer UNIMPLEMENTED.</summary>
[InternalRpc]
public sealed class ImageControlGrpcService(ImageControl control) : ImageControlService.ImageControlServiceBase
{
    public override Task<GetImageContentResponse> GetImageContent(GetImageContentRequest request, ServerCallContext context) =>
        control.GetImageContentAsync(context.GetCaller(), request.RegionId, request.ImageId, request.AccountId);
}
