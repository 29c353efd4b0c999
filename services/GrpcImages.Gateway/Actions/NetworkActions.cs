using System.Text.Json.Nodes;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Common.V1;
using GrpcImages.Gateway.Ecs;

namespace GrpcImages.Gateway.Actions;

/// <summary>
/// VPCs, vSwitches, zones and instance types: the ECS 2014-05-26 actions (and their VPC 2016-04-28 twins,
/// which take the same parameters) on the catalog. Networks are records with rules, not real networks.
/// </summary>
public static class NetworkActions
{
    public static async Task<JsonObject> CreateVpc(EcsCall call)
    {
        var p = call.Parameters;
        p.Accept("UserCidr", "Ipv6CidrBlock", "EnableIpv6", "DryRun");
        var request = new CreateVpcRequest
        {
            RegionId = call.Region,
            CidrBlock = p.Optional("CidrBlock") ?? "172.16.0.0/12",
            VpcName = p.Text("VpcName"),
            Description = p.Text("Description"),
            ClientToken = p.Text("ClientToken"),
        };
        var vpc = (await call.Rpc(o => call.Clients.Networks.CreateVpcAsync(request, o))).Vpc;
        // No routers here: the router and route table ids are derived from the VPC's, as stable names.
        return new JsonObject
        {
            ["VpcId"] = vpc.VpcId,
            ["VRouterId"] = "vrt-" + vpc.VpcId[4..],
            ["RouteTableId"] = "vtb-" + vpc.VpcId[4..],
            ["ResourceGroupId"] = "",
        };
    }

    public static async Task<JsonObject> DescribeVpcs(EcsCall call)
    {
        var p = call.Parameters;
        var region = call.Region;
        var ids = p.JsonList("VpcId").ToHashSet(StringComparer.Ordinal);
        var name = p.Optional("VpcName");
        var isDefault = p.Flag("IsDefault");
        var (page, total, number, size) = await call.PageAsync<Vpc>(async token =>
        {
            var list = await call.Rpc(o => call.Clients.Networks.ListVpcsAsync(new ListVpcsRequest { RegionId = region, PageSize = 100, PageToken = token }, o));
            // No VPC here is a default one.
            return (list.Vpcs.Where(v => !isDefault && (ids.Count == 0 || ids.Contains(v.VpcId)) && (name is null || v.VpcName == name)), list.NextPageToken);
        }, maxSize: 50);
        return new JsonObject
        {
            ["TotalCount"] = total,
            ["PageNumber"] = number,
            ["PageSize"] = size,
            ["Vpcs"] = Shapes.Wrap("Vpc", page.Select(v => (JsonNode)new JsonObject
            {
                ["VpcId"] = v.VpcId,
                ["RegionId"] = v.RegionId,
                ["Status"] = Status(v.Status),
                ["VpcName"] = v.VpcName,
                ["Description"] = v.Description,
                ["CidrBlock"] = v.CidrBlock,
                ["VRouterId"] = "vrt-" + v.VpcId[4..],
                ["IsDefault"] = false,
                ["CreationTime"] = Shapes.Time(v.CreateTime),
                ["VSwitchIds"] = new JsonObject { ["VSwitchId"] = new JsonArray([.. v.VswitchIds.Select(id => (JsonNode)id)]) },
            })),
        };
    }

    public static async Task<JsonObject> DeleteVpc(EcsCall call)
    {
        var request = new DeleteVpcRequest { RegionId = call.Region, VpcId = call.Parameters.Required("VpcId") };
        // ECS answers NotFound for a VPC that is not there (or is another account's), where the cluster answers "nothing deleted".
        return (await call.Rpc(o => call.Clients.Networks.DeleteVpcAsync(request, o))).Deleted
            ? EcsCall.Ok()
            : throw new EcsException(404, "InvalidVpcId.NotFound", $"The VPC {request.VpcId} does not exist.");
    }

    public static async Task<JsonObject> CreateVSwitch(EcsCall call)
    {
        var p = call.Parameters;
        p.Accept("Ipv6CidrBlock");
        var request = new CreateVSwitchRequest
        {
            RegionId = call.Region,
            VpcId = p.Required("VpcId"),
            ZoneId = p.Required("ZoneId"),
            CidrBlock = p.Required("CidrBlock"),
            VswitchName = p.Text("VSwitchName"),
            Description = p.Text("Description"),
            ClientToken = p.Text("ClientToken"),
        };
        var created = await call.Rpc(o => call.Clients.Networks.CreateVSwitchAsync(request, o));
        return new JsonObject { ["VSwitchId"] = created.Vswitch.VswitchId };
    }

    public static async Task<JsonObject> DescribeVSwitches(EcsCall call)
    {
        var p = call.Parameters;
        var region = call.Region;
        var vpcId = p.Text("VpcId");
        var zoneId = p.Text("ZoneId");
        var ids = p.JsonList("VSwitchId").ToHashSet(StringComparer.Ordinal);
        var name = p.Optional("VSwitchName");
        var isDefault = p.Flag("IsDefault");
        var (page, total, number, size) = await call.PageAsync<VSwitch>(async token =>
        {
            var list = await call.Rpc(o => call.Clients.Networks.ListVSwitchesAsync(
                new ListVSwitchesRequest { RegionId = region, VpcId = vpcId, ZoneId = zoneId, PageSize = 100, PageToken = token }, o));
            return (list.Vswitches.Where(v => !isDefault && (ids.Count == 0 || ids.Contains(v.VswitchId)) && (name is null || v.VswitchName == name)), list.NextPageToken);
        }, maxSize: 50);
        return new JsonObject
        {
            ["TotalCount"] = total,
            ["PageNumber"] = number,
            ["PageSize"] = size,
            ["VSwitches"] = Shapes.Wrap("VSwitch", page.Select(v => (JsonNode)new JsonObject
            {
                ["VSwitchId"] = v.VswitchId,
                ["VpcId"] = v.VpcId,
                ["ZoneId"] = v.ZoneId,
                ["Status"] = Status(v.Status),
                ["CidrBlock"] = v.CidrBlock,
                ["AvailableIpAddressCount"] = v.AvailableIpAddressCount,
                ["VSwitchName"] = v.VswitchName,
                ["Description"] = v.Description,
                ["IsDefault"] = false,
                ["CreationTime"] = Shapes.Time(v.CreateTime),
            })),
        };
    }

    public static async Task<JsonObject> DeleteVSwitch(EcsCall call)
    {
        var p = call.Parameters;
        var vswitchId = p.Required("VSwitchId");
        // ECS's DeleteVSwitch takes no RegionId: without one, every region is asked for the vSwitch.
        var region = p.Optional("RegionId") ?? (await call.FindInRegionsAsync(
            async r => await call.Clients.Networks.GetVSwitchAsync(new GetVSwitchRequest { RegionId = r, VswitchId = vswitchId }, call.Options),
            () => new EcsException(404, "InvalidVSwitchId.NotFound", $"The vSwitch {vswitchId} does not exist."))).Region;
        return (await call.Rpc(o => call.Clients.Networks.DeleteVSwitchAsync(new DeleteVSwitchRequest { RegionId = region, VswitchId = vswitchId }, o))).Deleted
            ? EcsCall.Ok()
            : throw new EcsException(404, "InvalidVSwitchId.NotFound", $"The vSwitch {vswitchId} does not exist.");
    }

    public static async Task<JsonObject> DescribeZones(EcsCall call)
    {
        var p = call.Parameters;
        p.Accept("InstanceChargeType", "SpotStrategy", "Verbose");
        var region = call.Region;
        var zones = await call.Rpc(o => call.Clients.Regions.ListZonesAsync(new ListZonesRequest { RegionId = region }, o));
        return new JsonObject
        {
            ["Zones"] = Shapes.Wrap("Zone", zones.Zones.Select(z => (JsonNode)new JsonObject
            {
                ["ZoneId"] = z.ZoneId,
                ["LocalName"] = z.LocalName,
                ["AvailableResourceCreation"] = Strings("ResourceTypes", z.AvailableResourceTypes),
                ["AvailableInstanceTypes"] = Strings("InstanceTypes", z.AvailableInstanceTypes),
                ["AvailableDiskCategories"] = Strings("DiskCategories", z.AvailableDiskCategories),
                ["AvailableVolumeCategories"] = Strings("VolumeCategories", []),
                ["AvailableResources"] = Shapes.Wrap("ResourcesInfo", [new JsonObject
                {
                    ["IoOptimized"] = true,
                    ["InstanceTypes"] = Strings("supportedInstanceType", z.AvailableInstanceTypes),
                    ["SystemDiskCategories"] = Strings("supportedSystemDiskCategory", z.AvailableDiskCategories),
                    ["DataDiskCategories"] = Strings("supportedDataDiskCategory", z.AvailableDiskCategories),
                    ["NetworkTypes"] = Strings("supportedNetworkCategory", ["vpc", "classic"]),
                    ["InstanceTypeFamilies"] = Strings("supportedInstanceTypeFamily",
                        z.AvailableInstanceTypes.Select(t => t[..t.LastIndexOf('.')]).Distinct()),
                    ["InstanceGenerations"] = Strings("supportedInstanceGeneration", ["ecs-7"]),
                }]),
            })),
        };
    }

    public static async Task<JsonObject> DescribeInstanceTypes(EcsCall call)
    {
        var p = call.Parameters;
        p.Accept("MaxResults", "NextToken");
        var request = new ListInstanceTypesRequest { RegionId = p.Optional("RegionId") ?? "", InstanceTypeFamily = p.Text("InstanceTypeFamily") };
        request.InstanceTypeIds.AddRange(p.List("InstanceTypes"));
        var types = await call.Rpc(o => call.Clients.Regions.ListInstanceTypesAsync(request, o));
        return new JsonObject { ["InstanceTypes"] = Shapes.Wrap("InstanceType", types.InstanceTypes.Select(InstanceType)), ["NextToken"] = "" };
    }

    public static async Task<JsonObject> DescribeImageSupportInstanceTypes(EcsCall call)
    {
        var p = call.Parameters;
        var region = call.Region;
        p.Accept("ActionType");
        // Filter.N.Key = imageId is the older spelling of ImageId.
        var imageId = p.Optional("ImageId");
        foreach (var filter in p.Objects("Filter", "Key", "Value"))
        {
            imageId = filter("Key") == "imageId" ? filter("Value") : throw EcsException.InvalidParameter("Filter.N.Key", "it is imageId.");
        }
        var request = new ListInstanceTypesRequest { RegionId = region, ImageId = imageId ?? throw EcsException.MissingParameter("ImageId") };
        var types = await call.Rpc(o => call.Clients.Regions.ListInstanceTypesAsync(request, o));
        return new JsonObject
        {
            ["RegionId"] = region,
            ["ImageId"] = request.ImageId,
            ["InstanceTypes"] = Shapes.Wrap("InstanceType", types.InstanceTypes.Select(InstanceType)),
        };
    }

    private static JsonNode InstanceType(InstanceType type) => new JsonObject
    {
        ["InstanceTypeId"] = type.InstanceTypeId,
        ["InstanceTypeFamily"] = type.InstanceTypeFamily,
        ["CpuCoreCount"] = type.CpuCoreCount,
        ["MemorySize"] = type.MemorySize,
        ["CpuArchitecture"] = type.Architecture == Architecture.Arm64 ? "ARM" : "X86",
    };

    private static string Status(NetworkStatus status) => status == NetworkStatus.Available ? "Available" : "Pending";

    private static JsonObject Strings(string name, IEnumerable<string> values) => new() { [name] = new JsonArray([.. values.Select(v => (JsonNode)v)]) };
}
