using System.Security.Cryptography;
using System.Text;
using GrpcImages.Catalog.Storage;
using GrpcImages.Contracts.Common.V1;
using GrpcImages.ServiceDefaults.Validation;

namespace GrpcImages.Catalog.Domain;

/// <summary>A public or marketplace image the platform provides.</summary>
public sealed record PlatformImage(
    string Name,
    string OsName,
    OsType OsType,
    int SizeGib,
    string ProductCode = "",
    IReadOnlyList<string>? Regions = null)
{
    public bool IsMarketplace => ProductCode.Length > 0;

    /// <summary>Whether the image is offered in a region: public images everywhere, marketplace ones where listed.</summary>
    public bool IsIn(string region) => Regions is null || Regions.Contains(region);

    /// <summary>Public images are named by their file; marketplace images have stable "m-" ids per region.</summary>
    public string ImageId(string region) =>
        IsMarketplace ? PlatformCatalog.StableId('m', $"{Name}|{region}") : Name;

    public string SnapshotId(string region) => PlatformCatalog.StableId('s', $"{Name}|{region}");
}

/// <summary>The seeded catalog: public images in every region, marketplace images in some (R6, R12, R28).</summary>
public static class PlatformCatalog
{
    /// <summary>Bump when the definitions change: regions seeded with an older version are seeded again.</summary>
    public const int Version = 1;

    public static readonly IReadOnlyList<PlatformImage> Images =
    [
        new("ubuntu_22_04_x64_20G_alibase_20240101.vhd", "Ubuntu 22.04 64 bit", OsType.Linux, 20),
        new("ubuntu_24_04_x64_20G_alibase_20240812.vhd", "Ubuntu 24.04 64 bit", OsType.Linux, 20),
        new("debian_12_6_x64_20G_alibase_20240819.vhd", "Debian 12.6 64 bit", OsType.Linux, 20),
        new("centos_7_9_x64_20G_alibase_20240628.vhd", "CentOS 7.9 64 bit", OsType.Linux, 20),
        new("aliyun_3_x64_20G_alibase_20240819.vhd", "Alibaba Cloud Linux 3.2104 LTS 64 bit", OsType.Linux, 20),
        new("win2019_1809_x64_dtc_en-us_40G_alibase_20240815.vhd", "Windows Server 2019 Datacenter 64 bit", OsType.Windows, 40),
        new("win2022_21H2_x64_dtc_en-us_40G_alibase_20240815.vhd", "Windows Server 2022 Datacenter 64 bit", OsType.Windows, 40),
        new("sqlserver2019_std_win2019_40G", "SQL Server 2019 Standard on Windows Server 2019", OsType.Windows, 40, "cmjj00012019",
            ["cn-hangzhou", "cn-shanghai", "ap-northeast-1", "ap-southeast-1"]),
        new("rhel_9_4_x64_20G", "Red Hat Enterprise Linux 9.4 64 bit", OsType.Linux, 20, "cmjj00029400",
            ["cn-hangzhou", "cn-beijing", "ap-southeast-1", "us-west-1", "eu-central-1"]),
        new("wordpress_6_ubuntu_22_04_20G", "WordPress 6 on Ubuntu 22.04", OsType.Linux, 20, "cmjj00036022",
            ["cn-hangzhou", "ap-northeast-1"]),
    ];

    /// <summary>The image a product code belongs to (R12: where a marketplace-derived image may go).</summary>
    public static PlatformImage? ByProductCode(string productCode) => Images.FirstOrDefault(i => i.ProductCode == productCode);

    internal static string StableId(char kind, string seed) => ResourceIds.Derived(kind, CatalogKeys.PlatformTag, seed);
}
