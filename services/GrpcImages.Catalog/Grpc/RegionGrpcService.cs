using Grpc.Core;
using GrpcImages.Catalog.Domain;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.ServiceDefaults.Hosting;
using GrpcImages.ServiceDefaults.Identity;

namespace GrpcImages.Catalog.Grpc;

public sealed class RegionGrpcService(Regions regions, OfferingQueries offerings) : RegionService.RegionServiceBase
{
    private readonly ListRegionsResponse _response = new()
    {
        Regions = { regions.All.Select(r => new Region { RegionId = r.Id, LocalName = r.Name }) },
    };

    [SelfServiceRpc]
    public override Task<ListRegionsResponse> ListRegions(ListRegionsRequest request, ServerCallContext context) => Task.FromResult(_response);

    [SelfServiceRpc]
    public override Task<ListZonesResponse> ListZones(ListZonesRequest request, ServerCallContext context) =>
        Task.FromResult(new ListZonesResponse { Zones = { offerings.Zones(request.RegionId) } });

    public override Task<ListInstanceTypesResponse> ListInstanceTypes(ListInstanceTypesRequest request, ServerCallContext context) =>
        offerings.ListInstanceTypesAsync(context.GetCaller(), request);
}
