using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Common.V1;
using GrpcImages.ServiceDefaults.Errors;
using GrpcImages.ServiceDefaults.Hosting;
using GrpcImages.ServiceDefaults.Identity;

namespace GrpcImages.Catalog.Domain;

/// <summary>ListZones and ListInstanceTypes: the platform's offerings, narrowed to a zone or to the types an image runs on.</summary>
public sealed class OfferingQueries(PlatformOfferings offerings, ImageAccess access, Regions regions)
{
    public IReadOnlyList<Zone> Zones(string regionId) => offerings.Zones(regionId);

    public async Task<ListInstanceTypesResponse> ListInstanceTypesAsync(Caller caller, ListInstanceTypesRequest request)
    {
        if (request.InstanceTypeIds.Count > 100)
        {
            throw Fault.InvalidArgument("InvalidInstanceType.ValueNotSupported", "instance_type_ids", "At most 100 instance types.");
        }
        IEnumerable<InstanceType> types = PlatformOfferings.InstanceTypes;
        if (request.ZoneId.Length > 0 || request.ImageId.Length > 0)
        {
            var region = regions.Require(request.RegionId);
            if (request.ZoneId.Length > 0)
            {
                var zone = offerings.RequireZone(region, request.ZoneId);
                types = types.Where(t => zone.AvailableInstanceTypes.Contains(t.InstanceTypeId));
            }
            if (request.ImageId.Length > 0)
            {
                var image = await access.RequireAsync(caller, region, request.ImageId);
                var architecture = image.Architecture == Architecture.Unspecified ? Architecture.X8664 : image.Architecture;
                types = types.Where(t => t.Architecture == architecture);
            }
        }
        else if (request.RegionId.Length > 0)
        {
            regions.Require(request.RegionId);
        }
        var response = new ListInstanceTypesResponse
        {
            InstanceTypes =
            {
                types.Where(t => (request.InstanceTypeIds.Count == 0 || request.InstanceTypeIds.Contains(t.InstanceTypeId)) &&
                                 (request.InstanceTypeFamily.Length == 0 || t.InstanceTypeFamily == request.InstanceTypeFamily)),
            },
        };
        return response;
    }
}
