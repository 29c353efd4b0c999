using Grpc.Core;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Testing;
using static GrpcImages.IntegrationTests.CatalogSteps;

namespace GrpcImages.IntegrationTests;

/// <summary>
/// Security groups (issue 21): of a VPC or of the classic network, rules checked and recognised however they are spelled,
/// at most 200 of them, a group with instances never deleted, another account's NOT_FOUND.
/// </summary>
public class SecurityGroupTests(ClusterFixture fixture, ITestOutputHelper output) : ClusterTest(fixture, output)
{
    private static SecurityGroupRule Ssh(string ports = "22/22") => new() { Direction = RuleDirection.Ingress, IpProtocol = "tcp", PortRange = ports, CidrIp = "0.0.0.0/0" };

    [Fact]
    public async Task GroupsAreMadeInAVpcOrTheClassicNetworkAndListed()
    {
        var account = await Cluster.NewAccountAsync();
        var vpc = await account.NewVpcAsync();
        var request = new CreateSecurityGroupRequest
        {
            RegionId = Hangzhou, VpcId = vpc.VpcId, SecurityGroupName = "packer_sg", Description = "Temporary", ClientToken = Guid.NewGuid().ToString(),
        };

        var group = (await account.Groups().CreateSecurityGroupAsync(request)).SecurityGroup;
        await NetworkSteps.NextMillisecondAsync();
        var classic = await account.NewGroupAsync();

        Assert.Matches("^sg-[a-z0-9]{20}$", group.SecurityGroupId);
        Assert.Equal((vpc.VpcId, "packer_sg", "Temporary", 0, 0), (group.VpcId, group.SecurityGroupName, group.Description, group.Rules.Count, group.InstanceCount));
        Assert.Equal("", classic.VpcId);
        Assert.Equal(group.SecurityGroupId, (await account.Groups().CreateSecurityGroupAsync(request)).SecurityGroup.SecurityGroupId); // R35
        Assert.Equal(group, (await account.Groups().GetSecurityGroupAsync(new GetSecurityGroupRequest { RegionId = Hangzhou, SecurityGroupId = group.SecurityGroupId })).SecurityGroup);
        Assert.Equal([classic.SecurityGroupId, group.SecurityGroupId],
            (await account.Groups().ListSecurityGroupsAsync(new ListSecurityGroupsRequest { RegionId = Hangzhou })).SecurityGroups.Select(g => g.SecurityGroupId));
        var ofVpc = await account.Groups().ListSecurityGroupsAsync(new ListSecurityGroupsRequest { RegionId = Hangzhou, VpcId = vpc.VpcId });
        Assert.Equal([group.SecurityGroupId], ofVpc.SecurityGroups.Select(g => g.SecurityGroupId));
        Assert.Equal(1, ofVpc.TotalSize);
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidVpcId.NotFound", () =>
            account.Groups().CreateSecurityGroupAsync(new CreateSecurityGroupRequest { RegionId = Hangzhou, VpcId = "vpc-aaaaaaaaaaaaaaaaaaaa" }));
    }

    [Fact]
    public async Task RulesAreAuthorizedOnceAndRevoked()
    {
        var account = await Cluster.NewAccountAsync();
        var group = await account.NewGroupAsync();
        var groups = account.Groups();

        var withSsh = (await groups.AuthorizeSecurityGroupAsync(new AuthorizeSecurityGroupRequest { RegionId = Hangzhou, SecurityGroupId = group.SecurityGroupId, Rule = Ssh() })).SecurityGroup;
        var rule = withSsh.Rules.Single();
        Assert.Equal(("tcp", "22/22", "0.0.0.0/0", "internet", "accept", 1), (rule.IpProtocol, rule.PortRange, rule.CidrIp, rule.NicType, rule.Policy, rule.Priority));
        Assert.NotNull(rule.CreateTime);

        // The same rule spelled otherwise is the same rule: nothing is added.
        var again = new SecurityGroupRule { Direction = RuleDirection.Ingress, IpProtocol = "TCP", PortRange = "22/22", CidrIp = "0.0.0.0/0", NicType = "Internet", Policy = "Accept" };
        Assert.Single((await groups.AuthorizeSecurityGroupAsync(new AuthorizeSecurityGroupRequest { RegionId = Hangzhou, SecurityGroupId = group.SecurityGroupId, Rule = again })).SecurityGroup.Rules);

        var egress = new SecurityGroupRule { Direction = RuleDirection.Egress, IpProtocol = "all", CidrIp = "10.1.2.3", Policy = "drop", Priority = 100, Description = "no 10.1.2.3" };
        var both = (await groups.AuthorizeSecurityGroupAsync(new AuthorizeSecurityGroupRequest { RegionId = Hangzhou, SecurityGroupId = group.SecurityGroupId, Rule = egress })).SecurityGroup;
        Assert.Equal([RuleDirection.Ingress, RuleDirection.Egress], both.Rules.Select(r => r.Direction)); // in the order added
        Assert.Equal(("-1/-1", "10.1.2.3/32", "drop", 100), (both.Rules[1].PortRange, both.Rules[1].CidrIp, both.Rules[1].Policy, both.Rules[1].Priority));
        // An ingress rule of the same shape is another rule than the egress one.
        egress.Direction = RuleDirection.Ingress;
        Assert.Equal(3, (await groups.AuthorizeSecurityGroupAsync(new AuthorizeSecurityGroupRequest { RegionId = Hangzhou, SecurityGroupId = group.SecurityGroupId, Rule = egress })).SecurityGroup.Rules.Count);

        var revoked = await groups.RevokeSecurityGroupAsync(new RevokeSecurityGroupRequest { RegionId = Hangzhou, SecurityGroupId = group.SecurityGroupId, Rule = again });
        Assert.True(revoked.Removed);
        Assert.DoesNotContain(revoked.SecurityGroup.Rules, r => r.PortRange == "22/22");
        var missing = await groups.RevokeSecurityGroupAsync(new RevokeSecurityGroupRequest { RegionId = Hangzhou, SecurityGroupId = group.SecurityGroupId, Rule = Ssh() });
        Assert.False(missing.Removed);
        Assert.Equal(2, (await groups.GetSecurityGroupAsync(new GetSecurityGroupRequest { RegionId = Hangzhou, SecurityGroupId = group.SecurityGroupId })).SecurityGroup.Rules.Count);
    }

    [Fact]
    public async Task AVpcGroupsRulesAreIntranetRules()
    {
        var account = await Cluster.NewAccountAsync();
        var group = await account.NewGroupAsync((await account.NewVpcAsync()).VpcId);
        var rule = Ssh();
        rule.NicType = "internet";

        var saved = (await account.Groups().AuthorizeSecurityGroupAsync(new AuthorizeSecurityGroupRequest { RegionId = Hangzhou, SecurityGroupId = group.SecurityGroupId, Rule = rule })).SecurityGroup;

        Assert.Equal("intranet", saved.Rules.Single().NicType);
        Assert.True((await account.Groups().RevokeSecurityGroupAsync(new RevokeSecurityGroupRequest { RegionId = Hangzhou, SecurityGroupId = group.SecurityGroupId, Rule = Ssh() })).Removed);
    }

    [Fact]
    public async Task MalformedRulesAreRefusedWithTheirCodesAndAddNothing()
    {
        var account = await Cluster.NewAccountAsync();
        var group = await account.NewGroupAsync();
        async Task Refused(string reason, Action<SecurityGroupRule> change)
        {
            var rule = Ssh();
            change(rule);
            await RpcAssert.FailsAsync(StatusCode.InvalidArgument, reason, () =>
                account.Groups().AuthorizeSecurityGroupAsync(new AuthorizeSecurityGroupRequest { RegionId = Hangzhou, SecurityGroupId = group.SecurityGroupId, Rule = rule }));
        }

        await Refused("InvalidParameter", r => r.Direction = RuleDirection.Unspecified);
        await Refused("InvalidIpProtocol.Malformed", r => r.IpProtocol = "ftp");
        await Refused("InvalidIpProtocol.Malformed", r => r.IpProtocol = "");
        foreach (var ports in new[] { "0/22", "22", "23/22", "1/65536", "-1/-1", "", "22/22/22", "a/b", " 22/22", new string('2', 1000) + "/22" })
        {
            await Refused("InvalidIpPortRange.Malformed", r => r.PortRange = ports);
        }
        await Refused("InvalidIpPortRange.Malformed", r => (r.IpProtocol, r.PortRange) = ("icmp", "22/22"));
        await Refused("InvalidSourceCidrIp.Malformed", r => r.CidrIp = "0.0.0.0/33");
        await Refused("InvalidSourceCidrIp.Malformed", r => r.CidrIp = "");
        await Refused("InvalidSourceCidrIp.Malformed", r => r.CidrIp = "10.0.0.1/8");
        await Refused("InvalidDestCidrIp.Malformed", r => (r.Direction, r.CidrIp) = (RuleDirection.Egress, "300.0.0.0/8"));
        await Refused("InvalidNicType.ValueNotSupported", r => r.NicType = "wan");
        await Refused("InvalidPolicy.Malformed", r => r.Policy = "reject");
        await Refused("InvalidPriority.Malformed", r => r.Priority = 101);
        await Refused("InvalidPriority.Malformed", r => r.Priority = -1);
        await Refused("InvalidDescription.Malformed", r => r.Description = new string('d', 513));
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidParameter", () =>
            account.Groups().AuthorizeSecurityGroupAsync(new AuthorizeSecurityGroupRequest { RegionId = Hangzhou, SecurityGroupId = group.SecurityGroupId }));

        Assert.Empty((await account.Groups().GetSecurityGroupAsync(new GetSecurityGroupRequest { RegionId = Hangzhou, SecurityGroupId = group.SecurityGroupId })).SecurityGroup.Rules);
    }

    [Fact]
    public async Task AGroupHasAtMost200Rules()
    {
        var account = await Cluster.NewAccountAsync();
        var group = await account.NewGroupAsync();
        for (var port = 1; port <= SecurityGroupLimit; port++)
        {
            var rule = Ssh();
            rule.PortRange = $"{port}/{port}";
            await account.Groups().AuthorizeSecurityGroupAsync(new AuthorizeSecurityGroupRequest { RegionId = Hangzhou, SecurityGroupId = group.SecurityGroupId, Rule = rule });
        }

        await RpcAssert.FailsAsync(StatusCode.ResourceExhausted, "AuthorizationLimitExceed", () =>
            account.Groups().AuthorizeSecurityGroupAsync(new AuthorizeSecurityGroupRequest { RegionId = Hangzhou, SecurityGroupId = group.SecurityGroupId, Rule = Ssh("8080/8080") }));
        // One it has already is still no change, not an error.
        var existing = Ssh();
        existing.PortRange = "7/7";
        Assert.Equal(SecurityGroupLimit, (await account.Groups().AuthorizeSecurityGroupAsync(new AuthorizeSecurityGroupRequest
        {
            RegionId = Hangzhou, SecurityGroupId = group.SecurityGroupId, Rule = existing,
        })).SecurityGroup.Rules.Count);
    }

    private const int SecurityGroupLimit = 200;

    [Fact]
    public async Task AGroupWithInstancesIsNotDeleted()
    {
        var account = await Cluster.NewAccountAsync();
        var group = await account.NewGroupAsync();
        var instance = (await account.Instances().CreateInstanceAsync(new CreateInstanceRequest
        {
            RegionId = Hangzhou, ImageId = Ubuntu, SecurityGroupIds = { group.SecurityGroupId },
        })).Instance;
        Assert.Equal([group.SecurityGroupId], instance.SecurityGroupIds);
        var delete = new DeleteSecurityGroupRequest { RegionId = Hangzhou, SecurityGroupId = group.SecurityGroupId };

        Assert.Equal(1, (await account.Groups().GetSecurityGroupAsync(new GetSecurityGroupRequest { RegionId = Hangzhou, SecurityGroupId = group.SecurityGroupId })).SecurityGroup.InstanceCount);
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, "DependencyViolation", () => account.Groups().DeleteSecurityGroupAsync(delete));

        await account.DeleteInstanceAsync(instance.InstanceId);
        Assert.True((await account.Groups().DeleteSecurityGroupAsync(delete)).Deleted);
        Assert.False((await account.Groups().DeleteSecurityGroupAsync(delete)).Deleted);
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidSecurityGroupId.NotFound", () =>
            account.Groups().GetSecurityGroupAsync(new GetSecurityGroupRequest { RegionId = Hangzhou, SecurityGroupId = group.SecurityGroupId }));
    }

    [Fact]
    public async Task AnotherAccountsGroupIsNotFoundAndKeepsItsRules()
    {
        var a = await Cluster.NewAccountAsync();
        var b = await Cluster.NewAccountAsync();
        var group = await a.NewGroupAsync();
        await a.Groups().AuthorizeSecurityGroupAsync(new AuthorizeSecurityGroupRequest { RegionId = Hangzhou, SecurityGroupId = group.SecurityGroupId, Rule = Ssh() });

        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidSecurityGroupId.NotFound", () =>
            b.Groups().GetSecurityGroupAsync(new GetSecurityGroupRequest { RegionId = Hangzhou, SecurityGroupId = group.SecurityGroupId }));
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidSecurityGroupId.NotFound", () =>
            a.Groups().GetSecurityGroupAsync(new GetSecurityGroupRequest { RegionId = Shanghai, SecurityGroupId = group.SecurityGroupId }));
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidSecurityGroupId.NotFound", () =>
            b.Groups().AuthorizeSecurityGroupAsync(new AuthorizeSecurityGroupRequest { RegionId = Hangzhou, SecurityGroupId = group.SecurityGroupId, Rule = Ssh("80/80") }));
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidSecurityGroupId.NotFound", () =>
            b.Groups().RevokeSecurityGroupAsync(new RevokeSecurityGroupRequest { RegionId = Hangzhou, SecurityGroupId = group.SecurityGroupId, Rule = Ssh() }));
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidSecurityGroupId.NotFound", () => b.Instances().CreateInstanceAsync(new CreateInstanceRequest
        {
            RegionId = Hangzhou, ImageId = Ubuntu, SecurityGroupIds = { group.SecurityGroupId },
        }));
        Assert.False((await b.Groups().DeleteSecurityGroupAsync(new DeleteSecurityGroupRequest { RegionId = Hangzhou, SecurityGroupId = group.SecurityGroupId })).Deleted);
        Assert.Empty((await b.Groups().ListSecurityGroupsAsync(new ListSecurityGroupsRequest { RegionId = Hangzhou })).SecurityGroups);

        var kept = (await a.Groups().GetSecurityGroupAsync(new GetSecurityGroupRequest { RegionId = Hangzhou, SecurityGroupId = group.SecurityGroupId })).SecurityGroup;
        Assert.Equal(["22/22"], kept.Rules.Select(r => r.PortRange));
    }

    [Fact]
    public async Task OverLongNamesAndDescriptionsMakeNoGroup()
    {
        var account = await Cluster.NewAccountAsync();
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidSecurityGroupName.Malformed", () =>
            account.Groups().CreateSecurityGroupAsync(new CreateSecurityGroupRequest { RegionId = Hangzhou, SecurityGroupName = new string('g', 129) }));
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidDescription.Malformed", () =>
            account.Groups().CreateSecurityGroupAsync(new CreateSecurityGroupRequest { RegionId = Hangzhou, Description = new string('d', 257) }));
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidClientToken.Malformed", () =>
            account.Groups().CreateSecurityGroupAsync(new CreateSecurityGroupRequest { RegionId = Hangzhou, ClientToken = "tok\u00e9n" }));
        Assert.Empty((await account.Groups().ListSecurityGroupsAsync(new ListSecurityGroupsRequest { RegionId = Hangzhou })).SecurityGroups);
    }

    [Fact]
    public async Task AnAccountHasAtMost100GroupsPerRegion()
    {
        var account = await Cluster.NewAccountAsync();
        await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => account.NewGroupAsync()));

        await RpcAssert.FailsAsync(StatusCode.ResourceExhausted, "QuotaExceeded.SecurityGroup", () => account.NewGroupAsync());
        Assert.Equal(100, (await account.Groups().ListSecurityGroupsAsync(new ListSecurityGroupsRequest { RegionId = Hangzhou })).TotalSize);
        await account.NewGroupAsync(region: Shanghai);
    }
}
