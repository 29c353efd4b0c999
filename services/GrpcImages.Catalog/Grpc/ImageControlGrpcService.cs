using Grpc.Core;
using GrpcImages.Catalog.Domain;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.ServiceDefaults.Identity;

namespace GrpcImages.Catalog.Grpc;

/// <summary>For the transfer service: the content of images and snapshots, and the images and snapshots copies and imports make.</summary>
[InternalRpc]
public sealed class ImageControlGrpcService(ImageControl control, PendingResources pending) : ImageControlService.ImageControlServiceBase
{
    public override Task<GetImageContentResponse> GetImageContent(GetImageContentRequest request, ServerCallContext context) =>
        control.GetImageContentAsync(context.GetCaller(), request.RegionId, request.ImageId, request.AccountId);

    public override Task<GetSnapshotContentResponse> GetSnapshotContent(GetSnapshotContentRequest request, ServerCallContext context) =>
        control.GetSnapshotContentAsync(request);

    public override async Task<CreatePendingImageResponse> CreatePendingImage(CreatePendingImageRequest request, ServerCallContext context) =>
        new() { Image = await pending.CreateImageAsync(request) };

    public override async Task<CreatePendingSnapshotResponse> CreatePendingSnapshot(CreatePendingSnapshotRequest request, ServerCallContext context) =>
        new() { Snapshot = await pending.CreateSnapshotAsync(request) };

    public override async Task<UpdatePendingResponse> UpdatePending(UpdatePendingRequest request, ServerCallContext context)
    {
        await pending.UpdateAsync(request);
        return new UpdatePendingResponse();
    }

    public override async Task<CompletePendingResponse> CompletePending(CompletePendingRequest request, ServerCallContext context)
    {
        await pending.CompleteAsync(request);
        return new CompletePendingResponse();
    }

    public override async Task<RecordShareChangesResponse> RecordShareChanges(RecordShareChangesRequest request, ServerCallContext context)
    {
        await control.RecordShareChangesAsync(request);
        return new RecordShareChangesResponse();
    }

    public override async Task<FailPendingResponse> FailPending(FailPendingRequest request, ServerCallContext context)
    {
        await pending.FailAsync(request);
        return new FailPendingResponse();
    }

    public override async Task<HoldImageResponse> HoldImage(HoldImageRequest request, ServerCallContext context)
    {
        await control.HoldAsync(request);
        return new HoldImageResponse();
    }

    public override async Task<ReleaseImageHoldResponse> ReleaseImageHold(ReleaseImageHoldRequest request, ServerCallContext context)
    {
        await control.ReleaseHoldAsync(request);
        return new ReleaseImageHoldResponse();
    }
}
