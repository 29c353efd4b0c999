using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Google.Protobuf.WellKnownTypes;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.ServiceDefaults.Errors;
using GrpcImages.ServiceDefaults.Identity;
using GrpcImages.ServiceDefaults.Validation;
using GrpcImages.Transfer.Content;
using GrpcImages.Transfer.Storage;
using Microsoft.Extensions.Options;

namespace GrpcImages.Transfer.Objects;

/// <summary>The object store's settings ("ObjectStore").</summary>
public sealed class ObjectStoreOptions
{
    public const string Section = "ObjectStore";

    /// <summary>Buckets an account may have in all regions (OSS allows 100).</summary>
    public int MaxBucketsPerAccount { get; set; } = 100;

    /// <summary>The plain HTTP/1.1 port that serves signed download links (0: the kernel picks).</summary>
    public int HttpPort { get; set; } = 5112;

    /// <summary>The links' base as users reach it (e.g. behind an ingress); by default the HTTP port on the service's address.</summary>
    public string? PublicUrl { get; set; }

    /// <summary>The OSS-compatible endpoint's plain HTTP port (0: the kernel picks; -1: not served).</summary>
    public int OssPort { get; set; } = 5113;

    /// <summary>The OSS-compatible endpoint's HTTPS port, served when <see cref="OssCertificateFile"/> is set (0: the kernel picks).</summary>
    public int OssHttpsPort { get; set; } = 5114;

    /// <summary>The address the OSS ports listen on (by default "Service:Bind").</summary>
    public string? OssBind { get; set; }

    /// <summary>A PEM certificate (chain) for the HTTPS port, e.g. one for *.aliyuncs.com; with <see cref="OssCertificateKeyFile"/>.</summary>
    public string? OssCertificateFile { get; set; }

    /// <summary>The PEM private key of <see cref="OssCertificateFile"/>.</summary>
    public string? OssCertificateKeyFile { get; set; }

    /// <summary>The region of a request whose host does not name one (an IP address, localhost); the first served region when empty.</summary>
    public string OssDefaultRegion { get; set; } = "";

    /// <summary>How long a multipart upload may go without a new part before the work queue aborts it and releases its parts.</summary>
    public TimeSpan AbandonedUploadAfter { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Open multipart uploads a bucket may have at once.</summary>
    public int MaxUploadsPerBucket { get; set; } = 1000;

    /// <summary>Bytes an account may keep in its buckets (objects and the parts of open uploads) in all regions; 0: no limit.</summary>
    public long MaxBytesPerAccount { get; set; }
}

/// <summary>What a write through the OSS API adds: the MD5 of the bytes (the object's ETag), checked against Content-MD5 when given.</summary>
public sealed record ObjectDigest(byte[]? ExpectedMd5);

/// <summary>
/// Buckets and objects (R24, R29): names as OSS checks them, an account's buckets under a limit, objects
/// written into the region's content store (chunks shared with images of the same bytes), private or
/// public-read, and signed download links. An object's write or delete first queues the release of the
/// content it may leave unreferenced (intent first), so no content is held by nothing after a crash.
/// </summary>
public sealed class ObjectStore(
    ObjectIndex index,
    ContentLibrary library,
    ObjectSettlements settlements,
    DownloadLinks links,
    IOptions<ObjectStoreOptions> options,
    TimeProvider time)
{
    public const int MaxObjectNameBytes = 1023;
    public const int MaxContentTypeLength = 256;
    public static readonly TimeSpan DefaultLinkLifetime = TimeSpan.FromHours(1);
    public static readonly TimeSpan MaxLinkLifetime = TimeSpan.FromDays(7);

    public async Task<Bucket> CreateBucketAsync(Caller caller, string region, CreateBucketRequest request)
    {
        var account = caller.RequireAccount();
        CheckBucketName(request.Name);
        var acl = request.Acl switch
        {
            BucketAcl.Unspecified or BucketAcl.Private => BucketAcl.Private,
            BucketAcl.PublicRead => BucketAcl.PublicRead,
            _ => throw Fault.InvalidArgument("InvalidParameter", "acl", "The ACL is private or public-read."),
        };
        if (await index.CountBucketsAsync(account) >= options.Value.MaxBucketsPerAccount)
        {
            throw Fault.ResourceExhausted("QuotaExceed.Bucket", $"An account may have at most {options.Value.MaxBucketsPerAccount} buckets.");
        }
        var now = time.GetUtcNow();
        if (!await index.CreateBucketAsync(region, request.Name, account, acl, now))
        {
            throw Fault.AlreadyExists("InvalidBucketName.AlreadyExists", $"A bucket named {request.Name} already exists in {region}.");
        }
        return ToBucket(new BucketRecord(region, request.Name, account, acl, now, 0));
    }

    public async Task<IReadOnlyList<Bucket>> ListBucketsAsync(Caller caller, string? region) =>
        (await index.ListBucketsAsync(caller.RequireAccount(), region)).Select(ToBucket).ToList();

    public async Task DeleteBucketAsync(Caller caller, string region, string name)
    {
        var account = caller.RequireAccount();
        CheckBucketName(name);
        switch (await index.DeleteBucketAsync(region, name, account))
        {
            case BucketDeletion.Missing:
                throw BucketNotFound(name);
            case BucketDeletion.NotEmpty:
                throw Fault.FailedPrecondition("BucketNotEmpty", $"The bucket {name} still has objects; delete them first.");
        }
    }

    /// <summary>
    /// Writes an object of exactly <paramref name="sizeBytes"/> bytes from <paramref name="data"/> into the
    /// caller's bucket, replacing one of the same name.
    /// </summary>
    public async Task<ObjectInfo> PutAsync(Caller caller, PutObjectHeader header, string region, IAsyncEnumerable<ReadOnlyMemory<byte>> data,
        CancellationToken cancellationToken)
    {
        var account = caller.RequireAccount();
        CheckBucketName(header.Bucket);
        CheckObjectName(header.Name);
        CheckContentType(header.ContentType, "header.content_type");
        if (header.SizeBytes is < 0 or > ContentLibrary.MaxSizeBytes)
        {
            throw Fault.InvalidArgument("InvalidParameter", "header.size_bytes", "An object is 0 bytes to 32 TiB.");
        }
        var (bucket, prior) = await index.GetObjectAsync(region, header.Bucket, header.Name);
        RequireOwn(bucket, account, header.Bucket);
        await RequireRoomAsync(account, header.SizeBytes - (prior?.Size ?? 0)); // the same room as through the OSS API
        return ToInfo(await WriteAsync(region, header.Bucket, header.Name, header.ContentType, header.SizeBytes, data, cancellationToken));
    }

    /// <summary>The largest object one PutObject of the OSS API writes (bigger ones are multipart uploads).</summary>
    public const long MaxPutSize = 5L * 1024 * 1024 * 1024;

    /// <summary>
    /// An object written through the OSS API (PutObject): up to 5 GiB into the caller's bucket within its account's room, its MD5 the
    /// ETag and checked against Content-MD5 when the client sent one.
    /// </summary>
    public async Task<ObjectRecord> PutAsync(Caller caller, string region, string bucketName, string name, string contentType, long sizeBytes,
        IAsyncEnumerable<ReadOnlyMemory<byte>> data, byte[]? expectedMd5, CancellationToken cancellationToken)
    {
        var account = caller.RequireAccount();
        CheckBucketName(bucketName);
        CheckObjectName(name);
        CheckContentType(contentType);
        if (sizeBytes is < 0 or > MaxPutSize)
        {
            throw Fault.InvalidArgument("EntityTooLarge", "Content-Length", $"A PutObject carries at most {MaxPutSize} bytes; larger objects are multipart uploads.");
        }
        var (bucket, prior) = await index.GetObjectAsync(region, bucketName, name);
        RequireOwn(bucket, account, bucketName);
        await RequireRoomAsync(account, sizeBytes - (prior?.Size ?? 0));
        return await WriteAsync(region, bucketName, name, contentType, sizeBytes, data, cancellationToken, digest: new ObjectDigest(expectedMd5));
    }

    public static void CheckContentType(string contentType, string field = "Content-Type")
    {
        if (contentType.Length > MaxContentTypeLength || contentType.Any(char.IsControl))
        {
            throw Fault.InvalidArgument("InvalidParameter", field, $"A content type is at most {MaxContentTypeLength} printable characters.");
        }
    }

    /// <summary>
    /// Writes an object (the caller checked the bucket): its content is committed under a new holder, the
    /// object pointed at it, and the content it pointed at before let go. The release is queued before
    /// anything is written, so a writer that dies midway leaves nothing held. A task's
    /// <paramref name="writer"/> writes only while no newer worker of the task has claimed the bucket (else
    /// <c>TaskFenced</c>), so one frozen past its lease cannot replace what came after it.
    /// </summary>
    public async Task<ObjectRecord> WriteAsync(string region, string bucket, string name, string contentType, long sizeBytes,
        IAsyncEnumerable<ReadOnlyMemory<byte>> data, CancellationToken cancellationToken, ObjectWriter? writer = null, ObjectDigest? digest = null)
    {
        if (writer is not null && !await index.ClaimWriterAsync(region, bucket, writer))
        {
            throw WriterFenced(writer);
        }
        var version = Guid.NewGuid().ToString("N");
        var holder = "o:" + version;
        var (_, prior) = await index.GetObjectAsync(region, bucket, name);
        var settlement = new ObjectSettlement(bucket, name, [holder, .. prior is { Holder.Length: > 0 } ? new[] { prior.Holder } : []]);
        await settlements.QueueAsync(region, settlement);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var md5 = digest is null ? null : IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        var etag = "";
        long received = 0;
        async IAsyncEnumerable<ReadOnlyMemory<byte>> Counted([EnumeratorCancellation] CancellationToken token = default)
        {
            await foreach (var piece in data.WithCancellation(token))
            {
                received += piece.Length;
                if (received > sizeBytes)
                {
                    throw Fault.InvalidArgument("InvalidParameter", "data", $"More bytes arrived than the {sizeBytes} the header announced.");
                }
                sha.AppendData(piece.Span);
                md5?.AppendData(piece.Span);
                yield return piece;
            }
            // Checked at the stream's end, before the content is committed: a mismatch stores nothing.
            if (md5 is not null)
            {
                var hash = md5.GetHashAndReset();
                if (digest!.ExpectedMd5 is { } expected && !CryptographicOperations.FixedTimeEquals(expected, hash))
                {
                    throw Fault.InvalidArgument("InvalidDigest", "Content-MD5", "The Content-MD5 you specified did not match what we received.");
                }
                etag = Convert.ToHexString(hash);
            }
        }
        var manifest = "";
        if (sizeBytes > 0)
        {
            manifest = (await library.WriteAsync(region, sizeBytes, holder, null, Counted(cancellationToken), cancellationToken)).ManifestId;
        }
        else
        {
            await foreach (var _ in Counted(cancellationToken))
            {
            }
        }
        if (received != sizeBytes)
        {
            await settlements.SettleAsync(region, settlement);
            throw Fault.InvalidArgument("InvalidParameter", "data", $"The stream ended after {received} of the {sizeBytes} bytes the header announced.");
        }
        var record = new ObjectRecord(region, bucket, name, sizeBytes, Convert.ToHexStringLower(sha.GetHashAndReset()), contentType, time.GetUtcNow(),
            manifest, sizeBytes > 0 ? holder : "", version, etag);
        var (change, _) = await index.PutObjectAsync(record, writer);
        await settlements.SettleAsync(region, settlement);
        return change switch
        {
            ObjectChange.Done => record,
            ObjectChange.Fenced => throw WriterFenced(writer!),
            _ => throw BucketNotFound(bucket),
        };
    }

    private static DomainException WriterFenced(ObjectWriter writer) =>
        Fault.Aborted("TaskFenced", $"Task {writer.TaskId} has a newer worker; this one may not write.");

    /// <summary>An object the caller may read: its own, or in a public-read bucket.</summary>
    public async Task<ObjectRecord> HeadAsync(Caller caller, string region, string bucketName, string name) =>
        (await ReadableAsync(caller, region, bucketName, name)).Object;

    private async Task<(BucketRecord Bucket, ObjectRecord Object)> ReadableAsync(Caller caller, string region, string bucketName, string name)
    {
        var account = caller.RequireAccount();
        CheckBucketName(bucketName);
        CheckObjectName(name);
        var (bucket, found) = await index.GetObjectAsync(region, bucketName, name);
        if (bucket is null || (bucket.Owner != account && bucket.Acl != BucketAcl.PublicRead))
        {
            throw BucketNotFound(bucketName);
        }
        return (bucket, found ?? throw ObjectNotFound(bucketName, name));
    }

    /// <summary>An object the caller may read and its bytes in a range (checked before anything is looked up).</summary>
    public async Task<(ObjectRecord Object, IAsyncEnumerable<ReadOnlyMemory<byte>> Data)> OpenAsync(Caller caller, string region, GetObjectRequest request,
        CancellationToken cancellationToken)
    {
        if (request.Offset < 0 || request.Length < 0)
        {
            throw Fault.InvalidArgument("InvalidParameter", request.Offset < 0 ? "offset" : "length", "A range starts and lasts at least 0 bytes.");
        }
        var found = await HeadAsync(caller, region, request.Bucket, request.Name);
        return (found, ReadAsync(found, request.Offset, request.Length, cancellationToken));
    }

    /// <summary>An object's bytes from <paramref name="offset"/> (<paramref name="length"/> of them, 0 for the rest), in pieces of at most <paramref name="pieceBytes"/>.</summary>
    public IAsyncEnumerable<ReadOnlyMemory<byte>> ReadAsync(ObjectRecord found, long offset, long length, CancellationToken cancellationToken,
        int pieceBytes = ContentLibrary.DefaultPieceBytes)
    {
        if (offset < 0 || length < 0 || offset > found.Size)
        {
            throw Fault.InvalidArgument("InvalidParameter", "offset", $"The range must lie inside the object's {found.Size} bytes.");
        }
        return found.Size == 0 || offset == found.Size
            ? AsyncEnumerable.Empty<ReadOnlyMemory<byte>>()
            : ReadContentAsync(found, offset, length, pieceBytes, cancellationToken);
    }

    /// <summary>
    /// The object's content; if its content goes while it is read (the object was deleted or written again
    /// and its chunks collected), the read ends with <see cref="ObjectGone"/>. Content missing under an object
    /// that is still there is damage, and stays the error it is.
    /// </summary>
    private async IAsyncEnumerable<ReadOnlyMemory<byte>> ReadContentAsync(ObjectRecord found, long offset, long length, int pieceBytes,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var pieces = library.ReadAsync(found.Region, found.Manifest, offset, length, cancellationToken, pieceBytes)
            .GetAsyncEnumerator(cancellationToken);
        while (true)
        {
            Exception? missing = null;
            try
            {
                if (!await pieces.MoveNextAsync())
                {
                    yield break;
                }
            }
            catch (Exception error) when (error is BlobMissingException or DomainException { Reason: "InvalidContent.NotFound" })
            {
                missing = error;
            }
            if (missing is not null)
            {
                var (_, now) = await index.GetObjectAsync(found.Region, found.Bucket, found.Name);
                if (now?.Version != found.Version)
                {
                    throw ObjectGone(found.Bucket, found.Name);
                }
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(missing);
            }
            yield return pieces.Current;
        }
    }

    /// <summary>An object deleted or replaced while it was being read: the read ends early, as it must.</summary>
    public static DomainException ObjectGone(string bucket, string name) =>
        Fault.NotFound("InvalidOSSObject.NotFound", $"The object {Check.Echo(name)} in bucket {Check.Echo(bucket)} was deleted or replaced while it was read.");

    public async Task<(IReadOnlyList<ObjectInfo> Objects, string Next)> ListAsync(Caller caller, ListObjectsRequest request, string region)
    {
        var account = caller.RequireAccount();
        CheckBucketName(request.Bucket);
        if (Encoding.UTF8.GetByteCount(request.Prefix) > MaxObjectNameBytes)
        {
            throw Fault.InvalidArgument("InvalidParameter", "prefix", $"A prefix is at most {MaxObjectNameBytes} bytes.");
        }
        var size = Check.PageSize(request.PageSize);
        var start = request.PageToken.Length == 0 ? "" : PageToken.Decode(request.PageToken);
        if (start.Length > 0 && !start.StartsWith(request.Prefix, StringComparison.Ordinal))
        {
            throw Fault.InvalidArgument("InvalidParameter", "page_token", "The page token belongs to another listing.");
        }
        var (bucket, objects, next) = await index.ListObjectsAsync(region, request.Bucket, request.Prefix, start, size);
        RequireOwn(bucket, account, request.Bucket);
        return (objects.Select(ToInfo).ToList(), next is null ? "" : PageToken.Encode(next));
    }

    public async Task DeleteAsync(Caller caller, string region, string bucketName, string name)
    {
        var account = caller.RequireAccount();
        CheckBucketName(bucketName);
        CheckObjectName(name);
        var (bucket, found) = await index.GetObjectAsync(region, bucketName, name);
        RequireOwn(bucket, account, bucketName);
        if (found is null)
        {
            return;
        }
        await DeleteWrittenAsync(found);
    }

    /// <summary>Removes an object (the caller checked who may) and lets go of its content.</summary>
    public async Task DeleteWrittenAsync(ObjectRecord found)
    {
        var settlement = new ObjectSettlement(found.Bucket, found.Name, found.Holder.Length > 0 ? [found.Holder] : []);
        await settlements.QueueAsync(found.Region, settlement);
        await index.DeleteObjectAsync(found.Region, found.Bucket, found.Name);
        await settlements.SettleAsync(found.Region, settlement);
    }

    public async Task<CreateDownloadUrlResponse> CreateDownloadUrlAsync(Caller caller, CreateDownloadUrlRequest request, string region)
    {
        var (bucket, found) = await ReadableAsync(caller, region, request.Bucket, request.Name);
        var lifetime = request.Ttl is null ? DefaultLinkLifetime : Check.Duration(request.Ttl, "ttl");
        if (lifetime < TimeSpan.FromSeconds(1) || lifetime > MaxLinkLifetime)
        {
            throw Fault.InvalidArgument("InvalidParameter", "ttl", "A link lasts 1 second to 7 days.");
        }
        var expires = time.GetUtcNow().Add(lifetime);
        return new CreateDownloadUrlResponse { Url = links.Create(bucket.Owner, found, expires), ExpireTime = Timestamp.FromDateTimeOffset(expires) };
    }

    /// <summary>Sets the ACL of one of the caller's buckets (private or public-read).</summary>
    public async Task SetBucketAclAsync(Caller caller, string region, string name, BucketAcl acl)
    {
        var account = caller.RequireAccount();
        CheckBucketName(name);
        if (acl is not (BucketAcl.Private or BucketAcl.PublicRead))
        {
            throw Fault.InvalidArgument("InvalidParameter", "acl", "The ACL is private or public-read.");
        }
        if (!await index.SetBucketAclAsync(region, name, account, acl))
        {
            throw BucketNotFound(name);
        }
    }

    /// <summary>
    /// An object of a public-read bucket, for a caller without credentials; any other bucket is refused as not readable
    /// (<c>AccessDenied</c>), whether or not it exists.
    /// </summary>
    public async Task<ObjectRecord> HeadPublicAsync(string region, string bucketName, string name)
    {
        CheckBucketName(bucketName);
        CheckObjectName(name);
        var (bucket, found) = await index.GetObjectAsync(region, bucketName, name);
        if (bucket is not { Acl: BucketAcl.PublicRead })
        {
            throw Fault.PermissionDenied("AccessDenied", "Anonymous access is allowed only to objects of public-read buckets.");
        }
        return found ?? throw ObjectNotFound(bucketName, name);
    }

    /// <summary>
    /// Copies an object the caller may read into one of its buckets of the same region without copying a byte: the destination
    /// holds the source's manifest under a holder of its own (intent first, as every write).
    /// </summary>
    public async Task<ObjectRecord> CopyAsync(Caller caller, string region, string sourceBucket, string sourceName, string bucket, string name,
        string? contentType)
    {
        var account = caller.RequireAccount();
        CheckBucketName(bucket);
        CheckObjectName(name);
        var source = await HeadAsync(caller, region, sourceBucket, sourceName);
        var (destination, prior) = await index.GetObjectAsync(region, bucket, name);
        RequireOwn(destination, account, bucket);
        await RequireRoomAsync(account, source.Size - (prior?.Size ?? 0));
        var version = Guid.NewGuid().ToString("N");
        var holder = source.Manifest.Length > 0 ? "o:" + version : "";
        var settlement = new ObjectSettlement(bucket, name, [.. holder.Length > 0 ? new[] { holder } : [], .. prior is { Holder.Length: > 0 } ? new[] { prior.Holder } : []]);
        await settlements.QueueAsync(region, settlement);
        if (holder.Length > 0)
        {
            try
            {
                await library.RetainAsync(region, source.Manifest, holder);
            }
            catch (DomainException gone) when (gone.Reason == "InvalidContent.NotFound")
            {
                await settlements.SettleAsync(region, settlement);
                throw ObjectGone(sourceBucket, sourceName);
            }
        }
        var record = source with
        {
            Bucket = bucket,
            Name = name,
            ContentType = contentType ?? source.ContentType,
            Created = time.GetUtcNow(),
            Holder = holder,
            Version = version,
        };
        var (change, _) = await index.PutObjectAsync(record);
        await settlements.SettleAsync(region, settlement);
        return change == ObjectChange.Done ? record : throw BucketNotFound(bucket);
    }

    /// <summary>
    /// Refuses a write that would take the account past <see cref="ObjectStoreOptions.MaxBytesPerAccount"/> (objects and open uploads' parts
    /// of every bucket it has). Checked before the bytes are taken, from the buckets' counts: writes racing each other may overshoot by what
    /// they carry, never more.
    /// </summary>
    public async Task RequireRoomAsync(string account, long adding)
    {
        var limit = options.Value.MaxBytesPerAccount;
        if (limit <= 0 || adding <= 0)
        {
            return;
        }
        var used = (await index.ListBucketsAsync(account, null)).Sum(b => b.Bytes);
        if (used + adding > limit)
        {
            throw Fault.ResourceExhausted("QuotaExceeded.Storage", $"The account's buckets may hold at most {limit} bytes; {used} are used.");
        }
    }

    /// <summary>A listing as OSS gives it: objects and the common prefixes the delimiter folds names into, in name order.</summary>
    public sealed record Listing(IReadOnlyList<ObjectRecord> Objects, IReadOnlyList<string> CommonPrefixes, bool Truncated, string NextAfter);

    /// <summary>Index pages one listing may read before it returns what it found as a truncated page (the work per request is bounded).</summary>
    private const int MaxListingPages = 10;

    /// <summary>
    /// Up to <paramref name="maxKeys"/> objects and common prefixes of a bucket the caller may read, with names after
    /// <paramref name="after"/> ("" from the start) under <paramref name="prefix"/>; names with <paramref name="delimiter"/> after the
    /// prefix are folded into one common prefix each.
    /// </summary>
    public async Task<Listing> ListAsync(Caller? caller, string region, string bucketName, string prefix, string delimiter, string after, int maxKeys)
    {
        CheckBucketName(bucketName);
        if (Encoding.UTF8.GetByteCount(prefix) > MaxObjectNameBytes || Encoding.UTF8.GetByteCount(after) > MaxObjectNameBytes
            || Encoding.UTF8.GetByteCount(delimiter) > MaxObjectNameBytes)
        {
            throw Fault.InvalidArgument("InvalidParameter", "prefix", $"A prefix, marker or delimiter is at most {MaxObjectNameBytes} bytes.");
        }
        if (maxKeys is < 1 or > 1000)
        {
            throw Fault.InvalidArgument("InvalidParameter", "max-keys", "max-keys is 1-1000.");
        }
        var objects = new List<ObjectRecord>();
        var prefixes = new List<string>();
        // The index starts at a name inclusively: the smallest name after another is that name and a NUL (no name holds one); after a
        // common prefix (a marker that ends with the delimiter), past every name under it (U+10FFFF is the largest character there is).
        var start = after.Length == 0 ? ""
            : delimiter.Length > 0 && after.Length > prefix.Length && after.StartsWith(prefix, StringComparison.Ordinal) && after.EndsWith(delimiter, StringComparison.Ordinal)
                ? after + Largest : after + "\0";
        if (string.CompareOrdinal(start, prefix) < 0)
        {
            start = "";
        }
        string? folded = null;
        var last = after;
        for (var page = 0; page < MaxListingPages; page++)
        {
            var (bucket, found, next) = await index.ListObjectsAsync(region, bucketName, prefix, start, maxKeys);
            if (bucket is null || (bucket.Acl != BucketAcl.PublicRead && (caller is null || bucket.Owner != caller.RequireAccount())))
            {
                throw BucketNotFound(bucketName);
            }
            foreach (var item in found)
            {
                if (folded is not null && item.Name.StartsWith(folded, StringComparison.Ordinal))
                {
                    continue;
                }
                if (objects.Count + prefixes.Count == maxKeys)
                {
                    return new Listing(objects, prefixes, true, last);
                }
                var cut = delimiter.Length == 0 ? -1 : item.Name.IndexOf(delimiter, prefix.Length, StringComparison.Ordinal);
                if (cut < 0)
                {
                    objects.Add(item);
                    last = item.Name;
                }
                else
                {
                    folded = last = item.Name[..(cut + delimiter.Length)];
                    prefixes.Add(folded);
                }
            }
            if (next is null)
            {
                return new Listing(objects, prefixes, false, "");
            }
            start = folded is not null && next.StartsWith(folded, StringComparison.Ordinal) ? folded + Largest : next;
        }
        return new Listing(objects, prefixes, true, last);
    }

    private const string Largest = "\U0010FFFF";

    /// <summary>OSS bucket names: 3-63 lowercase letters, digits and hyphens, starting and ending with a letter or digit.</summary>
    public static void CheckBucketName(string name)
    {
        var valid = name.Length is >= 3 and <= 63
            && name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-')
            && name[0] != '-' && name[^1] != '-';
        if (!valid)
        {
            throw Fault.InvalidArgument("InvalidBucketName.Malformed", "bucket",
                $"The bucket name {Check.Echo(name)} is not valid: 3-63 lowercase letters, digits and hyphens, starting and ending with a letter or digit.");
        }
    }

    /// <summary>
    /// OSS object names: 1-1023 bytes of UTF-8, not starting with "/" or "\", no control characters; and no "." or ".."
    /// between slashes, which HTTP clients and servers resolve away, so a link to such a name could never reach it.
    /// </summary>
    public static void CheckObjectName(string name)
    {
        var valid = name.Length > 0 && IsWellFormedUtf16(name) && Encoding.UTF8.GetByteCount(name) <= MaxObjectNameBytes
            && name[0] is not ('/' or '\\') && !name.Any(char.IsControl) && !name.Split('/').Any(segment => segment is "." or "..");
        if (!valid)
        {
            throw Fault.InvalidArgument("InvalidObjectName.Malformed", "name",
                $"The object name {Check.Echo(name)} is not valid: 1-{MaxObjectNameBytes} bytes of UTF-8, not starting with / or \\, no control characters, "
                + "no \".\" or \"..\" between slashes.");
        }
    }

    private static bool IsWellFormedUtf16(string value)
    {
        for (var i = 0; i < value.Length; i++)
        {
            if (char.IsHighSurrogate(value[i]) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(value[i]))
            {
                return false;
            }
        }
        return true;
    }

    private static void RequireOwn(BucketRecord? bucket, string account, string name)
    {
        if (bucket is null || bucket.Owner != account)
        {
            throw BucketNotFound(name);
        }
    }

    public static DomainException BucketNotFound(string name) =>
        Fault.NotFound("InvalidBucketName.NotFound", $"The bucket {Check.Echo(name)} does not exist in this region.");

    public static DomainException ObjectNotFound(string bucket, string name) =>
        Fault.NotFound("InvalidOSSObject.NotFound", $"The object {Check.Echo(name)} does not exist in bucket {Check.Echo(bucket)}.");

    public static Bucket ToBucket(BucketRecord record) => new()
    {
        Name = record.Name, OwnerAccountId = record.Owner, RegionId = record.Region, Acl = record.Acl, CreateTime = Timestamp.FromDateTimeOffset(record.Created),
    };

    public static ObjectInfo ToInfo(ObjectRecord record) => new()
    {
        Bucket = record.Bucket, Name = record.Name, SizeBytes = record.Size, Sha256 = record.Sha256, ContentType = record.ContentType,
        CreateTime = Timestamp.FromDateTimeOffset(record.Created), RegionId = record.Region,
    };
}

/// <summary>An object's write or delete to settle: of these content holders, those the object does not point at (any more) are released.</summary>
/// With an <paramref name="UploadId"/>, the holders are a multipart upload's parts' and are released unless one of its parts (still open) points at them.
public sealed record ObjectSettlement(string Bucket, string Name, IReadOnlyList<string> Holders, string UploadId = "")
{
    [System.Text.Json.Serialization.JsonIgnore]
    public string Id => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Serialize())));

    public string Serialize() => JsonSerializer.Serialize(this, ObjectJson.Default.ObjectSettlement);

    public static ObjectSettlement Parse(string json) =>
        JsonSerializer.Deserialize(json, ObjectJson.Default.ObjectSettlement) ?? throw new InvalidDataException("An empty settlement.");
}

[System.Text.Json.Serialization.JsonSerializable(typeof(ObjectSettlement))]
internal sealed partial class ObjectJson : System.Text.Json.Serialization.JsonSerializerContext;
