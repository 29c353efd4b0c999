using System.Text.Json.Nodes;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Gateway.Ecs;

namespace GrpcImages.Gateway.Actions;

/// <summary>The security group actions of ECS 2014-05-26 on the catalog.</summary>
public static class SecurityGroupActions
{
    public static async Task<JsonObject> CreateSecurityGroup(EcsCall call)
    {
        var p = call.Parameters;
        p.Accept("SecurityGroupType", "ServiceManaged");
        var request = new CreateSecurityGroupRequest
        {
            RegionId = call.Region,
            VpcId = p.Text("VpcId"),
            SecurityGroupName = p.Text("SecurityGroupName"),
            Description = p.Text("Description"),
            ClientToken = p.Text("ClientToken"),
        };
        if (call.Tags().Any())
        {
            // Groups carry no tags here (tags are on images, snapshots and instances).
            throw EcsException.InvalidParameter("Tag.N", "security groups are not tagged here.");
        }
        var created = (await call.Rpc(o => call.Clients.SecurityGroups.CreateSecurityGroupAsync(request, o))).SecurityGroup;
        return new JsonObject { ["SecurityGroupId"] = created.SecurityGroupId };
    }

    public static async Task<JsonObject> DescribeSecurityGroups(EcsCall call)
    {
        var p = call.Parameters;
        var region = call.Region;
        p.Accept("NetworkType", "SecurityGroupType", "IsQueryEcsCount", "MaxResults", "NextToken", "ServiceManaged");
        var vpcId = p.Text("VpcId");
        var ids = p.JsonList("SecurityGroupIds").Concat(p.Optional("SecurityGroupId") is { } one ? [one] : []).ToHashSet(StringComparer.Ordinal);
        var name = p.Optional("SecurityGroupName");
        var (page, total, number, size) = await call.PageAsync<SecurityGroup>(async token =>
        {
            var list = await call.Rpc(o => call.Clients.SecurityGroups.ListSecurityGroupsAsync(
                new ListSecurityGroupsRequest { RegionId = region, VpcId = vpcId, PageSize = 100, PageToken = token }, o));
            return (list.SecurityGroups.Where(g => (ids.Count == 0 || ids.Contains(g.SecurityGroupId)) && (name is null || g.SecurityGroupName == name)),
                list.NextPageToken);
        }, maxSize: 50);
        return new JsonObject
        {
            ["RegionId"] = region,
            ["TotalCount"] = total,
            ["PageNumber"] = number,
            ["PageSize"] = size,
            ["SecurityGroups"] = Shapes.Wrap("SecurityGroup", page.Select(g => (JsonNode)new JsonObject
            {
                ["SecurityGroupId"] = g.SecurityGroupId,
                ["SecurityGroupName"] = g.SecurityGroupName,
                ["Description"] = g.Description,
                ["VpcId"] = g.VpcId,
                ["SecurityGroupType"] = "normal",
                ["EcsCount"] = g.InstanceCount,
                ["CreationTime"] = Shapes.Time(g.CreateTime),
                ["Tags"] = Shapes.Wrap("Tag", []),
            })),
        };
    }

    public static async Task<JsonObject> DescribeSecurityGroupAttribute(EcsCall call)
    {
        var p = call.Parameters;
        var region = call.Region;
        p.Accept("NicType", "MaxResults", "NextToken");
        var direction = p.Optional("Direction") switch
        {
            null or "all" => RuleDirection.Unspecified,
            "ingress" => RuleDirection.Ingress,
            "egress" => RuleDirection.Egress,
            var other => throw EcsException.InvalidParameter("Direction", $"\"{other}\" is all, ingress or egress."),
        };
        var request = new GetSecurityGroupRequest { RegionId = region, SecurityGroupId = p.Required("SecurityGroupId") };
        var group = (await call.Rpc(o => call.Clients.SecurityGroups.GetSecurityGroupAsync(request, o))).SecurityGroup;
        return new JsonObject
        {
            ["RegionId"] = region,
            ["SecurityGroupId"] = group.SecurityGroupId,
            ["SecurityGroupName"] = group.SecurityGroupName,
            ["Description"] = group.Description,
            ["VpcId"] = group.VpcId,
            ["InnerAccessPolicy"] = "Accept",
            ["Permissions"] = Shapes.Wrap("Permission", group.Rules
                .Where(r => direction == RuleDirection.Unspecified || r.Direction == direction)
                .Select(r => (JsonNode)new JsonObject
                {
                    ["Direction"] = r.Direction == RuleDirection.Egress ? "egress" : "ingress",
                    ["IpProtocol"] = r.IpProtocol.ToUpperInvariant(),
                    ["PortRange"] = r.PortRange,
                    ["SourceCidrIp"] = r.Direction == RuleDirection.Ingress ? r.CidrIp : "",
                    ["DestCidrIp"] = r.Direction == RuleDirection.Egress ? r.CidrIp : "",
                    ["NicType"] = r.NicType,
                    ["Policy"] = r.Policy == "drop" ? "Drop" : "Accept",
                    ["Priority"] = r.Priority.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    ["Description"] = r.Description,
                    ["CreateTime"] = Shapes.Time(r.CreateTime),
                })),
        };
    }

    public static async Task<JsonObject> DeleteSecurityGroup(EcsCall call)
    {
        var request = new DeleteSecurityGroupRequest { RegionId = call.Region, SecurityGroupId = call.Parameters.Required("SecurityGroupId") };
        return (await call.Rpc(o => call.Clients.SecurityGroups.DeleteSecurityGroupAsync(request, o))).Deleted
            ? EcsCall.Ok()
            : throw new EcsException(404, "InvalidSecurityGroupId.NotFound", $"The security group {request.SecurityGroupId} does not exist.");
    }

    public static Task<JsonObject> AuthorizeSecurityGroup(EcsCall call) => ChangeRules(call, RuleDirection.Ingress, revoke: false);

    public static Task<JsonObject> AuthorizeSecurityGroupEgress(EcsCall call) => ChangeRules(call, RuleDirection.Egress, revoke: false);

    public static Task<JsonObject> RevokeSecurityGroup(EcsCall call) => ChangeRules(call, RuleDirection.Ingress, revoke: true);

    public static Task<JsonObject> RevokeSecurityGroupEgress(EcsCall call) => ChangeRules(call, RuleDirection.Egress, revoke: true);

    /// <summary>
    /// One rule in the top-level parameters (IpProtocol, PortRange, SourceCidrIp or DestCidrIp, ...) or as
    /// Permissions.1.*, as newer SDKs send it. One rule per call: the cluster changes one rule at a time, and a call
    /// must change all it asks for or nothing.
    /// </summary>
    private static async Task<JsonObject> ChangeRules(EcsCall call, RuleDirection direction, bool revoke)
    {
        var p = call.Parameters;
        var region = call.Region;
        var groupId = p.Required("SecurityGroupId");
        var cidrName = direction == RuleDirection.Ingress ? "SourceCidrIp" : "DestCidrIp";
        // Rules between groups and prefix lists need the other group's addresses, which records here do not have.
        p.Accept(direction == RuleDirection.Ingress ? "SourceGroupOwnerAccount" : "DestGroupOwnerAccount");
        foreach (var refused in new[] { "SourceGroupId", "DestGroupId", "SourcePrefixListId", "DestPrefixListId", "Ipv6SourceCidrIp", "Ipv6DestCidrIp" })
        {
            if (p.Optional(refused) is not null)
            {
                throw EcsException.InvalidParameter(refused, "rules name CIDR blocks here.");
            }
        }
        var rules = new List<SecurityGroupRule>();
        if (p.Optional("IpProtocol") is { } protocol)
        {
            rules.Add(Rule(direction, protocol, p.Text("PortRange"), p.Text(cidrName), p.Text("NicType"), p.Text("Policy"), p.Text("Priority"), p.Text("Description")));
        }
        p.Accept("SourcePortRange", "DestCidrIp", "SourceCidrIp");
        foreach (var item in p.Objects("Permissions", "IpProtocol", "PortRange", cidrName, "NicType", "Policy", "Priority", "Description", "SourcePortRange"))
        {
            rules.Add(Rule(direction, item("IpProtocol") ?? throw EcsException.MissingParameter("Permissions.N.IpProtocol"), item("PortRange") ?? "",
                item(cidrName) ?? "", item("NicType") ?? "", item("Policy") ?? "", item("Priority") ?? "", item("Description") ?? ""));
        }
        if (rules.Count == 0)
        {
            throw EcsException.MissingParameter("IpProtocol");
        }
        if (rules.Count > 1)
        {
            throw EcsException.InvalidParameter("Permissions", "give one rule per call here.");
        }
        if (revoke)
        {
            await call.Rpc(o => call.Clients.SecurityGroups.RevokeSecurityGroupAsync(
                new RevokeSecurityGroupRequest { RegionId = region, SecurityGroupId = groupId, Rule = rules[0] }, o));
        }
        else
        {
            await call.Rpc(o => call.Clients.SecurityGroups.AuthorizeSecurityGroupAsync(
                new AuthorizeSecurityGroupRequest { RegionId = region, SecurityGroupId = groupId, Rule = rules[0] }, o));
        }
        return EcsCall.Ok();
    }

    private static SecurityGroupRule Rule(RuleDirection direction, string protocol, string ports, string cidr, string nicType, string policy, string priority, string description) => new()
    {
        Direction = direction,
        IpProtocol = protocol.ToLowerInvariant(),
        PortRange = ports,
        CidrIp = cidr,
        NicType = nicType,
        Policy = policy.ToLowerInvariant(),
        Priority = priority.Length == 0 ? 0
            : int.TryParse(priority, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value) ? value
            : throw EcsException.BadRequest("InvalidPriority.Malformed", "The priority is a whole number from 1 to 100."),
        Description = description,
    };
}
