using GrpcImages.Contracts.Common.V1;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.ServiceDefaults.Errors;
using GrpcImages.ServiceDefaults.Identity;

namespace GrpcImages.Catalog.Domain;

/// <summary>
/// The encryption of new disks, snapshots and images (R20-R23), decided by kms for the account's
/// own keys, and here for disks that keep the key of a shared image's owner (R22).
/// </summary>
public sealed class EncryptionPolicy(KeyService.KeyServiceClient keys, RoleService.RoleServiceClient roles)
{
    /// <summary>R20: kms_key_id only with encrypted=true; checked first, with the field named.</summary>
    public static void CheckShape(EncryptionSpec? spec, string field)
    {
        if (spec is { Encrypted: false, KmsKeyId.Length: > 0 })
        {
            throw CatalogErrors.EncryptedIllegal($"{field}.kms_key_id");
        }
    }

    /// <summary>Whether content sealed as <paramref name="a"/> can be shared as is by a resource sealed as <paramref name="b"/>.</summary>
    public static bool SameSealing(EncryptionInfo? a, EncryptionInfo? b) =>
        (a?.Encrypted ?? false) == (b?.Encrypted ?? false) && (!(a?.Encrypted ?? false) || a!.KmsKeyId == b!.KmsKeyId);

    /// <summary>How the transfer service seals content with this encryption (null for plaintext).</summary>
    public static ContentEncryption? ForContent(EncryptionInfo encryption) =>
        encryption.Encrypted ? new ContentEncryption { AccountId = encryption.KmsKeyOwnerAccountId, KmsKeyId = encryption.KmsKeyId } : null;

    /// <summary>
    /// The encryption of new content the account makes from <paramref name="source"/> (null: blank).
    /// What was asked wins; otherwise the source's encryption stays, and its key must be usable now
    /// (R23). A source sealed with another account's key may keep it only where
    /// <paramref name="mayKeepOwnersKey"/> (a recipient's disk from a shared image, while the owner's
    /// key and AliyunECSShareEncryptImageDefaultRole stand, R22); elsewhere it must be re-encrypted (R21).
    /// </summary>
    public async Task<EncryptionInfo> DecideAsync(string account, string region, EncryptionSpec? requested, EncryptionInfo? source, bool mayKeepOwnersKey)
    {
        source ??= new EncryptionInfo();
        if (requested is not { Encrypted: true } && !source.Encrypted)
        {
            return new EncryptionInfo(); // plaintext stays plaintext: nothing for kms to decide (CheckShape ran already)
        }
        var keyOwner = source.KmsKeyOwnerAccountId.Length > 0 ? source.KmsKeyOwnerAccountId : account;
        var foreign = source.Encrypted && keyOwner != account;
        if (requested is not { Encrypted: true } && foreign && mayKeepOwnersKey)
        {
            await RequireOwnersKeyAsync(keyOwner, region, source.KmsKeyId);
            return new EncryptionInfo { Encrypted = true, KmsKeyId = source.KmsKeyId, ServiceKey = source.ServiceKey, KmsKeyOwnerAccountId = keyOwner };
        }
        var decided = await keys.ResolveEncryptionAsync(new ResolveEncryptionRequest
        {
            AccountId = account,
            RegionId = region,
            Encrypted = requested?.Encrypted ?? false,
            KmsKeyId = requested?.KmsKeyId ?? "",
            SourceEncrypted = source.Encrypted,
            SourceKmsKeyId = source.KmsKeyId,
            SourceKeyForeign = foreign,
        });
        return decided.Encrypted
            ? new EncryptionInfo { Encrypted = true, KmsKeyId = decided.KmsKeyId, ServiceKey = decided.ServiceKey, KmsKeyOwnerAccountId = account }
            : new EncryptionInfo();
    }

    /// <summary>R22, R23: the owner still authorizes sharing its encrypted images, and its key is usable.</summary>
    private async Task RequireOwnersKeyAsync(string owner, string region, string keyId)
    {
        try
        {
            await roles.GetServiceRoleAsync(new GetServiceRoleRequest { AccountId = owner, RoleName = ServiceRoles.ShareEncryptImage });
        }
        catch (global::Grpc.Core.RpcException ex) when (ex.StatusCode == global::Grpc.Core.StatusCode.NotFound)
        {
            throw Fault.PermissionDenied("AssumeRoleError",
                $"Requires a RAM role of {ServiceRoles.ShareEncryptImage} before sharing encrypted image: the image's owner no longer has it.");
        }
        await keys.CheckKeyUsableAsync(new CheckKeyUsableRequest { AccountId = owner, RegionId = region, KeyId = keyId });
    }
}
