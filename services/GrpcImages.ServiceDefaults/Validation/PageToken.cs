using System.Buffers.Text;
using System.Text;
using GrpcImages.ServiceDefaults.Errors;

namespace GrpcImages.ServiceDefaults.Validation;

/// <summary>Opaque page tokens: the position a List call stopped at, base64url-encoded.</summary>
public static class PageToken
{
    private const string Prefix = "gi1:";

    public static string Encode(string position) =>
        position.Length == 0 ? "" : Base64Url.EncodeToString(Encoding.UTF8.GetBytes(Prefix + position));

    public static string Decode(string token, string field = "page_token")
    {
        if (token.Length == 0)
        {
            return "";
        }
        try
        {
            var text = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(token));
            if (text.StartsWith(Prefix, StringComparison.Ordinal))
            {
                return text[Prefix.Length..];
            }
        }
        catch (FormatException)
        {
        }
        throw Fault.InvalidArgument("InvalidNextToken", field, "The page token is not one this service returned.");
    }
}
