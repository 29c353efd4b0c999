using System.Security.Cryptography;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using GrpcImages.ServiceDefaults.Errors;
using StackExchange.Redis;

namespace GrpcImages.ServiceDefaults.Storage;

/// <summary>
/// R35: a create call's client token maps to the first result for 24 hours. The stored value
/// is "fingerprint|resource id"; the fingerprint is a hash of the request without its token,
/// so the same token with another request is IdempotenceParamNotMatch.
/// </summary>
public static class ClientTokens
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(24);

    /// <summary>A hash of the request with its client_token field cleared.</summary>
    public static string Fingerprint(IMessage request)
    {
        var copy = request.Descriptor.Parser.ParseFrom(request.ToByteString());
        var field = copy.Descriptor.FindFieldByName("client_token");
        if (field is { FieldType: FieldType.String })
        {
            field.Accessor.SetValue(copy, "");
        }
        return Convert.ToHexStringLower(SHA256.HashData(copy.ToByteArray()));
    }

    public static string Value(string fingerprint, string resourceId) => $"{fingerprint}|{resourceId}";

    /// <summary>The resource id a stored token value names, or IdempotenceParamNotMatch when the request differs.</summary>
    public static string ResolveStored(RedisValue stored, string fingerprint)
    {
        var text = (string)stored!;
        var bar = text.IndexOf('|');
        if (bar < 0 || !text.AsSpan(0, bar).SequenceEqual(fingerprint))
        {
            throw Fault.IdempotenceMismatch();
        }
        return text[(bar + 1)..];
    }
}
