using GrpcImages.ServiceDefaults.Errors;

namespace GrpcImages.Catalog.Domain;

/// <summary>The catalog's errors with the codes of ../shared/spec/RULES.md.</summary>
public static class CatalogErrors
{
    /// <summary>R4, R36: missing, in another region, or another account's private image.</summary>
    /// <summary>A create that took longer than its job's grace: the job gave it up (and what it held back).</summary>
    public static DomainException CreateAbandoned() =>
        Fault.Unavailable("ServiceUnavailable", "The request took too long and was given up; retry it (with the same client token).");

    public static DomainException ImageNotFound(string imageId) =>
        Fault.NotFound("InvalidImageId.NotFound", $"The specified image {imageId} does not exist in this region.");

    public static DomainException InstanceNotFound(string instanceId) =>
        Fault.NotFound("InvalidInstanceId.NotFound", $"The specified instance {instanceId} does not exist in this region.");

    public static DomainException SnapshotNotFound(string snapshotId) =>
        Fault.NotFound("InvalidSnapshotId.NotFound", $"The specified snapshot {snapshotId} does not exist in this region.");

    public static DomainException DiskNotFound(string diskId) =>
        Fault.NotFound("InvalidDiskId.NotFound", $"The specified disk {diskId} does not exist in this region.");

    /// <summary>R2.</summary>
    public static DomainException SnapshotNotReady(string snapshotId) =>
        Fault.FailedPrecondition("InvalidSnapshotId.NotReady", $"The snapshot {snapshotId} is not accomplished yet.");

    /// <summary>R2: the mapping needs exactly one system-disk snapshot.</summary>
    public static DomainException MappingDenied(string field, string message) =>
        Fault.InvalidArgument("OperationDenied", field, message);

    public static DomainException NameDuplicated(string name) =>
        Fault.AlreadyExists("InvalidImageName.Duplicated", $"You already have an image named '{name}' in this region.");

    /// <summary>R31.</summary>
    public static DomainException ImageUsingByInstance() =>
        Fault.FailedPrecondition("ImageUsingByInstance",
            "The specified image is associated with instances and cannot be deleted. Delete it with force to keep the instances running without it.");

    /// <summary>R32.</summary>
    public static DomainException ImageUseShared() =>
        Fault.FailedPrecondition("ImageUseShared",
            "The specified image is shared with other accounts and cannot be deleted. Delete it with force to revoke every share.");

    public static DomainException IncorrectImageStatus(string message) =>
        Fault.FailedPrecondition("IncorrectImageStatus", message);

    public static DomainException IncorrectInstanceStatus(string message) =>
        Fault.FailedPrecondition("IncorrectInstanceStatus", message);

    public static DomainException SnapshotCreatedImage() =>
        Fault.FailedPrecondition("SnapshotCreatedImage",
            "The snapshot has been used to create custom images and cannot be deleted until they are.");

    /// <summary>R31, R32: the instance's source image is gone or no longer shared with its owner.</summary>
    public static DomainException SourceImageGone(string imageId) =>
        Fault.FailedPrecondition("InvalidImageId.NotFound",
            $"The image {imageId} this instance was created from was deleted or is no longer available to you; its system disk cannot be re-initialized.");

    /// <summary>R20.</summary>
    public static DomainException EncryptedIllegal(string field) =>
        Fault.InvalidArgument("InvalidParameter.EncryptedIllegal", field, "kms_key_id may only be given with encrypted=true.");

    /// <summary>R21: until an account enables KMS in a region, nothing there can be encrypted.</summary>
    public static DomainException KmsNotEnabled() =>
        Fault.PermissionDenied("InvalidParameter.KmsNotEnabled", "KMS is not enabled for this account in this region.");

    /// <summary>R9, R33: the image is the source or destination of a running copy.</summary>
    public static DomainException ImageCopying() =>
        Fault.FailedPrecondition("OperationDenied.ImageCopying", "The image is being copied (it is the source or the destination of a running copy) and cannot be deleted.");

    /// <summary>R33.</summary>
    public static DomainException ImageImporting() =>
        Fault.FailedPrecondition("ImageIsImporting", "The image is being imported and cannot be deleted; cancel its import task instead.");

    /// <summary>R33.</summary>
    public static DomainException ImageExporting() =>
        Fault.FailedPrecondition("ImageIsExporting", "The image is being exported and cannot be deleted until the export ends.");

    /// <summary>R9: the same source image is already being copied.</summary>
    public static DomainException ImageCopyConflict() =>
        Fault.Aborted("OperationDenied.ImageCopyConflict", "The image is already being copied; wait for that copy to end.");

    /// <summary>R12.</summary>
    public static DomainException NotPublished() =>
        Fault.FailedPrecondition("OperationDenied.NotPublished",
            "The operation is denied because corresponding marketplace image is not published in destination region.");

    /// <summary>A task's worker with an older fencing token than one already seen: another worker has the task now.</summary>
    public static DomainException TaskFenced() =>
        Fault.Aborted("TaskFenced", "Another worker has taken this task over; this one may no longer change its resources.");

    /// <summary>A task's step that arrived after the task was given up (its request died and undid it).</summary>
    public static DomainException TaskAbandoned() =>
        Fault.Aborted("TaskAbandoned", "The task was given up before this step arrived; nothing was made or held.");

    /// <summary>The resource is not pending for the task named.</summary>
    public static DomainException NotPending(string resourceId) =>
        Fault.FailedPrecondition("IncorrectImageStatus", $"{resourceId} is not being made by this task.");

    public static DomainException Conflict() =>
        Fault.Aborted("OperationConflict", "The resource changed while the request ran; retry.");
}
