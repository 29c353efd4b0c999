using GrpcImages.ServiceDefaults.Errors;

namespace GrpcImages.Catalog.Domain;

/// <summary>Device names by position: the system disk is /dev/xvda, data disks /dev/xvdb onwards.</summary>
public static class Devices
{
    /// <summary>"/dev/" and a short name: device names are shown in every listing of the image, its recipients' too.</summary>
    public const int MaxLength = 32;

    public static string Name(int position) => $"/dev/xvd{(char)('a' + position)}";

    /// <summary>A device a caller names: empty (assigned by position) or "/dev/" and 1-27 lowercase letters or digits.</summary>
    public static string Check(string device, string field)
    {
        if (device.Length == 0)
        {
            return device;
        }
        var name = device.StartsWith("/dev/", StringComparison.Ordinal) ? device[5..] : "";
        if (device.Length > MaxLength || name.Length == 0 || !name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c)))
        {
            throw Fault.InvalidArgument("InvalidParameter.Device", field, $"A device is \"/dev/\" and a name of lowercase letters and digits, at most {MaxLength} characters in all.");
        }
        return device;
    }
}
