using Grpc.Core;
using GrpcImages.Catalog.Domain;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.ServiceDefaults.Identity;

namespace GrpcImages.Catalog.Grpc;

public sealed class SecurityGroupGrpcService(SecurityGroupManager groups) : SecurityGroupService.SecurityGroupServiceBase
{
    public override async Task<CreateSecurityGroupResponse> CreateSecurityGroup(CreateSecurityGroupRequest request, ServerCallContext context) =>
        new() { SecurityGroup = await groups.CreateAsync(context.GetCaller(), request) };

    public override async Task<GetSecurityGroupResponse> GetSecurityGroup(GetSecurityGroupRequest request, ServerCallContext context) =>
        new() { SecurityGroup = await groups.GetAsync(context.GetCaller(), request.RegionId, request.SecurityGroupId) };

    public override Task<ListSecurityGroupsResponse> ListSecurityGroups(ListSecurityGroupsRequest request, ServerCallContext context) =>
        groups.ListAsync(context.GetCaller(), request);

    public override async Task<DeleteSecurityGroupResponse> DeleteSecurityGroup(DeleteSecurityGroupRequest request, ServerCallContext context) =>
        new() { Deleted = await groups.DeleteAsync(context.GetCaller(), request.RegionId, request.SecurityGroupId) };

    public override async Task<AuthorizeSecurityGroupResponse> AuthorizeSecurityGroup(AuthorizeSecurityGroupRequest request, ServerCallContext context) =>
        new() { SecurityGroup = await groups.AuthorizeAsync(context.GetCaller(), request) };

    public override Task<RevokeSecurityGroupResponse> RevokeSecurityGroup(RevokeSecurityGroupRequest request, ServerCallContext context) =>
        groups.RevokeAsync(context.GetCaller(), request);
}
