using GrpcImages.Contracts.Common.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.Testing;

namespace GrpcImages.IntegrationTests;

/// <summary>Steps the import and export tests share.</summary>
internal static class ImportSteps
{
    public const string ImportRole = "AliyunECSImageImportDefaultRole";

    public static Task<ImportImageResponse> ImportAsync(this TestAccount account, string region, params ImportDiskSpec[] disks) =>
        account.ImportAsync(region, disks, LicenseType.Unspecified, OsType.Linux);

    public static async Task<ImportImageResponse> ImportAsync(this TestAccount account, string region, IReadOnlyList<ImportDiskSpec> disks, LicenseType license,
        OsType os) =>
        await account.Transfers().ImportImageAsync(new ImportImageRequest
        {
            RegionId = region, Disks = { disks }, LicenseType = license, OsType = os, OsName = os == OsType.Windows ? "Windows Server 2022" : "Ubuntu 22.04",
        });
}
