using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Common.V1;
using GrpcImages.Testing;
using static GrpcImages.IntegrationTests.CatalogSteps;

namespace GrpcImages.IntegrationTests;

/// <summary>Steps the tests of the resources around instances share (issue 21): their clients and a VPC, vSwitch and group to put instances in.</summary>
internal static class NetworkSteps
{
    /// <summary>
    /// Lists are newest first by creation time in milliseconds, and two records of one millisecond come in id order:
    /// a test that asserts creation order makes its records in different milliseconds.
    /// </summary>
    public static Task NextMillisecondAsync() => Task.Delay(2);

    public static KeyPairService.KeyPairServiceClient KeyPairs(this TestAccount account) => account.Client<KeyPairService.KeyPairServiceClient>();

    public static NetworkService.NetworkServiceClient Networks(this TestAccount account) => account.Client<NetworkService.NetworkServiceClient>();

    public static SecurityGroupService.SecurityGroupServiceClient Groups(this TestAccount account) => account.Client<SecurityGroupService.SecurityGroupServiceClient>();

    public static AddressService.AddressServiceClient Addresses(this TestAccount account) => account.Client<AddressService.AddressServiceClient>();

    public static TagService.TagServiceClient Tags(this TestAccount account) => account.Client<TagService.TagServiceClient>();

    public static RegionService.RegionServiceClient RegionInfo(this TestAccount account) => account.Client<RegionService.RegionServiceClient>();

    public static async Task<Vpc> NewVpcAsync(this TestAccount account, string cidr = "172.16.0.0/12", string region = Hangzhou) =>
        (await account.Networks().CreateVpcAsync(new CreateVpcRequest { RegionId = region, CidrBlock = cidr })).Vpc;

    public static async Task<VSwitch> NewVSwitchAsync(this TestAccount account, Vpc vpc, string cidr, string zone = "cn-hangzhou-h") =>
        (await account.Networks().CreateVSwitchAsync(new CreateVSwitchRequest { RegionId = vpc.RegionId, VpcId = vpc.VpcId, ZoneId = zone, CidrBlock = cidr })).Vswitch;

    public static async Task<SecurityGroup> NewGroupAsync(this TestAccount account, string vpcId = "", string region = Hangzhou) =>
        (await account.Groups().CreateSecurityGroupAsync(new CreateSecurityGroupRequest { RegionId = region, VpcId = vpcId })).SecurityGroup;

    /// <summary>A VPC with one vSwitch (172.16.1.0/24 in cn-hangzhou-h) and one group of the VPC: what Packer makes before its instance.</summary>
    public static async Task<(Vpc Vpc, VSwitch VSwitch, SecurityGroup Group)> NewNetworkAsync(this TestAccount account)
    {
        var vpc = await account.NewVpcAsync();
        var vswitch = await account.NewVSwitchAsync(vpc, "172.16.1.0/24");
        var group = await account.NewGroupAsync(vpc.VpcId);
        return (vpc, vswitch, group);
    }

    /// <summary>A VPC instance in the vSwitch and group given, of Ubuntu unless told.</summary>
    public static async Task<Instance> NewVpcInstanceAsync(this TestAccount account, VSwitch vswitch, SecurityGroup? group = null, string keyPair = "",
        string imageId = Ubuntu)
    {
        var request = new CreateInstanceRequest { RegionId = vswitch.RegionId, ImageId = imageId, VswitchId = vswitch.VswitchId, KeyPairName = keyPair };
        if (group is not null)
        {
            request.SecurityGroupIds.Add(group.SecurityGroupId);
        }
        return (await account.Instances().CreateInstanceAsync(request)).Instance;
    }

    public static async Task<Instance> GetInstanceAsync(this TestAccount account, string instanceId, string region = Hangzhou) =>
        (await account.Instances().GetInstanceAsync(new GetInstanceRequest { RegionId = region, InstanceId = instanceId })).Instance;

    public static Task DeleteInstanceAsync(this TestAccount account, string instanceId, string region = Hangzhou) =>
        account.Instances().DeleteInstanceAsync(new DeleteInstanceRequest { RegionId = region, InstanceId = instanceId }).ResponseAsync;

    public static Tag Tag(string key, string value = "") => new() { Key = key, Value = value };
}
