using System.Collections.Frozen;
using System.Text.Json.Nodes;
using GrpcImages.Gateway.Actions;

namespace GrpcImages.Gateway.Ecs;

/// <summary>
/// The ECS 2014-05-26 actions the gateway serves. RAM actions are checked by the services on the calls each
/// action makes (an ECS API action name in a policy also allows them: <c>EcsActionNames</c>).
/// </summary>
public static class ActionTable
{
    public const string Version = "2014-05-26";

    public static readonly FrozenDictionary<string, Func<EcsCall, Task<JsonObject>>> Actions = new Dictionary<string, Func<EcsCall, Task<JsonObject>>>
    {
        ["DescribeRegions"] = ImageActions.DescribeRegions,
        ["DescribeImages"] = ImageActions.DescribeImages,
        ["CreateImage"] = ImageActions.CreateImage,
        ["ModifyImageAttribute"] = ImageActions.ModifyImageAttribute,
        ["DeleteImage"] = ImageActions.DeleteImage,
        ["ModifyImageSharePermission"] = ImageActions.ModifyImageSharePermission,
        ["DescribeImageSharePermission"] = ImageActions.DescribeImageSharePermission,
        ["CopyImage"] = ImageActions.CopyImage,
        ["CancelCopyImage"] = ImageActions.CancelCopyImage,
        ["ImportImage"] = ImageActions.ImportImage,
        ["ExportImage"] = ImageActions.ExportImage,
        ["DescribeTasks"] = TaskActions.DescribeTasks,
        ["DescribeTaskAttribute"] = TaskActions.DescribeTaskAttribute,
        ["CancelTask"] = TaskActions.CancelTask,
        ["CreateSnapshot"] = SnapshotActions.CreateSnapshot,
        ["DescribeSnapshots"] = SnapshotActions.DescribeSnapshots,
        ["CopySnapshot"] = SnapshotActions.CopySnapshot,
        ["RunInstances"] = InstanceActions.RunInstances,
        ["DescribeInstances"] = InstanceActions.DescribeInstances,
        ["StartInstance"] = InstanceActions.StartInstance,
        ["StopInstance"] = InstanceActions.StopInstance,
        ["DeleteInstance"] = InstanceActions.DeleteInstance,
        ["ReplaceSystemDisk"] = InstanceActions.ReplaceSystemDisk,
        ["ReInitDisk"] = InstanceActions.ReInitDisk,
    }.ToFrozenDictionary(StringComparer.Ordinal);
}
