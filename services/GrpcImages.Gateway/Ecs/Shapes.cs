using System.Globalization;
using System.Text.Json.Nodes;
using Google.Protobuf.WellKnownTypes;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Common.V1;
using GrpcImages.Contracts.Transfer.V1;
using TaskStatus = GrpcImages.Contracts.Transfer.V1.TaskStatus;

namespace GrpcImages.Gateway.Ecs;

/// <summary>The cluster's resources in the ECS API's response shapes (PascalCase, lists wrapped as Images.Image[]).</summary>
public static class Shapes
{
    public static string Time(Timestamp? time) =>
        time is null ? "" : time.ToDateTimeOffset().ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    /// <summary>{ "Image": [ ... ] } and the like.</summary>
    public static JsonObject Wrap(string item, IEnumerable<JsonNode> nodes) => new() { [item] = new JsonArray([.. nodes]) };

    public static JsonObject Image(Image image) => new()
    {
        ["ImageId"] = image.ImageId,
        ["ImageName"] = image.ImageName,
        ["ImageFamily"] = image.ImageFamily,
        ["Description"] = image.Description,
        ["Status"] = ImageStatusName(image.Status),
        ["Progress"] = $"{image.Progress}%",
        ["ImageOwnerAlias"] = OwnerAlias(image.OwnerAlias),
        ["ImageOwnerId"] = long.TryParse(image.OwnerAccountId, out var owner) ? owner : 0,
        ["OSType"] = image.OsType == OsType.Windows ? "windows" : "linux",
        ["OSName"] = image.OsName,
        ["Platform"] = Platform(image.OsName, image.OsType),
        ["Architecture"] = image.Architecture == Architecture.Arm64 ? "arm64" : "x86_64",
        ["Size"] = image.SizeGib,
        ["ProductCode"] = image.ProductCode,
        ["IsCopied"] = image.IsCopied,
        ["IsSubscribed"] = false,
        ["LicenseType"] = image.LicenseType == LicenseType.Byol ? "BYOL" : "Auto",
        ["CreationTime"] = Time(image.CreateTime),
        ["Encrypted"] = image.Encryption?.Encrypted ?? false,
        ["KMSKeyId"] = image.Encryption?.KmsKeyId ?? "",
        ["DiskDeviceMappings"] = Wrap("DiskDeviceMapping", image.DiskDeviceMappings.Select(d => (JsonNode)new JsonObject
        {
            ["Type"] = d.DiskType == DiskType.Data ? "data" : "system",
            ["Device"] = d.Device,
            ["Size"] = d.SizeGib.ToString(CultureInfo.InvariantCulture),
            ["SnapshotId"] = d.SnapshotId,
        })),
        ["Tags"] = Tags(image.Tags),
        ["BootMode"] = image.BootMode switch
        {
            BootMode.Uefi => "UEFI",
            BootMode.Bios => "BIOS",
            _ => image.Architecture == Architecture.Arm64 ? "UEFI" : "BIOS",
        },
        ["Features"] = new JsonObject { ["NvmeSupport"] = image.NvmeSupport == NvmeSupport.Supported ? "supported" : "unsupported" },
        ["Usage"] = image.Usage == ImageUsage.Instance ? "instance" : "none",
        ["IsSupportIoOptimized"] = true,
        ["IsSupportCloudinit"] = true,
    };

    public static JsonObject Instance(Instance instance) => new()
    {
        ["InstanceId"] = instance.InstanceId,
        ["InstanceName"] = instance.InstanceName,
        ["RegionId"] = instance.RegionId,
        ["ImageId"] = instance.ImageId,
        ["Status"] = instance.Status == InstanceStatus.Stopped ? "Stopped" : "Running",
        ["OSType"] = instance.OsType == OsType.Windows ? "windows" : "linux",
        ["OSName"] = instance.OsName,
        ["CreationTime"] = Time(instance.CreateTime),
        ["LicenseType"] = instance.LicenseType == LicenseType.Byol ? "BYOL" : "Aliyun",
        ["Tags"] = Tags(instance.Tags),
        ["InstanceType"] = instance.InstanceType,
        ["InstanceTypeFamily"] = instance.InstanceType.Contains('.', StringComparison.Ordinal) ? instance.InstanceType[..instance.InstanceType.LastIndexOf('.')] : "",
        ["ZoneId"] = instance.ZoneId,
        ["Cpu"] = instance.Cpu,
        ["Memory"] = instance.MemoryMib,
        ["HostName"] = instance.HostName,
        ["Description"] = instance.Description,
        ["KeyPairName"] = instance.KeyPairName,
        ["InternetMaxBandwidthOut"] = instance.InternetMaxBandwidthOut,
        ["InstanceNetworkType"] = instance.VpcId.Length > 0 ? "vpc" : "classic",
        ["VpcAttributes"] = new JsonObject
        {
            ["VpcId"] = instance.VpcId,
            ["VSwitchId"] = instance.VswitchId,
            ["PrivateIpAddress"] = Addresses(instance.VpcId.Length > 0 ? instance.PrivateIpAddress : ""),
            ["NatIpAddress"] = "",
        },
        ["InnerIpAddress"] = Addresses(instance.VpcId.Length > 0 ? "" : instance.PrivateIpAddress),
        ["PublicIpAddress"] = Addresses(instance.PublicIpAddress),
        ["EipAddress"] = new JsonObject
        {
            ["AllocationId"] = instance.Eip?.AllocationId ?? "",
            ["IpAddress"] = instance.Eip?.IpAddress ?? "",
            ["Bandwidth"] = instance.Eip?.Bandwidth ?? 0,
        },
        ["SecurityGroupIds"] = new JsonObject { ["SecurityGroupId"] = new JsonArray([.. instance.SecurityGroupIds.Select(id => (JsonNode)id)]) },
        ["IoOptimized"] = true,
        ["InstanceChargeType"] = "PostPaid",
    };

    public static JsonObject Disk(Disk disk, string region) => new()
    {
        ["DiskId"] = disk.DiskId,
        ["RegionId"] = region,
        ["ZoneId"] = disk.ZoneId,
        ["InstanceId"] = disk.InstanceId,
        ["Type"] = disk.DiskType == DiskType.Data ? "data" : "system",
        ["Category"] = "cloud_essd",
        ["Size"] = disk.SizeGib,
        ["Device"] = disk.Device,
        ["ImageId"] = disk.SourceImageId,
        ["SourceSnapshotId"] = disk.SourceSnapshotId,
        ["Status"] = "In_use",
        ["Encrypted"] = disk.Encryption?.Encrypted ?? false,
        ["KMSKeyId"] = disk.Encryption?.KmsKeyId ?? "",
        ["Portable"] = disk.DiskType == DiskType.Data,
        ["DeleteWithInstance"] = true,
        ["CreationTime"] = Time(disk.CreateTime),
    };

    private static JsonObject Addresses(string address) =>
        new() { ["IpAddress"] = new JsonArray(address.Length > 0 ? [(JsonNode)address] : []) };

    public static JsonObject Snapshot(Snapshot snapshot) => new()
    {
        ["SnapshotId"] = snapshot.SnapshotId,
        ["SnapshotName"] = snapshot.SnapshotName,
        ["Description"] = snapshot.Description,
        ["Status"] = snapshot.Status switch
        {
            SnapshotStatus.Accomplished => "accomplished",
            SnapshotStatus.Failed => "failed",
            _ => "progressing",
        },
        ["Progress"] = $"{snapshot.Progress}%",
        ["SourceDiskId"] = snapshot.SourceDiskId,
        ["SourceDiskType"] = snapshot.SourceDiskType == DiskType.Data ? "data" : "system",
        ["SourceDiskSize"] = snapshot.SourceDiskSizeGib.ToString(CultureInfo.InvariantCulture),
        ["Encrypted"] = snapshot.Encryption?.Encrypted ?? false,
        ["Usage"] = snapshot.ImageIds.Count > 0 ? "image" : "none",
        ["CreationTime"] = Time(snapshot.CreateTime),
        ["Tags"] = Tags(snapshot.Tags),
    };

    public static JsonObject Task(TransferTask task) => new()
    {
        ["TaskId"] = task.TaskId,
        ["TaskAction"] = TaskActionName(task.Action),
        ["TaskStatus"] = TaskStatusName(task.Status),
        ["SupportCancel"] = task.Cancellable ? "true" : "false",
        ["ResourceId"] = task.ResourceId,
        ["CreationTime"] = Time(task.CreateTime),
        ["FinishedTime"] = Time(task.FinishTime),
    };

    public static string ImageStatusName(ImageStatus status) => status switch
    {
        ImageStatus.Creating => "Creating",
        ImageStatus.Waiting => "Waiting",
        ImageStatus.Available => "Available",
        ImageStatus.UnAvailable => "UnAvailable",
        ImageStatus.CreateFailed => "CreateFailed",
        ImageStatus.Deprecated => "Deprecated",
        _ => "",
    };

    public static string OwnerAlias(ImageOwnerAlias alias) => alias switch
    {
        ImageOwnerAlias.System => "system",
        ImageOwnerAlias.Self => "self",
        ImageOwnerAlias.Others => "others",
        ImageOwnerAlias.Marketplace => "marketplace",
        _ => "",
    };

    public static string TaskActionName(TaskAction action) => action switch
    {
        TaskAction.CopyImage => "CopyImage",
        TaskAction.ImportImage => "ImportImage",
        TaskAction.ExportImage => "ExportImage",
        TaskAction.CopySnapshot => "CopySnapshot",
        _ => "",
    };

    public static string TaskStatusName(TaskStatus status) => status switch
    {
        TaskStatus.Waiting => "Waiting",
        TaskStatus.Processing => "Processing",
        TaskStatus.Finished => "Finished",
        TaskStatus.Failed => "Failed",
        TaskStatus.Cancelled => "Cancelled",
        TaskStatus.Cancelling => "Cancelling",
        _ => "",
    };

    private static JsonObject Tags(IEnumerable<Tag> tags) =>
        Wrap("Tag", tags.Select(t => (JsonNode)new JsonObject { ["TagKey"] = t.Key, ["TagValue"] = t.Value }));

    private static string Platform(string osName, OsType type)
    {
        if (type == OsType.Windows)
        {
            return "Windows Server";
        }
        var first = osName.Split(' ', 2)[0];
        return first.Length > 0 ? first : "Others Linux";
    }
}
