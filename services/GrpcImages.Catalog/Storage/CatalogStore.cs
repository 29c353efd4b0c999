using Google.Protobuf;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.ServiceDefaults.Storage;
using StackExchange.Redis;

namespace GrpcImages.Catalog.Storage;

public sealed record StoredImage(Image Image, long Version);

public sealed record StoredSnapshot(Snapshot Snapshot, string ManifestId, long Version);

/// <summary>An instance with the manifest of each of its disks (disk id -> manifest id).</summary>
public sealed record StoredInstance(Instance Instance, IReadOnlyDictionary<string, string> Manifests, long Version);

/// <summary>A snapshot an image creation makes (new) or uses (an accomplished one of the caller).</summary>
public sealed record ImageSnapshotRef(string SnapshotId, Snapshot? New, string ManifestId);

/// <summary>A record to save in one compare-and-set step: its key, the version read, the fields to write and to remove.</summary>
public sealed record RecordWrite(string Key, long Version, IReadOnlyList<KeyValuePair<string, RedisValue>> Fields, IReadOnlyList<string>? Remove = null);

public enum SaveResult
{
    Saved,
    Conflict,
    DuplicateName,
}

/// <summary>A page of a list: the records' bytes and the position to continue from ("" at the end).</summary>
public sealed record StoredPage(IReadOnlyList<byte[]> Records, string Next);

/// <summary>
/// The catalog's records in Redis (key layout: <see cref="CatalogKeys"/>). Reads are one round
/// trip; every change is one script over keys with the owner's tag; updates compare the record's
/// version ("v") so concurrent changes never overwrite each other.
/// </summary>
public sealed class CatalogStore(IDatabase redis)
{
    public const string Accomplished = "2"; // SnapshotStatus.Accomplished

    private const string CreateImageScript = """
        if ARGV[7] ~= '' then
          local prior = redis.call('GET', KEYS[4])
          if prior then return {'token', prior} end
        end
        if redis.call('HEXISTS', KEYS[3], ARGV[3]) == 1 then return {'dup'} end
        local n = tonumber(ARGV[9])
        for i = 0, n - 1 do
          local a = 10 + i * 5
          if ARGV[a + 1] == '0' then
            local s = redis.call('HGET', KEYS[6 + i * 2], 's')
            if not s then return {'snapmissing', ARGV[a]} end
            if s ~= ARGV[a + 3] then return {'snapnotready', ARGV[a]} end
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
        if ARGV[7] ~= '' then redis.call('SET', KEYS[4], ARGV[7] .. '|' .. ARGV[6], 'EX', ARGV[8]) end
        return {'ok'}
        """;

    private const string CreateRecordScript = """
        if ARGV[3] ~= '' then
          local prior = redis.call('GET', KEYS[3])
          if prior then return {'token', prior} end
        end
        local n = tonumber(ARGV[5])
        for i = 1, n do redis.call('SET', KEYS[3 + i], ARGV[5 + i]) end
        redis.call('HSET', KEYS[1], 'v', 1, unpack(ARGV, 6 + n))
        redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
        if ARGV[3] ~= '' then redis.call('SET', KEYS[3], ARGV[3] .. '|' .. ARGV[1], 'EX', ARGV[4]) end
        return {'ok'}
        """;

    // KEYS: records. ARGV: count, then per record: version, fields to remove (n, names), pairs (n, name/value...).
    private const string SaveScript = """
        local count = tonumber(ARGV[1])
        local a = 2
        local plan = {}
        for k = 1, count do
          if redis.call('HGET', KEYS[k], 'v') ~= ARGV[a] then return 'conflict' end
          local removes = tonumber(ARGV[a + 1])
          local pairs = tonumber(ARGV[a + 2 + removes])
          plan[k] = {a, removes, pairs}
          a = a + 3 + removes + pairs * 2
        end
        for k = 1, count do
          local p = plan[k]
          local base, removes, pairs = p[1], p[2], p[3]
          for i = 1, removes do redis.call('HDEL', KEYS[k], ARGV[base + 1 + i]) end
          local first = base + 3 + removes
          if pairs > 0 then redis.call('HSET', KEYS[k], unpack(ARGV, first, first + pairs * 2 - 1)) end
          redis.call('HSET', KEYS[k], 'v', tonumber(ARGV[base]) + 1)
        end
        return 'ok'
        """;

    private const string RenameScript = """
        if redis.call('HGET', KEYS[1], 'v') ~= ARGV[1] then return 'conflict' end
        if redis.call('HSETNX', KEYS[2], ARGV[3], ARGV[4]) == 0 then return 'dup' end
        if redis.call('HGET', KEYS[2], ARGV[2]) == ARGV[4] then redis.call('HDEL', KEYS[2], ARGV[2]) end
        redis.call('HSET', KEYS[1], 'v', tonumber(ARGV[1]) + 1, unpack(ARGV, 5))
        return 'ok'
        """;

    private const string DeleteImageScript = """
        if redis.call('HGET', KEYS[1], 'v') ~= ARGV[1] then return 'conflict' end
        if ARGV[4] == '0' and redis.call('SCARD', KEYS[4]) > 0 then return 'inuse' end
        redis.call('DEL', KEYS[1], KEYS[4])
        redis.call('ZREM', KEYS[2], ARGV[2])
        if redis.call('HGET', KEYS[3], ARGV[3]) == ARGV[2] then redis.call('HDEL', KEYS[3], ARGV[3]) end
        for i = 5, #KEYS do redis.call('SREM', KEYS[i], ARGV[2]) end
        return 'ok'
        """;

    private const string DeleteRecordScript = """
        if redis.call('HGET', KEYS[1], 'v') ~= ARGV[2] then return 'conflict' end
        if ARGV[3] == '1' and redis.call('SCARD', KEYS[3]) > 0 then return 'used' end
        redis.call('DEL', KEYS[1])
        redis.call('ZREM', KEYS[2], ARGV[1])
        for i = 4, #KEYS do redis.call('DEL', KEYS[i]) end
        if ARGV[3] == '1' then redis.call('DEL', KEYS[3]) end
        return 'ok'
        """;

    private const string RegisterUseScript = """
        local s = redis.call('HGET', KEYS[1], 's')
        if not s then return 'missing' end
        for i = 2, #ARGV do
          if s == ARGV[i] then
            redis.call('SADD', KEYS[2], ARGV[1])
            return 'ok'
          end
        end
        return 'status'
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
        var values = await redis.HashGetAsync(CatalogKeys.Image(region, imageId), ["d", "v"]);
        return values[0].HasValue ? new StoredImage(Image.Parser.ParseFrom((byte[])values[0]!), (long)values[1]) : null;
    }

    public async Task<StoredSnapshot?> GetSnapshotAsync(string snapshotId) => (await GetSnapshotsAsync([snapshotId]))[0];

    /// <summary>Snapshots with their images, in the order asked, null where missing: one pipelined round trip.</summary>
    public async Task<IReadOnlyList<StoredSnapshot?>> GetSnapshotsAsync(IReadOnlyList<string> snapshotIds)
    {
        var batch = redis.CreateBatch();
        var reads = snapshotIds.Select(id => (
            Fields: batch.HashGetAsync(CatalogKeys.Snapshot(id), ["d", "m", "v"]),
            Images: batch.SetMembersAsync(CatalogKeys.SnapshotImages(id)))).ToList();
        batch.Execute();
        var snapshots = new List<StoredSnapshot?>(reads.Count);
        foreach (var (fields, images) in reads)
        {
            var values = await fields;
            if (!values[0].HasValue)
            {
                snapshots.Add(null);
                continue;
            }
            var snapshot = Snapshot.Parser.ParseFrom((byte[])values[0]!);
            snapshot.ImageIds.Clear();
            snapshot.ImageIds.AddRange((await images).Select(v => (string)v!).Order(StringComparer.Ordinal));
            snapshots.Add(new StoredSnapshot(snapshot, (string)values[1]!, (long)values[2]));
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
        var manifests = map.Where(e => e.Key.StartsWith("m:", StringComparison.Ordinal))
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

    public async Task<RedisValue> FindClientTokenAsync(string owner, string scope, string token) =>
        token.Length == 0 ? RedisValue.Null : await redis.StringGetAsync(CatalogKeys.ClientToken(owner, scope, token));

    /// <summary>Records a client token's first result after a change that is not a create script (R35).</summary>
    public async Task RememberClientTokenAsync(string owner, string scope, string token, string fingerprint, string resourceId)
    {
        if (token.Length > 0)
        {
            await redis.StringSetAsync(CatalogKeys.ClientToken(owner, scope, token), ClientTokens.Value(fingerprint, resourceId), ClientTokens.Lifetime, When.NotExists);
        }
    }

    public async Task<StoredPage> ListAsync(string index, string recordPrefix, string position, int limit,
        IReadOnlyCollection<int>? statuses = null, string name = "", string family = "")
    {
        var (score, id) = SplitPosition(position);
        var namePrefix = name.EndsWith('*');
        var result = (RedisResult[])(await redis.ScriptEvaluateAsync(ListScript, [index],
        [
            recordPrefix, score, id, limit,
            statuses is { Count: > 0 } ? "," + string.Join(',', statuses) + "," : "",
            namePrefix ? name[..^1] : name, namePrefix ? "1" : "0", family, 1000,
        ]))!;
        var next = (string)result[0]! == "" ? "" : $"{(string)result[0]!}:{(string)result[1]!}";
        return new StoredPage(result.Skip(2).Select(r => (byte[])r!).ToList(), next);
    }

    // ---- changes ----

    /// <summary>Creates an image with the snapshots it makes or uses; "ok", "dup", ("snapmissing"|"snapnotready", id) or ("token", stored).</summary>
    public async Task<(string Result, string Detail)> CreateImageAsync(Image image, string owner, IReadOnlyList<ImageSnapshotRef> snapshots,
        string clientToken, string fingerprint)
    {
        var keys = new List<RedisKey>
        {
            CatalogKeys.Image(image.RegionId, image.ImageId),
            CatalogKeys.Images(owner, image.RegionId),
            CatalogKeys.Names(owner, image.RegionId),
            CatalogKeys.ClientToken(owner, "img", clientToken),
            CatalogKeys.Snapshots(owner, image.RegionId),
        };
        var args = new List<RedisValue>
        {
            image.ToByteArray(), (int)image.Status, image.ImageName, image.ImageFamily, Score(image.CreateTime), image.ImageId,
            fingerprint, (long)ClientTokens.Lifetime.TotalSeconds, snapshots.Count,
        };
        foreach (var snapshot in snapshots)
        {
            keys.Add(CatalogKeys.Snapshot(snapshot.SnapshotId));
            keys.Add(CatalogKeys.SnapshotImages(snapshot.SnapshotId));
            args.Add(snapshot.SnapshotId);
            args.Add(snapshot.New is null ? "0" : "1");
            args.Add(snapshot.New?.ToByteArray() ?? []);
            args.Add(snapshot.New is null ? Accomplished : ((int)snapshot.New.Status).ToString());
            args.Add(snapshot.ManifestId);
        }
        var result = (RedisResult[])(await redis.ScriptEvaluateAsync(CreateImageScript, [.. keys], [.. args]))!;
        return ((string)result[0]!, result.Length > 1 ? (string)result[1]! : "");
    }

    public Task<(string Result, string Detail)> CreateInstanceAsync(StoredInstance instance, string clientToken, string fingerprint)
    {
        var i = instance.Instance;
        var disks = instance.Manifests.Keys.ToList();
        var fields = new List<KeyValuePair<string, RedisValue>> { new("d", i.ToByteArray()), new("s", (int)i.Status) };
        fields.AddRange(instance.Manifests.Select(m => new KeyValuePair<string, RedisValue>($"m:{m.Key}", m.Value)));
        return CreateRecordAsync(CatalogKeys.Instance(i.InstanceId), CatalogKeys.Instances(i.OwnerAccountId, i.RegionId),
            CatalogKeys.ClientToken(i.OwnerAccountId, "inst", clientToken), i.InstanceId, Score(i.CreateTime), fingerprint,
            disks.Select(d => (CatalogKeys.Disk(d), i.InstanceId)).ToList(), fields);
    }

    public Task<(string Result, string Detail)> CreateSnapshotAsync(StoredSnapshot snapshot, string clientToken, string fingerprint)
    {
        var s = snapshot.Snapshot;
        return CreateRecordAsync(CatalogKeys.Snapshot(s.SnapshotId), CatalogKeys.Snapshots(s.OwnerAccountId, s.RegionId),
            CatalogKeys.ClientToken(s.OwnerAccountId, "snap", clientToken), s.SnapshotId, Score(s.CreateTime), fingerprint, [],
            [new("d", s.ToByteArray()), new("s", (int)s.Status), new("m", snapshot.ManifestId)]);
    }

    /// <summary>Saves several records of one owner at once if none changed since it was read.</summary>
    public async Task<bool> SaveAsync(params RecordWrite[] writes)
    {
        var args = new List<RedisValue> { writes.Length };
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
        var result = (string)(await redis.ScriptEvaluateAsync(SaveScript, writes.Select(w => (RedisKey)w.Key).ToArray(), [.. args]))!;
        return result == "ok";
    }

    public async Task<SaveResult> SaveImageAsync(StoredImage stored, Image updated)
    {
        var key = CatalogKeys.Image(updated.RegionId, updated.ImageId);
        var fields = ImageFields(updated);
        if (stored.Image.ImageName == updated.ImageName)
        {
            return await SaveAsync(new RecordWrite(key, stored.Version, fields)) ? SaveResult.Saved : SaveResult.Conflict;
        }
        var args = new List<RedisValue> { stored.Version, stored.Image.ImageName, updated.ImageName, updated.ImageId };
        foreach (var (name, value) in fields)
        {
            args.Add(name);
            args.Add(value);
        }
        var result = (string)(await redis.ScriptEvaluateAsync(RenameScript,
            [key, CatalogKeys.Names(updated.OwnerAccountId, updated.RegionId)], [.. args]))!;
        return result switch { "ok" => SaveResult.Saved, "dup" => SaveResult.DuplicateName, _ => SaveResult.Conflict };
    }

    /// <summary>Deletes an image: "ok", "conflict" (changed or gone since read), or "inuse" (instances use it and not forced).</summary>
    public async Task<string> DeleteImageAsync(StoredImage stored, bool force)
    {
        var image = stored.Image;
        var keys = new List<RedisKey>
        {
            CatalogKeys.Image(image.RegionId, image.ImageId),
            CatalogKeys.Images(image.OwnerAccountId, image.RegionId),
            CatalogKeys.Names(image.OwnerAccountId, image.RegionId),
            CatalogKeys.ImageUsers(image.RegionId, image.ImageId),
        };
        keys.AddRange(image.DiskDeviceMappings.Select(m => (RedisKey)CatalogKeys.SnapshotImages(m.SnapshotId)));
        return (string)(await redis.ScriptEvaluateAsync(DeleteImageScript, [.. keys],
            [stored.Version, image.ImageId, image.ImageName, force ? "1" : "0"]))!;
    }

    /// <summary>Deletes an instance and its disks' keys: "ok" or "conflict".</summary>
    public async Task<string> DeleteInstanceAsync(StoredInstance stored)
    {
        var i = stored.Instance;
        var keys = new List<RedisKey> { CatalogKeys.Instance(i.InstanceId), CatalogKeys.Instances(i.OwnerAccountId, i.RegionId), CatalogKeys.Instance(i.InstanceId) };
        keys.AddRange(stored.Manifests.Keys.Select(d => (RedisKey)CatalogKeys.Disk(d)));
        return (string)(await redis.ScriptEvaluateAsync(DeleteRecordScript, [.. keys], [i.InstanceId, stored.Version, "0"]))!;
    }

    /// <summary>Deletes a snapshot no image uses: "ok", "used" or "conflict".</summary>
    public async Task<string> DeleteSnapshotAsync(StoredSnapshot stored)
    {
        var s = stored.Snapshot;
        return (string)(await redis.ScriptEvaluateAsync(DeleteRecordScript,
            [CatalogKeys.Snapshot(s.SnapshotId), CatalogKeys.Snapshots(s.OwnerAccountId, s.RegionId), CatalogKeys.SnapshotImages(s.SnapshotId)],
            [s.SnapshotId, stored.Version, "1"]))!;
    }

    /// <summary>Records that an instance uses an image, if the image exists in one of the states: "ok", "missing" or "status".</summary>
    public async Task<string> RegisterImageUseAsync(string region, string imageId, string instanceId, params ImageStatus[] states) =>
        (string)(await redis.ScriptEvaluateAsync(RegisterUseScript,
            [CatalogKeys.Image(region, imageId), CatalogKeys.ImageUsers(region, imageId)],
            [instanceId, .. states.Select(s => (RedisValue)(int)s)]))!;

    public Task UnregisterImageUseAsync(string region, string imageId, params string[] instanceIds) =>
        redis.SetRemoveAsync(CatalogKeys.ImageUsers(region, imageId), instanceIds.Select(i => (RedisValue)i).ToArray());

    // ---- platform catalog ----

    public async Task PutPlatformImageAsync(Image image, string indexOwner, Snapshot snapshot, string manifestId, double score)
    {
        var tx = redis.CreateTransaction();
        _ = tx.HashSetAsync(CatalogKeys.Image(image.RegionId, image.ImageId), [.. ImageFields(image).Select(f => new HashEntry(f.Key, f.Value)), new HashEntry("v", 1)]);
        _ = tx.SortedSetAddAsync(CatalogKeys.Images(indexOwner, image.RegionId), image.ImageId, score);
        _ = tx.HashSetAsync(CatalogKeys.Snapshot(snapshot.SnapshotId),
            [new HashEntry("d", snapshot.ToByteArray()), new HashEntry("s", (int)snapshot.Status), new HashEntry("m", manifestId), new HashEntry("v", 1)]);
        _ = tx.SetAddAsync(CatalogKeys.SnapshotImages(snapshot.SnapshotId), image.ImageId);
        await tx.ExecuteAsync();
    }

    public static IReadOnlyList<KeyValuePair<string, RedisValue>> ImageFields(Image image) =>
    [
        new("d", image.ToByteArray()), new("s", (int)image.Status), new("n", image.ImageName), new("f", image.ImageFamily),
    ];

    public static IReadOnlyList<KeyValuePair<string, RedisValue>> SnapshotFields(Snapshot snapshot) =>
        [new("d", snapshot.ToByteArray()), new("s", (int)snapshot.Status)];

    public static IReadOnlyList<KeyValuePair<string, RedisValue>> InstanceFields(Instance instance) =>
        [new("d", instance.ToByteArray()), new("s", (int)instance.Status)];

    private async Task<(string Result, string Detail)> CreateRecordAsync(string recordKey, string indexKey, string tokenKey, string id, double score,
        string fingerprint, IReadOnlyList<(string Key, string Value)> strings, IReadOnlyList<KeyValuePair<string, RedisValue>> fields)
    {
        var keys = new List<RedisKey> { recordKey, indexKey, tokenKey };
        keys.AddRange(strings.Select(s => (RedisKey)s.Key));
        var args = new List<RedisValue> { id, score, fingerprint, (long)ClientTokens.Lifetime.TotalSeconds, strings.Count };
        args.AddRange(strings.Select(s => (RedisValue)s.Value));
        foreach (var (name, value) in fields)
        {
            args.Add(name);
            args.Add(value);
        }
        var result = (RedisResult[])(await redis.ScriptEvaluateAsync(CreateRecordScript, [.. keys], [.. args]))!;
        return ((string)result[0]!, result.Length > 1 ? (string)result[1]! : "");
    }

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
