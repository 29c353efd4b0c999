using System.Text;

namespace GrpcImages.Gateway.Signatures;

/// <summary>The percent-encoding both signature versions sign with: RFC 3986, every byte but A-Z a-z 0-9 - _ . ~ as %XX (upper case) of its UTF-8.</summary>
public static class Percent
{
    public static string Encode(string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        var text = new StringBuilder(bytes.Length * 3 / 2);
        foreach (var b in bytes)
        {
            if (b is >= (byte)'A' and <= (byte)'Z' or >= (byte)'a' and <= (byte)'z' or >= (byte)'0' and <= (byte)'9' or (byte)'-' or (byte)'_' or (byte)'.' or (byte)'~')
            {
                text.Append((char)b);
            }
            else
            {
                text.Append('%').Append(HexDigits[b >> 4]).Append(HexDigits[b & 15]);
            }
        }
        return text.ToString();
    }

    private const string HexDigits = "0123456789ABCDEF";
}
