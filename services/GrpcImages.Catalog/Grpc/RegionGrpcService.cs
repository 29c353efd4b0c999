using Grpc.Core;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.ServiceDefaults.Hosting;
using GrpcImages.ServiceDefaults.Identity;

namespace GrpcImages.Catalog.Grpc;

public sealed class RegionGrpcService(Regions regions) : RegionService.RegionServiceBase
{
    private readonly ListRegionsResponse _response = new()
    {
        Regions = { regions.All.Select(r => new Region { RegionId = r.Id, LocalName = r.Name }) },
    };

    [SelfServiceRpc]
    public override Task<ListRegionsResponse> ListRegions(ListRegionsRequest request, ServerCallContext context) => Task.FromResult(_response);
}
