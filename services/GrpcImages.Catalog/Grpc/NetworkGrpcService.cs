using Grpc.Core;
using GrpcImages.Catalog.Domain;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.ServiceDefaults.Identity;

namespace GrpcImages.Catalog.Grpc;

public sealed class NetworkGrpcService(NetworkManager networks) : NetworkService.NetworkServiceBase
{
    public override async Task<CreateVpcResponse> CreateVpc(CreateVpcRequest request, ServerCallContext context) =>
        new() { Vpc = await networks.CreateVpcAsync(context.GetCaller(), request) };

    public override async Task<GetVpcResponse> GetVpc(GetVpcRequest request, ServerCallContext context) =>
        new() { Vpc = await networks.GetVpcAsync(context.GetCaller(), request.RegionId, request.VpcId) };

    public override Task<ListVpcsResponse> ListVpcs(ListVpcsRequest request, ServerCallContext context) =>
        networks.ListVpcsAsync(context.GetCaller(), request);

    public override async Task<DeleteVpcResponse> DeleteVpc(DeleteVpcRequest request, ServerCallContext context) =>
        new() { Deleted = await networks.DeleteVpcAsync(context.GetCaller(), request.RegionId, request.VpcId) };

    public override async Task<CreateVSwitchResponse> CreateVSwitch(CreateVSwitchRequest request, ServerCallContext context) =>
        new() { Vswitch = await networks.CreateVSwitchAsync(context.GetCaller(), request) };

    public override async Task<GetVSwitchResponse> GetVSwitch(GetVSwitchRequest request, ServerCallContext context) =>
        new() { Vswitch = await networks.GetVSwitchAsync(context.GetCaller(), request.RegionId, request.VswitchId) };

    public override Task<ListVSwitchesResponse> ListVSwitches(ListVSwitchesRequest request, ServerCallContext context) =>
        networks.ListVSwitchesAsync(context.GetCaller(), request);

    public override async Task<DeleteVSwitchResponse> DeleteVSwitch(DeleteVSwitchRequest request, ServerCallContext context) =>
        new() { Deleted = await networks.DeleteVSwitchAsync(context.GetCaller(), request.RegionId, request.VswitchId) };
}
