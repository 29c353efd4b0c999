using Grpc.Core;
using GrpcImages.Catalog.Domain;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.ServiceDefaults.Identity;

namespace GrpcImages.Catalog.Grpc;

public sealed class InstanceGrpcService(InstanceManager instances) : InstanceService.InstanceServiceBase
{
    public override async Task<CreateInstanceResponse> CreateInstance(CreateInstanceRequest request, ServerCallContext context) =>
        new() { Instance = await instances.CreateAsync(context.GetCaller(), request) };

    public override async Task<GetInstanceResponse> GetInstance(GetInstanceRequest request, ServerCallContext context) =>
        new() { Instance = await instances.GetAsync(context.GetCaller(), request.RegionId, request.InstanceId) };

    public override Task<ListInstancesResponse> ListInstances(ListInstancesRequest request, ServerCallContext context) =>
        instances.ListAsync(context.GetCaller(), request);

    public override async Task<StopInstanceResponse> StopInstance(StopInstanceRequest request, ServerCallContext context) =>
        new() { Instance = await instances.StopAsync(context.GetCaller(), request.RegionId, request.InstanceId) };

    public override async Task<StartInstanceResponse> StartInstance(StartInstanceRequest request, ServerCallContext context) =>
        new() { Instance = await instances.StartAsync(context.GetCaller(), request.RegionId, request.InstanceId) };

    public override async Task<ReinitializeSystemDiskResponse> ReinitializeSystemDisk(ReinitializeSystemDiskRequest request, ServerCallContext context) =>
        new() { Instance = await instances.ReinitializeSystemDiskAsync(context.GetCaller(), request) };

    public override async Task<ReplaceSystemDiskResponse> ReplaceSystemDisk(ReplaceSystemDiskRequest request, ServerCallContext context) =>
        new() { Instance = await instances.ReplaceSystemDiskAsync(context.GetCaller(), request) };

    public override async Task<DeleteInstanceResponse> DeleteInstance(DeleteInstanceRequest request, ServerCallContext context) =>
        new() { Deleted = await instances.DeleteAsync(context.GetCaller(), request.RegionId, request.InstanceId) };

    public override Task<ListDisksResponse> ListDisks(ListDisksRequest request, ServerCallContext context) =>
        instances.ListDisksAsync(context.GetCaller(), request);
}
