using GrpcImages.Contracts.Kms.V1;
using GrpcImages.Testing;

namespace GrpcImages.IntegrationTests;

internal static class KmsSteps
{
    public const string ShareEncryptRole = "AliyunECSShareEncryptImageDefaultRole";
    public const string DiskEncryptRole = "AliyunECSDiskEncryptDefaultRole";

    public static KeyService.KeyServiceClient Keys(this TestAccount account) => account.Client<KeyService.KeyServiceClient>();

    public static RoleService.RoleServiceClient Roles(this TestAccount account) => account.Client<RoleService.RoleServiceClient>();

    public static async Task EnableKmsAsync(this TestAccount account, string region = CatalogSteps.Hangzhou) =>
        await account.Keys().EnableKmsAsync(new EnableKmsRequest { RegionId = region });

    public static async Task AddRoleAsync(this TestAccount account, string role) =>
        await account.Roles().CreateServiceRoleAsync(new CreateServiceRoleRequest { RoleName = role });

    /// <summary>KMS enabled, the disk-encryption role authorized, and a new CMK: what encrypting with a CMK needs.</summary>
    public static async Task<Key> NewCmkAsync(this TestAccount account, string region = CatalogSteps.Hangzhou)
    {
        await account.EnableKmsAsync(region);
        await account.AddRoleAsync(DiskEncryptRole);
        return (await account.Keys().CreateKeyAsync(new CreateKeyRequest { RegionId = region, Description = "test key" })).Key;
    }
}
