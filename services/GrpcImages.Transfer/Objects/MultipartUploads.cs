using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using GrpcImages.ServiceDefaults.Errors;
using GrpcImages.ServiceDefaults.Identity;
using GrpcImages.ServiceDefaults.Validation;
using GrpcImages.ServiceDefaults.Work;
using GrpcImages.Transfer.Content;
using GrpcImages.Transfer.Storage;
using Microsoft.Extensions.Options;

namespace GrpcImages.Transfer.Objects;

/// <summary>
/// Multipart uploads (R24: how OSS clients put large disk images): each part is stored as content of its own as it arrives (its
/// ETag is its MD5), held by a holder of its own; completing the upload makes the object's manifest from the listed parts' (no
/// byte is copied again when the parts are whole chunks) and closes the upload in one script; an abort, or the work queue once the
/// upload was left without a new part for <see cref="ObjectStoreOptions.AbandonedUploadAfter"/>, releases what it held. Every
/// change of a part's or an object's content queues its settlement first, so nothing stays held by nothing after a crash.
/// </summary>
public sealed class MultipartUploads(
    ObjectIndex objects,
    UploadIndex uploads,
    ObjectStore store,
    ContentLibrary library,
    ObjectSettlements settlements,
    WorkQueues queues,
    IOptions<ObjectStoreOptions> options,
    TimeProvider time)
{
    public const int MaxParts = 10_000;
    public const long MinPartSize = 100 * 1024;
    public const long MaxPartSize = 5L * 1024 * 1024 * 1024;

    /// <summary>The queue of a region's open uploads, each item aborting its upload once abandoned.</summary>
    public static string QueueName(string region) => $"uploads:{region}";

    public async Task<UploadRecord> InitiateAsync(Caller caller, string region, string bucket, string name, string contentType)
    {
        var account = caller.RequireAccount();
        ObjectStore.CheckBucketName(bucket);
        ObjectStore.CheckObjectName(name);
        ObjectStore.CheckContentType(contentType);
        RequireOwn(await objects.GetBucketAsync(region, bucket), account, bucket);
        var uploadId = Guid.NewGuid().ToString("N").ToUpperInvariant();
        var now = time.GetUtcNow();
        // Its abandonment first: no upload is ever open without the item that aborts it.
        await queues.Get(QueueName(region)).EnqueueAsync(ItemId(bucket, uploadId), $"{region}\n{bucket}\n{uploadId}", options.Value.AbandonedUploadAfter);
        return await uploads.InitiateAsync(region, bucket, uploadId, name, contentType, now, options.Value.MaxUploadsPerBucket) switch
        {
            UploadStart.Started => new UploadRecord(region, bucket, uploadId, name, contentType, now, now, 0),
            UploadStart.TooMany => throw Fault.ResourceExhausted("TooManyUploads",
                $"The bucket has {options.Value.MaxUploadsPerBucket} open multipart uploads; complete or abort some first."),
            _ => throw ObjectStore.BucketNotFound(bucket),
        };
    }

    /// <summary>Stores a part of exactly <paramref name="size"/> bytes (checked against Content-MD5 when given); a part sent again replaces it.</summary>
    public async Task<PartRecord> UploadPartAsync(Caller caller, string region, string bucket, string name, string uploadId, int partNumber, long size,
        IAsyncEnumerable<ReadOnlyMemory<byte>> data, byte[]? expectedMd5, CancellationToken cancellationToken)
    {
        var (account, _) = await RequireOpenAsync(caller, region, bucket, name, uploadId);
        CheckPart(partNumber, size);
        await store.RequireRoomAsync(account, size);
        return await WritePartAsync(region, bucket, name, uploadId, partNumber, size, data, expectedMd5, cancellationToken);
    }

    /// <summary>A part copied from a range of an object the caller may read (<paramref name="length"/> 0: to its end).</summary>
    public async Task<PartRecord> UploadPartCopyAsync(Caller caller, string region, string bucket, string name, string uploadId, int partNumber,
        string sourceBucket, string sourceName, long offset, long length, CancellationToken cancellationToken)
    {
        var (account, _) = await RequireOpenAsync(caller, region, bucket, name, uploadId);
        var source = await store.HeadAsync(caller, region, sourceBucket, sourceName);
        if (offset < 0 || offset > source.Size || length < 0 || offset + length > source.Size)
        {
            throw Fault.InvalidArgument("InvalidArgument", "x-oss-copy-source-range", $"The range must lie inside the source's {source.Size} bytes.");
        }
        var size = length == 0 ? source.Size - offset : length;
        CheckPart(partNumber, size);
        await store.RequireRoomAsync(account, size);
        var data = size == 0 ? AsyncEnumerable.Empty<ReadOnlyMemory<byte>>() : store.ReadAsync(source, offset, size, cancellationToken);
        return await WritePartAsync(region, bucket, name, uploadId, partNumber, size, data, null, cancellationToken);
    }

    private async Task<PartRecord> WritePartAsync(string region, string bucket, string name, string uploadId, int partNumber, long size,
        IAsyncEnumerable<ReadOnlyMemory<byte>> data, byte[]? expectedMd5, CancellationToken cancellationToken)
    {
        var holder = $"p:{uploadId}:{partNumber}:{Guid.NewGuid().ToString("N")[..12]}";
        var prior = (await uploads.GetAsync(region, bucket, uploadId))?.Parts.GetValueOrDefault(partNumber);
        var settlement = new ObjectSettlement(bucket, name, [holder, .. prior is { Holder.Length: > 0 } ? new[] { prior.Holder } : []], uploadId);
        await settlements.QueueAsync(region, settlement);
        using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        long received = 0;
        async IAsyncEnumerable<ReadOnlyMemory<byte>> Checked([EnumeratorCancellation] CancellationToken token = default)
        {
            await foreach (var piece in data.WithCancellation(token))
            {
                received += piece.Length;
                if (received > size)
                {
                    throw Fault.InvalidArgument("InvalidArgument", "Content-Length", $"More bytes arrived than the {size} announced.");
                }
                md5.AppendData(piece.Span);
                yield return piece;
            }
            if (received != size)
            {
                throw Fault.InvalidArgument("IncompleteBody", "Content-Length", $"The body ended after {received} of the {size} bytes announced.");
            }
            if (expectedMd5 is not null && !CryptographicOperations.FixedTimeEquals(expectedMd5, md5.GetCurrentHash()))
            {
                throw Fault.InvalidArgument("InvalidDigest", "Content-MD5", "The Content-MD5 you specified did not match what we received.");
            }
        }
        try
        {
            var manifest = "";
            if (size > 0)
            {
                manifest = (await library.WriteAsync(region, size, holder, null, Checked(cancellationToken), cancellationToken)).ManifestId;
            }
            else
            {
                await foreach (var _ in Checked(cancellationToken))
                {
                }
            }
            var part = new PartRecord(partNumber, size, Convert.ToHexString(md5.GetHashAndReset()), manifest, size > 0 ? holder : "", time.GetUtcNow());
            var (found, _) = await uploads.PutPartAsync(region, bucket, uploadId, part);
            return found ? part : throw NoSuchUpload(uploadId);
        }
        finally
        {
            await settlements.SettleAsync(region, settlement);
        }
    }

    /// <summary>
    /// Makes the object of the listed parts (numbers ascending, each with the ETag it was given) and closes the upload. The object's
    /// manifest is made from the parts' own; its ETag is the MD5 of the parts' MD5s and their count, as OSS makes it.
    /// </summary>
    public async Task<ObjectRecord> CompleteAsync(Caller caller, string region, string bucket, string name, string uploadId,
        IReadOnlyList<(int Number, string ETag)> listed, CancellationToken cancellationToken)
    {
        var (_, open) = await RequireOpenAsync(caller, region, bucket, name, uploadId);
        if (listed.Count is 0 or > MaxParts)
        {
            throw Fault.InvalidArgument("MalformedXML", "Part", $"A completion lists 1-{MaxParts} parts.");
        }
        var chosen = new List<PartRecord>(listed.Count);
        for (var i = 0; i < listed.Count; i++)
        {
            if (i > 0 && listed[i].Number <= listed[i - 1].Number)
            {
                throw Fault.InvalidArgument("InvalidPartOrder", "Part", "The list of parts was not in ascending order; parts must be listed by part number.");
            }
            if (!open.Parts.TryGetValue(listed[i].Number, out var part) || !string.Equals(part.ETag, listed[i].ETag.Trim().Trim('"'), StringComparison.OrdinalIgnoreCase))
            {
                throw Fault.InvalidArgument("InvalidPart", "Part",
                    $"Part {listed[i].Number} was not uploaded, or its ETag is not {Check.Echo(listed[i].ETag)}.");
            }
            if (i < listed.Count - 1 && part.Size < MinPartSize)
            {
                throw Fault.InvalidArgument("EntityTooSmall", "Part", $"Part {part.Number} is smaller than the {MinPartSize} bytes every part but the last must have.");
            }
            chosen.Add(part);
        }
        var size = chosen.Sum(p => p.Size);
        var version = Guid.NewGuid().ToString("N");
        var holder = size > 0 ? "o:" + version : "";
        var prior = (await objects.GetObjectAsync(region, bucket, name)).Object;
        var objectSettlement = new ObjectSettlement(bucket, name, [.. holder.Length > 0 ? new[] { holder } : [], .. prior is { Holder.Length: > 0 } ? new[] { prior.Holder } : []]);
        var partSettlement = new ObjectSettlement(bucket, name, open.Parts.Values.Select(p => p.Holder).Where(h => h.Length > 0).ToList(), uploadId);
        await settlements.QueueAsync(region, objectSettlement);
        await settlements.QueueAsync(region, partSettlement);
        try
        {
            var manifest = size > 0 ? (await library.ComposeAsync(region, chosen.Select(p => (p.Manifest, p.Size)).ToList(), holder, cancellationToken)).ManifestId : "";
#pragma warning disable CA5351 // OSS names a multipart object by the MD5 of its parts' MD5s; the protocol decides, not us
            var etag = $"{Convert.ToHexString(MD5.HashData(chosen.SelectMany(p => Convert.FromHexString(p.ETag)).ToArray()))}-{chosen.Count}";
#pragma warning restore CA5351
            var record = new ObjectRecord(region, bucket, name, size, "", open.Upload.ContentType, time.GetUtcNow(), manifest, holder, version, etag);
            var (result, _) = await uploads.CompleteAsync(record, uploadId);
            return result switch
            {
                UploadCompletion.Completed => record,
                UploadCompletion.NoUpload => throw NoSuchUpload(uploadId),
                _ => throw ObjectStore.BucketNotFound(bucket),
            };
        }
        finally
        {
            await settlements.SettleAsync(region, objectSettlement);
            await settlements.SettleAsync(region, partSettlement);
            await queues.Get(QueueName(region)).RemoveAsync(ItemId(bucket, uploadId), onlyIfWaiting: true);
        }
    }

    public async Task AbortAsync(Caller caller, string region, string bucket, string name, string uploadId)
    {
        var (_, open) = await RequireOpenAsync(caller, region, bucket, name, uploadId);
        await AbortOpenAsync(region, bucket, uploadId, open.Upload.Name, open.Parts.Values);
    }

    private async Task AbortOpenAsync(string region, string bucket, string uploadId, string name, IEnumerable<PartRecord> parts)
    {
        var settlement = new ObjectSettlement(bucket, name, parts.Select(p => p.Holder).Where(h => h.Length > 0).ToList(), uploadId);
        await settlements.QueueAsync(region, settlement);
        await uploads.AbortAsync(region, bucket, uploadId, name);
        await settlements.SettleAsync(region, settlement);
        await queues.Get(QueueName(region)).RemoveAsync(ItemId(bucket, uploadId), onlyIfWaiting: true);
    }

    /// <summary>
    /// The work queue's turn on an open upload: aborted (what it held released) once no part arrived for the configured time, else
    /// looked at again when it would be. Null when the upload is no longer open.
    /// </summary>
    public async Task<TimeSpan?> AbortIfAbandonedAsync(string region, string bucket, string uploadId)
    {
        if (await uploads.GetAsync(region, bucket, uploadId) is not { } open)
        {
            return null;
        }
        var due = open.Upload.Touched + options.Value.AbandonedUploadAfter - time.GetUtcNow();
        if (due > TimeSpan.Zero)
        {
            return due;
        }
        await AbortOpenAsync(region, bucket, uploadId, open.Upload.Name, open.Parts.Values);
        return null;
    }

    /// <summary>An upload's parts from after <paramref name="marker"/>, at most <paramref name="maxParts"/>, with whether more follow.</summary>
    public async Task<(UploadRecord Upload, IReadOnlyList<PartRecord> Parts, bool Truncated)> ListPartsAsync(Caller caller, string region, string bucket,
        string name, string uploadId, int marker, int maxParts)
    {
        if (maxParts is < 1 or > 1000 || marker < 0)
        {
            throw Fault.InvalidArgument("InvalidArgument", "max-parts", "max-parts is 1-1000 and part-number-marker at least 0.");
        }
        var (_, open) = await RequireOpenAsync(caller, region, bucket, name, uploadId);
        var after = open.Parts.Values.Where(p => p.Number > marker).OrderBy(p => p.Number).ToList();
        return (open.Upload, after.Take(maxParts).ToList(), after.Count > maxParts);
    }

    /// <summary>A page of the bucket's open uploads by name, then upload id, after the markers.</summary>
    public async Task<(IReadOnlyList<(string Name, string UploadId, DateTimeOffset Initiated)> Uploads, bool Truncated)> ListUploadsAsync(Caller caller,
        string region, string bucket, string prefix, string keyMarker, string uploadIdMarker, int maxUploads)
    {
        var account = caller.RequireAccount();
        ObjectStore.CheckBucketName(bucket);
        if (maxUploads is < 1 or > 1000 || prefix.Length > ObjectStore.MaxObjectNameBytes || keyMarker.Length > ObjectStore.MaxObjectNameBytes
            || uploadIdMarker.Length > 64)
        {
            throw Fault.InvalidArgument("InvalidArgument", "max-uploads", "max-uploads is 1-1000; prefixes and markers are names and upload ids.");
        }
        RequireOwn(await objects.GetBucketAsync(region, bucket), account, bucket);
        // After a key marker alone come the next key's uploads; with an upload id marker, that key's later uploads too.
        var after = keyMarker.Length == 0 ? "" : UploadIndex.Member(keyMarker, uploadIdMarker.Length == 0 ? "\u007f" : uploadIdMarker);
        var (page, next) = await uploads.ListAsync(region, bucket, prefix, after, maxUploads);
        return (page, next is not null);
    }

    private async Task<(string Account, (UploadRecord Upload, IReadOnlyDictionary<int, PartRecord> Parts) Open)> RequireOpenAsync(Caller caller,
        string region, string bucket, string name, string uploadId)
    {
        var account = caller.RequireAccount();
        ObjectStore.CheckBucketName(bucket);
        ObjectStore.CheckObjectName(name);
        RequireOwn(await objects.GetBucketAsync(region, bucket), account, bucket);
        var open = uploadId.Length is > 0 and <= 64 && uploadId.All(char.IsAsciiHexDigit) ? await uploads.GetAsync(region, bucket, uploadId) : null;
        return open is { } found && found.Upload.Name == name ? (account, found) : throw NoSuchUpload(uploadId);
    }

    private static void CheckPart(int partNumber, long size)
    {
        if (partNumber is < 1 or > MaxParts)
        {
            throw Fault.InvalidArgument("InvalidArgument", "partNumber", $"Part number must be an integer between 1 and {MaxParts}, inclusive.");
        }
        if (size > MaxPartSize)
        {
            throw Fault.InvalidArgument("EntityTooLarge", "Content-Length", $"A part is at most {MaxPartSize} bytes.");
        }
    }

    private static void RequireOwn(BucketRecord? bucket, string account, string name)
    {
        if (bucket is null || bucket.Owner != account)
        {
            throw ObjectStore.BucketNotFound(name);
        }
    }

    private static string ItemId(string bucket, string uploadId) => $"{bucket}/{uploadId}";

    public static DomainException NoSuchUpload(string uploadId) =>
        Fault.NotFound("NoSuchUpload", $"The specified upload {Check.Echo(uploadId)} does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.");
}

/// <summary>Aborts multipart uploads left without a new part for <see cref="ObjectStoreOptions.AbandonedUploadAfter"/> (one item per open upload).</summary>
public sealed class AbandonedUploads(MultipartUploads uploads) : IWorkHandler
{
    public async Task<WorkOutcome> HandleAsync(WorkLease lease, CancellationToken cancellationToken)
    {
        var parts = lease.Payload.Split('\n');
        return await uploads.AbortIfAbandonedAsync(parts[0], parts[1], parts[2]) is { } due ? WorkOutcome.Retry(due) : WorkOutcome.Done;
    }
}
