using System.Text.Json.Nodes;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Gateway.Ecs;

namespace GrpcImages.Gateway.Actions;

/// <summary>The instance and disk actions of ECS 2014-05-26 on the catalog.</summary>
public static class InstanceActions
{
    /// <summary>Amount instances at most per call (the real API allows 100; each is a full create here).</summary>
    public const int MaxAmount = 10;

    public static async Task<JsonObject> RunInstances(EcsCall call)
    {
        var p = call.Parameters;
        var region = call.Region;
        var amount = p.Number("Amount", 1, 1, MaxAmount);
        p.Number("MinAmount", 1, 1, MaxAmount);
        p.Accept("InstanceType", "SecurityGroupId", "VSwitchId", "ZoneId", "InstanceChargeType", "InternetChargeType",
            "InternetMaxBandwidthOut", "HostName", "Password", "KeyPairName", "SystemDisk.Category", "Description");
        var request = new CreateInstanceRequest
        {
            RegionId = region,
            ImageId = p.Required("ImageId"),
            InstanceName = p.Text("InstanceName"),
            SystemDiskSizeGib = p.WholeNumber("SystemDisk.Size", 0),
            SystemDiskEncryption = call.Encryption("SystemDisk."),
        };
        foreach (var disk in p.Objects("DataDisk", "Size", "SnapshotId", "Category", "Encrypted", "KMSKeyId", "Device", "DeleteWithInstance"))
        {
            request.DataDisks.Add(new DataDiskSpec
            {
                SizeGib = long.TryParse(disk("Size"), out var gib) ? gib : 0,
                SnapshotId = disk("SnapshotId") ?? "",
                Encryption = disk("Encrypted") == "true" || disk("KMSKeyId") is not null
                    ? new Contracts.Common.V1.EncryptionSpec { Encrypted = true, KmsKeyId = disk("KMSKeyId") ?? "" }
                    : null,
            });
        }
        request.Tags.AddRange(call.Tags());
        var token = p.Optional("ClientToken");
        var ids = new JsonArray();
        for (var i = 0; i < amount; i++)
        {
            var one = request.Clone();
            one.ClientToken = token is null ? "" : $"{token}-{i}";
            var created = await call.Rpc(o => call.Clients.Instances.CreateInstanceAsync(one, o));
            ids.Add(created.Instance.InstanceId);
        }
        return new JsonObject { ["InstanceIdSets"] = new JsonObject { ["InstanceIdSet"] = ids } };
    }

    public static async Task<JsonObject> DescribeInstances(EcsCall call)
    {
        var p = call.Parameters;
        var region = call.Region;
        var ids = p.JsonList("InstanceIds").ToHashSet(StringComparer.Ordinal);
        var imageId = p.Optional("ImageId");
        var name = p.Optional("InstanceName");
        var status = p.Optional("Status");
        // The service filters none of these: with one, pages are read from the start and filtered here.
        var filtered = ids.Count > 0 || imageId is not null || name is not null || status is not null;
        var (page, total, number, size) = !filtered
            ? await call.SkipPageAsync<Instance>(async (skip, pageSize, token) =>
            {
                var list = await call.Rpc(o => call.Clients.Instances.ListInstancesAsync(
                    new ListInstancesRequest { RegionId = region, PageSize = pageSize, PageToken = token, Skip = skip }, o));
                return (list.Instances, list.NextPageToken, list.TotalSize);
            })
            : await call.PageAsync(async token =>
            {
                var list = await call.Rpc(o => call.Clients.Instances.ListInstancesAsync(new ListInstancesRequest { RegionId = region, PageSize = 100, PageToken = token }, o));
                return (list.Instances.Where(i =>
                    (ids.Count == 0 || ids.Contains(i.InstanceId)) &&
                    (imageId is null || i.ImageId == imageId) &&
                    (name is null || i.InstanceName == name) &&
                    (status is null || (i.Status == InstanceStatus.Stopped ? "Stopped" : "Running") == status)), list.NextPageToken);
            });
        return new JsonObject
        {
            ["TotalCount"] = total,
            ["PageNumber"] = number,
            ["PageSize"] = size,
            ["Instances"] = Shapes.Wrap("Instance", page.Select(i => (JsonNode)Shapes.Instance(i))),
        };
    }

    public static async Task<JsonObject> StartInstance(EcsCall call)
    {
        var instanceId = call.Parameters.Required("InstanceId");
        call.Parameters.Flag("InitLocalDisk");
        var (region, instance) = await call.FindInstanceAsync(instanceId);
        await call.Rpc(o => call.Clients.Instances.StartInstanceAsync(new StartInstanceRequest { RegionId = region, InstanceId = instance.InstanceId }, o));
        return EcsCall.Ok();
    }

    public static async Task<JsonObject> StopInstance(EcsCall call)
    {
        var instanceId = call.Parameters.Required("InstanceId");
        call.Parameters.Flag("ForceStop");
        call.Parameters.Flag("ConfirmStop");
        call.Parameters.Accept("StoppedMode");
        var (region, instance) = await call.FindInstanceAsync(instanceId);
        await call.Rpc(o => call.Clients.Instances.StopInstanceAsync(new StopInstanceRequest { RegionId = region, InstanceId = instance.InstanceId }, o));
        return EcsCall.Ok();
    }

    public static async Task<JsonObject> DeleteInstance(EcsCall call)
    {
        var instanceId = call.Parameters.Required("InstanceId");
        var force = call.Parameters.Flag("Force");
        call.Parameters.Flag("ForceStop");
        call.Parameters.Flag("TerminateSubscription");
        var (region, instance) = await call.FindInstanceAsync(instanceId);
        if (instance.Status == InstanceStatus.Running && !force)
        {
            throw EcsException.BadRequest("IncorrectInstanceStatus", "The instance is running: stop it first, or delete it with Force=true.");
        }
        await call.Rpc(o => call.Clients.Instances.DeleteInstanceAsync(new DeleteInstanceRequest { RegionId = region, InstanceId = instance.InstanceId }, o));
        return EcsCall.Ok();
    }

    public static async Task<JsonObject> ReplaceSystemDisk(EcsCall call)
    {
        var p = call.Parameters;
        var instanceId = p.Required("InstanceId");
        p.Accept("Password", "KeyPairName", "Platform", "Architecture", "SecurityEnhancementStrategy");
        p.Flag("PasswordInherit");
        var request = new ReplaceSystemDiskRequest
        {
            InstanceId = instanceId,
            ImageId = p.Required("ImageId"),
            SystemDiskSizeGib = p.WholeNumber("SystemDisk.Size", 0),
            SystemDiskEncryption = call.Encryption(),
            ClientToken = p.Text("ClientToken"),
        };
        (request.RegionId, _) = await call.FindInstanceAsync(instanceId);
        var replaced = await call.Rpc(o => call.Clients.Instances.ReplaceSystemDiskAsync(request, o));
        return new JsonObject { ["DiskId"] = replaced.Instance.SystemDisk?.DiskId ?? "" };
    }

    /// <summary>ReInitDisk names a disk; the cluster re-initialises an instance's system disk, so the disk's instance is found first.</summary>
    public static async Task<JsonObject> ReInitDisk(EcsCall call)
    {
        var p = call.Parameters;
        var diskId = p.Required("DiskId");
        p.Accept("Password", "KeyPairName", "SecurityEnhancementStrategy");
        p.Flag("AutoStartInstance");
        var (region, owner) = await call.FindDiskOwnerAsync(diskId);
        if (owner.SystemDisk?.DiskId != diskId)
        {
            throw EcsException.BadRequest("OperationDenied", "Only a system disk can be re-initialised here.");
        }
        await call.Rpc(o => call.Clients.Instances.ReinitializeSystemDiskAsync(new ReinitializeSystemDiskRequest { RegionId = region, InstanceId = owner.InstanceId }, o));
        return EcsCall.Ok();
    }
}
