using Grpc.Core;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Testing;
using static GrpcImages.IntegrationTests.CatalogSteps;

namespace GrpcImages.IntegrationTests;

/// <summary>
/// Public addresses (issue 21): EIPs allocated from the region's pool, associated with one VPC instance at a time,
/// released only when free; instances' fixed public addresses; another account's EIP NOT_FOUND.
/// </summary>
public class AddressTests(ClusterFixture fixture, ITestOutputHelper output) : ClusterTest(fixture, output)
{
    private static readonly Cidr Pool = new(0xC6120000, 15); // 198.18.0.0/15

    [Fact]
    public async Task AnEipIsAllocatedFromThePoolAndListed()
    {
        var account = await Cluster.NewAccountAsync();
        var request = new AllocateEipAddressRequest { RegionId = Hangzhou, ClientToken = Guid.NewGuid().ToString() };

        var eip = (await account.Addresses().AllocateEipAddressAsync(request)).EipAddress;
        await NetworkSteps.NextMillisecondAsync();
        var wide = (await account.Addresses().AllocateEipAddressAsync(new AllocateEipAddressRequest
        {
            RegionId = Hangzhou, Bandwidth = 200, InternetChargeType = "PayByBandwidth",
        })).EipAddress;

        Assert.Matches("^eip-[a-z0-9]{20}$", eip.AllocationId);
        Assert.Equal((EipStatus.Available, 5, "PayByTraffic", "", account.AccountId), (eip.Status, eip.Bandwidth, eip.InternetChargeType, eip.InstanceId, eip.OwnerAccountId));
        Assert.Equal((200, "PayByBandwidth"), (wide.Bandwidth, wide.InternetChargeType));
        Assert.True(Pool.Contains(eip.IpAddress) && Pool.Contains(wide.IpAddress), $"{eip.IpAddress}, {wide.IpAddress}");
        Assert.NotEqual(eip.IpAddress, wide.IpAddress);
        Assert.Equal(eip.AllocationId, (await account.Addresses().AllocateEipAddressAsync(request)).EipAddress.AllocationId); // R35
        request.Bandwidth = 10;
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "IdempotenceParamNotMatch", () => account.Addresses().AllocateEipAddressAsync(request));

        Assert.Equal(eip, (await account.Addresses().GetEipAddressAsync(new GetEipAddressRequest { RegionId = Hangzhou, AllocationId = eip.AllocationId })).EipAddress);
        var listed = await account.Addresses().ListEipAddressesAsync(new ListEipAddressesRequest { RegionId = Hangzhou });
        Assert.Equal([wide.AllocationId, eip.AllocationId], listed.EipAddresses.Select(e => e.AllocationId));
        Assert.Equal([wide.AllocationId],
            (await account.Addresses().ListEipAddressesAsync(new ListEipAddressesRequest { RegionId = Hangzhou, IpAddress = wide.IpAddress })).EipAddresses.Select(e => e.AllocationId));
        Assert.Empty((await account.Addresses().ListEipAddressesAsync(new ListEipAddressesRequest { RegionId = Shanghai })).EipAddresses);
    }

    [Fact]
    public async Task AnEipIsAssociatedWithOneVpcInstanceAndReleasedOnlyWhenFree()
    {
        var account = await Cluster.NewAccountAsync();
        var (_, vswitch, group) = await account.NewNetworkAsync();
        var instance = await account.NewVpcInstanceAsync(vswitch, group);
        var other = await account.NewVpcInstanceAsync(vswitch, group);
        var classic = await account.NewInstanceAsync();
        var eip = (await account.Addresses().AllocateEipAddressAsync(new AllocateEipAddressRequest { RegionId = Hangzhou })).EipAddress;
        var second = (await account.Addresses().AllocateEipAddressAsync(new AllocateEipAddressRequest { RegionId = Hangzhou })).EipAddress;
        AssociateEipAddressRequest Associate(EipAddress e, Instance i) => new() { RegionId = Hangzhou, AllocationId = e.AllocationId, InstanceId = i.InstanceId };

        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, "InvalidInstance.NotVpc", () => account.Addresses().AssociateEipAddressAsync(Associate(eip, classic)));
        var inUse = (await account.Addresses().AssociateEipAddressAsync(Associate(eip, instance))).EipAddress;

        Assert.Equal((EipStatus.InUse, instance.InstanceId), (inUse.Status, inUse.InstanceId));
        var seen = await account.GetInstanceAsync(instance.InstanceId);
        Assert.Equal((eip.AllocationId, eip.IpAddress, 5), (seen.Eip.AllocationId, seen.Eip.IpAddress, seen.Eip.Bandwidth));
        Assert.Equal([eip.AllocationId],
            (await account.Addresses().ListEipAddressesAsync(new ListEipAddressesRequest { RegionId = Hangzhou, InstanceId = instance.InstanceId })).EipAddresses.Select(e => e.AllocationId));
        Assert.Equal([second.AllocationId],
            (await account.Addresses().ListEipAddressesAsync(new ListEipAddressesRequest { RegionId = Hangzhou, Status = EipStatus.Available })).EipAddresses.Select(e => e.AllocationId));

        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, "IncorrectEipStatus", () => account.Addresses().AssociateEipAddressAsync(Associate(eip, instance)));
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, "IncorrectEipStatus", () => account.Addresses().AssociateEipAddressAsync(Associate(eip, other)));
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, "InvalidInstance.HasPublicIp", () => account.Addresses().AssociateEipAddressAsync(Associate(second, instance)));
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, "IncorrectEipStatus", () =>
            account.Addresses().ReleaseEipAddressAsync(new ReleaseEipAddressRequest { RegionId = Hangzhou, AllocationId = eip.AllocationId }));
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, "IncorrectEipStatus", () => account.Addresses().UnassociateEipAddressAsync(
            new UnassociateEipAddressRequest { RegionId = Hangzhou, AllocationId = eip.AllocationId, InstanceId = other.InstanceId }));
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, "IncorrectEipStatus", () => account.Addresses().UnassociateEipAddressAsync(
            new UnassociateEipAddressRequest { RegionId = Hangzhou, AllocationId = second.AllocationId, InstanceId = instance.InstanceId }));

        var free = (await account.Addresses().UnassociateEipAddressAsync(new UnassociateEipAddressRequest
        {
            RegionId = Hangzhou, AllocationId = eip.AllocationId, InstanceId = instance.InstanceId,
        })).EipAddress;
        Assert.Equal((EipStatus.Available, ""), (free.Status, free.InstanceId));
        Assert.Null((await account.GetInstanceAsync(instance.InstanceId)).Eip);
        Assert.True((await account.Addresses().ReleaseEipAddressAsync(new ReleaseEipAddressRequest { RegionId = Hangzhou, AllocationId = eip.AllocationId })).Released);
        Assert.False((await account.Addresses().ReleaseEipAddressAsync(new ReleaseEipAddressRequest { RegionId = Hangzhou, AllocationId = eip.AllocationId })).Released);
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidAllocationId.NotFound", () =>
            account.Addresses().GetEipAddressAsync(new GetEipAddressRequest { RegionId = Hangzhou, AllocationId = eip.AllocationId }));
    }

    [Fact]
    public async Task DeletingAnInstanceFreesItsEip()
    {
        var account = await Cluster.NewAccountAsync();
        var (_, vswitch, _) = await account.NewNetworkAsync();
        var instance = await account.NewVpcInstanceAsync(vswitch);
        var eip = (await account.Addresses().AllocateEipAddressAsync(new AllocateEipAddressRequest { RegionId = Hangzhou })).EipAddress;
        await account.Addresses().AssociateEipAddressAsync(new AssociateEipAddressRequest { RegionId = Hangzhou, AllocationId = eip.AllocationId, InstanceId = instance.InstanceId });

        await account.DeleteInstanceAsync(instance.InstanceId);

        var after = (await account.Addresses().GetEipAddressAsync(new GetEipAddressRequest { RegionId = Hangzhou, AllocationId = eip.AllocationId })).EipAddress;
        Assert.Equal((EipStatus.Available, "", eip.IpAddress), (after.Status, after.InstanceId, after.IpAddress));
        Assert.True((await account.Addresses().ReleaseEipAddressAsync(new ReleaseEipAddressRequest { RegionId = Hangzhou, AllocationId = eip.AllocationId })).Released);
    }

    [Fact]
    public async Task AnInstanceGetsOneFixedPublicAddressOrAnEipNotBoth()
    {
        var account = await Cluster.NewAccountAsync();
        var (_, vswitch, _) = await account.NewNetworkAsync();
        var instance = await account.NewVpcInstanceAsync(vswitch);
        var withEip = await account.NewVpcInstanceAsync(vswitch);
        var eip = (await account.Addresses().AllocateEipAddressAsync(new AllocateEipAddressRequest { RegionId = Hangzhou })).EipAddress;
        await account.Addresses().AssociateEipAddressAsync(new AssociateEipAddressRequest { RegionId = Hangzhou, AllocationId = eip.AllocationId, InstanceId = withEip.InstanceId });

        var address = (await account.Addresses().AllocatePublicIpAddressAsync(new AllocatePublicIpAddressRequest { RegionId = Hangzhou, InstanceId = instance.InstanceId })).IpAddress;

        Assert.True(Pool.Contains(address), address);
        Assert.NotEqual(eip.IpAddress, address);
        Assert.Equal(address, (await account.GetInstanceAsync(instance.InstanceId)).PublicIpAddress);
        Assert.Equal(address, (await account.Addresses().AllocatePublicIpAddressAsync(new AllocatePublicIpAddressRequest { RegionId = Hangzhou, InstanceId = instance.InstanceId })).IpAddress);
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, "InvalidInstance.HasPublicIp", () =>
            account.Addresses().AllocatePublicIpAddressAsync(new AllocatePublicIpAddressRequest { RegionId = Hangzhou, InstanceId = withEip.InstanceId }));
        var another = (await account.Addresses().AllocateEipAddressAsync(new AllocateEipAddressRequest { RegionId = Hangzhou })).EipAddress;
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, "InvalidInstance.HasPublicIp", () => account.Addresses().AssociateEipAddressAsync(
            new AssociateEipAddressRequest { RegionId = Hangzhou, AllocationId = another.AllocationId, InstanceId = instance.InstanceId }));
        Assert.Equal(EipStatus.Available, (await account.Addresses().GetEipAddressAsync(new GetEipAddressRequest { RegionId = Hangzhou, AllocationId = another.AllocationId })).EipAddress.Status);
    }

    [Fact]
    public async Task AnotherAccountsEipOrInstanceIsNotFound()
    {
        var a = await Cluster.NewAccountAsync();
        var b = await Cluster.NewAccountAsync();
        var (_, aSwitch, _) = await a.NewNetworkAsync();
        var (_, bSwitch, _) = await b.NewNetworkAsync();
        var aInstance = await a.NewVpcInstanceAsync(aSwitch);
        var bInstance = await b.NewVpcInstanceAsync(bSwitch);
        var eip = (await a.Addresses().AllocateEipAddressAsync(new AllocateEipAddressRequest { RegionId = Hangzhou })).EipAddress;

        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidAllocationId.NotFound", () =>
            b.Addresses().GetEipAddressAsync(new GetEipAddressRequest { RegionId = Hangzhou, AllocationId = eip.AllocationId }));
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidAllocationId.NotFound", () =>
            a.Addresses().GetEipAddressAsync(new GetEipAddressRequest { RegionId = Shanghai, AllocationId = eip.AllocationId }));
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidAllocationId.NotFound", () => b.Addresses().AssociateEipAddressAsync(
            new AssociateEipAddressRequest { RegionId = Hangzhou, AllocationId = eip.AllocationId, InstanceId = bInstance.InstanceId }));
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidInstanceId.NotFound", () => a.Addresses().AssociateEipAddressAsync(
            new AssociateEipAddressRequest { RegionId = Hangzhou, AllocationId = eip.AllocationId, InstanceId = bInstance.InstanceId }));
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidInstanceId.NotFound", () =>
            b.Addresses().AllocatePublicIpAddressAsync(new AllocatePublicIpAddressRequest { RegionId = Hangzhou, InstanceId = aInstance.InstanceId }));
        Assert.False((await b.Addresses().ReleaseEipAddressAsync(new ReleaseEipAddressRequest { RegionId = Hangzhou, AllocationId = eip.AllocationId })).Released);
        Assert.Empty((await b.Addresses().ListEipAddressesAsync(new ListEipAddressesRequest { RegionId = Hangzhou })).EipAddresses);

        var kept = (await a.Addresses().GetEipAddressAsync(new GetEipAddressRequest { RegionId = Hangzhou, AllocationId = eip.AllocationId })).EipAddress;
        Assert.Equal(EipStatus.Available, kept.Status);
        Assert.Equal("", (await a.GetInstanceAsync(aInstance.InstanceId)).PublicIpAddress);
    }

    [Fact]
    public async Task BadBandwidthsChargeTypesAndTheQuotaAllocateNothing()
    {
        var account = await Cluster.NewAccountAsync();
        foreach (var bandwidth in new[] { -1, 201, int.MaxValue })
        {
            await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidBandwidth.Malformed", () =>
                account.Addresses().AllocateEipAddressAsync(new AllocateEipAddressRequest { RegionId = Hangzhou, Bandwidth = bandwidth }));
        }
        foreach (var chargeType in new[] { "Free", "paybytraffic", new string('P', 8000) })
        {
            await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidInternetChargeType.ValueNotSupported", () =>
                account.Addresses().AllocateEipAddressAsync(new AllocateEipAddressRequest { RegionId = Hangzhou, InternetChargeType = chargeType }));
        }
        Assert.Empty((await account.Addresses().ListEipAddressesAsync(new ListEipAddressesRequest { RegionId = Hangzhou })).EipAddresses);

        for (var i = 0; i < 20; i++)
        {
            await account.Addresses().AllocateEipAddressAsync(new AllocateEipAddressRequest { RegionId = Hangzhou });
        }
        await RpcAssert.FailsAsync(StatusCode.ResourceExhausted, "QuotaExceeded.Eip", () =>
            account.Addresses().AllocateEipAddressAsync(new AllocateEipAddressRequest { RegionId = Hangzhou }));
        var all = await account.Addresses().ListEipAddressesAsync(new ListEipAddressesRequest { RegionId = Hangzhou, PageSize = 100 });
        Assert.Equal(20, all.TotalSize);
        Assert.Equal(20, all.EipAddresses.Select(e => e.IpAddress).Distinct().Count());
    }

    /// <summary>An IPv4 block, to check addresses come from the pool.</summary>
    private readonly record struct Cidr(uint Network, int Prefix)
    {
        public bool Contains(string address)
        {
            var parts = address.Split('.').Select(uint.Parse).ToArray();
            var value = (parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3];
            return value >> (32 - Prefix) == Network >> (32 - Prefix);
        }
    }

    [Fact]
    public async Task EipsAllocatedAtOnceGetAddressesOfTheirOwn()
    {
        var a = await Cluster.NewAccountAsync();
        var b = await Cluster.NewAccountAsync();

        var eips = await Task.WhenAll(Enumerable.Range(0, 10).Select(i =>
            (i % 2 == 0 ? a : b).Addresses().AllocateEipAddressAsync(new AllocateEipAddressRequest { RegionId = Hangzhou }).ResponseAsync));

        Assert.Equal(10, eips.Select(e => e.EipAddress.IpAddress).Distinct().Count());
    }
}
