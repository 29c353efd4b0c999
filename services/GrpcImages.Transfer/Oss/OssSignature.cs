using System.Collections.Frozen;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using GrpcImages.Contracts.Kms.V1;

namespace GrpcImages.Transfer.Oss;

/// <summary>
/// What a request signed by an OSS client claims, with the string it signed rebuilt here exactly as the clients build it (kms, which
/// keeps the secrets, checks the HMAC). Four forms:
/// <list type="bullet">
/// <item>V1 header, <c>Authorization: OSS &lt;id&gt;:&lt;base64 HMAC-SHA1&gt;</c> over the verb, Content-MD5, Content-Type, the date
/// (x-oss-date when sent, else Date), the canonical x-oss-* headers and the canonical resource with its sorted sub-resources.</item>
/// <item>V1 presigned URL, <c>OSSAccessKeyId</c>, <c>Expires</c>, <c>Signature</c>: the same string with Expires for the date.</item>
/// <item>V4 header, <c>Authorization: OSS4-HMAC-SHA256 Credential=&lt;id&gt;/&lt;date&gt;/&lt;region&gt;/oss/aliyun_v4_request,
/// AdditionalHeaders=...,Signature=&lt;hex&gt;</c> over the canonical request (verb, URI, sorted query, the content-type, content-md5,
/// x-oss-* and additional headers, the x-oss-content-sha256 payload hash).</item>
/// <item>V4 presigned URL, the <c>x-oss-signature-version</c>, <c>x-oss-credential</c>, <c>x-oss-date</c>, <c>x-oss-expires</c>,
/// <c>x-oss-signature</c> parameters, its payload unsigned.</item>
/// </list>
/// </summary>
public sealed record OssSignature(string AccessKeyId, SignatureAlgorithm Algorithm, string StringToSign, string Signature, string Scope,
    DateTimeOffset? SignedAt, DateTimeOffset? Expires, string? PayloadSha256)
{
    public const string V4 = "OSS4-HMAC-SHA256";
    public const string UnsignedPayload = "UNSIGNED-PAYLOAD";

    /// <summary>The longest a presigned URL may live (OSS allows 7 days for V4).</summary>
    public static readonly TimeSpan MaxPresignedLifetime = TimeSpan.FromDays(7);

    /// <summary>The query parameters OSS signs as sub-resources in V1 (any other parameter is not signed).</summary>
    public static readonly FrozenSet<string> SubResources = new[]
    {
        "acl", "uploads", "location", "cors", "logging", "website", "referer", "lifecycle", "delete", "append", "tagging", "objectMeta", "uploadId",
        "partNumber", "security-token", "position", "img", "style", "styleName", "replication", "replicationProgress", "replicationLocation", "cname",
        "bucketInfo", "comp", "qos", "live", "status", "vod", "startTime", "endTime", "symlink", "x-oss-process", "response-content-type",
        "x-oss-traffic-limit", "response-content-language", "response-expires", "response-cache-control", "response-content-disposition",
        "response-content-encoding", "udf", "udfName", "udfImage", "udfId", "udfImageDesc", "udfApplication", "udfApplicationLog", "restore", "callback",
        "callback-var", "qosInfo", "policy", "stat", "encryption", "versions", "versioning", "versionId", "requestPayment", "x-oss-request-payer",
        "sequential", "inventory", "inventoryId", "continuation-token", "asyncFetch", "worm", "wormId", "wormExtend", "withHashContext",
        "x-oss-enable-md5", "x-oss-enable-sha1", "x-oss-enable-sha256", "x-oss-hash-ctx", "x-oss-md5-ctx", "transferAcceleration", "regionList",
        "cloudboxes", "x-oss-ac-source-ip", "x-oss-ac-subnet-mask", "x-oss-ac-vpc-id", "x-oss-ac-forward-allow", "metaQuery", "resourceGroup", "rtc",
        "accessPoint", "accessPointPolicy", "httpsConfig", "publicAccessBlock", "policyStatus", "redundancyTransition", "dataAccelerator",
    }.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>The request's signature, or null for an anonymous request (no Authorization header, no signature parameters).</summary>
    public static OssSignature? Read(HttpRequest request, OssAddress address)
    {
        var authorization = request.Headers.Authorization.ToString();
        if (authorization.StartsWith("OSS ", StringComparison.Ordinal))
        {
            var credential = authorization[4..];
            var colon = credential.LastIndexOf(':');
            if (colon <= 0 || colon == credential.Length - 1)
            {
                throw OssException.InvalidArgument("The Authorization header is \"OSS <AccessKeyId>:<Signature>\".");
            }
            var date = Header(request, "x-oss-date") is { Length: > 0 } ossDate ? ossDate : Header(request, "Date");
            var signedAt = ParseHttpDate(date) ?? throw OssException.AccessDenied("The request needs a valid Date or x-oss-date header.");
            return new OssSignature(credential[..colon].Trim(), SignatureAlgorithm.OssHmacSha1, StringToSignV1(request, address, date),
                credential[(colon + 1)..].Trim(), "", signedAt, null, null);
        }
        if (authorization.StartsWith(V4 + " ", StringComparison.Ordinal))
        {
            return ReadV4Header(request, address, authorization[(V4.Length + 1)..]);
        }
        if (authorization.Length > 0)
        {
            throw OssException.InvalidArgument("The Authorization header is signed as \"OSS\" (V1) or \"OSS4-HMAC-SHA256\" (V4).");
        }
        if (address.Get("OSSAccessKeyId") is { } accessKeyId)
        {
            var expiresText = address.Get("Expires") ?? "";
            if (!long.TryParse(expiresText, NumberStyles.None, CultureInfo.InvariantCulture, out var expires) || expires > 253402300799)
            {
                throw OssException.AccessDenied("A presigned URL needs Expires as a number of seconds since the epoch.");
            }
            return new OssSignature(accessKeyId, SignatureAlgorithm.OssHmacSha1, StringToSignV1(request, address, expiresText), address.Get("Signature") ?? "",
                "", null, DateTimeOffset.FromUnixTimeSeconds(expires), null);
        }
        if (address.Get("x-oss-signature-version") is { } version)
        {
            return version == V4 ? ReadV4Query(request, address) : throw OssException.InvalidArgument("x-oss-signature-version is OSS4-HMAC-SHA256.");
        }
        return null;
    }

    private static OssSignature ReadV4Header(HttpRequest request, OssAddress address, string fields)
    {
        var parts = fields.Split(',', StringSplitOptions.TrimEntries)
            .Select(f => f.Split('=', 2))
            .Where(f => f.Length == 2)
            .GroupBy(f => f[0], StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.First()[1], StringComparer.Ordinal);
        if (!parts.TryGetValue("Credential", out var credential) || !parts.TryGetValue("Signature", out var signature))
        {
            throw OssException.InvalidArgument("The Authorization header must carry Credential and Signature.");
        }
        var date = Header(request, "x-oss-date");
        var signedAt = ParseIsoDate(date) ?? throw OssException.AccessDenied("A V4 signed request needs x-oss-date as yyyyMMdd'T'HHmmss'Z'.");
        var payload = Header(request, "x-oss-content-sha256");
        if (payload != UnsignedPayload && !(payload.Length == 64 && payload.All(char.IsAsciiHexDigitLower)))
        {
            throw OssException.InvalidArgument("x-oss-content-sha256 is UNSIGNED-PAYLOAD or the lowercase hex SHA-256 of the body.");
        }
        var (accessKeyId, scope) = SplitCredential(credential, date);
        var additional = parts.GetValueOrDefault("AdditionalHeaders", "");
        var canonical = CanonicalRequestV4(request, address, address.Query, additional, payload);
        return new OssSignature(accessKeyId, SignatureAlgorithm.Oss4HmacSha256, StringToSignV4(date, scope, canonical), signature, scope, signedAt, null,
            payload == UnsignedPayload ? null : payload);
    }

    private static OssSignature ReadV4Query(HttpRequest request, OssAddress address)
    {
        var date = address.Get("x-oss-date") ?? "";
        var signedAt = ParseIsoDate(date) ?? throw OssException.AccessDenied("A V4 presigned URL needs x-oss-date as yyyyMMdd'T'HHmmss'Z'.");
        if (!int.TryParse(address.Get("x-oss-expires"), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            || seconds < 1 || seconds > MaxPresignedLifetime.TotalSeconds)
        {
            throw OssException.AccessDenied("x-oss-expires is 1-604800 seconds.");
        }
        var (accessKeyId, scope) = SplitCredential(address.Get("x-oss-credential") ?? "", date);
        var signed = address.Query.Where(p => p.Key != "x-oss-signature").ToList();
        var canonical = CanonicalRequestV4(request, address, signed, address.Get("x-oss-additional-headers") ?? "", UnsignedPayload);
        return new OssSignature(accessKeyId, SignatureAlgorithm.Oss4HmacSha256, StringToSignV4(date, scope, canonical), address.Get("x-oss-signature") ?? "",
            scope, null, signedAt.AddSeconds(seconds), null);
    }

    private static (string AccessKeyId, string Scope) SplitCredential(string credential, string date)
    {
        var slash = credential.IndexOf('/');
        if (slash <= 0 || credential.Length > 256)
        {
            throw OssException.InvalidArgument("The credential is <AccessKeyId>/<yyyyMMdd>/<region>/oss/aliyun_v4_request.");
        }
        var scope = credential[(slash + 1)..];
        if (!scope.StartsWith(date[..8] + "/", StringComparison.Ordinal) || !scope.EndsWith("/oss/aliyun_v4_request", StringComparison.Ordinal))
        {
            throw OssException.InvalidArgument("The credential's scope must be <the x-oss-date's day>/<region>/oss/aliyun_v4_request.");
        }
        return (credential[..slash], scope);
    }

    /// <summary>The region a V4 scope names.</summary>
    public string ScopeRegion => Scope.Split('/') is [_, var region, ..] ? region : "";

    private static string StringToSignV1(HttpRequest request, OssAddress address, string date)
    {
        var text = new StringBuilder();
        text.Append(request.Method.ToUpperInvariant()).Append('\n')
            .Append(Header(request, "Content-MD5")).Append('\n')
            .Append(Header(request, "Content-Type")).Append('\n')
            .Append(date).Append('\n');
        foreach (var (name, value) in OssHeaders(request, _ => false))
        {
            text.Append(name).Append(':').Append(value).Append('\n');
        }
        text.Append('/');
        if (address.Bucket.Length > 0)
        {
            text.Append(address.Bucket).Append('/').Append(address.Key);
        }
        var separator = '?';
        foreach (var (name, value) in address.Query.Where(p => SubResources.Contains(p.Key)).OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            text.Append(separator).Append(name);
            if (!string.IsNullOrEmpty(value))
            {
                text.Append('=').Append(value);
            }
            separator = '&';
        }
        return text.ToString();
    }

    private static string CanonicalRequestV4(HttpRequest request, OssAddress address, IReadOnlyList<KeyValuePair<string, string?>> query, string additional,
        string payload)
    {
        var extra = additional.Split(';', StringSplitOptions.RemoveEmptyEntries).Select(h => h.ToLowerInvariant()).ToHashSet(StringComparer.Ordinal);
        var text = new StringBuilder();
        text.Append(request.Method.ToUpperInvariant()).Append('\n');
        text.Append(Encode("/" + (address.Bucket.Length > 0 ? address.Bucket + "/" : "") + address.Key).Replace("%2F", "/", StringComparison.Ordinal)).Append('\n');
        text.AppendJoin('&', query.OrderBy(p => p.Key, StringComparer.Ordinal).ThenBy(p => p.Value, StringComparer.Ordinal)
            .Select(p => string.IsNullOrEmpty(p.Value) ? Encode(p.Key) : $"{Encode(p.Key)}={Encode(p.Value)}")).Append('\n');
        foreach (var (name, value) in OssHeaders(request, name => name is "content-type" or "content-md5" || extra.Contains(name)))
        {
            text.Append(name).Append(':').Append(value).Append('\n');
        }
        text.Append('\n').Append(string.Join(';', extra.Order(StringComparer.Ordinal))).Append('\n').Append(payload);
        return text.ToString();
    }

    private static string StringToSignV4(string date, string scope, string canonicalRequest) =>
        $"{V4}\n{date}\n{scope}\n{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonicalRequest)))}";

    /// <summary>The request's x-oss-* headers (and those <paramref name="also"/> picks), lower-case, sorted, values trimmed and joined.</summary>
    private static IEnumerable<(string Name, string Value)> OssHeaders(HttpRequest request, Func<string, bool> also) =>
        request.Headers
            .Select(h => (Name: h.Key.ToLowerInvariant(), Value: string.Join(',', h.Value.Select(v => (v ?? "").Trim()))))
            .Where(h => h.Name.StartsWith("x-oss-", StringComparison.Ordinal) || also(h.Name))
            .OrderBy(h => h.Name, StringComparer.Ordinal);

    /// <summary>RFC 3986 percent-encoding of UTF-8 (A-Z a-z 0-9 - _ . ~ kept, upper-case hex), as the V4 canonical request is encoded.</summary>
    public static string Encode(string value)
    {
        var text = new StringBuilder(value.Length);
        foreach (var b in Encoding.UTF8.GetBytes(value))
        {
            if (b is >= (byte)'A' and <= (byte)'Z' or >= (byte)'a' and <= (byte)'z' or >= (byte)'0' and <= (byte)'9' or (byte)'-' or (byte)'_' or (byte)'.' or (byte)'~')
            {
                text.Append((char)b);
            }
            else
            {
                text.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
        }
        return text.ToString();
    }

    private static string Header(HttpRequest request, string name) => request.Headers[name].ToString();

    /// <summary>An HTTP date (RFC 1123, as Date and V1's x-oss-date carry it).</summary>
    public static DateTimeOffset? ParseHttpDate(string value) =>
        DateTimeOffset.TryParseExact(value, "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time) ? time : null;

    private static DateTimeOffset? ParseIsoDate(string value) =>
        value.Length == 16 && DateTimeOffset.TryParseExact(value, "yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var time) ? time : null;
}
