using GrpcImages.Contracts.Common.V1;

namespace GrpcImages.Catalog.Domain;

/// <summary>Encryption requests on creates (R20, R21).</summary>
public static class Encryption
{
    /// <summary>
    /// kms_key_id needs encrypted=true (R20). No account can enable KMS yet (the kms service's keys
    /// are not built), so every encryption request meets R21's KmsNotEnabled.
    /// </summary>
    public static void CheckRequest(EncryptionSpec? spec, string field)
    {
        if (spec is null)
        {
            return;
        }
        if (spec.KmsKeyId.Length > 0 && !spec.Encrypted)
        {
            throw CatalogErrors.EncryptedIllegal($"{field}.kms_key_id");
        }
        if (spec.Encrypted)
        {
            throw CatalogErrors.KmsNotEnabled();
        }
    }
}

/// <summary>Device names by position: the system disk is /dev/xvda, data disks /dev/xvdb onwards.</summary>
public static class Devices
{
    public static string Name(int position) => $"/dev/xvd{(char)('a' + position)}";
}
