using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Xml.Linq;

namespace GrpcImages.Testing;

/// <summary>One answer of the OSS endpoint: the status, the headers that matter, the body, and the error code when it is an error.</summary>
public sealed record OssAnswer(int Status, byte[] Body, HttpResponseHeaders Headers, HttpContentHeaders ContentHeaders)
{
    public string Text => Encoding.UTF8.GetString(Body);

    /// <summary>The <c>&lt;Code&gt;</c> of an OSS XML error body, or null.</summary>
    public string? Code => Body.Length > 0 && Text.StartsWith("<?xml", StringComparison.Ordinal) ? XElement.Parse(Text[Text.IndexOf("<Error", StringComparison.Ordinal)..]).Element("Code")?.Value : null;

    public string? Header(string name) => Headers.TryGetValues(name, out var values) || ContentHeaders.TryGetValues(name, out values) ? string.Join(',', values) : null;

    public XElement Xml => XElement.Parse(Text);
}

/// <summary>
/// A client of the OSS endpoint that signs its requests as OSS clients do (V1 header, V4 header, V1 and V4 presigned URLs),
/// written from OSS's published signing rules, independently of the endpoint (ali-oss itself runs against it in the smoke tier).
/// Requests are path-style by default; <see cref="VirtualHosted"/> puts the bucket in the Host as ali-oss does.
/// </summary>
public sealed class OssClient(Uri endpoint, string? accessKeyId, string? secret, string region = "cn-hangzhou", HttpMessageHandler? handler = null)
    : IDisposable
{
    private readonly HttpClient _http = new(handler ?? new HttpClientHandler()) { BaseAddress = endpoint, Timeout = TimeSpan.FromSeconds(60) };

    public Uri Endpoint => endpoint;

    /// <summary>V4 (OSS4-HMAC-SHA256) header signatures instead of V1.</summary>
    public bool V4 { get; init; }

    /// <summary>Send "Host: &lt;bucket&gt;.oss-&lt;region&gt;.aliyuncs.com" and the key alone as the path.</summary>
    public bool VirtualHosted { get; init; }

    /// <summary>Shifts the signing time (to test the skew check).</summary>
    public TimeSpan ClockOffset { get; init; }

    /// <summary>Resource-path of an object or bucket as OSS encodes it (slashes kept).</summary>
    public static string EncodePath(string value) => Encode(value).Replace("%2F", "/", StringComparison.Ordinal);

    /// <summary>RFC 3986 unreserved characters kept, every other UTF-8 byte percent-encoded in upper case.</summary>
    public static string Encode(string value)
    {
        var text = new StringBuilder();
        foreach (var b in Encoding.UTF8.GetBytes(value))
        {
            text.Append(char.IsAsciiLetterOrDigit((char)b) || b is (byte)'-' or (byte)'_' or (byte)'.' or (byte)'~' ? ((char)b).ToString() : $"%{b:X2}");
        }
        return text.ToString();
    }

    public async Task<OssAnswer> SendAsync(HttpMethod method, string bucket, string key = "", string query = "", byte[]? body = null,
        IDictionary<string, string>? headers = null)
    {
        using var request = new HttpRequestMessage(method, RequestUri(bucket, key, query));
        if (VirtualHosted && bucket.Length > 0)
        {
            request.Headers.Host = $"{bucket}.oss-{region}.aliyuncs.com";
        }
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
        }
        var all = new Dictionary<string, string>(headers ?? new Dictionary<string, string>(), StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in all)
        {
            if (name.StartsWith("Content-", StringComparison.OrdinalIgnoreCase))
            {
                request.Content ??= new ByteArrayContent([]);
                request.Content.Headers.TryAddWithoutValidation(name, value);
            }
            else
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }
        }
        if (accessKeyId is not null && secret is not null)
        {
            Sign(request, method.Method, bucket, key, query, body, all);
        }
        using var response = await _http.SendAsync(request);
        return new OssAnswer((int)response.StatusCode, await response.Content.ReadAsByteArrayAsync(), response.Headers, response.Content.Headers);
    }

    public Task<OssAnswer> PutAsync(string bucket, string key, byte[] body, IDictionary<string, string>? headers = null, string query = "") =>
        SendAsync(HttpMethod.Put, bucket, key, query, body, headers);

    public Task<OssAnswer> GetAsync(string bucket, string key = "", string query = "", IDictionary<string, string>? headers = null) =>
        SendAsync(HttpMethod.Get, bucket, key, query, null, headers);

    private string RequestUri(string bucket, string key, string query)
    {
        var path = VirtualHosted || bucket.Length == 0 ? "/" + EncodePath(key) : $"/{bucket}/{EncodePath(key)}";
        return query.Length > 0 ? $"{path}?{query}" : path;
    }

    private static readonly string[] V1SubResources = ["acl", "uploads", "uploadId", "partNumber", "delete", "location", "bucketInfo", "objectMeta", "continuation-token"];

    private void Sign(HttpRequestMessage request, string method, string bucket, string key, string query, byte[]? body, Dictionary<string, string> headers)
    {
        var now = DateTimeOffset.UtcNow + ClockOffset;
        var type = headers.GetValueOrDefault("Content-Type", "");
        var md5 = headers.GetValueOrDefault("Content-MD5", "");
        var parameters = query.Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.Split('=', 2)).Select(p => (Name: Uri.UnescapeDataString(p[0]), Value: p.Length > 1 ? Uri.UnescapeDataString(p[1]) : null)).ToList();
        if (!V4)
        {
            var date = now.ToString("r", CultureInfo.InvariantCulture);
            request.Headers.TryAddWithoutValidation("Date", date);
            var resource = "/" + (bucket.Length > 0 ? $"{bucket}/{key}" : "");
            var sub = parameters.Where(p => V1SubResources.Contains(p.Name)).OrderBy(p => p.Name, StringComparer.Ordinal)
                .Select(p => p.Value is null or "" ? p.Name : $"{p.Name}={p.Value}").ToList();
            if (sub.Count > 0)
            {
                resource += "?" + string.Join('&', sub);
            }
            var ossHeaders = string.Concat(headers.Where(h => h.Key.StartsWith("x-oss-", StringComparison.OrdinalIgnoreCase))
                .Select(h => (Name: h.Key.ToLowerInvariant(), h.Value)).OrderBy(h => h.Name, StringComparer.Ordinal).Select(h => $"{h.Name}:{h.Value.Trim()}\n"));
#pragma warning disable CA5350 // the protocol's algorithm
            var signature = Convert.ToBase64String(HMACSHA1.HashData(Encoding.UTF8.GetBytes(secret!),
                Encoding.UTF8.GetBytes($"{method}\n{md5}\n{type}\n{date}\n{ossHeaders}{resource}")));
#pragma warning restore CA5350
            request.Headers.TryAddWithoutValidation("Authorization", $"OSS {accessKeyId}:{signature}");
            return;
        }
        var stamp = now.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        var payload = Convert.ToHexStringLower(SHA256.HashData(body ?? []));
        request.Headers.TryAddWithoutValidation("x-oss-date", stamp);
        request.Headers.TryAddWithoutValidation("x-oss-content-sha256", payload);
        var signed = new SortedDictionary<string, string>(StringComparer.Ordinal) { ["x-oss-date"] = stamp, ["x-oss-content-sha256"] = payload };
        foreach (var (name, value) in headers)
        {
            var lower = name.ToLowerInvariant();
            if (lower.StartsWith("x-oss-", StringComparison.Ordinal) || lower is "content-type" or "content-md5")
            {
                signed[lower] = value.Trim();
            }
        }
        var scope = $"{stamp[..8]}/{region}/oss/aliyun_v4_request";
        var canonicalQuery = string.Join('&', parameters.OrderBy(p => p.Name, StringComparer.Ordinal)
            .Select(p => p.Value is null or "" ? Encode(p.Name) : $"{Encode(p.Name)}={Encode(p.Value)}"));
        var canonical = $"{method}\n{EncodePath("/" + (bucket.Length > 0 ? $"{bucket}/{key}" : ""))}\n{canonicalQuery}\n"
            + string.Concat(signed.Select(h => $"{h.Key}:{h.Value}\n")) + $"\n\n{payload}";
        var toSign = $"OSS4-HMAC-SHA256\n{stamp}\n{scope}\n{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)))}";
        request.Headers.TryAddWithoutValidation("Authorization",
            $"OSS4-HMAC-SHA256 Credential={accessKeyId}/{scope},Signature={Convert.ToHexStringLower(HMACSHA256.HashData(SigningKeyV4(stamp[..8]), Encoding.UTF8.GetBytes(toSign)))}");
    }

    private byte[] SigningKeyV4(string day)
    {
        var key = HMACSHA256.HashData(Encoding.UTF8.GetBytes("aliyun_v4" + secret), Encoding.UTF8.GetBytes(day));
        key = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(region));
        key = HMACSHA256.HashData(key, "oss"u8.ToArray());
        return HMACSHA256.HashData(key, "aliyun_v4_request"u8.ToArray());
    }

    /// <summary>A V1 presigned GET URL (OSSAccessKeyId, Expires, Signature), expiring at <paramref name="expires"/>.</summary>
    public Uri PresignV1(string bucket, string key, DateTimeOffset expires)
    {
        var seconds = expires.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
#pragma warning disable CA5350 // the protocol's algorithm
        var signature = Convert.ToBase64String(HMACSHA1.HashData(Encoding.UTF8.GetBytes(secret!), Encoding.UTF8.GetBytes($"GET\n\n\n{seconds}\n/{bucket}/{key}")));
#pragma warning restore CA5350
        return new Uri(endpoint, $"/{bucket}/{EncodePath(key)}?OSSAccessKeyId={Encode(accessKeyId!)}&Expires={seconds}&Signature={Encode(signature)}");
    }

    /// <summary>A V4 presigned GET URL (x-oss-signature-version and the rest in the query), signed at <paramref name="signedAt"/>.</summary>
    public Uri PresignV4(string bucket, string key, DateTimeOffset signedAt, int expiresSeconds)
    {
        var stamp = signedAt.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        var scope = $"{stamp[..8]}/{region}/oss/aliyun_v4_request";
        var query = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["x-oss-signature-version"] = "OSS4-HMAC-SHA256",
            ["x-oss-credential"] = $"{accessKeyId}/{scope}",
            ["x-oss-date"] = stamp,
            ["x-oss-expires"] = expiresSeconds.ToString(CultureInfo.InvariantCulture),
        };
        var canonicalQuery = string.Join('&', query.Select(p => $"{Encode(p.Key)}={Encode(p.Value)}"));
        var canonical = $"GET\n{EncodePath($"/{bucket}/{key}")}\n{canonicalQuery}\n\n\nUNSIGNED-PAYLOAD";
        var toSign = $"OSS4-HMAC-SHA256\n{stamp}\n{scope}\n{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)))}";
        var signature = Convert.ToHexStringLower(HMACSHA256.HashData(SigningKeyV4(stamp[..8]), Encoding.UTF8.GetBytes(toSign)));
        return new Uri(endpoint, $"/{bucket}/{EncodePath(key)}?{canonicalQuery}&x-oss-signature={signature}");
    }

    public async Task<OssAnswer> FetchAsync(Uri url)
    {
        using var response = await _http.GetAsync(url);
        return new OssAnswer((int)response.StatusCode, await response.Content.ReadAsByteArrayAsync(), response.Headers, response.Content.Headers);
    }

    public void Dispose() => _http.Dispose();
}
