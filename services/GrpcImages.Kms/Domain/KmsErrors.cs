using GrpcImages.ServiceDefaults.Errors;
using GrpcImages.ServiceDefaults.Identity;

namespace GrpcImages.Kms.Domain;

/// <summary>The kms service's key and role errors with the codes of ../shared/spec/RULES.md.</summary>
public static class KmsErrors
{
    /// <summary>R21.</summary>
    public static DomainException KmsNotEnabled(string region) =>
        Fault.PermissionDenied("InvalidParameter.KmsNotEnabled", $"KMS is not enabled for this account in {region}; call EnableKms first.");

    /// <summary>R21: missing, in another region, or another account's.</summary>
    public static DomainException KeyNotFound(string keyId) =>
        Fault.NotFound("InvalidParameter.KMSKeyId.NotFound", $"The KMS key {keyId} does not exist in this region.");

    /// <summary>R21, R23: disabled or pending deletion.</summary>
    public static DomainException KeyNotEnabled(string keyId, string state) =>
        Fault.PermissionDenied("InvalidParameter.KMSKeyId.CMKNotEnabled", $"The KMS key {keyId} is {state}; it cannot be used.");

    /// <summary>A CMK needs the account's AliyunECSDiskEncryptDefaultRole.</summary>
    public static DomainException KeyUnauthorized(string keyId) =>
        Fault.PermissionDenied("InvalidParameter.KMSKeyId.KMSUnauthorized",
            $"ECS has no right to use the KMS key {keyId}: create the service role {ServiceRoles.DiskEncrypt} first.");

    /// <summary>R20.</summary>
    public static DomainException EncryptedIllegal() =>
        Fault.InvalidArgument("InvalidParameter.EncryptedIllegal", "kms_key_id", "kms_key_id may only be given with encrypted=true.");

    /// <summary>R21.</summary>
    public static DomainException EncryptionRemoved() =>
        Fault.FailedPrecondition("OperationDeined.EncryptedSnapshot", "Encryption cannot be removed: copy an encrypted image with encrypted=true.");

    public static DomainException UnexpectedState(string message) =>
        Fault.FailedPrecondition("Rejected.UnexpectedState", message);

    public static DomainException RoleNotFound(string role) =>
        Fault.NotFound("EntityNotExist.Role", $"The service role {role} has not been created for this account.");
}
