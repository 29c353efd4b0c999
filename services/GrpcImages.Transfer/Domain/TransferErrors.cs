using GrpcImages.ServiceDefaults.Errors;
using GrpcImages.ServiceDefaults.Validation;

namespace GrpcImages.Transfer.Domain;

/// <summary>The transfer service's errors with the codes of ../shared/spec/RULES.md.</summary>
public static class TransferErrors
{
    /// <summary>R36: missing, or another account's task.</summary>
    public static DomainException TaskNotFound(string taskId) =>
        Fault.NotFound("InvalidTaskId.NotFound", $"The specified task {Check.Echo(taskId)} does not exist.");

    public static DomainException IncorrectTaskStatus(string message) =>
        Fault.FailedPrecondition("IncorrectTaskStatus", message);

    /// <summary>R6.</summary>
    public static DomainException OnlyCustomImages() =>
        Fault.FailedPrecondition("OperationDenied", "Only custom images can be copied.");

    public static DomainException IncorrectImageStatus(string message) =>
        Fault.FailedPrecondition("IncorrectImageStatus", message);

    /// <summary>R10: the image is not the destination of a copy.</summary>
    public static DomainException NotFromCopy(string imageId) =>
        Fault.FailedPrecondition("ImageCreatedNotFromCopy", $"The image {Check.Echo(imageId)} was not created by a copy.");

    /// <summary>R7, R21: encryption cannot be removed by copying.</summary>
    public static DomainException EncryptionRemoved() =>
        Fault.FailedPrecondition("OperationDeined.EncryptedSnapshot",
            "The source is encrypted: its copy must be encrypted too (set encryption with a key of yours in the destination region).");

    /// <summary>R20.</summary>
    public static DomainException EncryptedIllegal(string field) =>
        Fault.InvalidArgument("InvalidParameter.EncryptedIllegal", field, "kms_key_id may only be given with encrypted=true.");

    /// <summary>A task that outlived its deadline.</summary>
    public static DomainException TimedOut(string stage) =>
        Fault.FailedPrecondition("TaskTimedOut", $"The task spent too long {stage} and was stopped.");
}
