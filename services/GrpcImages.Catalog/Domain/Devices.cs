namespace GrpcImages.Catalog.Domain;

/// <summary>Device names by position: the system disk is /dev/xvda, data disks /dev/xvdb onwards.</summary>
public static class Devices
{
    public static string Name(int position) => $"/dev/xvd{(char)('a' + position)}";
}
