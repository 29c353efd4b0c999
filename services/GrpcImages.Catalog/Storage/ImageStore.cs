using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.ServiceDefaults.Storage;
using StackExchange.Redis;
using static GrpcImages.Catalog.Storage.Records;

namespace GrpcImages.Catalog.Storage;

/// <summary>An image with its version and, while a task makes it, that task.</summary>
public sealed record StoredImage(Image Image, long Version, string? Task = null);

/// <summary>A snapshot an image creation makes (new) or uses (an accomplished one of the caller).</summary>
public sealed record ImageSnapshotRef(string SnapshotId, Snapshot? New, string ManifestId);

/// <summary>What recording an instance's use of an image found.</summary>
public enum RegisterUseResult
{
    Missing = 0,
    Registered = 1,
    WrongStatus = 2,
}

/// <summary>
/// Images (keys in <see cref="CatalogKeys"/>): their records (<c>img:</c>, and <c>pimg:</c> read for public
/// images), each owner's index (<c>imgs:</c>) and names (<c>names:</c>), the instances using each
/// (<c>iusers:</c>). A change that must move with snapshots is one script here: creating an image with the
/// snapshots it makes (<c>snap:</c>, <c>snaps:</c>, <c>simgs:</c>, and its client token <c>ct:</c>,
/// refused after <c>gone:</c>), a creation job's step, and a delete (refused while <c>holds:</c> has one).
/// Reads are one round trip; changes compare the record's version ("v").
/// </summary>
public sealed class ImageStore(IDatabase redis)
{
    private const string Accomplished = "2"; // SnapshotStatus.Accomplished

    // KEYS: image, owner's image index, owner's names, client token, owner's snapshot index, then per snapshot: record, its images;
    // last the owner's status counts and the abandonment mark. ARGV: image bytes, status, name, family, score, id, fingerprint, token ttl, snapshot count,
    //       then per snapshot: id, new (1/0), bytes, status, manifest; last the image's tags ("t").
    // Returns {CreateResult, detail}: the token's stored value, or the snapshot that is missing or not ready.
    private const string CreateImageScript = ClientTokens.Lua + StatusCounts.Lua + """

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
        redis.call('HSET', KEYS[1], 'd', ARGV[1], 's', ARGV[2], 'n', ARGV[3], 'f', ARGV[4], 't', ARGV[#ARGV], 'v', 1)
        count_created(KEYS[#KEYS - 1], KEYS[2], ARGV[2])
        redis.call('ZADD', KEYS[2], ARGV[5], ARGV[6])
        redis.call('HSET', KEYS[3], ARGV[3], ARGV[6])
        remember_token(KEYS[4], ARGV[7], ARGV[6], ARGV[8])
        return {1, ''}
        """;

    // KEYS: image, owner's names, owner's status counts. ARGV: version read, old name, new name, id, then field/value pairs. Returns SaveResult.
    private const string RenameScript = StatusCounts.Lua + """

        if redis.call('HGET', KEYS[1], 'v') ~= ARGV[1] then return 0 end
        if redis.call('HSETNX', KEYS[2], ARGV[3], ARGV[4]) == 0 then return 2 end
        if redis.call('HGET', KEYS[2], ARGV[2]) == ARGV[4] then redis.call('HDEL', KEYS[2], ARGV[2]) end
        local before = redis.call('HGET', KEYS[1], 's')
        redis.call('HSET', KEYS[1], 'v', tonumber(ARGV[1]) + 1, unpack(ARGV, 5))
        count_moved(KEYS[3], KEYS[1], before, redis.call('HGET', KEYS[1], 's'))
        return 1
        """;

    // KEYS: image, owner's image index, owner's names, image users, holds, owner's status counts, then each snapshot's images.
    // ARGV: version read, id, name, force (1/0). Returns {DeleteResult, the kind of a hold that refused it}.
    private const string DeleteImageScript = StatusCounts.Lua + """

        if redis.call('HGET', KEYS[1], 'v') ~= ARGV[1] then return {0, 0} end
        for _, kind in ipairs(redis.call('HVALS', KEYS[5])) do return {3, tonumber(kind)} end
        if ARGV[4] == '0' and redis.call('SCARD', KEYS[4]) > 0 then return {2, 0} end
        count_moved(KEYS[6], KEYS[1], redis.call('HGET', KEYS[1], 's'), false)
        redis.call('DEL', KEYS[1], KEYS[4])
        redis.call('ZREM', KEYS[2], ARGV[2])
        if redis.call('HGET', KEYS[3], ARGV[3]) == ARGV[2] then redis.call('HDEL', KEYS[3], ARGV[3]) end
        for i = 7, #KEYS do redis.call('SREM', KEYS[i], ARGV[2]) end
        return {1, 0}
        """;

    // KEYS: image, its recipients, the owner's counts per recipient and status in the image's region. ARGV: recipient, grant (1/0).
    // A grant of an image that exists joins its recipients and is counted under its status; a revoke of one of them leaves
    // and is uncounted. Either again changes nothing.
    private const string RecordShareScript = """
        local s = redis.call('HGET', KEYS[1], 's')
        local field = ARGV[1] .. '|' .. (s or '')
        if ARGV[2] == '1' then
          if s and redis.call('SADD', KEYS[2], ARGV[1]) == 1 then redis.call('HINCRBY', KEYS[3], field, 1) end
        elseif redis.call('SREM', KEYS[2], ARGV[1]) == 1 and s then
          if redis.call('HINCRBY', KEYS[3], field, -1) <= 0 then redis.call('HDEL', KEYS[3], field) end
        end
        return 0
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

    /// <summary>
    /// An image's record, and with <paramref name="withUsage"/> whether instances use it: one round trip either way (the hot
    /// path of GetImage).
    /// </summary>
    public async Task<Image?> FindImageAsync(string region, string imageId, bool withUsage = false)
    {
        var key = CatalogKeys.Image(region, imageId);
        if (!withUsage)
        {
            return await redis.HashGetAsync(key, "d") is { HasValue: true } d ? Image.Parser.ParseFrom((byte[])d!) : null;
        }
        var batch = redis.CreateBatch();
        var read = batch.HashGetAsync(key, "d");
        var used = batch.KeyExistsAsync(CatalogKeys.ImageUsers(region, imageId));
        batch.Execute();
        var (record, inUse) = (await read, await used);
        if (!record.HasValue)
        {
            return null;
        }
        var image = Image.Parser.ParseFrom((byte[])record!);
        image.Usage = UsageOf(inUse);
        return image;
    }

    /// <summary>An image's usage from whether its users set has members.</summary>
    public static ImageUsage UsageOf(bool inUse) => inUse ? ImageUsage.Instance : ImageUsage.None;

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

    public async Task<IReadOnlyList<string>> ImageUsersAsync(string region, string imageId) =>
        (await redis.SetMembersAsync(CatalogKeys.ImageUsers(region, imageId))).Select(v => (string)v!).ToList();

    /// <summary>A page of an owner's images (or the platform's), newest first, filtered, skipped and counted in the script.</summary>
    public Task<StoredPage> ListImagesAsync(string indexOwner, string region, string position, int skip, int limit, IndexFilter filter) =>
        IndexPages.ListAsync(redis, CatalogKeys.Images(indexOwner, region), CatalogKeys.ImageRecordPrefix(indexOwner, region), position, skip, limit,
            filter with { UsersPrefix = CatalogKeys.ImageUsersPrefix(indexOwner, region), StatusCounts = CatalogKeys.ImageCounts(indexOwner, region) });

    /// <summary>Sets each image's usage: whether instances use it (one pipelined round trip).</summary>
    public async Task FillUsageAsync(string region, IReadOnlyList<Image> images)
    {
        var batch = redis.CreateBatch();
        var reads = images.Select(i => batch.KeyExistsAsync(CatalogKeys.ImageUsers(region, i.ImageId))).ToList();
        batch.Execute();
        for (var i = 0; i < images.Count; i++)
        {
            images[i].Usage = UsageOf(await reads[i]);
        }
    }

    /// <summary>
    /// Records grants and revokes of images to accounts, in order (one pipelined round trip). A grant also adds the owner
    /// to the recipient's owners, idempotently and never removed, so its count finds every owner that counts it. On
    /// Redis Cluster the owners set and the counts sit on different nodes; a count that reads between the two sees
    /// a total that disagrees with the recipient's index, and counts by reading (<see cref="ImageQueries"/>).
    /// </summary>
    public async Task RecordShareChangesAsync(IEnumerable<ShareChange> changes)
    {
        var batch = redis.CreateBatch();
        var writes = new List<Task>();
        foreach (var change in changes)
        {
            if (change.Granted)
            {
                writes.Add(batch.SetAddAsync(CatalogKeys.SharingOwners(change.RecipientAccountId, change.RegionId), change.OwnerAccountId));
            }
            writes.Add(batch.ScriptEvaluateAsync(RecordShareScript,
                [CatalogKeys.Image(change.RegionId, change.ImageId), CatalogKeys.ImageRecipients(change.ImageId), CatalogKeys.RecipientCounts(change.OwnerAccountId, change.RegionId)],
                [change.RecipientAccountId, change.Granted ? 1 : 0]));
        }
        batch.Execute();
        await Task.WhenAll(writes);
    }

    private static readonly int[] ImageStatuses = Enum.GetValues<ImageStatus>().Where(s => s != ImageStatus.Unspecified).Select(s => (int)s).ToArray();

    /// <summary>
    /// How many images were shared with the recipient in the region (as recorded from the sharing service's changes):
    /// in all, and in the given statuses. Two round trips: its owners, then each one's counts for it.
    /// </summary>
    public async Task<(long All, long Matching)> SharedCountsAsync(string recipient, string region, IReadOnlyCollection<int> statuses)
    {
        var owners = await redis.SetMembersAsync(CatalogKeys.SharingOwners(recipient, region));
        if (owners.Length == 0)
        {
            return (0, 0);
        }
        var fields = ImageStatuses.Select(s => (RedisValue)$"{recipient}|{s}").ToArray();
        var batch = redis.CreateBatch();
        var reads = owners.Select(o => batch.HashGetAsync(CatalogKeys.RecipientCounts((string)o!, region), fields)).ToList();
        batch.Execute();
        var (all, matching) = (0L, 0L);
        foreach (var read in reads)
        {
            var counts = await read;
            for (var i = 0; i < ImageStatuses.Length; i++)
            {
                var n = counts[i].HasValue ? (long)counts[i] : 0;
                all += n;
                matching += statuses.Contains(ImageStatuses[i]) ? n : 0;
            }
        }
        return (all, matching);
    }

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
        args.Add(TagField(image.Tags));
        keys.Add(CatalogKeys.ImageCounts(owner, image.RegionId));
        keys.Add(CatalogKeys.Abandoned(image.ImageId));
        var created = Created(await redis.ScriptEvaluateAsync(CreateImageScript, [.. keys], [.. args]));
        if (created.Result == CreateResult.Created)
        {
            await ImageChanges.AnnounceAsync(redis, image);
        }
        return created;
    }

    /// <summary>
    /// A creation job's step: the image and the snapshots it makes, written together if none changed
    /// since read and no worker with a newer fencing token wrote the image.
    /// </summary>
    public async Task<SaveResult> SaveCreationStepAsync(StoredImage stored, Image updated, IReadOnlyList<(StoredSnapshot Stored, Snapshot Updated)> snapshots, long fence)
    {
        var writes = new List<RecordWrite> { ImageWrite(stored, updated) };
        writes.AddRange(snapshots.Select(s => new RecordWrite(CatalogKeys.Snapshot(s.Updated.SnapshotId), s.Stored.Version, SnapshotFields(s.Updated))));
        return await Announced(await RecordScripts.SaveAsync(redis, fence, [.. writes]), updated);
    }

    public async Task<SaveResult> SaveImageAsync(StoredImage stored, Image updated)
    {
        var write = ImageWrite(stored, updated);
        if (stored.Image.ImageName == updated.ImageName)
        {
            return await Announced(await RecordScripts.SaveAsync(redis, null, write), updated);
        }
        return await Announced(Map<SaveResult>(await redis.ScriptEvaluateAsync(RenameScript,
            [write.Key, CatalogKeys.Names(updated.OwnerAccountId, updated.RegionId), write.Counts],
            [stored.Version, stored.Image.ImageName, updated.ImageName, updated.ImageId, .. Pairs(write.Fields)])), updated);
    }

    /// <summary>Announces a saved image to its watchers (WatchImages) and passes the result on.</summary>
    private async Task<SaveResult> Announced(SaveResult result, Image image)
    {
        if (result == SaveResult.Saved)
        {
            await ImageChanges.AnnounceAsync(redis, image);
        }
        return result;
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
            CatalogKeys.ImageCounts(image.OwnerAccountId, image.RegionId),
        };
        keys.AddRange(image.DiskDeviceMappings.Where(m => m.SnapshotId.Length > 0).Select(m => (RedisKey)CatalogKeys.SnapshotImages(m.SnapshotId)));
        var result = (RedisResult[])(await redis.ScriptEvaluateAsync(DeleteImageScript, [.. keys],
            [stored.Version, image.ImageId, image.ImageName, force ? "1" : "0"]))!;
        var deleted = Map<DeleteResult>(result[0]);
        if (deleted == DeleteResult.Deleted)
        {
            await ImageChanges.AnnounceAsync(redis, image, deleted: true);
        }
        return (deleted, (int)result[1]);
    }

    /// <summary>Records that an instance uses an image, if the image exists in one of the states.</summary>
    public async Task<RegisterUseResult> RegisterImageUseAsync(string region, string imageId, string instanceId, params ImageStatus[] states) =>
        Map<RegisterUseResult>(await redis.ScriptEvaluateAsync(RegisterUseScript,
            [CatalogKeys.Image(region, imageId), CatalogKeys.ImageUsers(region, imageId)],
            [instanceId, .. states.Select(s => (RedisValue)(int)s)]));

    public Task UnregisterImageUseAsync(string region, string imageId, params string[] instanceIds) =>
        redis.SetRemoveAsync(CatalogKeys.ImageUsers(region, imageId), instanceIds.Select(i => (RedisValue)i).ToArray());
}
