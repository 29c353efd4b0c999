using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.Gateway.Ecs;

namespace GrpcImages.Gateway.Signatures;

/// <summary>
/// What a request signed by an Alibaba Cloud SDK claims: the pair, the algorithm, the string the
/// client signed (rebuilt here from the request exactly as the SDKs build it), the signature, when
/// it was made and its nonce. Two forms:
/// <list type="bullet">
/// <item>ACS3-HMAC-SHA256 (today's SDKs): an Authorization header over a canonical request of the
/// method, path, sorted query, the signed headers and the body's SHA-256.</item>
/// <item>Signature version 1.0 with HMAC-SHA1 (pop-core and older SDKs): Signature, AccessKeyId,
/// SignatureNonce and Timestamp among the parameters, signing "METHOD&amp;%2F&amp;" and the sorted,
/// encoded parameters.</item>
/// </list>
/// </summary>
public sealed record SignedRequest(string AccessKeyId, SignatureAlgorithm Algorithm, string StringToSign, string Signature,
    DateTimeOffset Timestamp, string Nonce)
{
    public const string Acs3 = "ACS3-HMAC-SHA256";

    /// <summary>Headers an ACS3 signature must cover, or a replay could change them.</summary>
    private static readonly string[] RequiredSignedHeaders = ["x-acs-action", "x-acs-version", "x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256", "host"];

    public static SignedRequest Read(string method, string path, IReadOnlyList<KeyValuePair<string, string>> query,
        IReadOnlyList<KeyValuePair<string, string>> form, Func<string, IReadOnlyList<string>> header, ReadOnlySpan<byte> body)
    {
        var authorization = header("authorization");
        if (authorization.Count == 1 && authorization[0].StartsWith(Acs3 + " ", StringComparison.Ordinal))
        {
            return ReadAcs3(method, path, query, header, authorization[0], body);
        }
        return ReadVersion1(method, [.. query, .. form]);
    }

    private static SignedRequest ReadAcs3(string method, string path, IReadOnlyList<KeyValuePair<string, string>> query,
        Func<string, IReadOnlyList<string>> header, string authorization, ReadOnlySpan<byte> body)
    {
        // ACS3-HMAC-SHA256 Credential=<id>,SignedHeaders=<a;b;c>,Signature=<hex>
        var fields = authorization[(Acs3.Length + 1)..].Split(',', StringSplitOptions.TrimEntries)
            .Select(f => f.Split('=', 2))
            .Where(f => f.Length == 2)
            .GroupBy(f => f[0], StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.First()[1], StringComparer.Ordinal);
        if (!fields.TryGetValue("Credential", out var accessKeyId) || !fields.TryGetValue("SignedHeaders", out var signedList) ||
            !fields.TryGetValue("Signature", out var signature) || accessKeyId.Length == 0 || signature.Length == 0)
        {
            throw EcsException.Signature("IncompleteSignature", "The Authorization header must carry Credential, SignedHeaders and Signature.");
        }
        var signed = signedList.Split(';');
        foreach (var required in RequiredSignedHeaders)
        {
            if (!signed.Contains(required, StringComparer.Ordinal))
            {
                throw EcsException.Signature("IncompleteSignature", $"The signature must cover the {required} header.");
            }
        }
        var contentHash = Single(header, "x-acs-content-sha256");
        if (!string.Equals(contentHash, Convert.ToHexStringLower(SHA256.HashData(body)), StringComparison.Ordinal))
        {
            throw EcsException.Signature("SignatureDoesNotMatch", "The x-acs-content-sha256 header does not match the request body.");
        }

        var canonical = new StringBuilder();
        canonical.Append(method).Append('\n').Append(path).Append('\n');
        canonical.AppendJoin('&', query.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={Percent.Encode(p.Value)}"));
        canonical.Append('\n');
        foreach (var name in signed)
        {
            var values = header(name).Select(v => v.Trim()).Order(StringComparer.Ordinal);
            canonical.Append(name).Append(':').AppendJoin(',', values).Append('\n');
        }
        canonical.Append('\n').Append(signedList).Append('\n').Append(contentHash);
        var stringToSign = $"{Acs3}\n{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical.ToString())))}";
        return new SignedRequest(accessKeyId, SignatureAlgorithm.Acs3HmacSha256, stringToSign, signature,
            ParseTime(Single(header, "x-acs-date")), Single(header, "x-acs-signature-nonce"));
    }

    private static SignedRequest ReadVersion1(string method, IReadOnlyList<KeyValuePair<string, string>> parameters)
    {
        string? Param(string name) => parameters.FirstOrDefault(p => p.Key == name).Value;
        var signature = Param("Signature");
        if (string.IsNullOrEmpty(signature))
        {
            throw EcsException.Signature("IncompleteSignature", "The request is not signed: send an Authorization header (ACS3-HMAC-SHA256) or a Signature parameter.");
        }
        var accessKeyId = Param("AccessKeyId");
        if (string.IsNullOrEmpty(accessKeyId))
        {
            throw EcsException.Signature("MissingAccessKeyId", "AccessKeyId is mandatory for this action.");
        }
        if (Param("SignatureMethod") != "HMAC-SHA1" || Param("SignatureVersion") != "1.0")
        {
            throw EcsException.Signature("InvalidParameter.SignatureMethod", "Signature version 1.0 is signed with SignatureMethod HMAC-SHA1.");
        }
        var canonical = string.Join('&', parameters
            .Where(p => p.Key != "Signature")
            .OrderBy(p => p.Key, StringComparer.Ordinal)
            .Select(p => $"{Percent.Encode(p.Key)}={Percent.Encode(p.Value)}"));
        var stringToSign = $"{method}&{Percent.Encode("/")}&{Percent.Encode(canonical)}";
        return new SignedRequest(accessKeyId, SignatureAlgorithm.HmacSha1, stringToSign, signature,
            ParseTime(Param("Timestamp") ?? ""), Param("SignatureNonce") ?? "");
    }

    private static string Single(Func<string, IReadOnlyList<string>> header, string name) =>
        header(name) is [var value] ? value.Trim() : throw EcsException.Signature("IncompleteSignature", $"The request needs exactly one {name} header.");

    private static DateTimeOffset ParseTime(string value) =>
        DateTimeOffset.TryParseExact(value, ["yyyy-MM-ddTHH:mm:ssZ", "yyyy-MM-ddTHH:mm:ss.fffZ"], CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var time)
            ? time
            : throw EcsException.Signature("InvalidTimeStamp.Format", "The timestamp must be in ISO 8601 UTC, yyyy-MM-ddTHH:mm:ssZ.");
}
