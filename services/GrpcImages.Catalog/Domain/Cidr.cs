using System.Globalization;

namespace GrpcImages.Catalog.Domain;

/// <summary>
/// An IPv4 CIDR block ("172.16.0.0/12"), read strictly: four decimal octets without leading zeros, a
/// prefix length of 0-32, and no host bits set (so a block has one spelling).
/// </summary>
public readonly record struct Cidr(uint Network, int PrefixLength)
{
    /// <summary>The blocks VPCs are made of (RFC 1918).</summary>
    public static readonly Cidr[] PrivateRanges = [Parse("10.0.0.0/8")!.Value, Parse("172.16.0.0/12")!.Value, Parse("192.168.0.0/16")!.Value];

    public uint Mask => PrefixLength == 0 ? 0 : uint.MaxValue << (32 - PrefixLength);

    /// <summary>How many addresses the block spans.</summary>
    public long Size => 1L << (32 - PrefixLength);

    public uint Last => Network | ~Mask;

    public bool Contains(Cidr inner) => inner.PrefixLength >= PrefixLength && (inner.Network & Mask) == Network;

    public bool Overlaps(Cidr other) => Contains(other) || other.Contains(this);

    public override string ToString() => $"{Address(Network)}/{PrefixLength}";

    /// <summary>A block, or null when the text is not one. A bare address is a /32 when <paramref name="bareAddress"/> allows it.</summary>
    public static Cidr? Parse(string text, bool bareAddress = false)
    {
        if (text.Length > 18)
        {
            return null;
        }
        var slash = text.IndexOf('/');
        if (slash < 0 && !bareAddress)
        {
            return null;
        }
        var address = ParseAddress(slash < 0 ? text : text[..slash]);
        var prefix = 32;
        if (slash >= 0)
        {
            var bits = text[(slash + 1)..];
            if (bits.Length is < 1 or > 2 || (bits.Length == 2 && bits[0] == '0') ||
                !int.TryParse(bits, NumberStyles.None, CultureInfo.InvariantCulture, out prefix) || prefix > 32)
            {
                return null;
            }
        }
        if (address is not { } network)
        {
            return null;
        }
        var cidr = new Cidr(network, prefix);
        return (network & ~cidr.Mask) == 0 ? cidr : null;
    }

    /// <summary>An IPv4 address in dotted decimal, or null.</summary>
    public static uint? ParseAddress(string text)
    {
        var parts = text.Split('.');
        if (parts.Length != 4)
        {
            return null;
        }
        uint value = 0;
        foreach (var part in parts)
        {
            if (part.Length is < 1 or > 3 || (part.Length > 1 && part[0] == '0') ||
                !uint.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var octet) || octet > 255)
            {
                return null;
            }
            value = (value << 8) | octet;
        }
        return value;
    }

    public static string Address(uint value) => $"{value >> 24}.{(value >> 16) & 255}.{(value >> 8) & 255}.{value & 255}";
}
