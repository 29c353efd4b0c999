using System.Globalization;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.ServiceDefaults.Storage;
using StackExchange.Redis;

namespace GrpcImages.Transfer.Storage;

/// <summary>A bucket as stored; <paramref name="Bytes"/> counts its objects' and its open uploads' parts' bytes.</summary>
public sealed record BucketRecord(string Region, string Name, string Owner, BucketAcl Acl, DateTimeOffset Created, long Objects, long Bytes = 0);

/// <summary>
/// An object as stored: its description and the content (manifest, and the holder keeping it) it points at, empty for 0 bytes;
/// <paramref name="Version"/> is new with every write, so what names one write (a download link) never names another.
/// <paramref name="Sha256"/> is empty for an object assembled from multipart parts (its bytes were never hashed whole);
/// <paramref name="ETag"/> is the OSS ETag (upper-case hex MD5, or "&lt;MD5 of the parts' MD5s&gt;-&lt;parts&gt;"), empty when the
/// object was written without one (through gRPC or by an export).
/// </summary>
public sealed record ObjectRecord(string Region, string Bucket, string Name, long Size, string Sha256, string ContentType, DateTimeOffset Created,
    string Manifest, string Holder, string Version, string ETag = "");

/// <summary>What a change of an object did, with the content holder it replaced or removed ("" for none).</summary>
public enum ObjectChange
{
    /// <summary>The bucket is gone (or the object was not there to delete).</summary>
    Missing = 0,
    Done = 1,

    /// <summary>The writer's task has a newer worker: the write was refused.</summary>
    Fenced = 2,
}

/// <summary>What deleting a bucket did (numbers the script returns).</summary>
public enum BucketDeletion
{
    Deleted = 1,

    /// <summary>No such bucket, or not the caller's.</summary>
    Missing = 2,

    /// <summary>The bucket still has objects.</summary>
    NotEmpty = 3,
}

/// <summary>A task's worker writing objects (its lease's fencing token): only the task's newest worker may.</summary>
public sealed record ObjectWriter(string TaskId, long Fence, TimeSpan Remembered);

/// <summary>
/// Buckets and objects in Redis (key layout: <see cref="TransferKeys"/>). A bucket, its name index and
/// its objects share the bucket's hash tag, so a write, a delete and the bucket's object count change
/// together in one script. A bucket is listed under its account after it is added to the account's
/// set and before it is made, so a bucket is never unlisted; entries for buckets never made are dropped
/// when listed.
/// </summary>
public sealed class ObjectIndex(IDatabase redis)
{
    // KEYS: bucket. ARGV: owner, acl, created ms. Returns 1 when made, 0 when the name is taken.
    private const string CreateBucketScript = """
        if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
        redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'acl', ARGV[2], 'created', ARGV[3], 'n', 0)
        return 1
        """;

    // KEYS: bucket, names, uploads. ARGV: owner. Returns BucketDeletion (open multipart uploads keep it, as objects do).
    private const string DeleteBucketScript = """
        if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 2 end
        if tonumber(redis.call('HGET', KEYS[1], 'n')) > 0 or redis.call('ZCARD', KEYS[3]) > 0 then return 3 end
        redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
        return 1
        """;

    // KEYS: bucket. ARGV: owner, acl. 1 when changed, 0 when there is no such bucket of the owner.
    private const string SetAclScript = """
        if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
        redis.call('HSET', KEYS[1], 'acl', ARGV[2])
        return 1
        """;

    // Points an object at its new content and counts the bytes: shared by the put and the multipart completion.
    // KEYS[1..3]: bucket, names, object. ARGV[1..9]: name, size, sha, type, created, manifest, holder, version, etag.
    internal const string PutObjectLua = """
        local function put_object()
          local prior = redis.call('HGET', KEYS[3], 'holder')
          local prior_size = tonumber(redis.call('HGET', KEYS[3], 'size') or '0')
          if not prior then
            redis.call('HINCRBY', KEYS[1], 'n', 1)
            redis.call('ZADD', KEYS[2], 0, ARGV[1])
            prior = ''
          end
          redis.call('HINCRBY', KEYS[1], 'bytes', tonumber(ARGV[2]) - prior_size)
          redis.call('HSET', KEYS[3], 'size', ARGV[2], 'sha', ARGV[3], 'type', ARGV[4], 'created', ARGV[5], 'manifest', ARGV[6], 'holder', ARGV[7],
            'ver', ARGV[8], 'etag', ARGV[9])
          return prior
        end
        """;

    // KEYS: bucket, names, object, (writer). ARGV: name, size, sha, type, created, manifest, holder, version, etag, (fence).
    // Returns {1, holder replaced or ''}, {0, ''} when the bucket is gone, {2, ''} when the writer is fenced.
    private const string PutScript = PutObjectLua + """

        if redis.call('EXISTS', KEYS[1]) == 0 then return {0, ''} end
        if KEYS[4] and redis.call('GET', KEYS[4]) ~= ARGV[10] then return {2, ''} end
        return {1, put_object()}
        """;

    // KEYS: writer. ARGV: fence, ms to remember it. 1 when this fence may write (no newer one claimed), else 0.
    private const string ClaimWriterScript = """
        local current = redis.call('GET', KEYS[1])
        if current and tonumber(current) > tonumber(ARGV[1]) then return 0 end
        redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
        return 1
        """;

    // KEYS: bucket, names, object. ARGV: name. Returns {1, holder removed} or {0, ''} when there was no object.
    private const string DeleteScript = """
        local holder = redis.call('HGET', KEYS[3], 'holder')
        if not holder then return {0, ''} end
        local size = tonumber(redis.call('HGET', KEYS[3], 'size') or '0')
        redis.call('DEL', KEYS[3])
        redis.call('ZREM', KEYS[2], ARGV[1])
        redis.call('HINCRBY', KEYS[1], 'n', -1)
        redis.call('HINCRBY', KEYS[1], 'bytes', -size)
        return {1, holder}
        """;

    // KEYS: bucket, object. Returns {bucket fields, object fields} in one round trip.
    private const string ReadScript = """
        return {redis.call('HGETALL', KEYS[1]), redis.call('HGETALL', KEYS[2])}
        """;

    // KEYS: bucket, names. ARGV: object record prefix, start ('' = from the prefix), prefix, limit.
    // Returns {bucket fields, name, fields, name, fields, ...}, at most limit + 1 objects (one more says there is a next page).
    private const string ListScript = """
        local lo = '[' .. ARGV[3]
        if ARGV[2] ~= '' then lo = '[' .. ARGV[2] end
        local hi = '+'
        if ARGV[3] ~= '' then hi = '[' .. ARGV[3] .. '\255' end
        local out = {redis.call('HGETALL', KEYS[1])}
        for _, name in ipairs(redis.call('ZRANGEBYLEX', KEYS[2], lo, hi, 'LIMIT', 0, tonumber(ARGV[4]) + 1)) do
          out[#out + 1] = name
          out[#out + 1] = redis.call('HGETALL', ARGV[1] .. name)
        end
        return out
        """;

    public async Task<bool> CreateBucketAsync(string region, string name, string owner, BucketAcl acl, DateTimeOffset created)
    {
        await redis.SetAddAsync(TransferKeys.AccountBuckets(owner), $"{region}/{name}");
        var made = (long)await redis.ScriptEvaluateAsync(CreateBucketScript, [TransferKeys.BucketRecord(region, name)],
            [owner, (int)acl, created.ToUnixTimeMilliseconds()]) == 1;
        if (!made && (await GetBucketAsync(region, name))?.Owner != owner)
        {
            await redis.SetRemoveAsync(TransferKeys.AccountBuckets(owner), $"{region}/{name}"); // another account's bucket: not ours to list
        }
        return made;
    }

    public async Task<BucketDeletion> DeleteBucketAsync(string region, string name, string owner)
    {
        var result = ScriptResults.Map<BucketDeletion>((int)await redis.ScriptEvaluateAsync(DeleteBucketScript,
            [TransferKeys.BucketRecord(region, name), TransferKeys.ObjectNames(region, name), TransferKeys.Uploads(region, name)], [owner]));
        if (result == BucketDeletion.Deleted)
        {
            await redis.SetRemoveAsync(TransferKeys.AccountBuckets(owner), $"{region}/{name}");
        }
        return result;
    }

    /// <summary>Sets a bucket's ACL; false when the owner has no such bucket.</summary>
    public async Task<bool> SetBucketAclAsync(string region, string name, string owner, BucketAcl acl) =>
        (int)await redis.ScriptEvaluateAsync(SetAclScript, [TransferKeys.BucketRecord(region, name)], [owner, (int)acl]) == 1;

    public async Task<BucketRecord?> GetBucketAsync(string region, string name) =>
        Bucket(region, name, await redis.HashGetAllAsync(TransferKeys.BucketRecord(region, name)));

    /// <summary>How many buckets the account has (or is making).</summary>
    public Task<long> CountBucketsAsync(string account) => redis.SetLengthAsync(TransferKeys.AccountBuckets(account));

    /// <summary>The account's buckets (of one region, or all), by name.</summary>
    public async Task<IReadOnlyList<BucketRecord>> ListBucketsAsync(string account, string? region)
    {
        var entries = (await redis.SetMembersAsync(TransferKeys.AccountBuckets(account))).Select(e => e.ToString().Split('/', 2)).ToList();
        var batch = redis.CreateBatch();
        var reads = entries.Select(e => batch.HashGetAllAsync(TransferKeys.BucketRecord(e[0], e[1]))).ToList();
        batch.Execute();
        var buckets = new List<BucketRecord>();
        for (var i = 0; i < entries.Count; i++)
        {
            var bucket = Bucket(entries[i][0], entries[i][1], await reads[i]);
            if (bucket is null || bucket.Owner != account)
            {
                await redis.SetRemoveAsync(TransferKeys.AccountBuckets(account), $"{entries[i][0]}/{entries[i][1]}"); // a bucket never made
            }
            else if (region is null || bucket.Region == region)
            {
                buckets.Add(bucket);
            }
        }
        return buckets.OrderBy(b => b.Name, StringComparer.Ordinal).ToList();
    }

    /// <summary>A bucket and one of its objects, read together.</summary>
    public async Task<(BucketRecord? Bucket, ObjectRecord? Object)> GetObjectAsync(string region, string bucket, string name)
    {
        var result = (RedisResult[])(await redis.ScriptEvaluateAsync(ReadScript, [TransferKeys.BucketRecord(region, bucket), TransferKeys.ObjectRecord(region, bucket, name)]))!;
        return (Bucket(region, bucket, Fields(result[0])), Object(region, bucket, name, Fields(result[1])));
    }

    /// <summary>A page of a bucket's objects by name from <paramref name="start"/>, with the name the next page starts at (null at the end).</summary>
    public async Task<(BucketRecord? Bucket, IReadOnlyList<ObjectRecord> Objects, string? Next)> ListObjectsAsync(string region, string bucket, string prefix,
        string start, int limit)
    {
        var result = (RedisResult[])(await redis.ScriptEvaluateAsync(ListScript, [TransferKeys.BucketRecord(region, bucket), TransferKeys.ObjectNames(region, bucket)],
            [TransferKeys.ObjectRecordPrefix(region, bucket), start, prefix, limit]))!;
        var objects = new List<ObjectRecord>();
        for (var i = 1; i + 1 < result.Length; i += 2)
        {
            if (Object(region, bucket, result[i].ToString(), Fields(result[i + 1])) is { } found)
            {
                objects.Add(found);
            }
        }
        var next = objects.Count > limit ? objects[limit].Name : null;
        return (Bucket(region, bucket, Fields(result[0])), objects.Take(limit).ToList(), next);
    }

    /// <summary>Points an object at new content; returns the holder of the content it pointed at before.</summary>
    public async Task<(ObjectChange Change, string Replaced)> PutObjectAsync(ObjectRecord record, ObjectWriter? writer = null)
    {
        RedisKey[] keys = [TransferKeys.BucketRecord(record.Region, record.Bucket), TransferKeys.ObjectNames(record.Region, record.Bucket),
            TransferKeys.ObjectRecord(record.Region, record.Bucket, record.Name)];
        RedisValue[] args = [.. ObjectArguments(record)];
        if (writer is not null)
        {
            keys = [.. keys, TransferKeys.ObjectWriter(record.Region, record.Bucket, writer.TaskId)];
            args = [.. args, writer.Fence];
        }
        var result = (RedisResult[])(await redis.ScriptEvaluateAsync(PutScript, keys, args))!;
        return ((ObjectChange)(int)result[0], result[1].ToString());
    }

    /// <summary>
    /// Lets <paramref name="writer"/> write into the bucket for its task, unless a newer worker of the task
    /// claimed it (then false); from now on the task's older workers cannot write there.
    /// </summary>
    public async Task<bool> ClaimWriterAsync(string region, string bucket, ObjectWriter writer) =>
        (int)await redis.ScriptEvaluateAsync(ClaimWriterScript, [TransferKeys.ObjectWriter(region, bucket, writer.TaskId)],
            [writer.Fence, (long)writer.Remembered.TotalMilliseconds]) == 1;

    /// <summary>Removes an object; returns the holder of its content.</summary>
    public async Task<(ObjectChange Change, string Removed)> DeleteObjectAsync(string region, string bucket, string name)
    {
        var result = (RedisResult[])(await redis.ScriptEvaluateAsync(DeleteScript,
            [TransferKeys.BucketRecord(region, bucket), TransferKeys.ObjectNames(region, bucket), TransferKeys.ObjectRecord(region, bucket, name)], [name]))!;
        return ((ObjectChange)(int)result[0], result[1].ToString());
    }

    /// <summary>ARGV[1..9] of <see cref="PutObjectLua"/>.</summary>
    internal static RedisValue[] ObjectArguments(ObjectRecord record) =>
        [record.Name, record.Size, record.Sha256, record.ContentType, record.Created.ToUnixTimeMilliseconds(), record.Manifest, record.Holder, record.Version,
            record.ETag];

    internal static Dictionary<string, string> Fields(RedisResult result)
    {
        var values = (RedisResult[])result!;
        var fields = new Dictionary<string, string>(values.Length / 2, StringComparer.Ordinal);
        for (var i = 0; i + 1 < values.Length; i += 2)
        {
            fields[values[i].ToString()] = values[i + 1].ToString();
        }
        return fields;
    }

    private static BucketRecord? Bucket(string region, string name, HashEntry[] entries) =>
        Bucket(region, name, entries.ToDictionary(e => e.Name.ToString(), e => e.Value.ToString(), StringComparer.Ordinal));

    private static BucketRecord? Bucket(string region, string name, Dictionary<string, string> fields) =>
        fields.TryGetValue("owner", out var owner)
            ? new BucketRecord(region, name, owner, (BucketAcl)int.Parse(fields["acl"], CultureInfo.InvariantCulture),
                DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(fields["created"], CultureInfo.InvariantCulture)),
                long.Parse(fields.GetValueOrDefault("n", "0"), CultureInfo.InvariantCulture),
                Math.Max(0, long.Parse(fields.GetValueOrDefault("bytes", "0"), CultureInfo.InvariantCulture)))
            : null;

    private static ObjectRecord? Object(string region, string bucket, string name, Dictionary<string, string> fields) =>
        fields.TryGetValue("holder", out var holder)
            ? new ObjectRecord(region, bucket, name, long.Parse(fields["size"], CultureInfo.InvariantCulture), fields["sha"], fields["type"],
                DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(fields["created"], CultureInfo.InvariantCulture)), fields["manifest"], holder,
                fields.GetValueOrDefault("ver", ""), fields.GetValueOrDefault("etag", ""))
            : null;
}
