using Grpc.Core;
using GrpcImages.Catalog.Domain;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.ServiceDefaults.Identity;

namespace GrpcImages.Catalog.Grpc;

public sealed class AddressGrpcService(AddressManager addresses) : AddressService.AddressServiceBase
{
    public override async Task<AllocateEipAddressResponse> AllocateEipAddress(AllocateEipAddressRequest request, ServerCallContext context) =>
        new() { EipAddress = await addresses.AllocateEipAsync(context.GetCaller(), request) };

    public override async Task<GetEipAddressResponse> GetEipAddress(GetEipAddressRequest request, ServerCallContext context) =>
        new() { EipAddress = await addresses.GetEipAsync(context.GetCaller(), request.RegionId, request.AllocationId) };

    public override Task<ListEipAddressesResponse> ListEipAddresses(ListEipAddressesRequest request, ServerCallContext context) =>
        addresses.ListEipsAsync(context.GetCaller(), request);

    public override async Task<AssociateEipAddressResponse> AssociateEipAddress(AssociateEipAddressRequest request, ServerCallContext context) =>
        new() { EipAddress = await addresses.AssociateAsync(context.GetCaller(), request) };

    public override async Task<UnassociateEipAddressResponse> UnassociateEipAddress(UnassociateEipAddressRequest request, ServerCallContext context) =>
        new() { EipAddress = await addresses.UnassociateAsync(context.GetCaller(), request) };

    public override async Task<ReleaseEipAddressResponse> ReleaseEipAddress(ReleaseEipAddressRequest request, ServerCallContext context) =>
        new() { Released = await addresses.ReleaseEipAsync(context.GetCaller(), request.RegionId, request.AllocationId) };

    public override async Task<AllocatePublicIpAddressResponse> AllocatePublicIpAddress(AllocatePublicIpAddressRequest request, ServerCallContext context) =>
        new() { IpAddress = await addresses.AllocatePublicIpAsync(context.GetCaller(), request) };
}
