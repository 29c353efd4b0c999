namespace GrpcImages.ServiceDefaults.Identity;

/// <summary>The service roles an account authorizes so that the cluster may act for it (kms owns them; others check them).</summary>
public static class ServiceRoles
{
    /// <summary>R22: sharing encrypted images.</summary>
    public const string ShareEncryptImage = "AliyunECSShareEncryptImageDefaultRole";

    /// <summary>R27: importing images.</summary>
    public const string ImageImport = "AliyunECSImageImportDefaultRole";

    /// <summary>R29: exporting images.</summary>
    public const string ImageExport = "AliyunECSImageExportDefaultRole";

    /// <summary>R20: using a customer key (the default service key needs none).</summary>
    public const string DiskEncrypt = "AliyunECSDiskEncryptDefaultRole";

    public static readonly IReadOnlyList<string> All = [ShareEncryptImage, ImageImport, ImageExport, DiskEncrypt];
}
