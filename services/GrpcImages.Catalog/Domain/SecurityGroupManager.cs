using Google.Protobuf.WellKnownTypes;
using GrpcImages.Catalog.Storage;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.ServiceDefaults.Errors;
using GrpcImages.ServiceDefaults.Hosting;
using GrpcImages.ServiceDefaults.Identity;
using GrpcImages.ServiceDefaults.Storage;
using GrpcImages.ServiceDefaults.Validation;

namespace GrpcImages.Catalog.Domain;

/// <summary>
/// Security groups and their rules (issue 21): a group of a VPC or of the classic network, rules checked and kept in a
/// canonical form (so an equal rule is recognised however it was spelled), at most 200 per group, a group with
/// instances never deleted.
/// </summary>
public sealed class SecurityGroupManager(NetworkStore store, NetworkManager networks, Regions regions, TimeProvider time)
{
    public const int MaxRules = 200;

    private static readonly string[] Protocols = ["tcp", "udp", "icmp", "gre", "all"];

    public async Task<SecurityGroup> CreateAsync(Caller caller, CreateSecurityGroupRequest request)
    {
        var account = caller.RequireAccount();
        var region = regions.Require(request.RegionId);
        NetworkManager.OptionalName(request.SecurityGroupName, "security_group_name", "InvalidSecurityGroupName.Malformed");
        Check.Description(request.Description, "description");
        var token = ClientToken.Of(request, request.ClientToken);
        if (request.VpcId.Length > 0)
        {
            await networks.RequireVpcAsync(account, region, request.VpcId);
        }
        var group = new SecurityGroup
        {
            SecurityGroupId = ResourceIds.New("sg", ResourceIds.OwnerTag(account)),
            RegionId = region,
            OwnerAccountId = account,
            VpcId = request.VpcId,
            SecurityGroupName = request.SecurityGroupName,
            Description = request.Description,
            CreateTime = Timestamp.FromDateTimeOffset(time.GetUtcNow()),
        };
        var (result, detail) = await store.CreateSecurityGroupAsync(group, token);
        return result switch
        {
            CreateResult.Created => group,
            CreateResult.TokenUsed => await GetAsync(caller, region, token.Resolve(detail)!),
            CreateResult.QuotaExceeded => throw NetworkErrors.Quota("QuotaExceeded.SecurityGroup", "security groups per region", NetworkStore.MaxSecurityGroups),
            CreateResult.LinkMissing => throw NetworkErrors.VpcNotFound(request.VpcId),
            _ => throw NetworkErrors.Conflict(),
        };
    }

    public async Task<SecurityGroup> GetAsync(Caller caller, string regionId, string groupId) =>
        (await RequireAsync(caller.RequireAccount(), regions.Require(regionId), groupId)).Value;

    public async Task<ListSecurityGroupsResponse> ListAsync(Caller caller, ListSecurityGroupsRequest request)
    {
        var all = (await store.ListSecurityGroupsAsync(caller.RequireAccount(), regions.Require(request.RegionId)))
            .Where(g => request.VpcId.Length == 0 || g.VpcId == request.VpcId)
            .ToList();
        var (items, next, total) = BoundedPages.Page(all, request.PageSize, request.PageToken);
        return new ListSecurityGroupsResponse { SecurityGroups = { items }, NextPageToken = next, TotalSize = total };
    }

    /// <summary>Deletes a group no instance belongs to (DependencyViolation otherwise).</summary>
    public async Task<bool> DeleteAsync(Caller caller, string regionId, string groupId)
    {
        var account = caller.RequireAccount();
        var region = regions.Require(regionId);
        return await ConflictRetry.RunAsync<bool>(async () =>
        {
            if (await FindAsync(account, region, groupId) is not { } stored)
            {
                return false;
            }
            return await store.DeleteSecurityGroupAsync(stored) switch
            {
                NetworkDeleteResult.Deleted => true,
                NetworkDeleteResult.HasInstances => throw NetworkErrors.HasInstances("security group"),
                _ => Attempt<bool>.Again,
            };
        });
    }

    /// <summary>Adds a rule unless the group has an equal one (AuthorizationLimitExceed past <see cref="MaxRules"/>).</summary>
    public async Task<SecurityGroup> AuthorizeAsync(Caller caller, AuthorizeSecurityGroupRequest request)
    {
        var account = caller.RequireAccount();
        var region = regions.Require(request.RegionId);
        return await ConflictRetry.RunAsync<SecurityGroup>(async () =>
        {
            var stored = await RequireAsync(account, region, request.SecurityGroupId);
            var rule = Canonical(request.Rule, stored.Value.VpcId.Length > 0);
            if (stored.Value.Rules.Any(r => SameRule(r, rule)))
            {
                return stored.Value;
            }
            if (stored.Value.Rules.Count >= MaxRules)
            {
                throw Fault.ResourceExhausted("AuthorizationLimitExceed", $"A security group has at most {MaxRules} rules.");
            }
            var updated = stored.Value.Clone();
            rule.CreateTime = Timestamp.FromDateTimeOffset(time.GetUtcNow());
            updated.Rules.Add(rule);
            return await store.SaveSecurityGroupAsync(stored, updated) ? updated : Attempt<SecurityGroup>.Again;
        });
    }

    /// <summary>Removes the group's rule equal to the one described, if it has one.</summary>
    public async Task<RevokeSecurityGroupResponse> RevokeAsync(Caller caller, RevokeSecurityGroupRequest request)
    {
        var account = caller.RequireAccount();
        var region = regions.Require(request.RegionId);
        return await ConflictRetry.RunAsync<RevokeSecurityGroupResponse>(async () =>
        {
            var stored = await RequireAsync(account, region, request.SecurityGroupId);
            var rule = Canonical(request.Rule, stored.Value.VpcId.Length > 0);
            var existing = stored.Value.Rules.FirstOrDefault(r => SameRule(r, rule));
            if (existing is null)
            {
                return new RevokeSecurityGroupResponse { SecurityGroup = stored.Value, Removed = false };
            }
            var updated = stored.Value.Clone();
            updated.Rules.RemoveAt(stored.Value.Rules.IndexOf(existing));
            return await store.SaveSecurityGroupAsync(stored, updated)
                ? new RevokeSecurityGroupResponse { SecurityGroup = updated, Removed = true }
                : Attempt<RevokeSecurityGroupResponse>.Again;
        });
    }

    public async Task<Versioned<SecurityGroup>?> FindAsync(string account, string region, string groupId)
    {
        var stored = ResourceIds.IsValid(groupId, "sg") ? await store.GetSecurityGroupAsync(groupId) : null;
        return stored is not null && stored.Value.OwnerAccountId == account && stored.Value.RegionId == region ? stored : null;
    }

    public async Task<Versioned<SecurityGroup>> RequireAsync(string account, string region, string groupId) =>
        await FindAsync(account, region, groupId) ?? throw NetworkErrors.SecurityGroupNotFound(groupId);

    /// <summary>
    /// A rule checked and spelled one way: lower-case protocol, policy and NIC type, the CIDR as a block, the defaults
    /// filled in (accept, priority 1; intranet for a VPC group, internet for a classic one, whose rules may name either).
    /// </summary>
    public static SecurityGroupRule Canonical(SecurityGroupRule? rule, bool vpcGroup)
    {
        if (rule is null || rule.Direction == RuleDirection.Unspecified)
        {
            throw Fault.InvalidArgument("InvalidParameter", "rule.direction", "A rule is an ingress or an egress rule.");
        }
        var ingress = rule.Direction == RuleDirection.Ingress;
        var protocol = rule.IpProtocol.ToLowerInvariant();
        if (!Protocols.Contains(protocol))
        {
            throw Fault.InvalidArgument("InvalidIpProtocol.Malformed", "rule.ip_protocol", "The protocol is tcp, udp, icmp, gre or all.");
        }
        var ports = PortRange(rule.PortRange, protocol is "tcp" or "udp");
        var cidr = Cidr.Parse(rule.CidrIp, bareAddress: true) ?? throw Fault.InvalidArgument(
            ingress ? "InvalidSourceCidrIp.Malformed" : "InvalidDestCidrIp.Malformed", "rule.cidr_ip", "The address is an IPv4 address or CIDR block, e.g. 0.0.0.0/0.");
        var nic = rule.NicType.ToLowerInvariant() switch
        {
            "" => vpcGroup ? "intranet" : "internet",
            "internet" or "intranet" when vpcGroup => "intranet", // a VPC group's rules apply to its private network
            "internet" or "intranet" => rule.NicType.ToLowerInvariant(),
            _ => throw Fault.InvalidArgument("InvalidNicType.ValueNotSupported", "rule.nic_type", "The NIC type is internet or intranet."),
        };
        var policy = rule.Policy.ToLowerInvariant() switch
        {
            "" or "accept" => "accept",
            "drop" => "drop",
            _ => throw Fault.InvalidArgument("InvalidPolicy.Malformed", "rule.policy", "The policy is accept or drop."),
        };
        var priority = rule.Priority == 0 ? 1 : rule.Priority;
        if (priority is < 1 or > 100)
        {
            throw Fault.InvalidArgument("InvalidPriority.Malformed", "rule.priority", "The priority is 1 to 100.");
        }
        if (rule.Description.Length > 512)
        {
            throw Fault.InvalidArgument("InvalidDescription.Malformed", "rule.description", "A rule's description is at most 512 characters.");
        }
        return new SecurityGroupRule
        {
            Direction = rule.Direction,
            IpProtocol = protocol,
            PortRange = ports,
            CidrIp = cidr.ToString(),
            NicType = nic,
            Policy = policy,
            Priority = priority,
            Description = rule.Description,
        };
    }

    private static bool SameRule(SecurityGroupRule a, SecurityGroupRule b) =>
        a.Direction == b.Direction && a.IpProtocol == b.IpProtocol && a.PortRange == b.PortRange && a.CidrIp == b.CidrIp &&
        a.NicType == b.NicType && a.Policy == b.Policy;

    /// <summary>"from/to" of ports 1-65535 for tcp and udp; "-1/-1" (or empty) for the protocols without ports.</summary>
    private static string PortRange(string text, bool hasPorts)
    {
        if (!hasPorts)
        {
            return text is "" or "-1/-1"
                ? "-1/-1"
                : throw Fault.InvalidArgument("InvalidIpPortRange.Malformed", "rule.port_range", "icmp, gre and all take the port range -1/-1.");
        }
        var slash = text.IndexOf('/');
        if (slash > 0 && int.TryParse(text.AsSpan(0, slash), System.Globalization.NumberStyles.None, null, out var from) &&
            int.TryParse(text.AsSpan(slash + 1), System.Globalization.NumberStyles.None, null, out var to) && from is >= 1 and <= 65535 && to >= from && to <= 65535)
        {
            return $"{from}/{to}";
        }
        throw Fault.InvalidArgument("InvalidIpPortRange.Malformed", "rule.port_range", "tcp and udp take a port range from/to of ports 1 to 65535, e.g. 22/22.");
    }
}
