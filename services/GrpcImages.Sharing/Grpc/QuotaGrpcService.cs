using Grpc.Core;
using GrpcImages.Contracts.Sharing.V1;
using GrpcImages.ServiceDefaults.Identity;
using GrpcImages.Sharing.Domain;

namespace GrpcImages.Sharing.Grpc;

public sealed class QuotaGrpcService(QuotaManager quotas) : QuotaService.QuotaServiceBase
{
    public override async Task<GetQuotasResponse> GetQuotas(GetQuotasRequest request, ServerCallContext context) =>
        new() { Quotas = { await quotas.GetAsync(context.GetCaller(), request) } };

    public override async Task<RequestQuotaIncreaseResponse> RequestQuotaIncrease(RequestQuotaIncreaseRequest request, ServerCallContext context) =>
        new() { Request = await quotas.RequestIncreaseAsync(context.GetCaller(), request) };

    public override async Task<ListQuotaRequestsResponse> ListQuotaRequests(ListQuotaRequestsRequest request, ServerCallContext context)
    {
        var (requests, next) = await quotas.ListRequestsAsync(context.GetCaller(), request);
        return new ListQuotaRequestsResponse { Requests = { requests }, NextPageToken = next };
    }

    public override async Task<ApproveQuotaRequestResponse> ApproveQuotaRequest(ApproveQuotaRequestRequest request, ServerCallContext context) =>
        new() { Request = await quotas.ApproveAsync(context.GetCaller(), request.RequestId, request.Comment) };

    public override async Task<RejectQuotaRequestResponse> RejectQuotaRequest(RejectQuotaRequestRequest request, ServerCallContext context) =>
        new() { Request = await quotas.RejectAsync(context.GetCaller(), request.RequestId, request.Comment) };

    [InternalRpc]
    public override async Task<ReserveQuotaResponse> ReserveQuota(ReserveQuotaRequest request, ServerCallContext context) =>
        new() { Quota = await quotas.ReserveAsync(request) };

    [InternalRpc]
    public override async Task<ReleaseQuotaResponse> ReleaseQuota(ReleaseQuotaRequest request, ServerCallContext context) =>
        new() { Released = await quotas.ReleaseAsync(request) };
}
