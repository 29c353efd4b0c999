using System.Text.Json.Nodes;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.Gateway.Ecs;

namespace GrpcImages.Gateway.Actions;

/// <summary>The snapshot actions of ECS 2014-05-26 on the catalog and transfer services.</summary>
public static class SnapshotActions
{
    /// <summary>CreateSnapshot names only a disk: its region is RegionId, else that of the instance the disk belongs to.</summary>
    public static async Task<JsonObject> CreateSnapshot(EcsCall call)
    {
        var p = call.Parameters;
        var diskId = p.Required("DiskId");
        p.Accept("Category");
        p.Number("RetentionDays", 0, 0, 65536);
        var request = new CreateSnapshotRequest
        {
            DiskId = diskId,
            SnapshotName = p.Text("SnapshotName"),
            Description = p.Text("Description"),
            ClientToken = p.Text("ClientToken"),
        };
        request.Tags.AddRange(call.Tags());
        request.RegionId = p.Optional("RegionId") ?? (await call.FindDiskOwnerAsync(diskId)).Region;
        var created = await call.Rpc(o => call.Clients.Snapshots.CreateSnapshotAsync(request, o));
        return new JsonObject { ["SnapshotId"] = created.Snapshot.SnapshotId };
    }

    /// <summary>
    /// DeleteSnapshot names only the snapshot: its region is RegionId, else the one that has it. A snapshot an image
    /// was made from stays (delete the image first); Force, which in ECS lets a snapshot go from under its disks, changes
    /// nothing here, since disks keep their own bytes.
    /// </summary>
    public static async Task<JsonObject> DeleteSnapshot(EcsCall call)
    {
        var p = call.Parameters;
        var snapshotId = p.Required("SnapshotId");
        p.Flag("Force");
        var regions = p.Optional("RegionId") is { } given
            ? [given]
            : (await call.Rpc(o => call.Clients.Regions.ListRegionsAsync(new ListRegionsRequest(), o))).Regions.Select(r => r.RegionId).ToList();
        foreach (var region in regions)
        {
            var deleted = await call.Rpc(o => call.Clients.Snapshots.DeleteSnapshotAsync(new DeleteSnapshotRequest { RegionId = region, SnapshotId = snapshotId }, o));
            if (deleted.Deleted)
            {
                return EcsCall.Ok();
            }
        }
        throw new EcsException(404, "InvalidSnapshotId.NotFound", $"The snapshot {snapshotId} does not exist.");
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
        // The service filters none of these: with one, pages are read from the start and filtered here.
        var filtered = ids.Count > 0 || diskId is not null || instanceId is not null || name is not null || status is not (null or "all");
        var (page, total, number, size) = !filtered
            ? await call.SkipPageAsync<Snapshot>(async (skip, pageSize, token) =>
            {
                var list = await call.Rpc(o => call.Clients.Snapshots.ListSnapshotsAsync(
                    new ListSnapshotsRequest { RegionId = region, PageSize = pageSize, PageToken = token, Skip = skip }, o));
                return (list.Snapshots, list.NextPageToken, list.TotalSize);
            })
            : await call.PageAsync(async token =>
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
            DestinationSnapshotName = p.Text("DestinationSnapshotName"),
            DestinationDescription = p.Text("DestinationSnapshotDescription"),
            Encryption = call.Encryption(),
            ClientToken = p.Text("ClientToken"),
        };
        p.Number("RetentionDays", 0, 0, 65536);
        var copied = await call.Rpc(o => call.Clients.Transfer(region).CopySnapshotAsync(request, o));
        return new JsonObject { ["SnapshotId"] = copied.SnapshotId };
    }
}
