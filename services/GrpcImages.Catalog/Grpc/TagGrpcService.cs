using Grpc.Core;
using GrpcImages.Catalog.Domain;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.ServiceDefaults.Identity;

namespace GrpcImages.Catalog.Grpc;

public sealed class TagGrpcService(TagManager tags) : TagService.TagServiceBase
{
    public override async Task<TagResourcesResponse> TagResources(TagResourcesRequest request, ServerCallContext context)
    {
        await tags.TagAsync(context.GetCaller(), request);
        return new();
    }

    public override async Task<UntagResourcesResponse> UntagResources(UntagResourcesRequest request, ServerCallContext context)
    {
        await tags.UntagAsync(context.GetCaller(), request);
        return new();
    }

    public override Task<ListTagResourcesResponse> ListTagResources(ListTagResourcesRequest request, ServerCallContext context) =>
        tags.ListAsync(context.GetCaller(), request);
}
