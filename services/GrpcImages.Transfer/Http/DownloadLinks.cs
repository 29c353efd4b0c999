using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using GrpcImages.ServiceDefaults.Identity;
using GrpcImages.Transfer.Domain;
using GrpcImages.Transfer.Storage;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace GrpcImages.Transfer.Http;

/// <summary>
/// Signed download links (R29): http://host/objects/&lt;region&gt;/&lt;bucket&gt;/&lt;name&gt;?expires=&lt;unix s&gt;&amp;signature=&lt;HMAC&gt;,
/// the HMAC-SHA256 of the path and expiry under a key derived from the cluster key, so only this cluster
/// makes them and any change to the object, the expiry or the signature is refused.
/// </summary>
public sealed class DownloadLinks(IOptions<IdentityOptions> identity, IOptions<ObjectStoreOptions> options, DownloadEndpoint endpoint)
{
    private readonly byte[] _key = identity.Value.DeriveKey("download-links/v1");

    public string Create(ObjectRecord found, DateTimeOffset expires)
    {
        var seconds = expires.ToUnixTimeSeconds();
        var path = PathOf(found.Region, found.Bucket, found.Name);
        return $"{BaseUrl()}{path}?expires={seconds.ToString(CultureInfo.InvariantCulture)}&signature={Sign(found.Region, found.Bucket, found.Name, seconds)}";
    }

    /// <summary>Whether the signature is this cluster's for these and the link has not expired.</summary>
    public bool Verify(string region, string bucket, string name, long expires, string signature, DateTimeOffset now)
    {
        if (expires < now.ToUnixTimeSeconds())
        {
            return false;
        }
        var expected = Encoding.ASCII.GetBytes(Sign(region, bucket, name, expires));
        return CryptographicOperations.FixedTimeEquals(expected, Encoding.ASCII.GetBytes(signature));
    }

    public static string PathOf(string region, string bucket, string name) =>
        $"/objects/{Uri.EscapeDataString(region)}/{Uri.EscapeDataString(bucket)}/{string.Join('/', name.Split('/').Select(Uri.EscapeDataString))}";

    private string Sign(string region, string bucket, string name, long expires) =>
        Base64UrlEncode(HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes($"GET\n{region}\n{bucket}\n{name}\n{expires.ToString(CultureInfo.InvariantCulture)}")));

    private string BaseUrl() => options.Value.PublicUrl is { Length: > 0 } url ? url.TrimEnd('/') : endpoint.Url;

    private static string Base64UrlEncode(byte[] bytes) => System.Buffers.Text.Base64Url.EncodeToString(bytes);
}

/// <summary>Where the download port listens, once it does (the kernel's pick when configured as 0).</summary>
public sealed class DownloadEndpoint
{
    public ListenOptions? Listen { get; set; }

    public string Url
    {
        get
        {
            var endpoint = Listen?.IPEndPoint ?? throw new InvalidOperationException("The download port is not configured.");
            var host = endpoint.Address.Equals(IPAddress.Any) || endpoint.Address.Equals(IPAddress.IPv6Any) ? Dns.GetHostName() : endpoint.Address.ToString();
            return $"http://{(endpoint.Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{host}]" : host)}:{endpoint.Port}";
        }
    }
}
