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
        ["CreateInstance"] = InstanceActions.CreateInstance,
        ["DescribeDisks"] = InstanceActions.DescribeDisks,
        ["DeleteSnapshot"] = SnapshotActions.DeleteSnapshot,
        ["DescribeImageFromFamily"] = ImageActions.DescribeImageFromFamily,
        ["DescribeImageSupportInstanceTypes"] = NetworkActions.DescribeImageSupportInstanceTypes,
        ["DescribeZones"] = NetworkActions.DescribeZones,
        ["DescribeInstanceTypes"] = NetworkActions.DescribeInstanceTypes,
        ["CreateVpc"] = NetworkActions.CreateVpc,
        ["DescribeVpcs"] = NetworkActions.DescribeVpcs,
        ["DeleteVpc"] = NetworkActions.DeleteVpc,
        ["CreateVSwitch"] = NetworkActions.CreateVSwitch,
        ["DescribeVSwitches"] = NetworkActions.DescribeVSwitches,
        ["DeleteVSwitch"] = NetworkActions.DeleteVSwitch,
        ["CreateSecurityGroup"] = SecurityGroupActions.CreateSecurityGroup,
        ["DescribeSecurityGroups"] = SecurityGroupActions.DescribeSecurityGroups,
        ["DescribeSecurityGroupAttribute"] = SecurityGroupActions.DescribeSecurityGroupAttribute,
        ["DeleteSecurityGroup"] = SecurityGroupActions.DeleteSecurityGroup,
        ["AuthorizeSecurityGroup"] = SecurityGroupActions.AuthorizeSecurityGroup,
        ["AuthorizeSecurityGroupEgress"] = SecurityGroupActions.AuthorizeSecurityGroupEgress,
        ["RevokeSecurityGroup"] = SecurityGroupActions.RevokeSecurityGroup,
        ["RevokeSecurityGroupEgress"] = SecurityGroupActions.RevokeSecurityGroupEgress,
        ["CreateKeyPair"] = KeyPairActions.CreateKeyPair,
        ["ImportKeyPair"] = KeyPairActions.ImportKeyPair,
        ["DescribeKeyPairs"] = KeyPairActions.DescribeKeyPairs,
        ["DeleteKeyPairs"] = KeyPairActions.DeleteKeyPairs,
        ["AttachKeyPair"] = KeyPairActions.AttachKeyPair,
        ["DetachKeyPair"] = KeyPairActions.DetachKeyPair,
        ["AllocateEipAddress"] = AddressActions.AllocateEipAddress,
        ["AssociateEipAddress"] = AddressActions.AssociateEipAddress,
        ["UnassociateEipAddress"] = AddressActions.UnassociateEipAddress,
        ["ReleaseEipAddress"] = AddressActions.ReleaseEipAddress,
        ["DescribeEipAddresses"] = AddressActions.DescribeEipAddresses,
        ["AllocatePublicIpAddress"] = AddressActions.AllocatePublicIpAddress,
        ["TagResources"] = TagActions.TagResources,
        ["UntagResources"] = TagActions.UntagResources,
        ["ListTagResources"] = TagActions.ListTagResources,
        ["DescribeTags"] = TagActions.DescribeTags,
        ["AddTags"] = TagActions.AddTags,
        ["RemoveTags"] = TagActions.RemoveTags,
    }.ToFrozenDictionary(StringComparer.Ordinal);
}
