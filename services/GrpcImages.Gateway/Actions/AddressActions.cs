using System.Text.Json.Nodes;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Gateway.Ecs;

namespace GrpcImages.Gateway.Actions;

/// <summary>EIPs and fixed public addresses: the ECS 2014-05-26 actions (and their VPC 2016-04-28 twins) on the catalog.</summary>
public static class AddressActions
{
    public static async Task<JsonObject> AllocateEipAddress(EcsCall call)
    {
        var p = call.Parameters;
        p.Accept("ISP", "Netmode", "InstanceChargeType", "PricingCycle", "Period", "AutoPay", "ActivityId", "Name", "Description");
        var request = new AllocateEipAddressRequest
        {
            RegionId = call.Region,
            Bandwidth = p.Number("Bandwidth", 0, 1, 200),
            InternetChargeType = p.Text("InternetChargeType"),
            ClientToken = p.Text("ClientToken"),
        };
        var eip = (await call.Rpc(o => call.Clients.Addresses.AllocateEipAddressAsync(request, o))).EipAddress;
        return new JsonObject { ["AllocationId"] = eip.AllocationId, ["EipAddress"] = eip.IpAddress, ["ResourceGroupId"] = "" };
    }

    public static async Task<JsonObject> AssociateEipAddress(EcsCall call)
    {
        var p = call.Parameters;
        InstanceKind(p);
        p.Accept("PrivateIpAddress", "Mode", "VpcId", "ClientToken");
        var request = new AssociateEipAddressRequest { RegionId = call.Region, AllocationId = p.Required("AllocationId"), InstanceId = p.Required("InstanceId") };
        await call.Rpc(o => call.Clients.Addresses.AssociateEipAddressAsync(request, o));
        return EcsCall.Ok();
    }

    public static async Task<JsonObject> UnassociateEipAddress(EcsCall call)
    {
        var p = call.Parameters;
        InstanceKind(p);
        p.Accept("PrivateIpAddress", "Force", "ClientToken");
        var request = new UnassociateEipAddressRequest { RegionId = call.Region, AllocationId = p.Required("AllocationId"), InstanceId = p.Required("InstanceId") };
        await call.Rpc(o => call.Clients.Addresses.UnassociateEipAddressAsync(request, o));
        return EcsCall.Ok();
    }

    public static async Task<JsonObject> ReleaseEipAddress(EcsCall call)
    {
        var request = new ReleaseEipAddressRequest { RegionId = call.Region, AllocationId = call.Parameters.Required("AllocationId") };
        return (await call.Rpc(o => call.Clients.Addresses.ReleaseEipAddressAsync(request, o))).Released
            ? EcsCall.Ok()
            : throw new EcsException(404, "InvalidAllocationId.NotFound", $"The EIP {request.AllocationId} does not exist.");
    }

    public static async Task<JsonObject> DescribeEipAddresses(EcsCall call)
    {
        var p = call.Parameters;
        var region = call.Region;
        p.Accept("ISP", "Filter.1.Key", "Filter.1.Value", "Filter.2.Key", "Filter.2.Value", "ChargeType", "LockReason");
        var status = p.Optional("Status") switch
        {
            null => EipStatus.Unspecified,
            "Available" => EipStatus.Available,
            "InUse" => EipStatus.InUse,
            // Nothing here is ever associating or unassociating: those lists are empty.
            "Associating" or "Unassociating" => (EipStatus)(-1),
            var other => throw EcsException.InvalidParameter("Status", $"\"{other}\" is Associating, Unassociating, InUse or Available."),
        };
        if (p.Optional("AssociatedInstanceType") is { } type && type != "EcsInstance")
        {
            throw EcsException.InvalidParameter("AssociatedInstanceType", "EIPs are associated with ECS instances here (EcsInstance).");
        }
        var allocationId = p.Optional("AllocationId");
        var request = new ListEipAddressesRequest
        {
            RegionId = region,
            Status = status == (EipStatus)(-1) ? EipStatus.Unspecified : status,
            IpAddress = p.Text("EipAddress"),
            InstanceId = p.Text("AssociatedInstanceId"),
            PageSize = 100,
        };
        var (page, total, number, size) = await call.PageAsync<EipAddress>(async token =>
        {
            request.PageToken = token;
            var list = await call.Rpc(o => call.Clients.Addresses.ListEipAddressesAsync(request, o));
            return (list.EipAddresses.Where(e => status != (EipStatus)(-1) && (allocationId is null || e.AllocationId == allocationId)), list.NextPageToken);
        });
        return new JsonObject
        {
            ["TotalCount"] = total,
            ["PageNumber"] = number,
            ["PageSize"] = size,
            ["EipAddresses"] = Shapes.Wrap("EipAddress", page.Select(e => (JsonNode)new JsonObject
            {
                ["AllocationId"] = e.AllocationId,
                ["IpAddress"] = e.IpAddress,
                ["RegionId"] = e.RegionId,
                ["Status"] = e.Status == EipStatus.InUse ? "InUse" : "Available",
                ["InstanceId"] = e.InstanceId,
                ["InstanceType"] = e.InstanceId.Length > 0 ? "EcsInstance" : "",
                ["Bandwidth"] = e.Bandwidth.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["InternetChargeType"] = e.InternetChargeType,
                ["ChargeType"] = "PostPaid",
                ["AllocationTime"] = Shapes.Time(e.AllocationTime),
            })),
        };
    }

    public static async Task<JsonObject> AllocatePublicIpAddress(EcsCall call)
    {
        var p = call.Parameters;
        p.Accept("IpAddress", "VlanId");
        var instanceId = p.Required("InstanceId");
        var (region, _) = await call.FindInstanceAsync(instanceId);
        var allocated = await call.Rpc(o => call.Clients.Addresses.AllocatePublicIpAddressAsync(
            new AllocatePublicIpAddressRequest { RegionId = region, InstanceId = instanceId }, o));
        return new JsonObject { ["IpAddress"] = allocated.IpAddress };
    }

    private static void InstanceKind(EcsParameters p)
    {
        if (p.Optional("InstanceType") is { } kind && kind != "EcsInstance")
        {
            throw EcsException.InvalidParameter("InstanceType", "EIPs are associated with ECS instances here (EcsInstance).");
        }
        p.Accept("InstanceRegionId");
    }
}
