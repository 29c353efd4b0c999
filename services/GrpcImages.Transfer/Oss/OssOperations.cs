using System.Globalization;
using System.Text;
using System.Xml.Linq;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.Transfer.Objects;
using GrpcImages.Transfer.Storage;
using Microsoft.Net.Http.Headers;

namespace GrpcImages.Transfer.Oss;

/// <summary>What an OSS request addresses: the service (no bucket), a bucket, or an object.</summary>
public enum OssLevel
{
    Service,
    Bucket,
    ObjectKey,
}

/// <summary>
/// One operation of the OSS API: its method and level, the sub-resource that selects it (null: none), whether it is the variant with
/// an <c>x-oss-copy-source</c> header, the RAM action a RAM user needs (OSS's own action names, as on the gRPC API), whether an
/// anonymous caller may make it on a public-read bucket, and what it does.
/// </summary>
public sealed record OssOperation(string Name, string Method, OssLevel Level, string? SubResource, bool Copy, string RamAction, bool PublicRead,
    Func<OssCall, Task> Run);

/// <summary>The OSS API served here: each operation is one row and one method; the endpoint finds them, and the fuzz test walks them.</summary>
public static class OssOperations
{
    public static readonly IReadOnlyList<OssOperation> All =
    [
        new("ListBuckets", "GET", OssLevel.Service, null, false, "oss:ListBuckets", false, ListBucketsAsync),
        new("PutBucketAcl", "PUT", OssLevel.Bucket, "acl", false, "oss:PutBucketAcl", false, PutBucketAclAsync),
        new("PutBucket", "PUT", OssLevel.Bucket, null, false, "oss:PutBucket", false, PutBucketAsync),
        new("GetBucketAcl", "GET", OssLevel.Bucket, "acl", false, "oss:GetBucketAcl", false, GetBucketAclAsync),
        new("GetBucketLocation", "GET", OssLevel.Bucket, "location", false, "oss:GetBucketLocation", false, GetBucketLocationAsync),
        new("GetBucketInfo", "GET", OssLevel.Bucket, "bucketInfo", false, "oss:GetBucketInfo", false, GetBucketInfoAsync),
        new("ListMultipartUploads", "GET", OssLevel.Bucket, "uploads", false, "oss:ListMultipartUploads", false, ListMultipartUploadsAsync),
        new("ListObjectsV2", "GET", OssLevel.Bucket, "list-type", false, "oss:ListObjects", true, ListObjectsV2Async),
        new("ListObjects", "GET", OssLevel.Bucket, null, false, "oss:ListObjects", true, ListObjectsAsync),
        new("DeleteBucket", "DELETE", OssLevel.Bucket, null, false, "oss:DeleteBucket", false, DeleteBucketAsync),
        new("DeleteMultipleObjects", "POST", OssLevel.Bucket, "delete", false, "oss:DeleteObject", false, DeleteMultipleObjectsAsync),
        new("UploadPartCopy", "PUT", OssLevel.ObjectKey, "uploadId", true, "oss:PutObject", false, UploadPartCopyAsync),
        new("UploadPart", "PUT", OssLevel.ObjectKey, "uploadId", false, "oss:PutObject", false, UploadPartAsync),
        new("CopyObject", "PUT", OssLevel.ObjectKey, null, true, "oss:PutObject", false, CopyObjectAsync),
        new("PutObject", "PUT", OssLevel.ObjectKey, null, false, "oss:PutObject", false, PutObjectAsync),
        new("ListParts", "GET", OssLevel.ObjectKey, "uploadId", false, "oss:ListParts", false, ListPartsAsync),
        new("GetObjectMeta", "GET", OssLevel.ObjectKey, "objectMeta", false, "oss:GetObject", true, GetObjectMetaAsync),
        new("GetObject", "GET", OssLevel.ObjectKey, null, false, "oss:GetObject", true, GetObjectAsync),
        new("HeadObject", "HEAD", OssLevel.ObjectKey, null, false, "oss:GetObject", true, GetObjectAsync),
        new("AbortMultipartUpload", "DELETE", OssLevel.ObjectKey, "uploadId", false, "oss:AbortMultipartUpload", false, AbortMultipartUploadAsync),
        new("DeleteObject", "DELETE", OssLevel.ObjectKey, null, false, "oss:DeleteObject", false, DeleteObjectAsync),
        new("InitiateMultipartUpload", "POST", OssLevel.ObjectKey, "uploads", false, "oss:PutObject", false, InitiateMultipartUploadAsync),
        new("CompleteMultipartUpload", "POST", OssLevel.ObjectKey, "uploadId", false, "oss:PutObject", false, CompleteMultipartUploadAsync),
    ];

    /// <summary>
    /// Sub-resources of OSS that select operations not served here: asked for, they answer NotImplemented (501) rather than being read as
    /// another operation (a GET with ?versions is not a GetObject).
    /// </summary>
    private static readonly string[] Unserved =
    [
        "cors", "logging", "website", "referer", "lifecycle", "append", "tagging", "symlink", "restore", "policy", "stat", "encryption", "versions",
        "versioning", "versionId", "replication", "inventory", "worm", "qos", "live", "img", "style", "x-oss-process", "callback", "asyncFetch",
        "requestPayment", "transferAcceleration", "metaQuery", "resourceGroup", "regionList", "position", "cname", "comp", "accessPoint", "httpsConfig",
        "publicAccessBlock", "dataAccelerator", "objectInfo",
    ];

    /// <summary>The operation a request names, or why none is served.</summary>
    public static OssOperation Find(string method, OssAddress address, bool copy)
    {
        var level = address.Key.Length > 0 ? OssLevel.ObjectKey : address.Bucket.Length > 0 ? OssLevel.Bucket : OssLevel.Service;
        var candidates = All.Where(o => o.Method == method && o.Level == level).ToList();
        if (candidates.Count == 0)
        {
            throw new OssException(405, "MethodNotAllowed", $"The specified method {method} is not allowed against this resource.");
        }
        if (Unserved.FirstOrDefault(address.Has) is { } unserved)
        {
            throw new OssException(501, "NotImplemented", $"The sub-resource \"{unserved}\" is not implemented by this endpoint.");
        }
        return candidates.FirstOrDefault(o => o.SubResource is not null && address.Has(o.SubResource) && (o.Copy == copy || !candidates.Any(c => c.Copy && c.SubResource == o.SubResource)))
            ?? candidates.FirstOrDefault(o => o.SubResource is null && (o.Copy == copy || !candidates.Any(c => c.Copy && c.SubResource is null)))
            ?? throw new OssException(405, "MethodNotAllowed", $"The specified method {method} is not allowed against this resource.");
    }

    private static string Endpoint(string region) => $"oss-{region}.aliyuncs.com";

    private static string InternalEndpoint(string region) => $"oss-{region}-internal.aliyuncs.com";

    private static string Acl(BucketAcl acl) => acl == BucketAcl.PublicRead ? "public-read" : "private";

    private static BucketAcl ParseAcl(string value) => value switch
    {
        "" or "private" => BucketAcl.Private,
        "public-read" => BucketAcl.PublicRead,
        "public-read-write" => throw new OssException(400, "InvalidArgument", "public-read-write buckets are not served here: a bucket is private or public-read."),
        _ => throw new OssException(400, "InvalidArgument", "The ACL is private or public-read."),
    };

    private static async Task ListBucketsAsync(OssCall call)
    {
        var caller = call.RequireCaller();
        var prefix = call.Address.Get("prefix") ?? "";
        var marker = call.Address.Get("marker") ?? "";
        var maxKeys = call.IntParameter("max-keys", 100, 1, 1000);
        if (prefix.Length > 63 || marker.Length > 63)
        {
            throw OssException.InvalidArgument("A prefix or marker is at most 63 characters (a bucket name).");
        }
        var buckets = (await call.Services.Objects.ListBucketsAsync(caller, null))
            .Where(b => b.Name.StartsWith(prefix, StringComparison.Ordinal) && string.CompareOrdinal(b.Name, marker) > 0)
            .ToList();
        var page = buckets.Take(maxKeys).ToList();
        var truncated = buckets.Count > maxKeys;
        var root = new XElement("ListAllMyBucketsResult");
        if (call.Address.Has("prefix") || call.Address.Has("marker") || call.Address.Has("max-keys"))
        {
            root.Add(new XElement("Prefix", prefix), new XElement("Marker", marker), new XElement("MaxKeys", maxKeys),
                new XElement("IsTruncated", truncated ? "true" : "false"));
            if (truncated)
            {
                root.Add(new XElement("NextMarker", page[^1].Name));
            }
        }
        root.Add(OssXml.Owner(caller.AccountId), new XElement("Buckets", page.Select(b => new XElement("Bucket",
            new XElement("CreationDate", OssXml.Time(b.CreateTime.ToDateTimeOffset())),
            new XElement("ExtranetEndpoint", Endpoint(b.RegionId)),
            new XElement("IntranetEndpoint", InternalEndpoint(b.RegionId)),
            new XElement("Location", $"oss-{b.RegionId}"),
            new XElement("Name", b.Name),
            new XElement("Region", b.RegionId),
            new XElement("StorageClass", "Standard")))));
        await call.XmlAsync(root);
    }

    private static async Task PutBucketAsync(OssCall call)
    {
        var acl = ParseAcl(call.Header("x-oss-acl"));
        if (call.Request.ContentLength > 0)
        {
            // CreateBucketConfiguration (storage class, redundancy): read and checked for form; every bucket here is Standard, LRS.
            var configuration = await call.ReadXmlAsync();
            if (configuration.Name.LocalName != "CreateBucketConfiguration")
            {
                throw new OssException(400, "MalformedXML", "The body of PutBucket is a CreateBucketConfiguration.");
            }
        }
        try
        {
            await call.Services.Objects.CreateBucketAsync(call.RequireCaller(), call.Region, new CreateBucketRequest { Name = call.Bucket, Acl = acl, RegionId = call.Region });
        }
        catch (ServiceDefaults.Errors.DomainException exists) when (exists.Reason == "InvalidBucketName.AlreadyExists")
        {
            // OSS answers 200 to its owner putting a bucket it has, BucketAlreadyExists to anyone else.
            if ((await call.Services.Index.GetBucketAsync(call.Region, call.Bucket))?.Owner != call.RequireCaller().AccountId)
            {
                throw;
            }
        }
        call.Response.Headers.Location = "/" + call.Bucket;
    }

    private static async Task PutBucketAclAsync(OssCall call)
    {
        var acl = ParseAcl(call.Header("x-oss-acl"));
        await call.Services.Objects.SetBucketAclAsync(call.RequireCaller(), call.Region, call.Bucket, acl);
    }

    private static Task GetBucketAclAsync(OssCall call) =>
        call.XmlAsync(new XElement("AccessControlPolicy", OssXml.Owner(call.BucketRecord.Owner),
            new XElement("AccessControlList", new XElement("Grant", Acl(call.BucketRecord.Acl)))));

    private static Task GetBucketLocationAsync(OssCall call) => call.XmlAsync(new XElement("LocationConstraint", $"oss-{call.Region}"));

    private static Task GetBucketInfoAsync(OssCall call)
    {
        var bucket = call.BucketRecord;
        return call.XmlAsync(new XElement("BucketInfo", new XElement("Bucket",
            new XElement("AccessMonitor", "Disabled"),
            new XElement("CreationDate", OssXml.Time(bucket.Created)),
            new XElement("ExtranetEndpoint", Endpoint(bucket.Region)),
            new XElement("IntranetEndpoint", InternalEndpoint(bucket.Region)),
            new XElement("Location", $"oss-{bucket.Region}"),
            new XElement("StorageClass", "Standard"),
            new XElement("TransferAcceleration", "Disabled"),
            new XElement("CrossRegionReplication", "Disabled"),
            new XElement("Name", bucket.Name),
            new XElement("Region", bucket.Region),
            OssXml.Owner(bucket.Owner),
            new XElement("AccessControlList", new XElement("Grant", Acl(bucket.Acl))),
            new XElement("DataRedundancyType", "LRS"),
            new XElement("BucketStat", new XElement("Storage", bucket.Bytes), new XElement("ObjectCount", bucket.Objects)))));
    }

    private static async Task DeleteBucketAsync(OssCall call)
    {
        await call.Services.Objects.DeleteBucketAsync(call.RequireCaller(), call.Region, call.Bucket);
        call.Response.StatusCode = 204;
    }

    private static (string Prefix, string Delimiter, bool UrlEncoded) ListParameters(OssCall call)
    {
        var encoding = call.Address.Get("encoding-type");
        if (encoding is not (null or "url"))
        {
            throw OssException.InvalidArgument("encoding-type is url.");
        }
        return (call.Address.Get("prefix") ?? "", call.Address.Get("delimiter") ?? "", encoding == "url");
    }

    private static string Out(string value, bool urlEncoded) => urlEncoded ? OssSignature.Encode(value) : OssXml.Text(value);

    private static XElement Contents(ObjectRecord item, bool urlEncoded, string owner) => new("Contents",
        new XElement("Key", Out(item.Name, urlEncoded)),
        new XElement("LastModified", OssXml.Time(item.Created)),
        new XElement("ETag", OssCall.Quoted(OssCall.ETagOf(item))),
        new XElement("Type", item.ETag.Contains('-', StringComparison.Ordinal) ? "Multipart" : "Normal"),
        new XElement("Size", item.Size),
        new XElement("StorageClass", "Standard"),
        OssXml.Owner(owner));

    private static async Task ListObjectsAsync(OssCall call)
    {
        var (prefix, delimiter, urlEncoded) = ListParameters(call);
        var marker = call.Address.Get("marker") ?? "";
        var maxKeys = call.IntParameter("max-keys", 100, 1, 1000);
        var listing = await call.Services.Objects.ListAsync(call.Caller, call.Region, call.Bucket, prefix, delimiter, marker, maxKeys);
        var root = new XElement("ListBucketResult",
            new XElement("Name", call.Bucket), new XElement("Prefix", Out(prefix, urlEncoded)), new XElement("Marker", Out(marker, urlEncoded)),
            new XElement("MaxKeys", maxKeys), new XElement("Delimiter", Out(delimiter, urlEncoded)),
            urlEncoded ? new XElement("EncodingType", "url") : null,
            new XElement("IsTruncated", listing.Truncated ? "true" : "false"),
            listing.Truncated ? new XElement("NextMarker", Out(listing.NextAfter, urlEncoded)) : null,
            listing.Objects.Select(o => Contents(o, urlEncoded, call.BucketRecord.Owner)),
            listing.CommonPrefixes.Select(p => new XElement("CommonPrefixes", new XElement("Prefix", Out(p, urlEncoded)))));
        await call.XmlAsync(root);
    }

    private static async Task ListObjectsV2Async(OssCall call)
    {
        if (call.Address.Get("list-type") != "2")
        {
            throw OssException.InvalidArgument("list-type is 2.");
        }
        var (prefix, delimiter, urlEncoded) = ListParameters(call);
        var startAfter = call.Address.Get("start-after") ?? "";
        var token = call.Address.Get("continuation-token");
        var after = startAfter;
        if (!string.IsNullOrEmpty(token))
        {
            try
            {
                after = Encoding.UTF8.GetString(Convert.FromBase64String(token));
            }
            catch (FormatException)
            {
                throw OssException.InvalidArgument("The continuation token is not one this endpoint gave.");
            }
        }
        var maxKeys = call.IntParameter("max-keys", 100, 1, 1000);
        var listing = await call.Services.Objects.ListAsync(call.Caller, call.Region, call.Bucket, prefix, delimiter, after, maxKeys);
        var root = new XElement("ListBucketResult",
            new XElement("Name", call.Bucket), new XElement("Prefix", Out(prefix, urlEncoded)), new XElement("MaxKeys", maxKeys),
            new XElement("Delimiter", Out(delimiter, urlEncoded)),
            startAfter.Length > 0 ? new XElement("StartAfter", Out(startAfter, urlEncoded)) : null,
            token is not null ? new XElement("ContinuationToken", token) : null,
            urlEncoded ? new XElement("EncodingType", "url") : null,
            new XElement("IsTruncated", listing.Truncated ? "true" : "false"),
            listing.Truncated ? new XElement("NextContinuationToken", Convert.ToBase64String(Encoding.UTF8.GetBytes(listing.NextAfter))) : null,
            new XElement("KeyCount", listing.Objects.Count + listing.CommonPrefixes.Count),
            listing.Objects.Select(o => Contents(o, urlEncoded, call.BucketRecord.Owner)),
            listing.CommonPrefixes.Select(p => new XElement("CommonPrefixes", new XElement("Prefix", Out(p, urlEncoded)))));
        await call.XmlAsync(root);
    }

    private static async Task DeleteMultipleObjectsAsync(OssCall call)
    {
        var caller = call.RequireCaller();
        var body = await call.ReadXmlAsync();
        var urlEncoded = call.Address.Get("encoding-type") == "url";
        if (body.Name.LocalName != "Delete")
        {
            throw new OssException(400, "MalformedXML", "The body of DeleteMultipleObjects is a Delete element.");
        }
        var keys = body.Elements("Object").Select(o => o.Element("Key")?.Value ?? throw new OssException(400, "MalformedXML", "Each Object names its Key."))
            .Select(k => urlEncoded ? OssAddress.Decode(k) : k)
            .ToList();
        if (keys.Count is 0 or > 1000)
        {
            throw new OssException(400, "MalformedXML", "A DeleteMultipleObjects names 1-1000 objects.");
        }
        foreach (var key in keys)
        {
            ObjectStore.CheckObjectName(key);
        }
        foreach (var key in keys.Distinct(StringComparer.Ordinal))
        {
            await call.Services.Objects.DeleteAsync(caller, call.Region, call.Bucket, key);
        }
        var quiet = string.Equals(body.Element("Quiet")?.Value, "true", StringComparison.OrdinalIgnoreCase);
        await call.XmlAsync(new XElement("DeleteResult",
            urlEncoded ? new XElement("EncodingType", "url") : null,
            quiet ? null : keys.Select(k => new XElement("Deleted", new XElement("Key", Out(k, urlEncoded))))));
    }

    private static async Task PutObjectAsync(OssCall call)
    {
        var length = call.RequireContentLength(ObjectStore.MaxPutSize);
        var written = await call.Services.Objects.PutAsync(call.RequireCaller(), call.Region, call.Bucket, call.Key, ContentType(call), length,
            call.BodyAsync(call.Aborted), call.ContentMd5(), call.Aborted);
        call.Response.Headers.ETag = OssCall.Quoted(written.ETag);
        call.Response.Headers["Content-MD5"] = Convert.ToBase64String(Convert.FromHexString(written.ETag));
    }

    private static string ContentType(OssCall call)
    {
        var type = call.Header("Content-Type");
        return type.Length > 0 ? type : "application/octet-stream";
    }

    /// <summary>The source an x-oss-copy-source header names: "/bucket/object", percent-encoded, in this region.</summary>
    private static (string Bucket, string Key) CopySource(OssCall call)
    {
        var source = OssAddress.Decode(call.Header("x-oss-copy-source"));
        var slash = source.IndexOf('/', 1);
        if (!source.StartsWith('/') || slash < 0 || slash == source.Length - 1)
        {
            throw OssException.InvalidArgument("x-oss-copy-source is /<bucket>/<object>.");
        }
        return (source[1..slash], source[(slash + 1)..]);
    }

    private static async Task CopyObjectAsync(OssCall call)
    {
        var (bucket, key) = CopySource(call);
        var directive = call.Header("x-oss-metadata-directive");
        if (directive is not ("" or "COPY" or "REPLACE"))
        {
            throw OssException.InvalidArgument("x-oss-metadata-directive is COPY or REPLACE.");
        }
        var copied = await call.Services.Objects.CopyAsync(call.RequireCaller(), call.Region, bucket, key, call.Bucket, call.Key,
            directive == "REPLACE" ? ContentType(call) : null);
        await call.XmlAsync(new XElement("CopyObjectResult", new XElement("ETag", OssCall.Quoted(OssCall.ETagOf(copied))),
            new XElement("LastModified", OssXml.Time(copied.Created))));
    }

    private static int PartNumber(OssCall call) => call.IntParameter("partNumber", -1, 1, MultipartUploads.MaxParts) is var number and > 0
        ? number
        : throw OssException.InvalidArgument($"partNumber is required: an integer between 1 and {MultipartUploads.MaxParts}.");

    private static async Task UploadPartAsync(OssCall call)
    {
        var number = PartNumber(call);
        var length = call.RequireContentLength(MultipartUploads.MaxPartSize);
        var part = await call.Services.Uploads.UploadPartAsync(call.RequireCaller(), call.Region, call.Bucket, call.Key, call.Address.Get("uploadId") ?? "",
            number, length, call.BodyAsync(call.Aborted), call.ContentMd5(), call.Aborted);
        call.Response.Headers.ETag = OssCall.Quoted(part.ETag);
        call.Response.Headers["Content-MD5"] = Convert.ToBase64String(Convert.FromHexString(part.ETag));
    }

    private static async Task UploadPartCopyAsync(OssCall call)
    {
        var number = PartNumber(call);
        var (bucket, key) = CopySource(call);
        var (offset, length) = (0L, 0L);
        if (call.Header("x-oss-copy-source-range") is { Length: > 0 } range)
        {
            if (!RangeHeaderValue.TryParse(range, out var parsed) || parsed.Unit != "bytes" || parsed.Ranges.Count != 1
                || parsed.Ranges.First() is not { From: { } from, To: { } to } || to < from)
            {
                throw OssException.InvalidArgument("x-oss-copy-source-range is bytes=<first>-<last>.");
            }
            (offset, length) = (from, to - from + 1);
        }
        var part = await call.Services.Uploads.UploadPartCopyAsync(call.RequireCaller(), call.Region, call.Bucket, call.Key,
            call.Address.Get("uploadId") ?? "", number, bucket, key, offset, length, call.Aborted);
        call.Response.Headers.ETag = OssCall.Quoted(part.ETag); // in the header too, where ali-oss's multipartUploadCopy reads it
        await call.XmlAsync(new XElement("CopyPartResult", new XElement("LastModified", OssXml.Time(part.Written)),
            new XElement("ETag", OssCall.Quoted(part.ETag))));
    }

    private static async Task InitiateMultipartUploadAsync(OssCall call)
    {
        var upload = await call.Services.Uploads.InitiateAsync(call.RequireCaller(), call.Region, call.Bucket, call.Key, ContentType(call));
        await call.XmlAsync(new XElement("InitiateMultipartUploadResult", new XElement("Bucket", call.Bucket), new XElement("Key", OssXml.Text(call.Key)),
            new XElement("UploadId", upload.UploadId)));
    }

    private static async Task CompleteMultipartUploadAsync(OssCall call)
    {
        var body = await call.ReadXmlAsync();
        if (body.Name.LocalName != "CompleteMultipartUpload")
        {
            throw new OssException(400, "MalformedXML", "The body of CompleteMultipartUpload is a CompleteMultipartUpload element.");
        }
        var parts = body.Elements("Part").Take(MultipartUploads.MaxParts + 1).Select(p =>
            int.TryParse(p.Element("PartNumber")?.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && p.Element("ETag")?.Value is { } etag
                ? (number, etag)
                : throw new OssException(400, "MalformedXML", "Each Part has a PartNumber and an ETag.")).ToList();
        var made = await call.Services.Uploads.CompleteAsync(call.RequireCaller(), call.Region, call.Bucket, call.Key, call.Address.Get("uploadId") ?? "",
            parts, call.Aborted);
        await call.XmlAsync(new XElement("CompleteMultipartUploadResult",
            new XElement("Location", $"http://{call.Bucket}.oss-{call.Region}.aliyuncs.com/{OssSignature.Encode(call.Key).Replace("%2F", "/", StringComparison.Ordinal)}"),
            new XElement("Bucket", call.Bucket), new XElement("Key", OssXml.Text(call.Key)), new XElement("ETag", OssCall.Quoted(made.ETag))));
    }

    private static async Task AbortMultipartUploadAsync(OssCall call)
    {
        await call.Services.Uploads.AbortAsync(call.RequireCaller(), call.Region, call.Bucket, call.Key, call.Address.Get("uploadId") ?? "");
        call.Response.StatusCode = 204;
    }

    private static async Task ListPartsAsync(OssCall call)
    {
        var marker = call.IntParameter("part-number-marker", 0, 0, MultipartUploads.MaxParts);
        var maxParts = call.IntParameter("max-parts", 1000, 1, 1000);
        var uploadId = call.Address.Get("uploadId") ?? "";
        var (_, parts, truncated) = await call.Services.Uploads.ListPartsAsync(call.RequireCaller(), call.Region, call.Bucket, call.Key, uploadId, marker, maxParts);
        await call.XmlAsync(new XElement("ListPartsResult",
            new XElement("Bucket", call.Bucket), new XElement("Key", OssXml.Text(call.Key)), new XElement("UploadId", uploadId),
            new XElement("PartNumberMarker", marker), new XElement("NextPartNumberMarker", parts.Count > 0 ? parts[^1].Number : marker),
            new XElement("MaxParts", maxParts), new XElement("IsTruncated", truncated ? "true" : "false"),
            parts.Select(p => new XElement("Part", new XElement("PartNumber", p.Number), new XElement("LastModified", OssXml.Time(p.Written)),
                new XElement("ETag", OssCall.Quoted(p.ETag)), new XElement("Size", p.Size)))));
    }

    private static async Task ListMultipartUploadsAsync(OssCall call)
    {
        var prefix = call.Address.Get("prefix") ?? "";
        var keyMarker = call.Address.Get("key-marker") ?? "";
        var uploadIdMarker = call.Address.Get("upload-id-marker") ?? "";
        var maxUploads = call.IntParameter("max-uploads", 1000, 1, 1000);
        var (uploads, truncated) = await call.Services.Uploads.ListUploadsAsync(call.RequireCaller(), call.Region, call.Bucket, prefix, keyMarker, uploadIdMarker,
            maxUploads);
        await call.XmlAsync(new XElement("ListMultipartUploadsResult",
            new XElement("Bucket", call.Bucket), new XElement("KeyMarker", OssXml.Text(keyMarker)), new XElement("UploadIdMarker", OssXml.Text(uploadIdMarker)),
            new XElement("NextKeyMarker", uploads.Count > 0 ? OssXml.Text(uploads[^1].Name) : ""),
            new XElement("NextUploadIdMarker", uploads.Count > 0 ? uploads[^1].UploadId : ""),
            new XElement("Delimiter", ""), new XElement("Prefix", OssXml.Text(prefix)), new XElement("MaxUploads", maxUploads),
            new XElement("IsTruncated", truncated ? "true" : "false"),
            uploads.Select(u => new XElement("Upload", new XElement("Key", OssXml.Text(u.Name)), new XElement("UploadId", u.UploadId),
                new XElement("StorageClass", "Standard"), new XElement("Initiated", OssXml.Time(u.Initiated))))));
    }

    private static async Task DeleteObjectAsync(OssCall call)
    {
        await call.Services.Objects.DeleteAsync(call.RequireCaller(), call.Region, call.Bucket, call.Key);
        call.Response.StatusCode = 204;
    }

    private static Task<ObjectRecord> FindAsync(OssCall call) =>
        call.Caller is { } caller
            ? call.Services.Objects.HeadAsync(caller, call.Region, call.Bucket, call.Key)
            : call.Services.Objects.HeadPublicAsync(call.Region, call.Bucket, call.Key);

    private static void Describe(OssCall call, ObjectRecord found)
    {
        var headers = call.Response.Headers;
        headers.ETag = OssCall.Quoted(OssCall.ETagOf(found));
        headers.LastModified = found.Created.ToString("r", CultureInfo.InvariantCulture);
        headers["x-oss-object-type"] = found.ETag.Contains('-', StringComparison.Ordinal) ? "Multipart" : "Normal";
        headers["x-oss-storage-class"] = "Standard";
    }

    private static async Task GetObjectMetaAsync(OssCall call)
    {
        var found = await FindAsync(call);
        Describe(call, found);
        call.Response.ContentLength = found.Size;
    }

    /// <summary>GetObject and HeadObject: conditions (304, 412), one byte range (206, 416), the response-* overrides of a signed URL, the bytes streamed.</summary>
    private static async Task GetObjectAsync(OssCall call)
    {
        var found = await FindAsync(call);
        var request = call.Request.GetTypedHeaders();
        var etag = OssCall.Quoted(OssCall.ETagOf(found));
        var modified = DateTimeOffset.FromUnixTimeSeconds(found.Created.ToUnixTimeSeconds());
        var response = call.Response;
        if (request.IfMatch.Count > 0 && !request.IfMatch.Any(e => e.Tag == "*" || string.Equals(e.Tag.ToString(), etag, StringComparison.OrdinalIgnoreCase)))
        {
            throw new OssException(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold.") { Details = [("Condition", "If-Match")] };
        }
        if (request.IfUnmodifiedSince is { } unmodified && modified > unmodified)
        {
            throw new OssException(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold.") { Details = [("Condition", "If-Unmodified-Since")] };
        }
        Describe(call, found);
        if ((request.IfNoneMatch.Count > 0 && request.IfNoneMatch.Any(e => e.Tag == "*" || string.Equals(e.Tag.ToString(), etag, StringComparison.OrdinalIgnoreCase)))
            || (request.IfNoneMatch.Count == 0 && request.IfModifiedSince is { } since && modified <= since))
        {
            response.StatusCode = 304;
            return;
        }
        foreach (var (parameter, header) in ResponseOverrides)
        {
            if (call.Address.Get(parameter) is { } value)
            {
                if (value.Length > 1024 || value.Any(char.IsControl))
                {
                    throw OssException.InvalidArgument($"{parameter} is at most 1024 printable characters.");
                }
                response.Headers[header] = value;
            }
        }
        if (!response.Headers.ContainsKey("Content-Type"))
        {
            response.ContentType = found.ContentType.Length > 0 ? found.ContentType : "application/octet-stream";
        }
        response.Headers.AcceptRanges = "bytes";
        var (kind, offset, length) = ByteRanges.Resolve(call.Header("Range"), found.Size);
        if (kind == ByteRanges.Kind.Unsatisfiable)
        {
            response.Headers.ContentRange = ByteRanges.ContentRange(kind, offset, length, found.Size);
            throw new OssException(416, "InvalidRange", "The requested range cannot be satisfied.");
        }
        if (kind == ByteRanges.Kind.Partial)
        {
            response.StatusCode = 206;
            response.Headers.ContentRange = ByteRanges.ContentRange(kind, offset, length, found.Size);
        }
        response.ContentLength = length;
        if (HttpMethods.IsHead(call.Request.Method) || length == 0)
        {
            return;
        }
        // Whole chunks per write: a quarter of the writes (and of their awaits) of 1 MiB pieces; Kestrel sends them as the socket drains.
        await foreach (var piece in call.Services.Objects.ReadAsync(found, offset, length, call.Aborted, Content.Manifest.ChunkSize))
        {
            await response.Body.WriteAsync(piece, call.Aborted);
        }
    }

    private static readonly (string Parameter, string Header)[] ResponseOverrides =
    [
        ("response-content-type", "Content-Type"), ("response-content-language", "Content-Language"), ("response-expires", "Expires"),
        ("response-cache-control", "Cache-Control"), ("response-content-disposition", "Content-Disposition"),
        ("response-content-encoding", "Content-Encoding"),
    ];
}
