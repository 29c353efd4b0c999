using Grpc.Core;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.Kms.Domain;
using GrpcImages.ServiceDefaults.Identity;

namespace GrpcImages.Kms.Grpc;

[RamProduct("ram")]
public sealed class RoleGrpcService(Roles roles) : RoleService.RoleServiceBase
{
    public override async Task<CreateServiceRoleResponse> CreateServiceRole(CreateServiceRoleRequest request, ServerCallContext context) =>
        new() { Role = await roles.CreateAsync(context.GetCaller(), request.AccountId, request.RoleName) };

    public override async Task<GetServiceRoleResponse> GetServiceRole(GetServiceRoleRequest request, ServerCallContext context) =>
        new() { Role = await roles.GetAsync(context.GetCaller(), request.AccountId, request.RoleName) };

    public override async Task<ListServiceRolesResponse> ListServiceRoles(ListServiceRolesRequest request, ServerCallContext context) =>
        new() { Roles = { await roles.ListAsync(context.GetCaller(), request.AccountId) } };

    public override async Task<DeleteServiceRoleResponse> DeleteServiceRole(DeleteServiceRoleRequest request, ServerCallContext context)
    {
        await roles.DeleteAsync(context.GetCaller(), request.AccountId, request.RoleName);
        return new DeleteServiceRoleResponse();
    }
}
