using Google.Protobuf;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.ServiceDefaults.Storage;
using GrpcImages.ServiceDefaults.Validation;
using GrpcImages.ServiceDefaults.Work;
using StackExchange.Redis;

namespace GrpcImages.Catalog.Storage;

/// <summary>An image with its version and, while a task makes it, that task.</summary>
public sealed record StoredImage(Image Image, long Version, string? Task = null);

/// <summary>A snapshot with its content ("" while a task copies it), version and, while a task makes it, that task.</summary>
public sealed record StoredSnapshot(Snapshot Snapshot, string ManifestId, long Version, string? Task = null);

/// <summary>An instance with the manifest of each of its disks (disk id -> manifest id).</summary>
public sealed record StoredInstance(Instance Instance, IReadOnlyDictionary<string, string> Manifests, long Version);

/// <summary>A snapshot an image creation makes (new) or uses (an accomplished one of the caller).</summary>
public sealed record ImageSnapshotRef(string SnapshotId, Snapshot? New, string ManifestId);

/// <summary>What a create script did (numbers the scripts return).</summary>
public enum CreateResult
{
    Created = 1,
    /// <summary>The client token was used before: the detail is its stored value (R35).</summary>
    TokenUsed = 2,
    DuplicateName = 3,
    /// <summary>A snapshot the image uses is gone: the detail is its id.</summary>
    SnapshotMissing = 4,
    /// <summary>A snapshot the image uses is not accomplished: the detail is its id.</summary>
    SnapshotNotReady = 5,
    /// <summary>The creation took so long that its job gave it up (and what it held back).</summary>
    Abandoned = 6,
}

/// <summary>What a versioned save did (numbers the scripts return).</summary>
public enum SaveResult
{
    /// <summary>The record changed since it was read (or is gone).</summary>
    Conflict = 0,
    Saved = 1,
    DuplicateName = 2,
    /// <summary>A queue worker with a newer fencing token wrote the record: this worker lost its job.</summary>
    Fenced = 3,
    /// <summary>The record is not pending for the task named (another task's, or none).</summary>
    NotPending = 4,
    /// <summary>The task named ended the record's pending state already (a retry of a step that succeeded).</summary>
    AlreadyDone = 5,
    /// <summary>There is no such record (a cancelled one is deleted).</summary>
    Absent = 6,

    /// <summary>The change mirrors an older state of its task than one applied already: nothing was written.</summary>
    Stale = 7,
}

/// <summary>What a delete script did (numbers the scripts return).</summary>
public enum DeleteResult
{
    Conflict = 0,
    Deleted = 1,
    /// <summary>Instances use the image, or images use the snapshot.</summary>
    InUse = 2,
    /// <summary>A running copy or export holds the image (R9, R33).</summary>
    Held = 3,
}

/// <summary>What recording an instance's use of an image found.</summary>
public enum RegisterUseResult
{
    Missing = 0,
    Registered = 1,
    WrongStatus = 2,
}

/// <summary>A page of a list: the records' bytes and the position to continue from ("" at the end).</summary>
public sealed record StoredPage(IReadOnlyList<byte[]> Records, string Next);

/// <summary>
/// The catalog's records in Redis (key layout: <see cref="CatalogKeys"/>). Reads are one round
/// trip; every change is one script over keys with the owner's tag; updates compare the record's
/// version ("v") so concurrent changes never overwrite each other. Records hold no view fields
/// (an image's owner alias, a snapshot's image ids): those depend on the reader and are filled on read.
/// </summary>
public sealed partial class CatalogStore(IDatabase redis)
{
    /// <summary>How many index entries one List call looks at before it returns a page (a shorter one, with a token).</summary>
    public const int ListScanBudget = 1000;

    private const string Accomplished = "2"; // SnapshotStatus.Accomplished

    // KEYS: image, owner's image index, owner's names, client token, owner's snapshot index, then per snapshot: record, its images.
    // ARGV: image bytes, status, name, family, score, id, fingerprint, token ttl, snapshot count,
    //       then per snapshot: id, new (1/0), bytes, status, manifest.
    // Returns {CreateResult, detail}: the token's stored value, or the snapshot that is missing or not ready.
    private const string CreateImageScript = ClientTokens.Lua + """

        if redis.call('EXISTS', KEYS[#KEYS]) == 1 then return {6, ''} end
        local prior = prior_token(KEYS[4], ARGV[7], ARGV[6])
        if prior then return {2, prior} end
        if redis.call('HEXISTS', KEYS[3], ARGV[3]) == 1 then return {3, ''} end
        local n = tonumber(ARGV[9])
        for i = 0, n - 1 do
          local a = 10 + i * 5
          if ARGV[a + 1] == '0' then
            local s = redis.call('HGET', KEYS[6 + i * 2], 's')
            if not s then return {4, ARGV[a]} end
            if s ~= ARGV[a + 3] then return {5, ARGV[a]} end
          end
        end
        for i = 0, n - 1 do
          local a = 10 + i * 5
          if ARGV[a + 1] == '1' then
            redis.call('HSET', KEYS[6 + i * 2], 'd', ARGV[a + 2], 's', ARGV[a + 3], 'm', ARGV[a + 4], 'v', 1)
            redis.call('ZADD', KEYS[5], ARGV[5], ARGV[a])
          end
          redis.call('SADD', KEYS[7 + i * 2], ARGV[6])
        end
        redis.call('HSET', KEYS[1], 'd', ARGV[1], 's', ARGV[2], 'n', ARGV[3], 'f', ARGV[4], 'v', 1)
        redis.call('ZADD', KEYS[2], ARGV[5], ARGV[6])
        redis.call('HSET', KEYS[3], ARGV[3], ARGV[6])
        remember_token(KEYS[4], ARGV[7], ARGV[6], ARGV[8])
        return {1, ''}
        """;

    // KEYS: record, index, client token, abandonment mark, then the string keys to set. ARGV: id, score, fingerprint,
    // token ttl, count of strings, their values, then the record's field/value pairs. Returns {CreateResult, token's stored value}.
    private const string CreateRecordScript = ClientTokens.Lua + """

        if redis.call('EXISTS', KEYS[4]) == 1 then return {6, ''} end
        local prior = prior_token(KEYS[3], ARGV[3], ARGV[1])
        if prior then return {2, prior} end
        local n = tonumber(ARGV[5])
        for i = 1, n do redis.call('SET', KEYS[4 + i], ARGV[5 + i]) end
        redis.call('HSET', KEYS[1], 'v', 1, unpack(ARGV, 6 + n))
        redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
        remember_token(KEYS[3], ARGV[3], ARGV[1], ARGV[4])
        return {1, ''}
        """;

    // KEYS: the records. ARGV: fencing token of a queue worker ('' for others; checked on KEYS[1]), count,
    // then per record: version read, fields to remove (n, names), pairs (n, name/value...). Returns SaveResult.
    private const string SaveScript = Fencing.Lua + """

        local count = tonumber(ARGV[2])
        local a = 3
        local plan = {}
        for k = 1, count do
          if redis.call('HGET', KEYS[k], 'v') ~= ARGV[a] then return 0 end
          local removes = tonumber(ARGV[a + 1])
          local pairs = tonumber(ARGV[a + 2 + removes])
          plan[k] = {a, removes, pairs}
          a = a + 3 + removes + pairs * 2
        end
        if ARGV[1] ~= '' and not fenced(KEYS[1], ARGV[1]) then return 3 end
        for k = 1, count do
          local p = plan[k]
          local base, removes, pairs = p[1], p[2], p[3]
          for i = 1, removes do redis.call('HDEL', KEYS[k], ARGV[base + 1 + i]) end
          local first = base + 3 + removes
          if pairs > 0 then redis.call('HSET', KEYS[k], unpack(ARGV, first, first + pairs * 2 - 1)) end
          redis.call('HSET', KEYS[k], 'v', tonumber(ARGV[base]) + 1)
        end
        return 1
        """;

    // KEYS: image, owner's names. ARGV: version read, old name, new name, id, then field/value pairs. Returns SaveResult.
    private const string RenameScript = """
        if redis.call('HGET', KEYS[1], 'v') ~= ARGV[1] then return 0 end
        if redis.call('HSETNX', KEYS[2], ARGV[3], ARGV[4]) == 0 then return 2 end
        if redis.call('HGET', KEYS[2], ARGV[2]) == ARGV[4] then redis.call('HDEL', KEYS[2], ARGV[2]) end
        redis.call('HSET', KEYS[1], 'v', tonumber(ARGV[1]) + 1, unpack(ARGV, 5))
        return 1
        """;

    // KEYS: image, owner's image index, owner's names, image users, holds, then each snapshot's images.
    // ARGV: version read, id, name, force (1/0). Returns {DeleteResult, the kind of a hold that refused it}.
    private const string DeleteImageScript = """
        if redis.call('HGET', KEYS[1], 'v') ~= ARGV[1] then return {0, 0} end
        for _, kind in ipairs(redis.call('HVALS', KEYS[5])) do return {3, tonumber(kind)} end
        if ARGV[4] == '0' and redis.call('SCARD', KEYS[4]) > 0 then return {2, 0} end
        redis.call('DEL', KEYS[1], KEYS[4])
        redis.call('ZREM', KEYS[2], ARGV[2])
        if redis.call('HGET', KEYS[3], ARGV[3]) == ARGV[2] then redis.call('HDEL', KEYS[3], ARGV[3]) end
        for i = 6, #KEYS do redis.call('SREM', KEYS[i], ARGV[2]) end
        return {1, 0}
        """;

    // KEYS: record, index, users (a set that must be empty when ARGV[3] is 1), then string keys to delete.
    // ARGV: id, version read, check users (1/0). Returns DeleteResult.
    private const string DeleteRecordScript = """
        if redis.call('HGET', KEYS[1], 'v') ~= ARGV[2] then return 0 end
        if ARGV[3] == '1' and redis.call('SCARD', KEYS[3]) > 0 then return 2 end
        redis.call('DEL', KEYS[1])
        redis.call('ZREM', KEYS[2], ARGV[1])
        for i = 4, #KEYS do redis.call('DEL', KEYS[i]) end
        if ARGV[3] == '1' then redis.call('DEL', KEYS[3]) end
        return 1
        """;

    // KEYS: image, image users. ARGV: instance, then the statuses that allow use. Returns RegisterUseResult.
    private const string RegisterUseScript = """
        local s = redis.call('HGET', KEYS[1], 's')
        if not s then return 0 end
        for i = 2, #ARGV do
          if s == ARGV[i] then
            redis.call('SADD', KEYS[2], ARGV[1])
            return 1
          end
        end
        return 2
        """;

    // KEYS: index. ARGV: record prefix, cursor score ('' = start), cursor id, limit, statuses (',3,6,' or ''),
    // name ('' = any), name is a prefix ('1'/'0'), family ('' = any), most entries to look at.
    // Newest first; returns {next score, next id, record...}, next score '' at the end.
    private const string ListScript = """
        local limit, budget = tonumber(ARGV[4]), tonumber(ARGV[9])
        local hi = '+inf'
        if ARGV[2] ~= '' then hi = ARGV[2] end
        local out, found = {}, 0
        local offset = 0
        local lastScore, lastId = '', ''
        while budget > 0 do
          local batch = redis.call('ZREVRANGEBYSCORE', KEYS[1], hi, '-inf', 'WITHSCORES', 'LIMIT', offset, 64)
          if #batch == 0 then break end
          offset = offset + #batch / 2
          for i = 1, #batch, 2 do
            local id, score = batch[i], batch[i + 1]
            local seen = ARGV[2] ~= '' and tonumber(score) == tonumber(ARGV[2]) and id >= ARGV[3]
            if not seen then
              budget = budget - 1
              local r = redis.call('HMGET', ARGV[1] .. id, 's', 'n', 'f', 'd')
              local ok = r[4] ~= false
              if ok and ARGV[5] ~= '' then ok = string.find(ARGV[5], ',' .. r[1] .. ',', 1, true) ~= nil end
              if ok and ARGV[6] ~= '' then
                if ARGV[7] == '1' then ok = r[2] ~= false and string.sub(r[2], 1, #ARGV[6]) == ARGV[6]
                else ok = r[2] == ARGV[6] end
              end
              if ok and ARGV[8] ~= '' then ok = r[3] == ARGV[8] end
              if ok then
                if found == limit then return {lastScore, lastId, unpack(out)} end
                found = found + 1
                out[found] = r[4]
              end
              lastScore, lastId = score, id
              if budget == 0 then break end
            end
          end
        end
        if budget == 0 then return {lastScore, lastId, unpack(out)} end
        return {'', '', unpack(out)}
        """;

    // ---- reads ----

    /// <summary>An image's record: one HGET (the hot path of GetImage).</summary>
    public async Task<Image?> FindImageAsync(string region, string imageId) =>
        await redis.HashGetAsync(CatalogKeys.Image(region, imageId), "d") is { HasValue: true } d ? Image.Parser.ParseFrom((byte[])d!) : null;

    /// <summary>Several images by id (one pipelined round trip); missing ones are left out.</summary>
    public async Task<IReadOnlyList<Image>> FindImagesAsync(string region, IReadOnlyList<string> imageIds)
    {
        var batch = redis.CreateBatch();
        var reads = imageIds.Select(id => batch.HashGetAsync(CatalogKeys.Image(region, id), "d")).ToList();
        batch.Execute();
        var images = new List<Image>(reads.Count);
        foreach (var read in reads)
        {
            if (await read is { HasValue: true } d)
            {
                images.Add(Image.Parser.ParseFrom((byte[])d!));
            }
        }
        return images;
    }

    public async Task<StoredImage?> GetImageAsync(string region, string imageId)
    {
        var values = await redis.HashGetAsync(CatalogKeys.Image(region, imageId), ["d", "v", "task"]);
        return values[0].HasValue
            ? new StoredImage(Image.Parser.ParseFrom((byte[])values[0]!), (long)values[1], values[2].HasValue ? (string)values[2]! : null)
            : null;
    }

    public async Task<StoredSnapshot?> GetSnapshotAsync(string snapshotId) => (await GetSnapshotsAsync([snapshotId]))[0];

    /// <summary>
    /// Snapshots in the order asked, null where missing: one pipelined round trip. Their image_ids are
    /// not read (a snapshot that made thousands of images would cost every create that many ids);
    /// <see cref="FillSnapshotImagesAsync"/> adds them for a response.
    /// </summary>
    public async Task<IReadOnlyList<StoredSnapshot?>> GetSnapshotsAsync(IReadOnlyList<string> snapshotIds)
    {
        var batch = redis.CreateBatch();
        // A pending image's disks name no snapshot yet: those read as missing.
        var reads = snapshotIds.Select(id => ResourceIds.IsValid(id, 's') ? batch.HashGetAsync(CatalogKeys.Snapshot(id), ["d", "m", "v", "task"]) : null).ToList();
        batch.Execute();
        var snapshots = new List<StoredSnapshot?>(reads.Count);
        foreach (var fields in reads)
        {
            if (fields is null)
            {
                snapshots.Add(null);
                continue;
            }
            var values = await fields;
            if (!values[0].HasValue)
            {
                snapshots.Add(null);
                continue;
            }
            var snapshot = Snapshot.Parser.ParseFrom((byte[])values[0]!);
            snapshots.Add(new StoredSnapshot(snapshot, values[1].HasValue ? (string)values[1]! : "", (long)values[2],
                values[3].HasValue ? (string)values[3]! : null));
        }
        return snapshots;
    }

    /// <summary>Fills each snapshot's image_ids (one pipelined round trip).</summary>
    public async Task FillSnapshotImagesAsync(IReadOnlyList<Snapshot> snapshots)
    {
        var batch = redis.CreateBatch();
        var reads = snapshots.Select(s => batch.SetMembersAsync(CatalogKeys.SnapshotImages(s.SnapshotId))).ToList();
        batch.Execute();
        for (var i = 0; i < snapshots.Count; i++)
        {
            snapshots[i].ImageIds.Clear();
            snapshots[i].ImageIds.AddRange((await reads[i]).Select(v => (string)v!).Order(StringComparer.Ordinal));
        }
    }

    public async Task<StoredInstance?> GetInstanceAsync(string instanceId)
    {
        var entries = await redis.HashGetAllAsync(CatalogKeys.Instance(instanceId));
        if (entries.Length == 0)
        {
            return null;
        }
        var map = entries.ToDictionary(e => (string)e.Name!, e => e.Value);
        var manifests = map.Where(e => e.Key.StartsWith(CatalogKeys.DiskManifestPrefix, StringComparison.Ordinal))
            .ToDictionary(e => e.Key[2..], e => (string)e.Value!);
        return new StoredInstance(Instance.Parser.ParseFrom((byte[])map["d"]!), manifests, (long)map["v"]);
    }

    public async Task<string?> FindInstanceOfDiskAsync(string diskId) =>
        await redis.StringGetAsync(CatalogKeys.Disk(diskId)) is { HasValue: true } v ? (string)v! : null;

    public async Task<IReadOnlyList<string>> ImageUsersAsync(string region, string imageId) =>
        (await redis.SetMembersAsync(CatalogKeys.ImageUsers(region, imageId))).Select(v => (string)v!).ToList();

    /// <summary>Which of the instances still exist (one pipelined round trip).</summary>
    public async Task<IReadOnlyList<string>> ExistingInstancesAsync(IReadOnlyList<string> instanceIds)
    {
        var batch = redis.CreateBatch();
        var checks = instanceIds.Select(id => (id, exists: batch.KeyExistsAsync(CatalogKeys.Instance(id)))).ToList();
        batch.Execute();
        var existing = new List<string>();
        foreach (var (id, exists) in checks)
        {
            if (await exists)
            {
                existing.Add(id);
            }
        }
        return existing;
    }

    public async Task<RedisValue> FindClientTokenAsync(string owner, string scope, ClientToken token) =>
        token.IsSet ? await redis.StringGetAsync(CatalogKeys.ClientToken(owner, scope, token.Token)) : RedisValue.Null;

    /// <summary>Records a client token's first result after a change that is not a create script (R35).</summary>
    public async Task RememberClientTokenAsync(string owner, string scope, ClientToken token, string resourceId)
    {
        if (token.IsSet)
        {
            await redis.StringSetAsync(CatalogKeys.ClientToken(owner, scope, token.Token), ClientTokens.Value(token.Fingerprint, resourceId),
                ClientTokens.Lifetime, When.NotExists);
        }
    }

    /// <summary>A page of an owner's images (or the platform's), newest first, filtered in the script.</summary>
    public Task<StoredPage> ListImagesAsync(string indexOwner, string region, string position, int limit,
        IReadOnlyCollection<int> statuses, string name, string family) =>
        ListAsync(CatalogKeys.Images(indexOwner, region), CatalogKeys.ImageRecordPrefix(indexOwner, region), position, limit, statuses, name, family);

    public Task<StoredPage> ListInstancesAsync(string owner, string region, string position, int limit) =>
        ListAsync(CatalogKeys.Instances(owner, region), CatalogKeys.InstanceRecordPrefix(owner), position, limit);

    public Task<StoredPage> ListSnapshotsAsync(string owner, string region, string position, int limit) =>
        ListAsync(CatalogKeys.Snapshots(owner, region), CatalogKeys.SnapshotRecordPrefix(owner), position, limit);

    private async Task<StoredPage> ListAsync(string index, string recordPrefix, string position, int limit,
        IReadOnlyCollection<int>? statuses = null, string name = "", string family = "")
    {
        var (score, id) = SplitPosition(position);
        var namePrefix = name.EndsWith('*');
        var result = (RedisResult[])(await redis.ScriptEvaluateAsync(ListScript, [index],
        [
            recordPrefix, score, id, limit,
            statuses is { Count: > 0 } ? "," + string.Join(',', statuses) + "," : "",
            namePrefix ? name[..^1] : name, namePrefix ? "1" : "0", family, ListScanBudget,
        ]))!;
        var next = (string)result[0]! == "" ? "" : $"{(string)result[0]!}:{(string)result[1]!}";
        return new StoredPage(result.Skip(2).Select(r => (byte[])r!).ToList(), next);
    }

    // ---- changes ----

    /// <summary>Creates an image with the snapshots it makes or uses.</summary>
    public async Task<(CreateResult Result, string Detail)> CreateImageAsync(Image image, string owner, IReadOnlyList<ImageSnapshotRef> snapshots,
        ClientToken token)
    {
        var keys = new List<RedisKey>
        {
            CatalogKeys.Image(image.RegionId, image.ImageId),
            CatalogKeys.Images(owner, image.RegionId),
            CatalogKeys.Names(owner, image.RegionId),
            CatalogKeys.ClientToken(owner, "img", token.Token),
            CatalogKeys.Snapshots(owner, image.RegionId),
        };
        var args = new List<RedisValue>
        {
            Bytes(image), (int)image.Status, image.ImageName, image.ImageFamily, Score(image.CreateTime), image.ImageId,
            token.Fingerprint, ClientTokens.LifetimeSeconds, snapshots.Count,
        };
        foreach (var snapshot in snapshots)
        {
            keys.Add(CatalogKeys.Snapshot(snapshot.SnapshotId));
            keys.Add(CatalogKeys.SnapshotImages(snapshot.SnapshotId));
            args.Add(snapshot.SnapshotId);
            args.Add(snapshot.New is null ? "0" : "1");
            args.Add(snapshot.New is null ? Array.Empty<byte>() : Bytes(snapshot.New));
            args.Add(snapshot.New is null ? Accomplished : ((int)snapshot.New.Status).ToString());
            args.Add(snapshot.ManifestId);
        }
        keys.Add(CatalogKeys.Abandoned(image.ImageId));
        return Created((RedisResult[])(await redis.ScriptEvaluateAsync(CreateImageScript, [.. keys], [.. args]))!);
    }

    // KEYS: client token. ARGV: "fingerprint|id", ttl. Returns the stored value when the token was taken, else false (claimed).
    private const string ClaimTokenScript = """
        local stored = redis.call('GET', KEYS[1])
        if stored then return stored end
        redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
        return false
        """;

    // KEYS: client token. ARGV: "fingerprint|id". Removes the token only while it still names that id.
    private const string UnclaimTokenScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
        return 0
        """;

    // KEYS: the record, its abandonment mark, the client token (when the request had one). ARGV: id, mark ttl.
    // Returns 1 when the record never came to be and now never will (the token is freed if it names the id), 0 when it exists.
    private const string AbandonScript = """
        if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
        redis.call('SET', KEYS[2], 1, 'EX', ARGV[2])
        local stored = KEYS[3] and redis.call('GET', KEYS[3])
        if stored and string.sub(stored, -(#ARGV[1] + 1)) == '|' .. ARGV[1] then redis.call('DEL', KEYS[3]) end
        return 1
        """;

    /// <summary>
    /// R35 before anything is held: the token names <paramref name="id"/> from now on, unless another
    /// request holds it (its stored value is returned). The create script accepts the request's own claim.
    /// </summary>
    public async Task<RedisValue> ClaimClientTokenAsync(string owner, string scope, ClientToken token, string id)
    {
        var result = await redis.ScriptEvaluateAsync(ClaimTokenScript, [CatalogKeys.ClientToken(owner, scope, token.Token)],
            [ClientTokens.Value(token.Fingerprint, id), ClientTokens.LifetimeSeconds]);
        return result.IsNull ? RedisValue.Null : (RedisValue)result;
    }

    /// <summary>Frees a token this request claimed for an id it did not create, so a retry may create it.</summary>
    public Task UnclaimClientTokenAsync(string owner, string scope, ClientToken token, string id) =>
        redis.ScriptEvaluateAsync(UnclaimTokenScript, [CatalogKeys.ClientToken(owner, scope, token.Token)], [ClientTokens.Value(token.Fingerprint, id)]);

    /// <summary>Makes sure an image, snapshot or instance whose creation was given up can no longer be created; false when it exists.</summary>
    public async Task<bool> AbandonAsync(string region, string resourceId, string owner, string scope, string clientToken)
    {
        var record = resourceId[0] switch
        {
            'm' => CatalogKeys.Image(region, resourceId),
            'i' => CatalogKeys.Instance(resourceId),
            _ => CatalogKeys.Snapshot(resourceId),
        };
        RedisKey[] keys = clientToken.Length > 0
            ? [record, CatalogKeys.Abandoned(resourceId), CatalogKeys.ClientToken(owner, scope, clientToken)]
            : [record, CatalogKeys.Abandoned(resourceId)];
        return (int)await redis.ScriptEvaluateAsync(AbandonScript, keys, [resourceId, (long)AbandonedLifetime.TotalSeconds]) == 1;
    }

    /// <summary>How long an abandoned id stays refused: far longer than any request that could still carry it.</summary>
    public static readonly TimeSpan AbandonedLifetime = TimeSpan.FromDays(7);

    public Task<(CreateResult Result, string Detail)> CreateInstanceAsync(StoredInstance instance, ClientToken token)
    {
        var i = instance.Instance;
        var fields = new List<KeyValuePair<string, RedisValue>> { new("d", Bytes(i)), new("s", (int)i.Status) };
        fields.AddRange(instance.Manifests.Select(m => new KeyValuePair<string, RedisValue>(CatalogKeys.DiskManifestField(m.Key), m.Value)));
        return CreateRecordAsync(CatalogKeys.Instance(i.InstanceId), CatalogKeys.Instances(i.OwnerAccountId, i.RegionId),
            CatalogKeys.ClientToken(i.OwnerAccountId, "inst", token.Token), i.InstanceId, Score(i.CreateTime), token,
            instance.Manifests.Keys.Select(d => (CatalogKeys.Disk(d), i.InstanceId)).ToList(), fields);
    }

    public Task<(CreateResult Result, string Detail)> CreateSnapshotAsync(StoredSnapshot snapshot, ClientToken token)
    {
        var s = snapshot.Snapshot;
        return CreateRecordAsync(CatalogKeys.Snapshot(s.SnapshotId), CatalogKeys.Snapshots(s.OwnerAccountId, s.RegionId),
            CatalogKeys.ClientToken(s.OwnerAccountId, "snap", token.Token), s.SnapshotId, Score(s.CreateTime), token, [],
            [new("d", Bytes(s)), new("s", (int)s.Status), new("m", snapshot.ManifestId)]);
    }

    /// <summary>Saves a changed instance if unchanged since read; <paramref name="manifests"/> sets disks' content, <paramref name="removedDisks"/> drops disks.</summary>
    public async Task<bool> SaveInstanceAsync(StoredInstance stored, Instance updated, IReadOnlyDictionary<string, string>? manifests = null,
        IReadOnlyList<string>? removedDisks = null)
    {
        var fields = new List<KeyValuePair<string, RedisValue>> { new("d", Bytes(updated)), new("s", (int)updated.Status) };
        fields.AddRange((manifests ?? new Dictionary<string, string>()).Select(m => new KeyValuePair<string, RedisValue>(CatalogKeys.DiskManifestField(m.Key), m.Value)));
        return await SaveAsync(null, new RecordWrite(CatalogKeys.Instance(updated.InstanceId), stored.Version, fields,
            removedDisks?.Select(CatalogKeys.DiskManifestField).ToList())) == SaveResult.Saved;
    }

    /// <summary>
    /// An instance with a new system disk (R28's ReplaceSystemDisk), if unchanged since read: its record, the new disk's
    /// manifest and the disk index (the new disk found by id, the old one no more), in one script.
    /// </summary>
    public async Task<bool> SaveReplacedSystemDiskAsync(StoredInstance stored, Instance updated, string manifestId, string oldDiskId)
    {
        var args = new List<RedisValue>
        {
            stored.Version, updated.InstanceId, CatalogKeys.DiskManifestField(oldDiskId),
            "d", Bytes(updated), "s", (int)updated.Status, CatalogKeys.DiskManifestField(updated.SystemDisk.DiskId), manifestId,
        };
        return (int)await redis.ScriptEvaluateAsync(ReplaceDiskScript,
            [CatalogKeys.Instance(updated.InstanceId), CatalogKeys.Disk(updated.SystemDisk.DiskId), CatalogKeys.Disk(oldDiskId)], [.. args]) == 1;
    }

    // KEYS: instance, new disk's index entry, old disk's. ARGV: version read, instance id, old manifest field, field/value pairs.
    private const string ReplaceDiskScript = """
        if redis.call('HGET', KEYS[1], 'v') ~= ARGV[1] then return 0 end
        redis.call('HDEL', KEYS[1], ARGV[3])
        redis.call('HSET', KEYS[1], 'v', tonumber(ARGV[1]) + 1, unpack(ARGV, 4))
        redis.call('SET', KEYS[2], ARGV[2])
        redis.call('DEL', KEYS[3])
        return 1
        """;

    /// <summary>
    /// A creation job's step: the image and the snapshots it makes, written together if none changed
    /// since read and no worker with a newer fencing token wrote the image.
    /// </summary>
    public Task<SaveResult> SaveCreationStepAsync(StoredImage stored, Image updated, IReadOnlyList<(StoredSnapshot Stored, Snapshot Updated)> snapshots, long fence)
    {
        var writes = new List<RecordWrite> { new(CatalogKeys.Image(updated.RegionId, updated.ImageId), stored.Version, ImageFields(updated)) };
        writes.AddRange(snapshots.Select(s => new RecordWrite(CatalogKeys.Snapshot(s.Updated.SnapshotId), s.Stored.Version, SnapshotFields(s.Updated))));
        return SaveAsync(fence, [.. writes]);
    }

    /// <summary>A snapshot job's step, fenced like <see cref="SaveCreationStepAsync"/>.</summary>
    public Task<SaveResult> SaveSnapshotStepAsync(StoredSnapshot stored, Snapshot updated, long fence) =>
        SaveAsync(fence, new RecordWrite(CatalogKeys.Snapshot(updated.SnapshotId), stored.Version, SnapshotFields(updated)));

    public async Task<SaveResult> SaveImageAsync(StoredImage stored, Image updated)
    {
        var key = CatalogKeys.Image(updated.RegionId, updated.ImageId);
        var fields = ImageFields(updated);
        if (stored.Image.ImageName == updated.ImageName)
        {
            return await SaveAsync(null, new RecordWrite(key, stored.Version, fields));
        }
        var args = new List<RedisValue> { stored.Version, stored.Image.ImageName, updated.ImageName, updated.ImageId };
        foreach (var (name, value) in fields)
        {
            args.Add(name);
            args.Add(value);
        }
        return Map<SaveResult>(await redis.ScriptEvaluateAsync(RenameScript,
            [key, CatalogKeys.Names(updated.OwnerAccountId, updated.RegionId)], [.. args]));
    }

    /// <summary>Deletes an image unless instances use it (and not forced) or a copy or export holds it (then with the hold's kind).</summary>
    public async Task<(DeleteResult Result, int HoldKind)> DeleteImageAsync(StoredImage stored, bool force)
    {
        var image = stored.Image;
        var keys = new List<RedisKey>
        {
            CatalogKeys.Image(image.RegionId, image.ImageId),
            CatalogKeys.Images(image.OwnerAccountId, image.RegionId),
            CatalogKeys.Names(image.OwnerAccountId, image.RegionId),
            CatalogKeys.ImageUsers(image.RegionId, image.ImageId),
            CatalogKeys.Holds(image.ImageId),
        };
        keys.AddRange(image.DiskDeviceMappings.Where(m => m.SnapshotId.Length > 0).Select(m => (RedisKey)CatalogKeys.SnapshotImages(m.SnapshotId)));
        var result = (RedisResult[])(await redis.ScriptEvaluateAsync(DeleteImageScript, [.. keys],
            [stored.Version, image.ImageId, image.ImageName, force ? "1" : "0"]))!;
        return (Map<DeleteResult>(result[0]), (int)result[1]);
    }

    /// <summary>Deletes an instance and its disks' keys.</summary>
    public async Task<DeleteResult> DeleteInstanceAsync(StoredInstance stored)
    {
        var i = stored.Instance;
        var keys = new List<RedisKey> { CatalogKeys.Instance(i.InstanceId), CatalogKeys.Instances(i.OwnerAccountId, i.RegionId), CatalogKeys.Instance(i.InstanceId) };
        keys.AddRange(stored.Manifests.Keys.Select(d => (RedisKey)CatalogKeys.Disk(d)));
        return Map<DeleteResult>(await redis.ScriptEvaluateAsync(DeleteRecordScript, [.. keys], [i.InstanceId, stored.Version, "0"]));
    }

    /// <summary>Deletes a snapshot no image uses.</summary>
    public async Task<DeleteResult> DeleteSnapshotAsync(StoredSnapshot stored)
    {
        var s = stored.Snapshot;
        return Map<DeleteResult>(await redis.ScriptEvaluateAsync(DeleteRecordScript,
            [CatalogKeys.Snapshot(s.SnapshotId), CatalogKeys.Snapshots(s.OwnerAccountId, s.RegionId), CatalogKeys.SnapshotImages(s.SnapshotId)],
            [s.SnapshotId, stored.Version, "1"]));
    }

    /// <summary>Records that an instance uses an image, if the image exists in one of the states.</summary>
    public async Task<RegisterUseResult> RegisterImageUseAsync(string region, string imageId, string instanceId, params ImageStatus[] states) =>
        Map<RegisterUseResult>(await redis.ScriptEvaluateAsync(RegisterUseScript,
            [CatalogKeys.Image(region, imageId), CatalogKeys.ImageUsers(region, imageId)],
            [instanceId, .. states.Select(s => (RedisValue)(int)s)]));

    public Task UnregisterImageUseAsync(string region, string imageId, params string[] instanceIds) =>
        redis.SetRemoveAsync(CatalogKeys.ImageUsers(region, imageId), instanceIds.Select(i => (RedisValue)i).ToArray());

    // ---- platform catalog ----

    public async Task PutPlatformImageAsync(Image image, string indexOwner, Snapshot snapshot, string manifestId, double score)
    {
        var tx = redis.CreateTransaction();
        _ = tx.HashSetAsync(CatalogKeys.Image(image.RegionId, image.ImageId), [.. ImageFields(image).Select(f => new HashEntry(f.Key, f.Value)), new HashEntry("v", 1)]);
        _ = tx.SortedSetAddAsync(CatalogKeys.Images(indexOwner, image.RegionId), image.ImageId, score);
        _ = tx.HashSetAsync(CatalogKeys.Snapshot(snapshot.SnapshotId),
            [new HashEntry("d", Bytes(snapshot)), new HashEntry("s", (int)snapshot.Status), new HashEntry("m", manifestId), new HashEntry("v", 1)]);
        _ = tx.SetAddAsync(CatalogKeys.SnapshotImages(snapshot.SnapshotId), image.ImageId);
        await tx.ExecuteAsync();
    }

    /// <summary>The regions seeded with each catalog version.</summary>
    public async Task<IReadOnlyDictionary<string, int>> SeededRegionsAsync() =>
        (await redis.HashGetAllAsync(CatalogKeys.SeedDone)).ToDictionary(e => (string)e.Name!, e => (int)e.Value);

    /// <summary>Marks a region seeded with a catalog version and counts the seeding (tests check it happens once).</summary>
    public async Task MarkSeededAsync(string region, int version)
    {
        var tx = redis.CreateTransaction();
        _ = tx.HashSetAsync(CatalogKeys.SeedDone, region, version);
        _ = tx.StringIncrementAsync(CatalogKeys.SeedRuns);
        await tx.ExecuteAsync();
    }

    private static IReadOnlyList<KeyValuePair<string, RedisValue>> ImageFields(Image image) =>
    [
        new("d", Bytes(image)), new("s", (int)image.Status), new("n", image.ImageName), new("f", image.ImageFamily),
    ];

    private static IReadOnlyList<KeyValuePair<string, RedisValue>> SnapshotFields(Snapshot snapshot) =>
        [new("d", Bytes(snapshot)), new("s", (int)snapshot.Status)];

    /// <summary>An image as stored: without its owner alias, which depends on who reads it.</summary>
    private static byte[] Bytes(Image image)
    {
        if (image.OwnerAlias == ImageOwnerAlias.Unspecified)
        {
            return image.ToByteArray();
        }
        var stored = image.Clone();
        stored.OwnerAlias = ImageOwnerAlias.Unspecified;
        return stored.ToByteArray();
    }

    /// <summary>A snapshot as stored: its image ids live in their own set.</summary>
    private static byte[] Bytes(Snapshot snapshot)
    {
        if (snapshot.ImageIds.Count == 0)
        {
            return snapshot.ToByteArray();
        }
        var stored = snapshot.Clone();
        stored.ImageIds.Clear();
        return stored.ToByteArray();
    }

    private static byte[] Bytes(Instance instance) => instance.ToByteArray();

    /// <summary>A record to save in one compare-and-set step: its key, the version read, the fields to write and to remove.</summary>
    private sealed record RecordWrite(string Key, long Version, IReadOnlyList<KeyValuePair<string, RedisValue>> Fields, IReadOnlyList<string>? Remove = null);

    /// <summary>Saves several records of one owner at once if none changed since read (and, for a worker, it still holds the job).</summary>
    private async Task<SaveResult> SaveAsync(long? fence, params RecordWrite[] writes)
    {
        var args = new List<RedisValue> { fence?.ToString() ?? "", writes.Length };
        foreach (var write in writes)
        {
            args.Add(write.Version);
            args.Add(write.Remove?.Count ?? 0);
            args.AddRange((write.Remove ?? []).Select(r => (RedisValue)r));
            args.Add(write.Fields.Count);
            foreach (var (name, value) in write.Fields)
            {
                args.Add(name);
                args.Add(value);
            }
        }
        return Map<SaveResult>(await redis.ScriptEvaluateAsync(SaveScript, writes.Select(w => (RedisKey)w.Key).ToArray(), [.. args]));
    }

    private async Task<(CreateResult Result, string Detail)> CreateRecordAsync(string recordKey, string indexKey, string tokenKey, string id, double score,
        ClientToken token, List<(string Key, string Value)> strings, List<KeyValuePair<string, RedisValue>> fields)
    {
        var keys = new List<RedisKey> { recordKey, indexKey, tokenKey, CatalogKeys.Abandoned(id) };
        keys.AddRange(strings.Select(s => (RedisKey)s.Key));
        var args = new List<RedisValue> { id, score, token.Fingerprint, ClientTokens.LifetimeSeconds, strings.Count };
        args.AddRange(strings.Select(s => (RedisValue)s.Value));
        foreach (var (name, value) in fields)
        {
            args.Add(name);
            args.Add(value);
        }
        return Created((RedisResult[])(await redis.ScriptEvaluateAsync(CreateRecordScript, [.. keys], [.. args]))!);
    }

    private static (CreateResult, string) Created(RedisResult[] result) => (Map<CreateResult>(result[0]), (string)result[1]!);

    private static T Map<T>(RedisResult result) where T : struct, Enum => ScriptResults.Map<T>((int)result);

    private static double Score(Google.Protobuf.WellKnownTypes.Timestamp time) => time.ToDateTimeOffset().ToUnixTimeMilliseconds();

    private static (string Score, string Id) SplitPosition(string position)
    {
        if (position.Length == 0)
        {
            return ("", "");
        }
        var colon = position.IndexOf(':');
        return colon > 0 ? (position[..colon], position[(colon + 1)..]) : ("", "");
    }
}
