using System.Globalization;
using GrpcImages.ServiceDefaults.Storage;
using StackExchange.Redis;

namespace GrpcImages.Transfer.Storage;

/// <summary>An open multipart upload as stored.</summary>
public sealed record UploadRecord(string Region, string Bucket, string UploadId, string Name, string ContentType, DateTimeOffset Initiated,
    DateTimeOffset Touched, long Bytes);

/// <summary>
/// A part of a multipart upload as stored: its size, its ETag (the part's MD5, upper-case hex), its content (empty for 0 bytes) and
/// the holder keeping that content. Kept as one hash value, "size etag manifest holder written-ms" (none of them has a space).
/// </summary>
public sealed record PartRecord(int Number, long Size, string ETag, string Manifest, string Holder, DateTimeOffset Written)
{
    public string Format() =>
        string.Join(' ', Size.ToString(CultureInfo.InvariantCulture), ETag, Manifest.Length == 0 ? "-" : Manifest, Holder.Length == 0 ? "-" : Holder,
            Written.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture));

    public static PartRecord Parse(int number, string value)
    {
        var fields = value.Split(' ');
        if (fields.Length != 5 || !long.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out var size)
            || !long.TryParse(fields[4], NumberStyles.None, CultureInfo.InvariantCulture, out var written))
        {
            throw new InvalidDataException($"A malformed part record: {value}");
        }
        return new PartRecord(number, size, fields[1], fields[2] == "-" ? "" : fields[2], fields[3] == "-" ? "" : fields[3],
            DateTimeOffset.FromUnixTimeMilliseconds(written));
    }
}

/// <summary>What initiating an upload did (numbers the script returns).</summary>
public enum UploadStart
{
    /// <summary>The bucket is gone.</summary>
    NoBucket = 0,
    Started = 1,

    /// <summary>The bucket has as many open uploads as it may.</summary>
    TooMany = 2,
}

/// <summary>What completing an upload did (numbers the script returns).</summary>
public enum UploadCompletion
{
    NoBucket = 0,
    Completed = 1,

    /// <summary>The upload was completed or aborted meanwhile.</summary>
    NoUpload = 3,
}

/// <summary>
/// Multipart uploads in Redis (key layout: <see cref="TransferKeys"/>): an upload, its parts and the bucket's list of uploads share
/// the bucket's hash tag, so a part's write, the completion (the object put, the upload gone) and an abort are each one script, and
/// the bucket's byte count moves with them.
/// </summary>
public sealed class UploadIndex(IDatabase redis)
{
    // KEYS: bucket, upload, uploads. ARGV: name, type, now ms, member, max uploads. Returns UploadStart.
    private const string InitiateScript = """
        if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
        if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[5]) then return 2 end
        redis.call('HSET', KEYS[2], 'name', ARGV[1], 'type', ARGV[2], 'init', ARGV[3], 'touched', ARGV[3], 'bytes', 0)
        redis.call('ZADD', KEYS[3], 0, ARGV[4])
        return 1
        """;

    // KEYS: bucket, upload, parts. ARGV: part number, record, size, now ms. Returns {1, prior record or ''} or {0, ''} without the upload.
    private const string PutPartScript = """
        if redis.call('EXISTS', KEYS[2]) == 0 then return {0, ''} end
        local prior = redis.call('HGET', KEYS[3], ARGV[1])
        local prior_size = 0
        if prior then prior_size = tonumber(string.match(prior, '^(%d+)')) else prior = '' end
        local delta = tonumber(ARGV[3]) - prior_size
        redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
        redis.call('HINCRBY', KEYS[2], 'bytes', delta)
        redis.call('HSET', KEYS[2], 'touched', ARGV[4])
        redis.call('HINCRBY', KEYS[1], 'bytes', delta)
        return {1, prior}
        """;

    // KEYS: bucket, names, object, upload, parts, uploads. ARGV[1..9]: the object (ObjectIndex.ObjectArguments), ARGV[10]: member.
    // Returns {UploadCompletion, holder the object replaced or ''}.
    private const string CompleteScript = ObjectIndex.PutObjectLua + """

        if redis.call('EXISTS', KEYS[1]) == 0 then return {0, ''} end
        if redis.call('EXISTS', KEYS[4]) == 0 then return {3, ''} end
        redis.call('HINCRBY', KEYS[1], 'bytes', -tonumber(redis.call('HGET', KEYS[4], 'bytes') or '0'))
        redis.call('DEL', KEYS[4], KEYS[5])
        redis.call('ZREM', KEYS[6], ARGV[10])
        return {1, put_object()}
        """;

    // KEYS: bucket, upload, parts, uploads. ARGV: member. Returns {0} without the upload, else {1, part number, record, ...} of what it held.
    private const string AbortScript = """
        if redis.call('EXISTS', KEYS[2]) == 0 then return {0} end
        redis.call('HINCRBY', KEYS[1], 'bytes', -tonumber(redis.call('HGET', KEYS[2], 'bytes') or '0'))
        local out = {1}
        for _, value in ipairs(redis.call('HGETALL', KEYS[3])) do out[#out + 1] = value end
        redis.call('DEL', KEYS[2], KEYS[3])
        redis.call('ZREM', KEYS[4], ARGV[1])
        return out
        """;

    // KEYS: upload, parts. Returns {upload fields, parts fields}.
    private const string ReadScript = """
        return {redis.call('HGETALL', KEYS[1]), redis.call('HGETALL', KEYS[2])}
        """;

    // KEYS: uploads. ARGV: upload key prefix, start member ('' = from the prefix), prefix, limit.
    // Returns {member, init ms, member, init ms, ...}: at most limit + 1 (one more says there is a next page).
    private const string ListScript = """
        local lo = '[' .. ARGV[3]
        if ARGV[2] ~= '' then lo = '(' .. ARGV[2] end
        local hi = '+'
        if ARGV[3] ~= '' then hi = '[' .. ARGV[3] .. '\255' end
        local out = {}
        for _, member in ipairs(redis.call('ZRANGEBYLEX', KEYS[1], lo, hi, 'LIMIT', 0, tonumber(ARGV[4]) + 1)) do
          out[#out + 1] = member
          out[#out + 1] = redis.call('HGET', ARGV[1] .. string.match(member, '\n(%x+)$'), 'init') or '0'
        end
        return out
        """;

    /// <summary>The member naming an upload in the bucket's list: the object name, a newline, the upload id (names hold no control characters).</summary>
    public static string Member(string name, string uploadId) => $"{name}\n{uploadId}";

    public async Task<UploadStart> InitiateAsync(string region, string bucket, string uploadId, string name, string contentType, DateTimeOffset now, int maxUploads) =>
        ScriptResults.Map<UploadStart>((int)await redis.ScriptEvaluateAsync(InitiateScript,
            [TransferKeys.BucketRecord(region, bucket), TransferKeys.Upload(region, bucket, uploadId), TransferKeys.Uploads(region, bucket)],
            [name, contentType, now.ToUnixTimeMilliseconds(), Member(name, uploadId), maxUploads]));

    /// <summary>Records a part; returns false when the upload is gone, else the part it replaced (null when new).</summary>
    public async Task<(bool Found, PartRecord? Replaced)> PutPartAsync(string region, string bucket, string uploadId, PartRecord part)
    {
        var result = (RedisResult[])(await redis.ScriptEvaluateAsync(PutPartScript,
            [TransferKeys.BucketRecord(region, bucket), TransferKeys.Upload(region, bucket, uploadId), TransferKeys.UploadParts(region, bucket, uploadId)],
            [part.Number, part.Format(), part.Size, part.Written.ToUnixTimeMilliseconds()]))!;
        var prior = result[1].ToString();
        return ((int)result[0] == 1, prior.Length == 0 ? null : PartRecord.Parse(part.Number, prior));
    }

    /// <summary>An upload with its parts by number, or null when it is not open.</summary>
    public async Task<(UploadRecord Upload, IReadOnlyDictionary<int, PartRecord> Parts)?> GetAsync(string region, string bucket, string uploadId)
    {
        var result = (RedisResult[])(await redis.ScriptEvaluateAsync(ReadScript,
            [TransferKeys.Upload(region, bucket, uploadId), TransferKeys.UploadParts(region, bucket, uploadId)]))!;
        var fields = ObjectIndex.Fields(result[0]);
        if (!fields.TryGetValue("name", out var name))
        {
            return null;
        }
        var upload = new UploadRecord(region, bucket, uploadId, name, fields.GetValueOrDefault("type", ""), Time(fields.GetValueOrDefault("init", "0")),
            Time(fields.GetValueOrDefault("touched", "0")), long.Parse(fields.GetValueOrDefault("bytes", "0"), CultureInfo.InvariantCulture));
        var parts = ObjectIndex.Fields(result[1])
            .Select(p => PartRecord.Parse(int.Parse(p.Key, CultureInfo.InvariantCulture), p.Value))
            .ToDictionary(p => p.Number);
        return (upload, parts);
    }

    /// <summary>Puts the object made of the upload's parts and closes the upload, in one step.</summary>
    public async Task<(UploadCompletion Result, string Replaced)> CompleteAsync(ObjectRecord record, string uploadId)
    {
        var (region, bucket) = (record.Region, record.Bucket);
        var result = (RedisResult[])(await redis.ScriptEvaluateAsync(CompleteScript,
            [TransferKeys.BucketRecord(region, bucket), TransferKeys.ObjectNames(region, bucket), TransferKeys.ObjectRecord(region, bucket, record.Name),
                TransferKeys.Upload(region, bucket, uploadId), TransferKeys.UploadParts(region, bucket, uploadId), TransferKeys.Uploads(region, bucket)],
            [.. ObjectIndex.ObjectArguments(record), Member(record.Name, uploadId)]))!;
        return (ScriptResults.Map<UploadCompletion>((int)result[0]), result[1].ToString());
    }

    /// <summary>Closes an upload; returns the parts it held (null when it was not open).</summary>
    public async Task<IReadOnlyList<PartRecord>?> AbortAsync(string region, string bucket, string uploadId, string name)
    {
        var result = (RedisResult[])(await redis.ScriptEvaluateAsync(AbortScript,
            [TransferKeys.BucketRecord(region, bucket), TransferKeys.Upload(region, bucket, uploadId), TransferKeys.UploadParts(region, bucket, uploadId),
                TransferKeys.Uploads(region, bucket)],
            [Member(name, uploadId)]))!;
        if ((int)result[0] == 0)
        {
            return null;
        }
        var parts = new List<PartRecord>();
        for (var i = 1; i + 1 < result.Length; i += 2)
        {
            parts.Add(PartRecord.Parse(int.Parse(result[i].ToString(), CultureInfo.InvariantCulture), result[i + 1].ToString()));
        }
        return parts;
    }

    /// <summary>
    /// A page of the bucket's open uploads (name, upload id, initiated) after <paramref name="after"/> (a member; "" from the start),
    /// with the member the next page starts after (null at the end).
    /// </summary>
    public async Task<(IReadOnlyList<(string Name, string UploadId, DateTimeOffset Initiated)> Uploads, string? Next)> ListAsync(string region, string bucket,
        string prefix, string after, int limit)
    {
        var result = (RedisResult[])(await redis.ScriptEvaluateAsync(ListScript, [TransferKeys.Uploads(region, bucket)],
            [TransferKeys.Upload(region, bucket, "").ToString(), after, prefix, limit]))!;
        var uploads = new List<(string, string, DateTimeOffset)>();
        for (var i = 0; i + 1 < result.Length; i += 2)
        {
            var member = result[i].ToString().Split('\n', 2);
            uploads.Add((member[0], member[1], Time(result[i + 1].ToString())));
        }
        return uploads.Count > limit ? (uploads[..limit], Member(uploads[limit - 1].Item1, uploads[limit - 1].Item2)) : (uploads, null);
    }

    private static DateTimeOffset Time(string ms) => DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(ms, CultureInfo.InvariantCulture));
}
