using System.Text.Json.Nodes;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.Gateway.Ecs;

namespace GrpcImages.Gateway.Actions;

/// <summary>The snapshot actions of ECS 2014-05-26 on the catalog and transfer services.</summary>
public static class SnapshotActions
{
    /// <summary>
    /// CreateSnapshot names only a disk; its region is the one given, else the region of the
    /// instance the disk belongs to, found among the caller's instances.
    /// </summary>
    public static async Task<JsonObject> CreateSnapshot(EcsCall call)
    {
        var p = call.Parameters;
        var diskId = p.Required("DiskId");
        p.Optional("Category");
        p.Number("RetentionDays", 0, 0, 65536);
        var request = new CreateSnapshotRequest
        {
            DiskId = diskId,
            SnapshotName = p.Optional("SnapshotName") ?? "",
            Description = p.Optional("Description") ?? "",
            ClientToken = p.Optional("ClientToken") ?? "",
        };
        request.Tags.AddRange(call.Tags());
        request.RegionId = p.Optional("RegionId") ?? await RegionOfDiskAsync(call, diskId);
        var created = await call.Rpc(o => call.Clients.Snapshots.CreateSnapshotAsync(request, o));
        return new JsonObject { ["SnapshotId"] = created.Snapshot.SnapshotId };
    }

    public static async Task<JsonObject> DescribeSnapshots(EcsCall call)
    {
        var p = call.Parameters;
        var region = call.Region;
        var ids = p.JsonList("SnapshotIds").ToHashSet(StringComparer.Ordinal);
        var diskId = p.Optional("DiskId");
        var instanceId = p.Optional("InstanceId");
        var name = p.Optional("SnapshotName");
        var status = p.Optional("Status");
        var (page, total, number, size) = await call.PageAsync(async token =>
        {
            var list = await call.Rpc(o => call.Clients.Snapshots.ListSnapshotsAsync(new ListSnapshotsRequest { RegionId = region, PageSize = 100, PageToken = token }, o));
            return (list.Snapshots.Where(s =>
                (ids.Count == 0 || ids.Contains(s.SnapshotId)) &&
                (diskId is null || s.SourceDiskId == diskId) &&
                (instanceId is null || s.SourceInstanceId == instanceId) &&
                (name is null || s.SnapshotName == name) &&
                (status is null or "all" || (string)Shapes.Snapshot(s)["Status"]! == status)), list.NextPageToken);
        });
        return new JsonObject
        {
            ["TotalCount"] = total,
            ["PageNumber"] = number,
            ["PageSize"] = size,
            ["Snapshots"] = Shapes.Wrap("Snapshot", page.Select(s => (JsonNode)Shapes.Snapshot(s))),
        };
    }

    public static async Task<JsonObject> CopySnapshot(EcsCall call)
    {
        var p = call.Parameters;
        var region = call.Region;
        var request = new CopySnapshotRequest
        {
            RegionId = region,
            SnapshotId = p.Required("SnapshotId"),
            DestinationRegionId = p.Required("DestinationRegionId"),
            DestinationSnapshotName = p.Optional("DestinationSnapshotName") ?? "",
            DestinationDescription = p.Optional("DestinationSnapshotDescription") ?? "",
            Encryption = call.Encryption(),
            ClientToken = p.Optional("ClientToken") ?? "",
        };
        p.Number("RetentionDays", 0, 0, 65536);
        var copied = await call.Rpc(o => call.Clients.Transfer(region).CopySnapshotAsync(request, o));
        return new JsonObject { ["SnapshotId"] = copied.SnapshotId };
    }

    private static async Task<string> RegionOfDiskAsync(EcsCall call, string diskId)
    {
        var regions = await call.Rpc(o => call.Clients.Regions.ListRegionsAsync(new ListRegionsRequest(), o));
        foreach (var region in regions.Regions)
        {
            var token = "";
            var scanned = 0;
            do
            {
                var list = await call.Rpc(o => call.Clients.Instances.ListInstancesAsync(new ListInstancesRequest { RegionId = region.RegionId, PageSize = 100, PageToken = token }, o));
                if (list.Instances.Any(i => i.SystemDisk?.DiskId == diskId || i.DataDisks.Any(d => d.DiskId == diskId)))
                {
                    return region.RegionId;
                }
                token = list.NextPageToken;
                scanned += list.Instances.Count;
            }
            while (token.Length > 0 && scanned < EcsCall.MaxScanned);
        }
        throw new EcsException(404, "InvalidDiskId.NotFound", $"The disk {diskId} does not exist.");
    }
}
