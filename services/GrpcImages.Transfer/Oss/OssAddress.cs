using System.Text;
using Microsoft.AspNetCore.Http.Features;

namespace GrpcImages.Transfer.Oss;

/// <summary>
/// Where an OSS request points: the region, the bucket ("" for the service) and the object key ("" for the bucket), read as the
/// clients address them: virtual-hosted (<c>&lt;bucket&gt;.oss-&lt;region&gt;.aliyuncs.com</c>, also what ali-oss sends as Host when
/// its endpoint is an IP address), the region's endpoint with the bucket in the path, or any other host (an IP address, a name)
/// with the bucket in the path and the configured default region. The query is kept as sent: each parameter's decoded name, and its
/// decoded value or null when it had no "=" (the canonical forms of the signatures need both).
/// </summary>
public sealed record OssAddress(string Region, string Bucket, string Key, string Host, IReadOnlyList<KeyValuePair<string, string?>> Query)
{
    /// <summary>A request's query carries at most this many parameters.</summary>
    public const int MaxQueryParameters = 64;

    public const string Domain = ".aliyuncs.com";

    public bool Has(string name) => Query.Any(p => p.Key == name);

    /// <summary>A parameter's value ("" for one without "="), or null when absent.</summary>
    public string? Get(string name)
    {
        foreach (var (key, value) in Query)
        {
            if (key == name)
            {
                return value ?? "";
            }
        }
        return null;
    }

    /// <summary>The region a host names ("oss-cn-hangzhou.aliyuncs.com", "b.oss-cn-hangzhou-internal.aliyuncs.com"), with the bucket it names.</summary>
    public static (string? Region, string? Bucket) FromHost(string host)
    {
        var name = host.ToLowerInvariant();
        if (!name.EndsWith(Domain, StringComparison.Ordinal))
        {
            return (null, null);
        }
        var labels = name[..^Domain.Length].Split('.');
        var at = Array.FindLastIndex(labels, l => l.StartsWith("oss-", StringComparison.Ordinal));
        if (at < 0 || at > 1)
        {
            return (null, null);
        }
        var region = labels[at]["oss-".Length..];
        if (region.EndsWith("-internal", StringComparison.Ordinal))
        {
            region = region[..^"-internal".Length];
        }
        return (region, at == 1 ? labels[0] : null);
    }

    public static OssAddress Read(HttpRequest request, string defaultRegion)
    {
        var target = request.HttpContext.Features.Get<IHttpRequestFeature>()?.RawTarget ?? request.Path.Value ?? "/";
        if (target.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || target.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            // The absolute form, as a client sends it through a proxy.
            target = Uri.TryCreate(target, UriKind.Absolute, out var absolute) ? absolute.PathAndQuery : "/";
        }
        var question = target.IndexOf('?');
        var path = Decode(question < 0 ? target : target[..question]);
        var query = ParseQuery(question < 0 ? "" : target[(question + 1)..]);
        var host = request.Host.Host;
        if (host.Length > 255)
        {
            throw OssException.InvalidArgument("The Host header is too long.");
        }
        var (region, bucket) = FromHost(host);
        if (!path.StartsWith('/'))
        {
            throw OssException.InvalidArgument("The request path must start with \"/\".");
        }
        string key;
        if (bucket is null)
        {
            var rest = path[1..];
            var slash = rest.IndexOf('/');
            bucket = slash < 0 ? rest : rest[..slash];
            key = slash < 0 ? "" : rest[(slash + 1)..];
        }
        else
        {
            key = path[1..];
        }
        return new OssAddress(region ?? defaultRegion, bucket, key, request.Host.Value ?? "", query);
    }

    /// <summary>The query's parameters in order, percent-decoded ("+" stays "+": OSS clients encode a space as %20).</summary>
    public static List<KeyValuePair<string, string?>> ParseQuery(string query)
    {
        var pairs = new List<KeyValuePair<string, string?>>();
        foreach (var part in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            if (pairs.Count == MaxQueryParameters)
            {
                throw OssException.InvalidArgument($"A request carries at most {MaxQueryParameters} query parameters.");
            }
            var equals = part.IndexOf('=');
            pairs.Add(equals < 0 ? new(Decode(part), null) : new(Decode(part[..equals]), Decode(part[(equals + 1)..])));
        }
        return pairs;
    }

    /// <summary>Percent-decoding that refuses what is not UTF-8, so a key is one exact string.</summary>
    public static string Decode(string value)
    {
        if (!value.Contains('%'))
        {
            return value;
        }
        var bytes = new List<byte>(value.Length);
        for (var i = 0; i < value.Length; i++)
        {
            if (value[i] == '%' && i + 2 < value.Length && Uri.IsHexDigit(value[i + 1]) && Uri.IsHexDigit(value[i + 2]))
            {
                bytes.Add(Convert.ToByte(value.Substring(i + 1, 2), 16));
                i += 2;
            }
            else if (value[i] == '%')
            {
                throw OssException.InvalidArgument("The request has a malformed percent-encoding.");
            }
            else
            {
                var start = i;
                while (i + 1 < value.Length && value[i + 1] != '%')
                {
                    i++;
                }
                bytes.AddRange(Encoding.UTF8.GetBytes(value[start..(i + 1)]));
            }
        }
        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes.ToArray());
        }
        catch (DecoderFallbackException)
        {
            throw OssException.InvalidArgument("The request's path or query is not UTF-8.");
        }
    }
}
