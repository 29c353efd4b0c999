using System.Collections.Frozen;

namespace GrpcImages.ServiceDefaults.Identity;

/// <summary>
/// RAM policies written for the ECS API name its actions ("ecs:DescribeImages", "ecs:RunInstances");
/// the cluster checks its RPCs' names ("ecs:ListImages", "ecs:CreateInstance"). An allowed ECS API
/// action also allows the RPCs it is served by, so one policy works through the gateway and gRPC.
/// Actions named alike in both (CreateImage, CopyImage, ...) need no entry.
/// </summary>
public static class EcsActionNames
{
    /// <summary>RPC action -> the ECS API actions that allow it.</summary>
    public static readonly FrozenDictionary<string, string[]> Granting = new Dictionary<string, string[]>(StringComparer.OrdinalIgnoreCase)
    {
        ["ecs:ListRegions"] = ["ecs:DescribeRegions"],
        ["ecs:ListImages"] = ["ecs:DescribeImages"],
        ["ecs:GetImage"] = ["ecs:DescribeImages"],
        ["ecs:WatchImages"] = ["ecs:DescribeImages", "ecs:ListImages"],
        ["ecs:UpdateImage"] = ["ecs:ModifyImageAttribute"],
        ["ecs:CreateInstance"] = ["ecs:RunInstances"],
        ["ecs:ListInstances"] = ["ecs:DescribeInstances"],
        ["ecs:GetInstance"] = ["ecs:DescribeInstances"],
        ["ecs:ReinitializeSystemDisk"] = ["ecs:ReInitDisk"],
        ["ecs:ListSnapshots"] = ["ecs:DescribeSnapshots"],
        ["ecs:GetSnapshot"] = ["ecs:DescribeSnapshots"],
        ["ecs:ListTasks"] = ["ecs:DescribeTasks"],
        ["ecs:GetTask"] = ["ecs:DescribeTaskAttribute", "ecs:DescribeTasks"],
        ["ecs:WatchTask"] = ["ecs:DescribeTaskAttribute", "ecs:DescribeTasks"],
    }.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
}
