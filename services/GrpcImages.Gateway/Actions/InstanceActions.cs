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
        var amount = p.Number("Amount", 1, 1, MaxAmount);
        p.Number("MinAmount", 1, 1, MaxAmount);
        var request = InstanceRequest(call);
        request.SecurityGroupIds.AddRange(p.List("SecurityGroupIds"));
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

    /// <summary>CreateInstance: one instance, made Stopped, as ECS makes it (StartInstance runs it).</summary>
    public static async Task<JsonObject> CreateInstance(EcsCall call)
    {
        var request = InstanceRequest(call);
        request.CreateStopped = true;
        request.ClientToken = call.Parameters.Text("ClientToken");
        var created = await call.Rpc(o => call.Clients.Instances.CreateInstanceAsync(request, o));
        return new JsonObject { ["InstanceId"] = created.Instance.InstanceId, ["OrderId"] = "", ["TradePrice"] = 0 };
    }

    /// <summary>What RunInstances and CreateInstance share. Charging, passwords and user data shape a real machine and mean nothing here.</summary>
    private static CreateInstanceRequest InstanceRequest(EcsCall call)
    {
        var p = call.Parameters;
        p.Accept("InstanceChargeType", "InternetChargeType", "InternetMaxBandwidthIn", "Password", "PasswordInherit", "SystemDisk.Category",
            "SystemDisk.DiskName", "SystemDisk.Description", "SystemDisk.PerformanceLevel", "IoOptimized", "UserData", "SpotStrategy", "SpotPriceLimit",
            "SecurityEnhancementStrategy", "Period", "PeriodUnit", "AutoRenew", "AutoRenewPeriod", "CreditSpecification", "DeletionProtection",
            "RamRoleName", "DeploymentSetId", "HpcClusterId", "UniqueSuffix", "SystemDisk.AutoSnapshotPolicyId", "PrivateIpAddress", "Ipv6AddressCount",
            "SystemDisk.StorageClusterId");
        var request = new CreateInstanceRequest
        {
            RegionId = call.Region,
            ImageId = p.Required("ImageId"),
            InstanceName = p.Text("InstanceName"),
            InstanceType = p.Text("InstanceType"),
            ZoneId = p.Text("ZoneId"),
            VswitchId = p.Text("VSwitchId"),
            KeyPairName = p.Text("KeyPairName"),
            HostName = p.Text("HostName"),
            Description = p.Text("Description"),
            InternetMaxBandwidthOut = p.Number("InternetMaxBandwidthOut", 0, 0, 100),
            SystemDiskSizeGib = p.WholeNumber("SystemDisk.Size", 0),
            SystemDiskEncryption = call.Encryption("SystemDisk."),
        };
        if (p.Optional("SecurityGroupId") is { } group)
        {
            request.SecurityGroupIds.Add(group);
        }
        foreach (var disk in p.Objects("DataDisk", "Size", "SnapshotId", "Category", "Encrypted", "KMSKeyId", "Device", "DeleteWithInstance",
            "DiskName", "Description", "PerformanceLevel", "AutoSnapshotPolicyId"))
        {
            request.DataDisks.Add(new DataDiskSpec
            {
                SizeGib = disk("Size") is { } size
                    ? long.TryParse(size, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var gib) ? gib
                      : throw EcsException.InvalidParameter("DataDisk.N.Size", "it is a whole number of GiB.")
                    : 0,
                SnapshotId = disk("SnapshotId") ?? "",
                Encryption = disk("Encrypted") == "true" || disk("KMSKeyId") is not null
                    ? new Contracts.Common.V1.EncryptionSpec { Encrypted = true, KmsKeyId = disk("KMSKeyId") ?? "" }
                    : null,
            });
        }
        request.Tags.AddRange(call.Tags());
        return request;
    }

    public static async Task<JsonObject> DescribeInstances(EcsCall call)
    {
        var p = call.Parameters;
        var region = call.Region;
        var ids = p.JsonList("InstanceIds").ToHashSet(StringComparer.Ordinal);
        var imageId = p.Optional("ImageId");
        var name = p.Optional("InstanceName");
        var status = p.Optional("Status");
        var vpcId = p.Optional("VpcId");
        var vswitchId = p.Optional("VSwitchId");
        var zoneId = p.Optional("ZoneId");
        var groupId = p.Optional("SecurityGroupId");
        var keyPair = p.Optional("KeyPairName");
        var type = p.Optional("InstanceType");
        var network = p.Optional("InstanceNetworkType");
        var tags = call.Tags().ToList();
        p.Accept("InstanceChargeType", "InternetChargeType", "IoOptimized", "DeviceAvailable", "LockReason", "MaxResults", "NextToken", "NeedSaleCycle");
        // The service filters none of these: with one, pages are read from the start and filtered here.
        var filtered = ids.Count > 0 || imageId is not null || name is not null || status is not null || vpcId is not null || vswitchId is not null ||
                       zoneId is not null || groupId is not null || keyPair is not null || type is not null || network is not null || tags.Count > 0;
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
                    (status is null || (i.Status == InstanceStatus.Stopped ? "Stopped" : "Running") == status) &&
                    (vpcId is null || i.VpcId == vpcId) && (vswitchId is null || i.VswitchId == vswitchId) && (zoneId is null || i.ZoneId == zoneId) &&
                    (groupId is null || i.SecurityGroupIds.Contains(groupId)) && (keyPair is null || i.KeyPairName == keyPair) &&
                    (type is null || i.InstanceType == type) && (network is null || (i.VpcId.Length > 0 ? "vpc" : "classic") == network) &&
                    tags.All(t => i.Tags.Any(held => held.Key == t.Key && (t.Value.Length == 0 || held.Value == t.Value)))), list.NextPageToken);
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

    /// <summary>DescribeDisks: the disks of the caller's instances (every disk here belongs to one).</summary>
    public static async Task<JsonObject> DescribeDisks(EcsCall call)
    {
        var p = call.Parameters;
        var region = call.Region;
        p.Accept("Category", "Portable", "DeleteWithInstance", "EnableAutoSnapshot", "Status", "LockReason", "MaxResults", "NextToken", "ZoneId");
        var type = p.Optional("DiskType") switch
        {
            null or "all" => DiskType.Unspecified,
            "system" => DiskType.System,
            "data" => DiskType.Data,
            var other => throw EcsException.InvalidParameter("DiskType", $"\"{other}\" is all, system or data."),
        };
        var request = new ListDisksRequest { RegionId = region, InstanceId = p.Text("InstanceId"), PageSize = 100 };
        request.DiskIds.AddRange(p.JsonList("DiskIds"));
        var snapshotId = p.Optional("SnapshotId");
        var encrypted = p.Optional("Encrypted") is null ? (bool?)null : p.Flag("Encrypted");
        var (page, total, number, size) = await call.PageAsync<Disk>(async token =>
        {
            request.PageToken = token;
            var list = await call.Rpc(o => call.Clients.Instances.ListDisksAsync(request, o));
            return (list.Disks.Where(d => (type == DiskType.Unspecified || d.DiskType == type) &&
                                          (snapshotId is null || d.SourceSnapshotId == snapshotId) &&
                                          (encrypted is null || (d.Encryption?.Encrypted ?? false) == encrypted)), list.NextPageToken);
        });
        return new JsonObject
        {
            ["TotalCount"] = total,
            ["PageNumber"] = number,
            ["PageSize"] = size,
            ["Disks"] = Shapes.Wrap("Disk", page.Select(d => (JsonNode)Shapes.Disk(d, region))),
        };
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
