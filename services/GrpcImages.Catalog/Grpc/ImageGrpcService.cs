using Grpc.Core;
using GrpcImages.Catalog.Domain;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.ServiceDefaults.Identity;

namespace GrpcImages.Catalog.Grpc;

public sealed class ImageGrpcService(ImageCreation creation, ImageQueries queries, ImageUpdate update, ImageDeletion deletion, ImageWatches watches)
    : ImageService.ImageServiceBase
{
    public override async Task<CreateImageResponse> CreateImage(CreateImageRequest request, ServerCallContext context) =>
        new() { Image = await creation.CreateAsync(context.GetCaller(), request) };

    public override async Task<GetImageResponse> GetImage(GetImageRequest request, ServerCallContext context) =>
        new() { Image = await queries.GetAsync(context.GetCaller(), request.RegionId, request.ImageId) };

    public override Task<ListImagesResponse> ListImages(ListImagesRequest request, ServerCallContext context) =>
        queries.ListAsync(context.GetCaller(), request);

    public override async Task<UpdateImageResponse> UpdateImage(UpdateImageRequest request, ServerCallContext context) =>
        new() { Image = await update.UpdateAsync(context.GetCaller(), request) };

    public override async Task<DeleteImageResponse> DeleteImage(DeleteImageRequest request, ServerCallContext context) =>
        new() { Deleted = await deletion.DeleteAsync(context.GetCaller(), request) };

    public override async Task WatchImages(WatchImagesRequest request, IServerStreamWriter<WatchImagesResponse> responseStream, ServerCallContext context)
    {
        await using var watch = await watches.OpenAsync(context.GetCaller(), request.RegionId);
        await context.WriteResponseHeadersAsync([]); // the watch is open: the caller may list now and miss nothing
        await foreach (var change in watch.ReadAllAsync(context.CancellationToken))
        {
            await responseStream.WriteAsync(change, context.CancellationToken);
        }
    }
}
