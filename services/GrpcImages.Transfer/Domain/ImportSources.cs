using System.Net;
using System.Net.Sockets;
using GrpcImages.ServiceDefaults.Errors;
using GrpcImages.ServiceDefaults.Validation;
using GrpcImages.Transfer.Objects;
using GrpcImages.Transfer.Storage;
using Microsoft.Extensions.Options;

namespace GrpcImages.Transfer.Domain;

/// <summary>Where an import reads a disk from: an object of the cluster's store, or a public http(s) URL.</summary>
public sealed record ImportUrl(string Url, Uri? Http, string? Bucket, string? ObjectName)
{
    public const int MaxLength = 2048;

    public bool IsObject => Bucket is not null;
}

/// <summary>
/// The checks that keep imports from reaching what they must not (R26): OSS internal endpoints, and any
/// http(s) source on a loopback, private, link-local, multicast, reserved or unspecified address (IPv4,
/// IPv6, IPv4-mapped and NAT64 IPv6, and every spelling of an IPv4 address the URL parser accepts),
/// unless the operator allows private networks. Every connection (redirects included) goes to an
/// address checked at connect time, so a name that resolves differently later (DNS rebinding) gains
/// nothing.
/// </summary>
public sealed class ImportSources(IOptions<ImportOptions> options)
{
    private const string InternalSuffix = "-internal.aliyuncs.com";

    /// <summary>Parses and checks a source URL's form (no network).</summary>
    public ImportUrl Parse(string url, string field)
    {
        if (url.Length is 0 or > ImportUrl.MaxLength)
        {
            throw Malformed(field, $"A source URL is 1-{ImportUrl.MaxLength} characters.");
        }
        if (url.StartsWith("oss://", StringComparison.Ordinal))
        {
            var rest = url["oss://".Length..];
            var slash = rest.IndexOf('/', StringComparison.Ordinal);
            if (slash <= 0 || slash == rest.Length - 1)
            {
                throw Malformed(field, "An object URL is oss://<bucket>/<object>.");
            }
            var bucket = rest[..slash];
            var name = Uri.UnescapeDataString(rest[(slash + 1)..]);
            ObjectStore.CheckBucketName(bucket);
            ObjectStore.CheckObjectName(name);
            return new ImportUrl(url, null, bucket, name);
        }
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.Host.Length == 0)
        {
            throw Malformed(field, "A source is oss://<bucket>/<object> or an http(s) URL.");
        }
        CheckHttp(uri, field);
        return new ImportUrl(url, uri, null, null);
    }

    /// <summary>Checks an http(s) URL (the first one, or a redirect's target) before any connection.</summary>
    public void CheckHttp(Uri uri, string field)
    {
        if (uri.UserInfo.Length > 0)
        {
            throw Malformed(field, "A source URL cannot carry credentials.");
        }
        if (uri.Host.EndsWith(InternalSuffix, StringComparison.OrdinalIgnoreCase))
        {
            var publicHost = uri.Host[..^InternalSuffix.Length] + ".aliyuncs.com";
            throw Malformed(field, $"{Check.Echo(uri.Host)} is an OSS internal endpoint, which imports cannot use: give the object's public URL ({uri.Scheme}://{publicHost}{uri.AbsolutePath}).");
        }
        if (uri.HostNameType is UriHostNameType.IPv4 or UriHostNameType.IPv6 && IPAddress.TryParse(uri.IdnHost.Trim('[', ']'), out var literal))
        {
            RequireAllowed(literal, uri.Port, field);
        }
        else if (!options.Value.AllowedPorts.Contains(uri.Port))
        {
            throw Malformed(field, $"Port {uri.Port} is not one imports may use ({string.Join(", ", options.Value.AllowedPorts)}).");
        }
    }

    /// <summary>Resolves a host and keeps the addresses a connection may use; refuses when there are none.</summary>
    public async Task<IReadOnlyList<IPAddress>> ResolveAsync(string host, int port, string field, CancellationToken cancellationToken)
    {
        IPAddress[] addresses;
        if (IPAddress.TryParse(host.Trim('[', ']'), out var literal))
        {
            addresses = [literal];
        }
        else
        {
            try
            {
                addresses = await Dns.GetHostAddressesAsync(host, cancellationToken);
            }
            catch (SocketException)
            {
                throw Malformed(field, $"The host {Check.Echo(host)} does not resolve.");
            }
        }
        // Any non-public address refuses the name: a name that mixes them is not trusted.
        foreach (var address in addresses)
        {
            RequireAllowed(address, port, field);
        }
        return addresses.Length > 0 ? addresses : throw Malformed(field, $"The host {Check.Echo(host)} has no address.");
    }

    /// <summary>An http client whose every connection goes to an address checked when it connects, following no redirect on its own.</summary>
    public HttpClient NewClient() => new(new SocketsHttpHandler
    {
        AllowAutoRedirect = false,
        UseProxy = false,
        ConnectTimeout = TimeSpan.FromSeconds(10),
        PooledConnectionLifetime = TimeSpan.FromMinutes(1),
        ConnectCallback = async (context, cancellationToken) =>
        {
            var addresses = await ResolveAsync(context.DnsEndPoint.Host, context.DnsEndPoint.Port, "source_url", cancellationToken);
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(addresses[0], context.DnsEndPoint.Port, cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    })
    { Timeout = Timeout.InfiniteTimeSpan };

    /// <summary>
    /// Sends a GET (with an optional range), following at most MaxRedirects redirects, each target checked
    /// first; returns the final response (the caller disposes it).
    /// </summary>
    public async Task<HttpResponseMessage> GetAsync(HttpClient client, Uri uri, System.Net.Http.Headers.RangeHeaderValue? range, string field,
        CancellationToken cancellationToken)
    {
        for (var redirects = 0; ; redirects++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, uri) { Headers = { Range = range } };
            HttpResponseMessage response;
            try
            {
                response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            }
            catch (HttpRequestException ex) when (ex.InnerException is DomainException refused)
            {
                throw refused;
            }
            catch (HttpRequestException ex)
            {
                throw Fault.FailedPrecondition("InvalidOSSObject.NotFound", $"The source could not be reached ({ex.HttpRequestError}).");
            }
            if ((int)response.StatusCode is >= 300 and < 400 && response.Headers.Location is { } location)
            {
                response.Dispose();
                if (redirects >= options.Value.MaxRedirects)
                {
                    throw Malformed(field, $"The source redirects more than {options.Value.MaxRedirects} times.");
                }
                uri = new Uri(uri, location);
                if (uri.Scheme is not ("http" or "https"))
                {
                    throw Malformed(field, "The source redirects to something other than http(s).");
                }
                CheckHttp(uri, field);
                continue;
            }
            if (!response.IsSuccessStatusCode)
            {
                var status = (int)response.StatusCode;
                response.Dispose();
                throw Fault.FailedPrecondition("InvalidOSSObject.NotFound", $"The source answered HTTP {status}.");
            }
            return response;
        }
    }

    private void RequireAllowed(IPAddress address, int port, string field)
    {
        var endpoint = new IPEndPoint(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address, port).ToString();
        if (options.Value.AllowedEndpoints.Contains(endpoint))
        {
            return;
        }
        if (!options.Value.AllowedPorts.Contains(port))
        {
            throw Malformed(field, $"Port {port} is not one imports may use ({string.Join(", ", options.Value.AllowedPorts)}).");
        }
        if (!options.Value.AllowPrivateNetworks && !IsPublic(address))
        {
            throw Malformed(field, "The source resolves to a loopback, private, link-local or reserved address, which imports cannot read from.");
        }
    }

    /// <summary>Whether an address is on the public internet (not loopback, private, shared, link-local, multicast, documentation, reserved or unspecified).</summary>
    public static bool IsPublic(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = address.GetAddressBytes();
            return !(b[0] is 0 or 10 or 127 or >= 224
                || b[0] == 100 && b[1] is >= 64 and <= 127
                || b[0] == 169 && b[1] == 254
                || b[0] == 172 && b[1] is >= 16 and <= 31
                || b[0] == 192 && b[1] == 168
                || b[0] == 192 && b[1] == 0 && b[2] is 0 or 2
                || b[0] == 198 && b[1] is 18 or 19
                || b[0] == 198 && b[1] == 51 && b[2] == 100
                || b[0] == 203 && b[1] == 0 && b[2] == 113);
        }
        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return false;
        }
        var v6 = address.GetAddressBytes();
        if (IPAddress.IsLoopback(address) || address.Equals(IPAddress.IPv6None) || address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6Multicast
            || (v6[0] & 0xfe) == 0xfc // unique local fc00::/7
            || v6[0] == 0x20 && v6[1] == 0x01 && v6[2] == 0x0d && v6[3] == 0xb8) // documentation 2001:db8::/32
        {
            return false;
        }
        // Addresses that carry an IPv4 address: IPv4-compatible ::a.b.c.d, NAT64 64:ff9b::/96, 6to4 2002::/16.
        if (v6.AsSpan(0, 12).IndexOfAnyExcept((byte)0) < 0)
        {
            return IsPublic(new IPAddress(v6.AsSpan(12, 4)));
        }
        if (v6[0] == 0x00 && v6[1] == 0x64 && v6[2] == 0xff && v6[3] == 0x9b && v6.AsSpan(4, 8).IndexOfAnyExcept((byte)0) < 0)
        {
            return IsPublic(new IPAddress(v6.AsSpan(12, 4)));
        }
        if (v6[0] == 0x20 && v6[1] == 0x02)
        {
            return IsPublic(new IPAddress(v6.AsSpan(2, 4)));
        }
        return true;
    }

    private static DomainException Malformed(string field, string message) => Fault.InvalidArgument("InvalidOSSObject.Malformed", field, message);
}
