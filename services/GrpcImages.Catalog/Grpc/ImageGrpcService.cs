using Grpc.Core;
using GrpcImages.Catalog.Domain;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.ServiceDefaults.Identity;

namespace GrpcImages.Catalog.Grpc;

public sealed class ImageGrpcService(ImageManager images) : ImageService.ImageServiceBase
{
    public override async Task<CreateImageResponse> CreateImage(CreateImageRequest request, ServerCallContext context) =>
        new() { Image = await images.CreateAsync(context.GetCaller(), request) };

    public override async Task<GetImageResponse> GetImage(GetImageRequest request, ServerCallContext context) =>
        new() { Image = await images.GetAsync(context.GetCaller(), request.RegionId, request.ImageId) };

    public override async Task<ListImagesResponse> ListImages(ListImagesRequest request, ServerCallContext context)
    {
        var (list, next) = await images.ListAsync(context.GetCaller(), request);
        return new ListImagesResponse { Images = { list }, NextPageToken = next };
    }

    public override async Task<UpdateImageResponse> UpdateImage(UpdateImageRequest request, ServerCallContext context) =>
        new() { Image = await images.UpdateAsync(context.GetCaller(), request) };

    public override async Task<DeleteImageResponse> DeleteImage(DeleteImageRequest request, ServerCallContext context) =>
        new() { Deleted = await images.DeleteAsync(context.GetCaller(), request) };
}
