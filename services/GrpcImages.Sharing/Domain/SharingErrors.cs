using GrpcImages.ServiceDefaults.Errors;
using GrpcImages.ServiceDefaults.Identity;

namespace GrpcImages.Sharing.Domain;

/// <summary>The sharing service's errors with the codes of ../shared/spec/RULES.md.</summary>
public static class SharingErrors
{
    /// <summary>R13, R16: only the owner's own custom image can be shared; anything else is missing to the caller.</summary>
    public static DomainException ImageNotFound(string imageId) =>
        Fault.NotFound("InvalidImageId.NotFound", $"You have no custom image {imageId} in this region.");

    /// <summary>R13.</summary>
    public static DomainException ShareWithSelf(string field) =>
        Fault.InvalidArgument("InvalidAccount.Forbbiden", field, "An image cannot be shared with its own account.");

    /// <summary>R18.</summary>
    public static DomainException OtherSites(IEnumerable<string> accounts) =>
        Fault.PermissionDenied("InvalidImageId.BidMismatch", $"Cannot share the image with users {string.Join(",", accounts)} of other sites.");

    /// <summary>R19.</summary>
    public static DomainException Deprecated() =>
        Fault.FailedPrecondition("OperationDenied.InvalidImageStatus", "A deprecated image cannot be shared.");

    public static DomainException NotAvailable() =>
        Fault.FailedPrecondition("IncorrectImageStatus", "Only an Available image, or one being made, can be shared.");

    /// <summary>R22.</summary>
    public static DomainException AssumeRole() =>
        Fault.PermissionDenied("AssumeRoleError", $"Requires a RAM role of {ServiceRoles.ShareEncryptImage} before sharing encrypted image.");

    /// <summary>R22: an image sealed with the default service key must first be copied to a CMK.</summary>
    public static DomainException ServiceKeyEncrypted() =>
        Fault.FailedPrecondition("InvalidOperation.ServiceKeyEncryptedImageUnsupported",
            "An image encrypted with the default service key cannot be shared; copy it with a customer key (CMK) first.");

    /// <summary>R14.</summary>
    public static DomainException SharedImagesQuota(int limit) =>
        Fault.ResourceExhausted("QuotaExceed.ShareImage",
            $"You may have at most {limit} images shared at once. Raise the quota with RequestQuotaIncrease (QUOTA_KIND_SHARED_IMAGES).");

    /// <summary>R15.</summary>
    public static DomainException AccountsPerImageQuota(int limit) =>
        Fault.ResourceExhausted("QuotaExceed.ShareImageUser",
            $"An image may be shared with at most {limit} accounts. Ask for more with RequestQuotaIncrease (QUOTA_KIND_ACCOUNTS_PER_IMAGE); an operator decides.");

    /// <summary>R3.</summary>
    public static DomainException ImagesQuota(int limit, string region) =>
        Fault.ResourceExhausted("QuotaExceed.Image", $"You may have at most {limit} custom images in {region}. Delete some or ask for a higher quota.");

    public static DomainException RequestNotFound(string requestId) =>
        Fault.NotFound("InvalidQuotaRequestId.NotFound", $"There is no quota request {requestId}.");
}
