using System.Globalization;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using System.Xml;
using System.Xml.Linq;
using GrpcImages.ServiceDefaults.Identity;
using GrpcImages.Transfer.Content;
using GrpcImages.Transfer.Objects;
using GrpcImages.Transfer.Storage;
using Microsoft.AspNetCore.Http.Features;

namespace GrpcImages.Transfer.Oss;

/// <summary>The services an OSS operation works with (the object store's rooms; no rule of the edge's own).</summary>
public sealed class OssServices(ObjectStore objects, MultipartUploads uploads, ObjectIndex index, TimeProvider time)
{
    public ObjectStore Objects => objects;

    public MultipartUploads Uploads => uploads;

    public ObjectIndex Index => index;

    public TimeProvider Time => time;
}

/// <summary>
/// One OSS request being served: where it points, who makes it (null: anonymous), the bucket it names as found (checked already
/// for the caller), and the ways to read its body and write its answer.
/// </summary>
public sealed class OssCall(HttpContext http, OssAddress address, Caller? caller, BucketRecord? bucket, OssServices services, string? payloadSha256)
{
    /// <summary>XML bodies (a completion's part list, a delete's keys, a bucket's configuration) are at most this long.</summary>
    public const int MaxXmlBytes = 2 * 1024 * 1024;

    public HttpContext Http => http;

    public HttpRequest Request => http.Request;

    public HttpResponse Response => http.Response;

    public CancellationToken Aborted => http.RequestAborted;

    public OssAddress Address => address;

    public string Region => address.Region;

    public string Bucket => address.Bucket;

    public string Key => address.Key;

    public OssServices Services => services;

    public Caller? Caller => caller;

    /// <summary>The bucket the request names, which exists (the endpoint answered NoSuchBucket otherwise).</summary>
    public BucketRecord BucketRecord => bucket ?? throw OssException.NoSuchBucket(address.Bucket);

    /// <summary>The caller of an operation anonymous callers may not make (the endpoint refused those before).</summary>
    public Caller RequireCaller() => caller ?? throw OssException.AccessDenied("This operation needs a signed request.");

    public string Header(string name) => Request.Headers[name].ToString();

    /// <summary>A query parameter as an integer in [min, max] (<paramref name="fallback"/> when absent).</summary>
    public int IntParameter(string name, int fallback, int min, int max)
    {
        var text = address.Get(name);
        if (text is null)
        {
            return fallback;
        }
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max
            ? value
            : throw OssException.InvalidArgument($"{name} must be an integer between {min} and {max}.");
    }

    /// <summary>The body's declared length, required and at most <paramref name="max"/> (a chunked body is refused: OSS needs the length).</summary>
    public long RequireContentLength(long max)
    {
        if (Request.ContentLength is not { } length)
        {
            throw new OssException(411, "MissingContentLength", "You must provide the Content-Length HTTP header.");
        }
        if (length > max)
        {
            throw new OssException(400, "EntityTooLarge", $"Your proposed upload exceeds the maximum allowed size of {max} bytes.");
        }
        return length;
    }

    /// <summary>Content-MD5 as bytes, when the client sent it (it must be the base64 of 16 bytes).</summary>
    public byte[]? ContentMd5()
    {
        var text = Header("Content-MD5");
        if (text.Length == 0)
        {
            return null;
        }
        var bytes = new byte[16];
        return Convert.TryFromBase64String(text, bytes, out var written) && written == 16
            ? bytes
            : throw new OssException(400, "InvalidDigest", "The Content-MD5 you specified is not valid.");
    }

    /// <summary>
    /// The body as pieces of 1 MiB (each valid until the next is asked for), so memory stays flat in the body's size; checked at its
    /// end against the V4 payload hash when the client signed one.
    /// </summary>
    public async IAsyncEnumerable<ReadOnlyMemory<byte>> BodyAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = null; // bounded by Content-Length, checked before
        }
        using var sha = payloadSha256 is null ? null : IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        await foreach (var piece in StreamPieces.ReadAsync(Request.Body, cancellationToken))
        {
            sha?.AppendData(piece.Span);
            yield return piece;
        }
        if (sha is not null && Convert.ToHexStringLower(sha.GetHashAndReset()) != payloadSha256)
        {
            throw new OssException(400, "InvalidDigest", "The body does not match the x-oss-content-sha256 header.");
        }
    }

    /// <summary>A small XML body (at most <see cref="MaxXmlBytes"/>), parsed without DTDs or external entities.</summary>
    public async Task<XElement> ReadXmlAsync()
    {
        var length = RequireContentLength(MaxXmlBytes);
        using var buffer = new MemoryStream((int)length);
        await foreach (var piece in BodyAsync(Aborted))
        {
            if (buffer.Length + piece.Length > MaxXmlBytes)
            {
                throw new OssException(400, "MalformedXML", $"The XML body is at most {MaxXmlBytes} bytes.");
            }
            buffer.Write(piece.Span);
        }
        buffer.Position = 0;
        try
        {
            using var reader = XmlReader.Create(buffer, new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null, MaxCharactersInDocument = MaxXmlBytes });
            return XElement.Load(reader);
        }
        catch (XmlException)
        {
            throw new OssException(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema.");
        }
    }

    /// <summary>Writes an XML answer.</summary>
    public async Task XmlAsync(XElement root, int status = 200)
    {
        var bytes = OssXml.Serialize(root);
        Response.StatusCode = status;
        Response.ContentType = "application/xml";
        Response.ContentLength = bytes.Length;
        await Response.Body.WriteAsync(bytes, Aborted);
    }

    public static string ETagOf(ObjectRecord record) =>
        record.ETag.Length > 0 ? record.ETag : record.Sha256.Length >= 32 ? record.Sha256[..32].ToUpperInvariant() : "D41D8CD98F00B204E9800998ECF8427E";

    public static string Quoted(string etag) => $"\"{etag}\"";
}

/// <summary>OSS's XML: element names as OSS spells them, ISO 8601 times with milliseconds, no namespace.</summary>
public static class OssXml
{
    public static byte[] Serialize(XElement root)
    {
        using var stream = new MemoryStream();
        using (var writer = XmlWriter.Create(stream, new XmlWriterSettings { Encoding = new UTF8Encoding(false), Indent = false }))
        {
            new XDocument(new XDeclaration("1.0", "UTF-8", null), root).Save(writer);
        }
        return stream.ToArray();
    }

    public static string Time(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    public static XElement Owner(string account) => new("Owner", new XElement("ID", account), new XElement("DisplayName", account));

    /// <summary>Text XML can carry: characters XML 1.0 forbids are replaced (an echoed key may hold anything the request did).</summary>
    public static string Text(string value) => value.All(XmlConvert.IsXmlChar) ? value : new string(value.Select(c => XmlConvert.IsXmlChar(c) ? c : '\uFFFD').ToArray());
}
