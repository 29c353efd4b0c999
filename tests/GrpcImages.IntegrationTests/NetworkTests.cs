using Grpc.Core;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Testing;
using static GrpcImages.IntegrationTests.CatalogSteps;

namespace GrpcImages.IntegrationTests;

/// <summary>
/// VPCs and vSwitches (issue 21): CIDR blocks parsed and nested, a vSwitch in a zone of its VPC's region and apart from
/// its siblings, nothing deleted while something depends on it, another account's NOT_FOUND.
/// </summary>
public class NetworkTests(ClusterFixture fixture, ITestOutputHelper output) : ClusterTest(fixture, output)
{
    [Fact]
    public async Task AVpcIsMadeAvailableListedAndHonoursClientTokens()
    {
        var account = await Cluster.NewAccountAsync();
        var request = new CreateVpcRequest { RegionId = Hangzhou, VpcName = "packer-vpc", Description = "Made for a build", ClientToken = Guid.NewGuid().ToString() };

        var vpc = (await account.Networks().CreateVpcAsync(request)).Vpc;

        Assert.Matches("^vpc-[a-z0-9]{20}$", vpc.VpcId);
        Assert.Equal(("172.16.0.0/12", NetworkStatus.Available, "packer-vpc", account.AccountId), (vpc.CidrBlock, vpc.Status, vpc.VpcName, vpc.OwnerAccountId));
        Assert.Equal(vpc.VpcId, (await account.Networks().CreateVpcAsync(request)).Vpc.VpcId); // R35
        request.CidrBlock = "10.0.0.0/8";
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "IdempotenceParamNotMatch", () => account.Networks().CreateVpcAsync(request));
        await NetworkSteps.NextMillisecondAsync();
        var other = await account.NewVpcAsync("192.168.0.0/16");

        Assert.Equal(vpc, (await account.Networks().GetVpcAsync(new GetVpcRequest { RegionId = Hangzhou, VpcId = vpc.VpcId })).Vpc);
        var listed = await account.Networks().ListVpcsAsync(new ListVpcsRequest { RegionId = Hangzhou });
        Assert.Equal([other.VpcId, vpc.VpcId], listed.Vpcs.Select(v => v.VpcId));
        Assert.Equal(2, listed.TotalSize);
        var page = await account.Networks().ListVpcsAsync(new ListVpcsRequest { RegionId = Hangzhou, PageSize = 1 });
        var next = await account.Networks().ListVpcsAsync(new ListVpcsRequest { RegionId = Hangzhou, PageSize = 1, PageToken = page.NextPageToken });
        Assert.Equal([other.VpcId, vpc.VpcId], page.Vpcs.Concat(next.Vpcs).Select(v => v.VpcId));
        Assert.Empty(next.NextPageToken);
        Assert.Empty((await account.Networks().ListVpcsAsync(new ListVpcsRequest { RegionId = Shanghai })).Vpcs);
    }

    [Theory]
    [InlineData("10.0.0.0/8")]
    [InlineData("10.20.0.0/16")]
    [InlineData("172.16.0.0/12")]
    [InlineData("172.31.255.0/24")]
    [InlineData("192.168.0.0/16")]
    public async Task APrivateBlockWithAMaskOf8To24IsAVpcsBlock(string cidr)
    {
        var account = await Cluster.NewAccountAsync();
        Assert.Equal(cidr, (await account.NewVpcAsync(cidr)).CidrBlock);
    }

    [Fact]
    public async Task AnyOtherBlockIsMalformedAndMakesNoVpc()
    {
        var account = await Cluster.NewAccountAsync();
        var bad = new[]
        {
            "8.8.8.0/24", "172.32.0.0/16", "192.169.0.0/16", "0.0.0.0/0", // not private
            "10.0.0.0/25", "10.0.0.0/7", "10.0.0.0/33", // masks
            "10.0.0.1/16", "172.16.0.0/11", // host bits set
            "010.0.0.0/8", "10.0.0/8", "10.0.0.0", "10.0.0.0/08", "10.0.0.0/", "256.0.0.0/8", "garbage", " 10.0.0.0/8", new string('1', 8000),
        };
        foreach (var cidr in bad)
        {
            var ex = await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidCidrBlock.Malformed", () =>
                account.Networks().CreateVpcAsync(new CreateVpcRequest { RegionId = Hangzhou, CidrBlock = cidr }));
            Assert.Equal(["cidr_block"], RpcAssert.ViolatedFields(ex));
        }
        Assert.Empty((await account.Networks().ListVpcsAsync(new ListVpcsRequest { RegionId = Hangzhou })).Vpcs);
    }

    [Fact]
    public async Task AVSwitchNestsInItsVpcApartFromItsSiblingsInAZoneOfTheRegion()
    {
        var account = await Cluster.NewAccountAsync();
        var vpc = await account.NewVpcAsync("172.16.0.0/16");

        var first = await account.NewVSwitchAsync(vpc, "172.16.1.0/24", "cn-hangzhou-h");
        Assert.Matches("^vsw-[a-z0-9]{20}$", first.VswitchId);
        Assert.Equal((vpc.VpcId, "cn-hangzhou-h", Hangzhou, NetworkStatus.Available), (first.VpcId, first.ZoneId, first.RegionId, first.Status));
        Assert.Equal(252, first.AvailableIpAddressCount); // 256 less the first address and the last three
        await NetworkSteps.NextMillisecondAsync();
        var adjacent = await account.NewVSwitchAsync(vpc, "172.16.2.0/29", "cn-hangzhou-i");
        Assert.Equal(4, adjacent.AvailableIpAddressCount);

        async Task Refused(StatusCode code, string reason, string cidr, string zone = "cn-hangzhou-h") =>
            await RpcAssert.FailsAsync(code, reason, () => account.Networks().CreateVSwitchAsync(new CreateVSwitchRequest
            {
                RegionId = Hangzhou, VpcId = vpc.VpcId, ZoneId = zone, CidrBlock = cidr,
            }));
        await Refused(StatusCode.InvalidArgument, "InvalidCidrBlock.Malformed", "192.168.1.0/24"); // outside the VPC's block
        await Refused(StatusCode.InvalidArgument, "InvalidCidrBlock.Malformed", "172.17.0.0/24");
        await Refused(StatusCode.InvalidArgument, "InvalidCidrBlock.Malformed", "172.16.0.0/15"); // wider than the VPC, and a mask under 16
        await Refused(StatusCode.InvalidArgument, "InvalidCidrBlock.Malformed", "172.16.9.0/30"); // mask over 29
        await Refused(StatusCode.InvalidArgument, "InvalidCidrBlock.Malformed", "172.16.9.1/24"); // host bits
        await Refused(StatusCode.InvalidArgument, "InvalidCidrBlock.Overlapped", "172.16.1.128/25"); // within the first
        await Refused(StatusCode.InvalidArgument, "InvalidCidrBlock.Overlapped", "172.16.0.0/16"); // around both
        await Refused(StatusCode.InvalidArgument, "InvalidCidrBlock.Overlapped", "172.16.2.0/24");
        await Refused(StatusCode.NotFound, "InvalidZoneId.NotFound", "172.16.3.0/24", "cn-shanghai-b"); // another region's zone
        await Refused(StatusCode.NotFound, "InvalidZoneId.NotFound", "172.16.3.0/24", "cn-hangzhou-z");
        await Refused(StatusCode.NotFound, "InvalidZoneId.NotFound", "172.16.3.0/24", "");

        var read = (await account.Networks().GetVpcAsync(new GetVpcRequest { RegionId = Hangzhou, VpcId = vpc.VpcId })).Vpc;
        Assert.Equal(new[] { first.VswitchId, adjacent.VswitchId }.Order(StringComparer.Ordinal), read.VswitchIds);
        var inZone = await account.Networks().ListVSwitchesAsync(new ListVSwitchesRequest { RegionId = Hangzhou, ZoneId = "cn-hangzhou-i" });
        Assert.Equal([adjacent.VswitchId], inZone.Vswitches.Select(v => v.VswitchId));
        var ofVpc = await account.Networks().ListVSwitchesAsync(new ListVSwitchesRequest { RegionId = Hangzhou, VpcId = vpc.VpcId });
        Assert.Equal([adjacent.VswitchId, first.VswitchId], ofVpc.Vswitches.Select(v => v.VswitchId));
        Assert.Equal(2, ofVpc.TotalSize);

        // Another VPC's vSwitches are its own business: the same block is fine there.
        var second = await account.NewVpcAsync("172.16.0.0/16");
        Assert.Equal("172.16.1.0/24", (await account.NewVSwitchAsync(second, "172.16.1.0/24")).CidrBlock);
    }

    [Fact]
    public async Task NothingIsDeletedThatSomethingStillDependsOn()
    {
        var account = await Cluster.NewAccountAsync();
        var (vpc, vswitch, group) = await account.NewNetworkAsync();
        var instance = await account.NewVpcInstanceAsync(vswitch, group);

        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, "DependencyViolation.VSwitch", () =>
            account.Networks().DeleteVpcAsync(new DeleteVpcRequest { RegionId = Hangzhou, VpcId = vpc.VpcId }));
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, "DependencyViolation", () =>
            account.Networks().DeleteVSwitchAsync(new DeleteVSwitchRequest { RegionId = Hangzhou, VswitchId = vswitch.VswitchId }));
        Assert.Equal(251, (await account.Networks().GetVSwitchAsync(new GetVSwitchRequest { RegionId = Hangzhou, VswitchId = vswitch.VswitchId })).Vswitch.AvailableIpAddressCount);

        // Packer's cleanup order: instance, group, vSwitch, VPC.
        await account.DeleteInstanceAsync(instance.InstanceId);
        Assert.Equal(252, (await account.Networks().GetVSwitchAsync(new GetVSwitchRequest { RegionId = Hangzhou, VswitchId = vswitch.VswitchId })).Vswitch.AvailableIpAddressCount);
        Assert.True((await account.Networks().DeleteVSwitchAsync(new DeleteVSwitchRequest { RegionId = Hangzhou, VswitchId = vswitch.VswitchId })).Deleted);
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, "DependencyViolation.SecurityGroup", () =>
            account.Networks().DeleteVpcAsync(new DeleteVpcRequest { RegionId = Hangzhou, VpcId = vpc.VpcId }));
        Assert.True((await account.Groups().DeleteSecurityGroupAsync(new DeleteSecurityGroupRequest { RegionId = Hangzhou, SecurityGroupId = group.SecurityGroupId })).Deleted);
        Assert.True((await account.Networks().DeleteVpcAsync(new DeleteVpcRequest { RegionId = Hangzhou, VpcId = vpc.VpcId })).Deleted);

        Assert.False((await account.Networks().DeleteVpcAsync(new DeleteVpcRequest { RegionId = Hangzhou, VpcId = vpc.VpcId })).Deleted);
        Assert.False((await account.Networks().DeleteVSwitchAsync(new DeleteVSwitchRequest { RegionId = Hangzhou, VswitchId = vswitch.VswitchId })).Deleted);
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidVpcId.NotFound", () =>
            account.Networks().GetVpcAsync(new GetVpcRequest { RegionId = Hangzhou, VpcId = vpc.VpcId }));
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidVSwitchId.NotFound", () =>
            account.Networks().GetVSwitchAsync(new GetVSwitchRequest { RegionId = Hangzhou, VswitchId = vswitch.VswitchId }));
    }

    [Fact]
    public async Task AnotherAccountsOrRegionsVpcAndVSwitchAreNotFoundAndStay()
    {
        var a = await Cluster.NewAccountAsync();
        var b = await Cluster.NewAccountAsync();
        var vpc = await a.NewVpcAsync();
        var vswitch = await a.NewVSwitchAsync(vpc, "172.16.1.0/24");

        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidVpcId.NotFound", () => b.Networks().GetVpcAsync(new GetVpcRequest { RegionId = Hangzhou, VpcId = vpc.VpcId }));
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidVpcId.NotFound", () => a.Networks().GetVpcAsync(new GetVpcRequest { RegionId = Shanghai, VpcId = vpc.VpcId }));
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidVSwitchId.NotFound", () =>
            b.Networks().GetVSwitchAsync(new GetVSwitchRequest { RegionId = Hangzhou, VswitchId = vswitch.VswitchId }));
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidVpcId.NotFound", () => b.Networks().CreateVSwitchAsync(new CreateVSwitchRequest
        {
            RegionId = Hangzhou, VpcId = vpc.VpcId, ZoneId = "cn-hangzhou-h", CidrBlock = "172.16.2.0/24",
        }));
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidVpcId.NotFound", () =>
            b.Groups().CreateSecurityGroupAsync(new CreateSecurityGroupRequest { RegionId = Hangzhou, VpcId = vpc.VpcId }));
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidVSwitchId.NotFound", () =>
            b.Instances().CreateInstanceAsync(new CreateInstanceRequest { RegionId = Hangzhou, ImageId = Ubuntu, VswitchId = vswitch.VswitchId }));
        Assert.False((await b.Networks().DeleteVSwitchAsync(new DeleteVSwitchRequest { RegionId = Hangzhou, VswitchId = vswitch.VswitchId })).Deleted);
        Assert.False((await b.Networks().DeleteVpcAsync(new DeleteVpcRequest { RegionId = Hangzhou, VpcId = vpc.VpcId })).Deleted);
        Assert.Empty((await b.Networks().ListVSwitchesAsync(new ListVSwitchesRequest { RegionId = Hangzhou, VpcId = vpc.VpcId })).Vswitches);

        Assert.Equal(252, (await a.Networks().GetVSwitchAsync(new GetVSwitchRequest { RegionId = Hangzhou, VswitchId = vswitch.VswitchId })).Vswitch.AvailableIpAddressCount);
        Assert.Equal([vswitch.VswitchId], (await a.Networks().GetVpcAsync(new GetVpcRequest { RegionId = Hangzhou, VpcId = vpc.VpcId })).Vpc.VswitchIds);
        Assert.Empty((await b.Instances().ListInstancesAsync(new ListInstancesRequest { RegionId = Hangzhou })).Instances);
    }

    [Fact]
    public async Task AnAccountHasAtMostTenVpcsPerRegion()
    {
        var account = await Cluster.NewAccountAsync();
        for (var i = 0; i < 10; i++)
        {
            await account.NewVpcAsync($"10.{i}.0.0/16");
        }

        await RpcAssert.FailsAsync(StatusCode.ResourceExhausted, "QuotaExceeded.Vpc", () => account.NewVpcAsync("10.10.0.0/16"));
        Assert.Equal(10, (await account.Networks().ListVpcsAsync(new ListVpcsRequest { RegionId = Hangzhou })).TotalSize);
        await account.NewVpcAsync("10.10.0.0/16", Shanghai); // per region
    }

    [Fact]
    public async Task OverLongOrMalformedFieldsAreRefusedAndMakeNothing()
    {
        var account = await Cluster.NewAccountAsync();
        var vpc = await account.NewVpcAsync();

        async Task Refused(string reason, string field, CreateVpcRequest request)
        {
            request.RegionId = Hangzhou;
            var ex = await RpcAssert.FailsAsync(StatusCode.InvalidArgument, reason, () => account.Networks().CreateVpcAsync(request));
            Assert.Equal([field], RpcAssert.ViolatedFields(ex));
        }
        await Refused("InvalidVpcName.Malformed", "vpc_name", new CreateVpcRequest { VpcName = new string('v', 129) });
        await Refused("InvalidVpcName.Malformed", "vpc_name", new CreateVpcRequest { VpcName = "1vpc" });
        await Refused("InvalidDescription.Malformed", "description", new CreateVpcRequest { Description = new string('d', 257) });
        await Refused("InvalidDescription.Malformed", "description", new CreateVpcRequest { Description = "https://example.com" });
        await Refused("InvalidClientToken.Malformed", "client_token", new CreateVpcRequest { ClientToken = new string('t', 65) });
        var ex = await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidVSwitchName.Malformed", () => account.Networks().CreateVSwitchAsync(new CreateVSwitchRequest
        {
            RegionId = Hangzhou, VpcId = vpc.VpcId, ZoneId = "cn-hangzhou-h", CidrBlock = "172.16.1.0/24", VswitchName = new string('s', 200),
        }));
        Assert.Equal(["vswitch_name"], RpcAssert.ViolatedFields(ex));
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidArgument", () =>
            account.Networks().ListVSwitchesAsync(new ListVSwitchesRequest { RegionId = Hangzhou, PageSize = -5 }));
        var region = await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidRegionId.Malformed", () =>
            account.Networks().CreateVpcAsync(new CreateVpcRequest { RegionId = new string('r', 5000) }));
        Assert.True(region.Status.Detail.Length < 500, region.Status.Detail);

        // A long id is missing, and the error does not repeat it whole; a huge one is refused before anything reads it.
        var missing = await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidVpcId.NotFound", () =>
            account.Networks().GetVpcAsync(new GetVpcRequest { RegionId = Hangzhou, VpcId = "vpc-" + new string('a', 8000) }));
        Assert.True(missing.Status.Detail.Length < 500, missing.Status.Detail);
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidParameter", () =>
            account.Networks().CreateVpcAsync(new CreateVpcRequest { RegionId = Hangzhou, VpcName = new string('v', 100_000) }));

        Assert.Equal([vpc.VpcId], (await account.Networks().ListVpcsAsync(new ListVpcsRequest { RegionId = Hangzhou })).Vpcs.Select(v => v.VpcId));
        Assert.Empty((await account.Networks().ListVSwitchesAsync(new ListVSwitchesRequest { RegionId = Hangzhou })).Vswitches);
    }

    [Fact]
    public async Task OverlappingVSwitchesMadeAtOnceLeaveOne()
    {
        var account = await Cluster.NewAccountAsync();
        var vpc = await account.NewVpcAsync("10.0.0.0/16");

        // Each block overlaps the /24 every other one lies in: at most one of each pair can be made, whatever the order.
        var attempts = await Task.WhenAll(Enumerable.Range(0, 8).Select(async i =>
        {
            try
            {
                return (await account.NewVSwitchAsync(vpc, i % 2 == 0 ? "10.0.1.0/24" : $"10.0.1.{(i / 2) * 64}/26")).CidrBlock;
            }
            catch (RpcException ex) when (RpcAssert.Reason(ex) == "InvalidCidrBlock.Overlapped")
            {
                return null;
            }
        }));

        var made = attempts.OfType<string>().ToList();
        Assert.NotEmpty(made);
        Assert.True(made.Count == 1 || made.All(c => c.EndsWith("/26", StringComparison.Ordinal)), string.Join(", ", made));
        Assert.Equal(made.Count, made.Distinct().Count());
        Assert.Equal(made.Count, (await account.Networks().GetVpcAsync(new GetVpcRequest { RegionId = Hangzhou, VpcId = vpc.VpcId })).Vpc.VswitchIds.Count);
    }
}
