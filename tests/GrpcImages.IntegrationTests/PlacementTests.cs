using Grpc.Core;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Common.V1;
using GrpcImages.Testing;
using static GrpcImages.IntegrationTests.CatalogSteps;

namespace GrpcImages.IntegrationTests;

/// <summary>
/// Where an instance goes (issue 21): zones and instance types a region offers, CreateInstance's vSwitch, groups, zone,
/// type, key pair and create_stopped, private addresses from the vSwitch's block, and the disks of instances.
/// </summary>
public class PlacementTests(ClusterFixture fixture, ITestOutputHelper output) : ClusterTest(fixture, output)
{
    [Fact]
    public async Task ARegionListsItsZonesWithTheTypesEachOffers()
    {
        var account = await Cluster.NewAccountAsync();

        var zones = (await account.RegionInfo().ListZonesAsync(new ListZonesRequest { RegionId = Hangzhou })).Zones;

        Assert.Equal(["cn-hangzhou-b", "cn-hangzhou-g", "cn-hangzhou-h", "cn-hangzhou-i", "cn-hangzhou-j", "cn-hangzhou-k"], zones.Select(z => z.ZoneId));
        Assert.All(zones, z => Assert.Contains("VSwitch", z.AvailableResourceTypes));
        Assert.All(zones, z => Assert.Contains("ecs.g7.large", z.AvailableInstanceTypes));
        Assert.Contains("ecs.g8y.large", zones[0].AvailableInstanceTypes);
        Assert.DoesNotContain("ecs.g8y.large", zones[2].AvailableInstanceTypes); // arm64 in some zones only
        // ECS names the zones of regions numbered like Tokyo without a dash: ap-northeast-1a.
        Assert.Equal(["ap-northeast-1a", "ap-northeast-1b", "ap-northeast-1c"],
            (await account.RegionInfo().ListZonesAsync(new ListZonesRequest { RegionId = Tokyo })).Zones.Select(z => z.ZoneId));
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidRegionId.Malformed", () => account.RegionInfo().ListZonesAsync(new ListZonesRequest { RegionId = "mars-1" }));
    }

    [Fact]
    public async Task InstanceTypesAreListedAllByZoneOrByTheImageTheyRun()
    {
        var account = await Cluster.NewAccountAsync();
        var types = account.RegionInfo();

        var all = (await types.ListInstanceTypesAsync(new ListInstanceTypesRequest())).InstanceTypes;
        var g7 = all.Single(t => t.InstanceTypeId == "ecs.g7.large");
        Assert.Equal(("ecs.g7", 2, 8.0, Architecture.X8664), (g7.InstanceTypeFamily, g7.CpuCoreCount, g7.MemorySize, g7.Architecture));
        Assert.Contains(all, t => t.Architecture == Architecture.Arm64);

        var inH = (await types.ListInstanceTypesAsync(new ListInstanceTypesRequest { RegionId = Hangzhou, ZoneId = "cn-hangzhou-h" })).InstanceTypes;
        Assert.DoesNotContain(inH, t => t.Architecture == Architecture.Arm64);
        var forUbuntu = (await types.ListInstanceTypesAsync(new ListInstanceTypesRequest { RegionId = Hangzhou, ImageId = Ubuntu })).InstanceTypes;
        Assert.All(forUbuntu, t => Assert.Equal(Architecture.X8664, t.Architecture));
        Assert.Equal(all.Count(t => t.Architecture == Architecture.X8664), forUbuntu.Count);
        var family = (await types.ListInstanceTypesAsync(new ListInstanceTypesRequest { InstanceTypeFamily = "ecs.c7" })).InstanceTypes;
        Assert.Equal(["ecs.c7.large", "ecs.c7.xlarge", "ecs.c7.2xlarge"], family.Select(t => t.InstanceTypeId));
        var named = (await types.ListInstanceTypesAsync(new ListInstanceTypesRequest { InstanceTypeIds = { "ecs.r7.large", "ecs.nope" } })).InstanceTypes;
        Assert.Equal(["ecs.r7.large"], named.Select(t => t.InstanceTypeId));

        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidZoneId.NotFound", () =>
            types.ListInstanceTypesAsync(new ListInstanceTypesRequest { RegionId = Hangzhou, ZoneId = "cn-shanghai-b" }));
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidImageId.NotFound", () =>
            types.ListInstanceTypesAsync(new ListInstanceTypesRequest { RegionId = Hangzhou, ImageId = "m-aaaaaaaaaaaaaaaaaaaa" }));
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidInstanceType.ValueNotSupported", () =>
            types.ListInstanceTypesAsync(new ListInstanceTypesRequest { InstanceTypeIds = { Enumerable.Range(0, 101).Select(i => $"ecs.t{i}") } }));
        // Another account's image is not one the caller can see.
        var other = await Cluster.NewAccountAsync();
        var image = await other.NewImageAsync((await other.NewInstanceAsync()).InstanceId);
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidImageId.NotFound", () =>
            types.ListInstanceTypesAsync(new ListInstanceTypesRequest { RegionId = Hangzhou, ImageId = image.ImageId }));
    }

    [Fact]
    public async Task AVpcInstanceIsPlacedInItsVSwitchGroupsZoneTypeAndKeyPair()
    {
        var account = await Cluster.NewAccountAsync();
        var (vpc, vswitch, group) = await account.NewNetworkAsync();
        var second = await account.NewGroupAsync(vpc.VpcId);
        await account.KeyPairs().CreateKeyPairAsync(new CreateKeyPairRequest { RegionId = Hangzhou, KeyPairName = "packer_key" });

        var instance = (await account.Instances().CreateInstanceAsync(new CreateInstanceRequest
        {
            RegionId = Hangzhou, ImageId = Ubuntu, InstanceType = "ecs.c7.xlarge", VswitchId = vswitch.VswitchId, ZoneId = "cn-hangzhou-h",
            SecurityGroupIds = { group.SecurityGroupId, second.SecurityGroupId, group.SecurityGroupId }, KeyPairName = "packer_key",
            CreateStopped = true, InternetMaxBandwidthOut = 10, HostName = "builder-1", Description = "Packer builder",
        })).Instance;

        Assert.Equal(InstanceStatus.Stopped, instance.Status);
        Assert.Equal(("ecs.c7.xlarge", 4, 8192), (instance.InstanceType, instance.Cpu, instance.MemoryMib));
        Assert.Equal(("cn-hangzhou-h", vpc.VpcId, vswitch.VswitchId), (instance.ZoneId, instance.VpcId, instance.VswitchId));
        Assert.Equal([group.SecurityGroupId, second.SecurityGroupId], instance.SecurityGroupIds);
        Assert.Equal(("packer_key", 10, "builder-1", "Packer builder"), (instance.KeyPairName, instance.InternetMaxBandwidthOut, instance.HostName, instance.Description));
        Assert.Equal("172.16.1.1", instance.PrivateIpAddress); // the lowest of the block after its first address
        Assert.Equal(instance, await account.GetInstanceAsync(instance.InstanceId));

        // The next one takes the next address; the pair and both groups know their instances.
        var next = await account.NewVpcInstanceAsync(vswitch, group, "packer_key");
        Assert.Equal(("172.16.1.2", InstanceStatus.Running, "ecs.g7.large"), (next.PrivateIpAddress, next.Status, next.InstanceType));
        Assert.Equal(2, (await account.Groups().GetSecurityGroupAsync(new GetSecurityGroupRequest { RegionId = Hangzhou, SecurityGroupId = group.SecurityGroupId })).SecurityGroup.InstanceCount);
        Assert.Equal(2, (await account.KeyPairs().ListKeyPairsAsync(new ListKeyPairsRequest { RegionId = Hangzhou })).KeyPairs.Single().InstanceIds.Count);

        // An address a deleted instance let go is handed out again.
        await account.DeleteInstanceAsync(instance.InstanceId);
        Assert.Equal("172.16.1.1", (await account.NewVpcInstanceAsync(vswitch)).PrivateIpAddress);
        Assert.Equal(0, (await account.Groups().GetSecurityGroupAsync(new GetSecurityGroupRequest { RegionId = Hangzhou, SecurityGroupId = second.SecurityGroupId })).SecurityGroup.InstanceCount);
    }

    [Fact]
    public async Task AClassicInstanceGetsTheRegionsFirstZoneAndTheDefaultType()
    {
        var account = await Cluster.NewAccountAsync();
        var group = await account.NewGroupAsync();

        var instance = (await account.Instances().CreateInstanceAsync(new CreateInstanceRequest
        {
            RegionId = Hangzhou, ImageId = Ubuntu, SecurityGroupIds = { group.SecurityGroupId },
        })).Instance;
        var inZone = (await account.Instances().CreateInstanceAsync(new CreateInstanceRequest { RegionId = Hangzhou, ImageId = Ubuntu, ZoneId = "cn-hangzhou-k" })).Instance;

        Assert.Equal(("cn-hangzhou-b", "ecs.g7.large", "", ""), (instance.ZoneId, instance.InstanceType, instance.VpcId, instance.VswitchId));
        Assert.StartsWith("10.", instance.PrivateIpAddress);
        Assert.NotEqual(instance.PrivateIpAddress, inZone.PrivateIpAddress);
        Assert.Equal("cn-hangzhou-k", inZone.ZoneId);
    }

    [Fact]
    public async Task PlacementThatDoesNotFitIsRefusedWithEcsCodesAndMakesNoInstance()
    {
        var account = await Cluster.NewAccountAsync();
        var (_, vswitch, group) = await account.NewNetworkAsync();
        var classicGroup = await account.NewGroupAsync();
        var otherVpc = await account.NewVpcAsync("192.168.0.0/16");
        var otherGroup = await account.NewGroupAsync(otherVpc.VpcId);
        await account.KeyPairs().CreateKeyPairAsync(new CreateKeyPairRequest { RegionId = Hangzhou, KeyPairName = "key" });
        async Task Refused(StatusCode code, string reason, Action<CreateInstanceRequest> change)
        {
            var request = new CreateInstanceRequest { RegionId = Hangzhou, ImageId = Ubuntu, VswitchId = vswitch.VswitchId };
            change(request);
            await RpcAssert.FailsAsync(code, reason, () => account.Instances().CreateInstanceAsync(request));
        }

        await Refused(StatusCode.InvalidArgument, "InvalidVSwitchId.ZoneMismatch", r => r.ZoneId = "cn-hangzhou-b");
        await Refused(StatusCode.NotFound, "InvalidZoneId.NotFound", r => r.ZoneId = "cn-shanghai-b");
        await Refused(StatusCode.NotFound, "InvalidVSwitchId.NotFound", r => r.VswitchId = "vsw-aaaaaaaaaaaaaaaaaaaa");
        await Refused(StatusCode.InvalidArgument, "InvalidSecurityGroupId.VpcMismatch", r => r.SecurityGroupIds.Add(otherGroup.SecurityGroupId));
        await Refused(StatusCode.InvalidArgument, "InvalidSecurityGroupId.VpcMismatch", r => r.SecurityGroupIds.Add(classicGroup.SecurityGroupId));
        await Refused(StatusCode.InvalidArgument, "InvalidSecurityGroupId.VpcMismatch", r =>
        {
            r.VswitchId = "";
            r.SecurityGroupIds.Add(group.SecurityGroupId);
        });
        await Refused(StatusCode.NotFound, "InvalidSecurityGroupId.NotFound", r => r.SecurityGroupIds.Add("sg-aaaaaaaaaaaaaaaaaaaa"));
        await Refused(StatusCode.InvalidArgument, "InvalidSecurityGroupId.Malformed", r => r.SecurityGroupIds.AddRange(Enumerable.Repeat(group.SecurityGroupId, 6)));
        await Refused(StatusCode.InvalidArgument, "InvalidInstanceType.ValueNotSupported", r => r.InstanceType = "ecs.huge.1");
        await Refused(StatusCode.InvalidArgument, "InvalidInstanceType.NotSupported", r => r.InstanceType = "ecs.g8y.large"); // arm64, and not in zone h
        await Refused(StatusCode.InvalidArgument, "InvalidInstanceType.NotSupported", r => (r.VswitchId, r.ZoneId, r.InstanceType) = ("", "cn-hangzhou-b", "ecs.g8y.large")); // arm64 for an x86_64 image
        await Refused(StatusCode.NotFound, "InvalidKeyPairName.NotFound", r => r.KeyPairName = "no-such-key");
        await Refused(StatusCode.InvalidArgument, "InvalidKeyPairName.Malformed", r => r.KeyPairName = new string('k', 300));
        await Refused(StatusCode.FailedPrecondition, "DependencyViolation.WindowsInstance", r => (r.ImageId, r.KeyPairName) = (WindowsServer, "key"));
        await Refused(StatusCode.InvalidArgument, "InvalidHostName.Malformed", r => r.HostName = "-host");
        await Refused(StatusCode.InvalidArgument, "InvalidHostName.Malformed", r => r.HostName = new string('h', 65));
        await Refused(StatusCode.InvalidArgument, "InvalidHostName.Malformed", r => r.HostName = "host_name");
        await Refused(StatusCode.InvalidArgument, "InvalidInternetMaxBandwidthOut.Malformed", r => r.InternetMaxBandwidthOut = 101);
        await Refused(StatusCode.InvalidArgument, "InvalidInternetMaxBandwidthOut.Malformed", r => r.InternetMaxBandwidthOut = -1);
        await Refused(StatusCode.InvalidArgument, "InvalidDescription.Malformed", r => r.Description = new string('d', 257));

        Assert.Empty((await account.Instances().ListInstancesAsync(new ListInstancesRequest { RegionId = Hangzhou })).Instances);
        Assert.Equal(252, (await account.Networks().GetVSwitchAsync(new GetVSwitchRequest { RegionId = Hangzhou, VswitchId = vswitch.VswitchId })).Vswitch.AvailableIpAddressCount);
        Assert.Equal(0, (await account.Groups().GetSecurityGroupAsync(new GetSecurityGroupRequest { RegionId = Hangzhou, SecurityGroupId = group.SecurityGroupId })).SecurityGroup.InstanceCount);
    }

    [Fact]
    public async Task AFullVSwitchHasNoAddressForAnotherInstance()
    {
        var account = await Cluster.NewAccountAsync();
        var vpc = await account.NewVpcAsync();
        var small = await account.NewVSwitchAsync(vpc, "172.16.0.0/29"); // 8 addresses, 4 for instances

        var addresses = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            addresses.Add((await account.NewVpcInstanceAsync(small)).PrivateIpAddress);
        }

        Assert.Equal(["172.16.0.1", "172.16.0.2", "172.16.0.3", "172.16.0.4"], addresses);
        Assert.Equal(0, (await account.Networks().GetVSwitchAsync(new GetVSwitchRequest { RegionId = Hangzhou, VswitchId = small.VswitchId })).Vswitch.AvailableIpAddressCount);
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, "InvalidVSwitchId.IpNotEnough", () => account.NewVpcInstanceAsync(small));
        Assert.Equal(4, (await account.Instances().ListInstancesAsync(new ListInstancesRequest { RegionId = Hangzhou })).TotalSize);
    }

    [Fact]
    public async Task AnArm64ImageRunsOnArm64TypesInTheZonesThatOfferThem()
    {
        var account = await Cluster.NewAccountAsync();
        var image = await NewArm64ImageAsync(account);

        var instance = (await account.Instances().CreateInstanceAsync(new CreateInstanceRequest { RegionId = Hangzhou, ImageId = image.ImageId })).Instance;

        Assert.Equal(("ecs.g8y.large", "cn-hangzhou-b", Architecture.Arm64), (instance.InstanceType, instance.ZoneId, instance.Architecture));
        var types = (await account.RegionInfo().ListInstanceTypesAsync(new ListInstanceTypesRequest { RegionId = Hangzhou, ImageId = image.ImageId })).InstanceTypes;
        Assert.Equal(["ecs.g8y.large", "ecs.g8y.xlarge"], types.Select(t => t.InstanceTypeId));
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidInstanceType.NotSupported", () =>
            account.Instances().CreateInstanceAsync(new CreateInstanceRequest { RegionId = Hangzhou, ImageId = image.ImageId, InstanceType = "ecs.g7.large" }));
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidInstanceType.NotSupported", () =>
            account.Instances().CreateInstanceAsync(new CreateInstanceRequest { RegionId = Hangzhou, ImageId = image.ImageId, ZoneId = "cn-hangzhou-h" }));
    }

    /// <summary>An arm64 image, made from a snapshot of an instance's system disk.</summary>
    internal static async Task<Image> NewArm64ImageAsync(TestAccount account)
    {
        var snapshot = await account.SnapshotOfAsync((await account.NewInstanceAsync()).SystemDisk.DiskId);
        var image = (await account.Images().CreateImageAsync(new CreateImageRequest
        {
            RegionId = Hangzhou, ImageName = UniqueName("arm"), Architecture = Architecture.Arm64,
            DiskDeviceMappings = { new DiskDeviceMappingSpec { SnapshotId = snapshot.SnapshotId } },
        })).Image;
        return await account.WaitUntilAvailableAsync(image.ImageId);
    }

    [Fact]
    public async Task DisksAreListedByInstanceByIdAndPaged()
    {
        var a = await Cluster.NewAccountAsync();
        var b = await Cluster.NewAccountAsync();
        var first = await a.NewInstanceAsync(Ubuntu, Hangzhou, 0, 20, 30);
        var second = await a.NewInstanceAsync(Ubuntu, Hangzhou, 0, 40);
        var foreign = await b.NewInstanceAsync();
        ListDisksRequest Request() => new() { RegionId = Hangzhou };

        var all = (await a.Instances().ListDisksAsync(Request())).Disks;
        Assert.Equal([second.SystemDisk.DiskId, second.DataDisks[0].DiskId, first.SystemDisk.DiskId, first.DataDisks[0].DiskId, first.DataDisks[1].DiskId],
            all.Select(d => d.DiskId));
        Assert.Equal((first.InstanceId, "cn-hangzhou-b", DiskType.Data, 30L), (all[4].InstanceId, all[4].ZoneId, all[4].DiskType, all[4].SizeGib));

        var paged = new List<Disk>();
        var request = Request();
        request.PageSize = 2;
        do
        {
            var page = await a.Instances().ListDisksAsync(request);
            Assert.True(page.Disks.Count <= 2);
            paged.AddRange(page.Disks);
            request.PageToken = page.NextPageToken;
        } while (request.PageToken.Length > 0);
        Assert.Equal(all, paged);

        var ofFirst = Request();
        ofFirst.InstanceId = first.InstanceId;
        Assert.Equal(3, (await a.Instances().ListDisksAsync(ofFirst)).Disks.Count);
        var byIds = Request();
        byIds.DiskIds.AddRange([first.DataDisks[1].DiskId, second.SystemDisk.DiskId, foreign.SystemDisk.DiskId, "d-nope"]);
        Assert.Equal(new[] { first.DataDisks[1].DiskId, second.SystemDisk.DiskId }.Order(StringComparer.Ordinal),
            (await a.Instances().ListDisksAsync(byIds)).Disks.Select(d => d.DiskId).Order(StringComparer.Ordinal));

        // Another account's instance or disk lists nothing; too many ids is refused.
        var theirs = Request();
        theirs.InstanceId = foreign.InstanceId;
        Assert.Empty((await a.Instances().ListDisksAsync(theirs)).Disks);
        var many = Request();
        many.DiskIds.AddRange(Enumerable.Range(0, 101).Select(i => $"d-{i:D20}"));
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidDiskIds.ValueNotSupported", () => a.Instances().ListDisksAsync(many));
        var foreignToken = Request();
        foreignToken.PageToken = "garbage";
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidNextToken", () => a.Instances().ListDisksAsync(foreignToken));
    }

    [Fact]
    public async Task AnotherAccountsSnapshotIsNotDeletedAndAnUnusedOneIs()
    {
        var a = await Cluster.NewAccountAsync();
        var b = await Cluster.NewAccountAsync();
        var snapshot = await a.SnapshotOfAsync((await a.NewInstanceAsync()).SystemDisk.DiskId);

        Assert.False((await b.Snapshots().DeleteSnapshotAsync(new DeleteSnapshotRequest { RegionId = Hangzhou, SnapshotId = snapshot.SnapshotId })).Deleted);
        Assert.False((await a.Snapshots().DeleteSnapshotAsync(new DeleteSnapshotRequest { RegionId = Shanghai, SnapshotId = snapshot.SnapshotId })).Deleted);
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidSnapshotId.NotFound", () =>
            b.Snapshots().GetSnapshotAsync(new GetSnapshotRequest { RegionId = Hangzhou, SnapshotId = snapshot.SnapshotId }));
        Assert.Equal(SnapshotStatus.Accomplished, (await a.Snapshots().GetSnapshotAsync(new GetSnapshotRequest { RegionId = Hangzhou, SnapshotId = snapshot.SnapshotId })).Snapshot.Status);

        Assert.True((await a.Snapshots().DeleteSnapshotAsync(new DeleteSnapshotRequest { RegionId = Hangzhou, SnapshotId = snapshot.SnapshotId })).Deleted);
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidSnapshotId.NotFound", () =>
            a.Snapshots().GetSnapshotAsync(new GetSnapshotRequest { RegionId = Hangzhou, SnapshotId = snapshot.SnapshotId }));
        Assert.Empty((await a.Snapshots().ListSnapshotsAsync(new ListSnapshotsRequest { RegionId = Hangzhou })).Snapshots);
    }

    [Fact]
    public async Task InstancesMadeAtOnceInOneVSwitchGetAddressesOfTheirOwn()
    {
        var account = await Cluster.NewAccountAsync();
        var vpc = await account.NewVpcAsync();
        var vswitch = await account.NewVSwitchAsync(vpc, "172.16.5.0/24");

        var instances = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => account.NewVpcInstanceAsync(vswitch)));

        Assert.Equal(8, instances.Select(i => i.PrivateIpAddress).Distinct().Count());
        Assert.All(instances, i => Assert.StartsWith("172.16.5.", i.PrivateIpAddress));
        Assert.Equal(244, (await account.Networks().GetVSwitchAsync(new GetVSwitchRequest { RegionId = Hangzhou, VswitchId = vswitch.VswitchId })).Vswitch.AvailableIpAddressCount);
    }

    [Fact]
    public async Task APackerBuildsResourcesComeAndGoAndLeaveATaggedImage()
    {
        var account = await Cluster.NewAccountAsync();
        var keyName = $"packer_{Guid.NewGuid():N}";

        // What Packer's alicloud-ecs builder makes, in its order.
        await account.KeyPairs().CreateKeyPairAsync(new CreateKeyPairRequest { RegionId = Hangzhou, KeyPairName = keyName });
        var zone = (await account.RegionInfo().ListZonesAsync(new ListZonesRequest { RegionId = Hangzhou })).Zones.First(z => z.AvailableInstanceTypes.Contains("ecs.g7.large"));
        var vpc = await account.NewVpcAsync("172.16.0.0/16");
        var vswitch = await account.NewVSwitchAsync(vpc, "172.16.0.0/24", zone.ZoneId);
        var group = await account.NewGroupAsync(vpc.VpcId);
        await account.Groups().AuthorizeSecurityGroupAsync(new AuthorizeSecurityGroupRequest
        {
            RegionId = Hangzhou, SecurityGroupId = group.SecurityGroupId,
            Rule = new SecurityGroupRule { Direction = RuleDirection.Ingress, IpProtocol = "tcp", PortRange = "22/22", CidrIp = "0.0.0.0/0", NicType = "intranet" },
        });
        var instance = (await account.Instances().CreateInstanceAsync(new CreateInstanceRequest
        {
            RegionId = Hangzhou, ImageId = Ubuntu, InstanceType = "ecs.g7.large", VswitchId = vswitch.VswitchId, SecurityGroupIds = { group.SecurityGroupId },
            KeyPairName = keyName, CreateStopped = true, InternetMaxBandwidthOut = 5, ClientToken = Guid.NewGuid().ToString(),
        })).Instance;
        var eip = (await account.Addresses().AllocateEipAddressAsync(new AllocateEipAddressRequest { RegionId = Hangzhou })).EipAddress;
        await account.Addresses().AssociateEipAddressAsync(new AssociateEipAddressRequest { RegionId = Hangzhou, AllocationId = eip.AllocationId, InstanceId = instance.InstanceId });
        await account.Instances().StartInstanceAsync(new StartInstanceRequest { RegionId = Hangzhou, InstanceId = instance.InstanceId });
        await account.StopAsync(await account.GetInstanceAsync(instance.InstanceId));
        var image = await account.NewImageAsync(instance.InstanceId, name: "web-1700000000");
        var snapshotIds = image.DiskDeviceMappings.Select(m => m.SnapshotId).ToList();
        await account.Tags().TagResourcesAsync(new TagResourcesRequest { RegionId = Hangzhou, ResourceType = TaggedResourceType.Image, ResourceIds = { image.ImageId }, Tags = { NetworkSteps.Tag("team", "web") } });
        await account.Tags().TagResourcesAsync(new TagResourcesRequest { RegionId = Hangzhou, ResourceType = TaggedResourceType.Snapshot, ResourceIds = { snapshotIds }, Tags = { NetworkSteps.Tag("team", "web") } });

        // Its cleanup, in its order: everything goes but the image and its snapshots.
        await account.Addresses().UnassociateEipAddressAsync(new UnassociateEipAddressRequest { RegionId = Hangzhou, AllocationId = eip.AllocationId, InstanceId = instance.InstanceId });
        Assert.True((await account.Addresses().ReleaseEipAddressAsync(new ReleaseEipAddressRequest { RegionId = Hangzhou, AllocationId = eip.AllocationId })).Released);
        await account.DeleteInstanceAsync(instance.InstanceId);
        Assert.True((await account.Groups().DeleteSecurityGroupAsync(new DeleteSecurityGroupRequest { RegionId = Hangzhou, SecurityGroupId = group.SecurityGroupId })).Deleted);
        Assert.True((await account.Networks().DeleteVSwitchAsync(new DeleteVSwitchRequest { RegionId = Hangzhou, VswitchId = vswitch.VswitchId })).Deleted);
        Assert.True((await account.Networks().DeleteVpcAsync(new DeleteVpcRequest { RegionId = Hangzhou, VpcId = vpc.VpcId })).Deleted);
        Assert.Equal([keyName], (await account.KeyPairs().DeleteKeyPairsAsync(new DeleteKeyPairsRequest { RegionId = Hangzhou, KeyPairNames = { keyName } })).Deleted);

        Assert.Empty((await account.Instances().ListInstancesAsync(new ListInstancesRequest { RegionId = Hangzhou })).Instances);
        Assert.Empty((await account.Networks().ListVpcsAsync(new ListVpcsRequest { RegionId = Hangzhou })).Vpcs);
        Assert.Empty((await account.Addresses().ListEipAddressesAsync(new ListEipAddressesRequest { RegionId = Hangzhou })).EipAddresses);
        var listed = (await account.Images().ListImagesAsync(new ListImagesRequest { RegionId = Hangzhou, Tags = { NetworkSteps.Tag("team", "web") } })).Images.Single();
        Assert.Equal((image.ImageId, ImageUsage.None), (listed.ImageId, listed.Usage));
        var taggedSnapshots = (await account.Tags().ListTagResourcesAsync(new ListTagResourcesRequest
        {
            RegionId = Hangzhou, ResourceType = TaggedResourceType.Snapshot, Tags = { NetworkSteps.Tag("team", "web") },
        })).TagResources.Select(t => t.ResourceId);
        Assert.Equal(snapshotIds.Order(StringComparer.Ordinal), taggedSnapshots.Order(StringComparer.Ordinal));
    }
}
