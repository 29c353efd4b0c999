using GrpcImages.ServiceDefaults.Errors;
using GrpcImages.ServiceDefaults.Validation;

namespace GrpcImages.Catalog.Domain;

/// <summary>
/// The errors of the resources around instances (issue 21), with the ECS API's codes. Another account's resource is
/// NOT_FOUND like a missing one (R36).
/// </summary>
public static class NetworkErrors
{
    public static DomainException VpcNotFound(string vpcId) =>
        Fault.NotFound("InvalidVpcId.NotFound", $"The specified VPC {Check.Echo(vpcId)} does not exist in this region.");

    public static DomainException VSwitchNotFound(string vswitchId) =>
        Fault.NotFound("InvalidVSwitchId.NotFound", $"The specified vSwitch {Check.Echo(vswitchId)} does not exist in this region.");

    public static DomainException SecurityGroupNotFound(string groupId) =>
        Fault.NotFound("InvalidSecurityGroupId.NotFound", $"The specified security group {Check.Echo(groupId)} does not exist in this region.");

    public static DomainException KeyPairNotFound(string name) =>
        Fault.NotFound("InvalidKeyPairName.NotFound", $"The specified key pair {Check.Echo(name)} does not exist in this region.");

    public static DomainException EipNotFound(string allocationId) =>
        Fault.NotFound("InvalidAllocationId.NotFound", $"The specified EIP {Check.Echo(allocationId)} does not exist in this region.");

    public static DomainException CidrMalformed(string field, string why) =>
        Fault.InvalidArgument("InvalidCidrBlock.Malformed", field, why);

    public static DomainException CidrOverlapped(string other) =>
        Fault.InvalidArgument("InvalidCidrBlock.Overlapped", "cidr_block", $"The CIDR block overlaps the block of vSwitch {other} of the same VPC.");

    public static DomainException VpcHasVSwitches() =>
        Fault.FailedPrecondition("DependencyViolation.VSwitch", "The VPC still has vSwitches; delete them first.");

    public static DomainException VpcHasSecurityGroups() =>
        Fault.FailedPrecondition("DependencyViolation.SecurityGroup", "The VPC still has security groups; delete them first.");

    public static DomainException HasInstances(string what) =>
        Fault.FailedPrecondition("DependencyViolation", $"The {what} still has instances; delete them first.");

    public static DomainException Quota(string reason, string what, int limit) =>
        Fault.ResourceExhausted(reason, $"An account has at most {limit} {what}.");

    public static DomainException KeyPairExists(string name) =>
        Fault.AlreadyExists("KeyPair.AlreadyExist", $"You already have a key pair named '{Check.Echo(name)}' in this region.");

    public static DomainException KeyPairAttached(string name) =>
        Fault.FailedPrecondition("InvalidParameter.KeypairAlreadyAttachedInstance",
            $"The key pair {Check.Echo(name)} is attached to instances and cannot be deleted; detach it first.");

    public static DomainException WindowsInstance(string instanceId) =>
        Fault.FailedPrecondition("DependencyViolation.WindowsInstance", $"Key pairs cannot be attached to Windows instances ({instanceId}).");

    public static DomainException EipStatus(string message) =>
        Fault.FailedPrecondition("IncorrectEipStatus", message);

    public static DomainException NotVpc(string instanceId) =>
        Fault.FailedPrecondition("InvalidInstance.NotVpc", $"EIPs are associated with VPC instances; {instanceId} is in the classic network.");

    public static DomainException HasPublicIp(string instanceId) =>
        Fault.FailedPrecondition("InvalidInstance.HasPublicIp", $"The instance {instanceId} has a public address already.");

    public static DomainException PoolExhausted() =>
        Fault.ResourceExhausted("QuotaExceeded.PublicIpAddress", "The region has no public address left to hand out.");

    public static DomainException VpcMismatch(string groupId) =>
        Fault.InvalidArgument("InvalidSecurityGroupId.VpcMismatch", "security_group_ids",
            $"The security group {groupId} belongs to another network than the instance's vSwitch.");

    public static DomainException ZoneMismatch() =>
        Fault.InvalidArgument("InvalidVSwitchId.ZoneMismatch", "zone_id", "The vSwitch lies in another zone than the one asked for.");

    public static DomainException IpNotEnough(string vswitchId) =>
        Fault.FailedPrecondition("InvalidVSwitchId.IpNotEnough", $"The vSwitch {vswitchId} has no private address left.");

    public static DomainException TypeNotSupported(string message) =>
        Fault.InvalidArgument("InvalidInstanceType.NotSupported", "instance_type", message);

    public static DomainException ResourceNotFound(string resourceId) =>
        Fault.NotFound("InvalidResourceId.NotFound", $"The specified resource {Check.Echo(resourceId)} does not exist in this region.");

    public static DomainException Conflict() =>
        Fault.Aborted("OperationConflict", "The resource changed while the request ran; retry.");
}
