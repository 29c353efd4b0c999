using Grpc.Core;
using GrpcImages.Contracts.Sharing.V1;
using GrpcImages.ServiceDefaults.Identity;
using GrpcImages.Sharing.Domain;

namespace GrpcImages.Sharing.Grpc;

public sealed class SharingGrpcService(ShareManager shares) : SharingService.SharingServiceBase
{
    public override Task<ModifyImageSharePermissionResponse> ModifyImageSharePermission(ModifyImageSharePermissionRequest request, ServerCallContext context) =>
        shares.ModifyAsync(context.GetCaller(), request);

    public override Task<DescribeImageSharePermissionResponse> DescribeImageSharePermission(DescribeImageSharePermissionRequest request, ServerCallContext context) =>
        shares.DescribeAsync(context.GetCaller(), request);

    public override async Task<ListSharedImagesResponse> ListSharedImages(ListSharedImagesRequest request, ServerCallContext context)
    {
        var (images, next) = await shares.ListSharedAsync(context.GetCaller(), request);
        return new ListSharedImagesResponse { Images = { images }, NextPageToken = next };
    }

    public override async Task<ListShareAuditRecordsResponse> ListShareAuditRecords(ListShareAuditRecordsRequest request, ServerCallContext context)
    {
        var (records, next) = await shares.ListAuditAsync(context.GetCaller(), request);
        return new ListShareAuditRecordsResponse { Records = { records }, NextPageToken = next };
    }

    [InternalRpc]
    public override Task<CheckImageAccessResponse> CheckImageAccess(CheckImageAccessRequest request, ServerCallContext context) =>
        shares.CheckAccessAsync(request);

    [InternalRpc]
    public override Task<GetImageShareSummaryResponse> GetImageShareSummary(GetImageShareSummaryRequest request, ServerCallContext context) =>
        shares.SummaryAsync(request.OwnerAccountId, request.ImageId);

    [InternalRpc]
    public override Task<RevokeAllSharesResponse> RevokeAllShares(RevokeAllSharesRequest request, ServerCallContext context) =>
        shares.RevokeAllAsync(context.GetCaller(), request);

    [InternalRpc]
    public override Task<CountSharedImagesResponse> CountSharedImages(CountSharedImagesRequest request, ServerCallContext context) =>
        shares.CountSharedAsync(request);

    [InternalRpc]
    public override Task<ResendSharedImagesResponse> ResendSharedImages(ResendSharedImagesRequest request, ServerCallContext context) =>
        shares.ResendSharedAsync(request);
}
