using System.Buffers.Text;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using GrpcImages.ServiceDefaults.Identity;
using GrpcImages.Transfer.Domain;
using GrpcImages.Transfer.Storage;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace GrpcImages.Transfer.Objects;

/// <summary>
/// Signed download links (R29): http://host/objects/&lt;region&gt;/&lt;bucket&gt;/&lt;name&gt;?v=&lt;version&gt;&amp;expires=&lt;unix s&gt;&amp;signature=&lt;HMAC&gt;.
/// The HMAC covers the path, the object's version (new with every write), the bucket's owner and the expiry,
/// under a key derived from the cluster key. So a link names one write of one object of one owner: once that
/// object is deleted or written again the link no longer serves it, and whatever is made later under the
/// same names, by its owner or another account, never matches it.
/// </summary>
public sealed class DownloadLinks(IOptions<IdentityOptions> identity, IOptions<ObjectStoreOptions> options, DownloadEndpoint endpoint)
{
    private readonly byte[] _key = identity.Value.DeriveKey("download-links/v2");

    public string Create(string owner, ObjectRecord found, DateTimeOffset expires)
    {
        var seconds = expires.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var path = PathOf(found.Region, found.Bucket, found.Name);
        return $"{BaseUrl()}{path}?v={found.Version}&expires={seconds}&signature={Sign(found.Region, found.Bucket, found.Name, owner, found.Version, seconds)}";
    }

    /// <summary>Whether the link's signature is this cluster's for these names, this owner and this version.</summary>
    public bool Verify(string region, string bucket, string name, string owner, string version, string expires, string signature)
    {
        var expected = Encoding.ASCII.GetBytes(Sign(region, bucket, name, owner, version, expires));
        return CryptographicOperations.FixedTimeEquals(expected, Encoding.ASCII.GetBytes(signature));
    }

    public static string PathOf(string region, string bucket, string name) =>
        $"/objects/{Uri.EscapeDataString(region)}/{Uri.EscapeDataString(bucket)}/{string.Join('/', name.Split('/').Select(Uri.EscapeDataString))}";

    private string Sign(string region, string bucket, string name, string owner, string version, string expires) =>
        Base64Url.EncodeToString(HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes($"GET\n{region}\n{bucket}\n{name}\n{owner}\n{version}\n{expires}")));

    private string BaseUrl() => options.Value.PublicUrl is { Length: > 0 } url ? url.TrimEnd('/') : endpoint.Url;
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
