using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.ServiceDefaults.Work;
using StackExchange.Redis;
using static GrpcImages.Catalog.Storage.Records;

namespace GrpcImages.Catalog.Storage;

/// <summary>
/// Images and snapshots made by a task of the transfer service (keys in <see cref="CatalogKeys"/>): their
/// records (<c>img:</c>, <c>snap:</c>) with the task that makes them ("task", then "donetask") and its highest
/// fencing token ("fence"), their index and names entries, and what each task made (<c>taskres:</c>, "-" when
/// the task was given up first). Every change names the task and carries its claim's fencing token (a change
/// with an older token is refused); completing an image writes its snapshots in the same script.
/// </summary>
public sealed class PendingResourceStore(IDatabase redis)
{
    // The check every pending step makes first: the record is pending for this task, the version is the
    // one read, and the token is not older than one seen. Leaves SaveResult codes for the caller to return.
    private const string PendingCheckLua = Fencing.Lua + """

        local function pending_check(key, task, fence, version)
          if redis.call('EXISTS', key) == 0 then return 6 end
          if redis.call('HGET', key, 'task') ~= task then
            if redis.call('HGET', key, 'donetask') == task then return 5 end
            return 4
          end
          if redis.call('HGET', key, 'v') ~= version then return 0 end
          if not fenced(key, fence) then return 3 end
          return 1
        end
        """;

    /// <summary>What a task's resource key holds once the task was abandoned before it made anything.</summary>
    private const string NoResource = "-";

    // KEYS: record, index, task's resource, then for images the owner's names and status counts. ARGV: bytes, status, name, family,
    // score, id, task, tags ("t"). Returns {CreateResult, the resource a task made before (TokenUsed)}; Abandoned when the task was given up first.
    private const string CreatePendingScript = StatusCounts.Lua + """

        local prior = redis.call('GET', KEYS[3])
        if prior == '-' then return {6, ''} end
        if prior then return {2, prior} end
        if KEYS[4] and redis.call('HEXISTS', KEYS[4], ARGV[3]) == 1 then return {3, ''} end
        redis.call('HSET', KEYS[1], 'd', ARGV[1], 's', ARGV[2], 'n', ARGV[3], 'f', ARGV[4], 't', ARGV[8], 'v', 1, 'task', ARGV[7], 'fence', 0)
        count_created(KEYS[5], KEYS[2], ARGV[2])
        redis.call('ZADD', KEYS[2], ARGV[5], ARGV[6])
        if KEYS[4] then redis.call('HSET', KEYS[4], ARGV[3], ARGV[6]) end
        redis.call('SET', KEYS[3], ARGV[6])
        return {1, ''}
        """;

    // KEYS: record, then for images the owner's status counts. ARGV: task, fence, version read, done (1: the task's pending state
    // ends), task revision mirrored (0: none), field/value pairs. Returns SaveResult.
    private const string SavePendingScript = PendingCheckLua + StatusCounts.Lua + """

        local checked = pending_check(KEYS[1], ARGV[1], ARGV[2], ARGV[3])
        if checked ~= 1 then return checked end
        if ARGV[5] ~= '0' then
          if tonumber(redis.call('HGET', KEYS[1], 'trev') or '0') >= tonumber(ARGV[5]) then return 7 end
          redis.call('HSET', KEYS[1], 'trev', ARGV[5])
        end
        if ARGV[4] == '1' then
          redis.call('HDEL', KEYS[1], 'task')
          redis.call('HSET', KEYS[1], 'donetask', ARGV[1])
        end
        local before = redis.call('HGET', KEYS[1], 's')
        redis.call('HSET', KEYS[1], 'v', tonumber(ARGV[3]) + 1, unpack(ARGV, 6))
        count_moved(KEYS[2], KEYS[1], before, redis.call('HGET', KEYS[1], 's'))
        return 1
        """;

    // KEYS: image, owner's snapshot index, then per snapshot: record, its images; last the owner's image status counts.
    // ARGV: task, fence, version read, image id, score, count of image field pairs, the pairs, then per snapshot: id, bytes, manifest.
    // Returns SaveResult.
    private const string CompleteImageScript = PendingCheckLua + StatusCounts.Lua + """

        local checked = pending_check(KEYS[1], ARGV[1], ARGV[2], ARGV[3])
        if checked ~= 1 then return checked end
        local pairs = tonumber(ARGV[6])
        local a = 7 + pairs * 2
        local k = 3
        while a <= #ARGV do
          redis.call('HSET', KEYS[k], 'd', ARGV[a + 1], 's', 2, 'm', ARGV[a + 2], 'v', 1)
          redis.call('ZADD', KEYS[2], ARGV[5], ARGV[a])
          redis.call('SADD', KEYS[k + 1], ARGV[4])
          a = a + 3
          k = k + 2
        end
        local before = redis.call('HGET', KEYS[1], 's')
        redis.call('HDEL', KEYS[1], 'task')
        redis.call('HSET', KEYS[1], 'donetask', ARGV[1], 'v', tonumber(ARGV[3]) + 1, unpack(ARGV, 7, 6 + pairs * 2))
        count_moved(KEYS[#KEYS], KEYS[1], before, redis.call('HGET', KEYS[1], 's'))
        return 1
        """;

    // KEYS: record, index, then for images the owner's names, the image's holds and the owner's status counts. ARGV: task, fence,
    // version read, id, name. Returns SaveResult.
    private const string DeletePendingScript = PendingCheckLua + StatusCounts.Lua + """

        local checked = pending_check(KEYS[1], ARGV[1], ARGV[2], ARGV[3])
        if checked ~= 1 then return checked end
        count_moved(KEYS[5], KEYS[1], redis.call('HGET', KEYS[1], 's'), false)
        redis.call('DEL', KEYS[1])
        redis.call('ZREM', KEYS[2], ARGV[4])
        if KEYS[3] then
          if redis.call('HGET', KEYS[3], ARGV[5]) == ARGV[4] then redis.call('HDEL', KEYS[3], ARGV[5]) end
          redis.call('DEL', KEYS[4])
        end
        return 1
        """;

    // KEYS: the task's resource. ARGV: mark ttl. Returns what the task made, or false (and it never will).
    private const string AbandonTaskScript = """
        local prior = redis.call('GET', KEYS[1])
        if prior then return prior end
        redis.call('SET', KEYS[1], '-', 'EX', ARGV[1])
        return false
        """;
    /// <summary>Creates a pending image (Waiting) for a task, or finds the one the task made before.</summary>
    public async Task<(CreateResult Result, string Prior)> CreatePendingImageAsync(Image image, string taskId)
    {
        var created = Created(await redis.ScriptEvaluateAsync(CreatePendingScript,
            [CatalogKeys.Image(image.RegionId, image.ImageId), CatalogKeys.Images(image.OwnerAccountId, image.RegionId),
             CatalogKeys.TaskResource(taskId), CatalogKeys.Names(image.OwnerAccountId, image.RegionId),
             CatalogKeys.ImageCounts(image.OwnerAccountId, image.RegionId)],
            [Bytes(image), (int)image.Status, image.ImageName, image.ImageFamily, Score(image.CreateTime), image.ImageId, taskId, TagField(image.Tags)]));
        if (created.Result == CreateResult.Created)
        {
            await ImageChanges.AnnounceAsync(redis, image);
        }
        return created;
    }

    /// <summary>Creates a pending snapshot (progressing) for a task, or finds the one the task made before.</summary>
    public async Task<(CreateResult Result, string Prior)> CreatePendingSnapshotAsync(Snapshot snapshot, string taskId) =>
        Created(await redis.ScriptEvaluateAsync(CreatePendingScript,
            [CatalogKeys.Snapshot(snapshot.SnapshotId), CatalogKeys.Snapshots(snapshot.OwnerAccountId, snapshot.RegionId), CatalogKeys.TaskResource(taskId)],
            [Bytes(snapshot), (int)snapshot.Status, "", "", Score(snapshot.CreateTime), snapshot.SnapshotId, taskId, TagField(snapshot.Tags)]));

    /// <summary>
    /// Saves a pending image's new state for its task; with <paramref name="done"/> its pending state ends (failed). A state
    /// that mirrors <paramref name="taskRevision"/> of its task is written only if no newer one was (else <see cref="SaveResult.Stale"/>).
    /// </summary>
    public async Task<SaveResult> SavePendingImageAsync(StoredImage stored, Image updated, string taskId, long fence, bool done = false, long taskRevision = 0) =>
        await Announced(Map<SaveResult>(await redis.ScriptEvaluateAsync(SavePendingScript,
            [CatalogKeys.Image(updated.RegionId, updated.ImageId), CatalogKeys.ImageCounts(updated.OwnerAccountId, updated.RegionId)],
            [taskId, fence, stored.Version, done ? "1" : "0", taskRevision, .. Pairs(ImageFields(updated))])), updated);

    private async Task<SaveResult> Announced(SaveResult result, Image image, bool deleted = false)
    {
        if (result == SaveResult.Saved)
        {
            await ImageChanges.AnnounceAsync(redis, image, deleted);
        }
        return result;
    }

    /// <summary>Saves a pending snapshot's new state; with <paramref name="manifestId"/> it gets its content.</summary>
    public async Task<SaveResult> SavePendingSnapshotAsync(StoredSnapshot stored, Snapshot updated, string taskId, long fence, bool done, string? manifestId = null,
        long taskRevision = 0)
    {
        var fields = SnapshotFields(updated).ToList();
        if (manifestId is not null)
        {
            fields.Add(new("m", manifestId));
        }
        return Map<SaveResult>(await redis.ScriptEvaluateAsync(SavePendingScript, [CatalogKeys.Snapshot(updated.SnapshotId)],
            [taskId, fence, stored.Version, done ? "1" : "0", taskRevision, .. Pairs(fields)]));
    }

    /// <summary>Makes a pending image Available with an accomplished snapshot per disk, in one step.</summary>
    public async Task<SaveResult> CompletePendingImageAsync(StoredImage stored, Image updated, IReadOnlyList<(Snapshot Snapshot, string ManifestId)> snapshots,
        string taskId, long fence)
    {
        var keys = new List<RedisKey> { CatalogKeys.Image(updated.RegionId, updated.ImageId), CatalogKeys.Snapshots(updated.OwnerAccountId, updated.RegionId) };
        var fields = ImageFields(updated);
        var args = new List<RedisValue> { taskId, fence, stored.Version, updated.ImageId, Score(updated.UpdateTime), fields.Count };
        args.AddRange(Pairs(fields));
        foreach (var (snapshot, manifestId) in snapshots)
        {
            keys.Add(CatalogKeys.Snapshot(snapshot.SnapshotId));
            keys.Add(CatalogKeys.SnapshotImages(snapshot.SnapshotId));
            args.Add(snapshot.SnapshotId);
            args.Add(Bytes(snapshot));
            args.Add(manifestId);
        }
        keys.Add(CatalogKeys.ImageCounts(updated.OwnerAccountId, updated.RegionId));
        return await Announced(Map<SaveResult>(await redis.ScriptEvaluateAsync(CompleteImageScript, [.. keys], [.. args])), updated);
    }

    /// <summary>Deletes a pending image of a cancelled task.</summary>
    public async Task<SaveResult> DeletePendingImageAsync(StoredImage stored, string taskId, long fence)
    {
        var image = stored.Image;
        return await Announced(Map<SaveResult>(await redis.ScriptEvaluateAsync(DeletePendingScript,
            [CatalogKeys.Image(image.RegionId, image.ImageId), CatalogKeys.Images(image.OwnerAccountId, image.RegionId),
             CatalogKeys.Names(image.OwnerAccountId, image.RegionId), CatalogKeys.Holds(image.ImageId),
             CatalogKeys.ImageCounts(image.OwnerAccountId, image.RegionId)],
            [taskId, fence, stored.Version, image.ImageId, image.ImageName])), image, deleted: true);
    }

    /// <summary>Deletes a pending snapshot of a cancelled task.</summary>
    public async Task<SaveResult> DeletePendingSnapshotAsync(StoredSnapshot stored, string taskId, long fence)
    {
        var snapshot = stored.Snapshot;
        return Map<SaveResult>(await redis.ScriptEvaluateAsync(DeletePendingScript,
            [CatalogKeys.Snapshot(snapshot.SnapshotId), CatalogKeys.Snapshots(snapshot.OwnerAccountId, snapshot.RegionId)],
            [taskId, fence, stored.Version, snapshot.SnapshotId, ""]));
    }

    /// <summary>
    /// Gives a task up: returns the resource it made, if any; if it made none, it never will (a create
    /// still on its way is refused as Abandoned).
    /// </summary>
    public async Task<string?> AbandonTaskAsync(string taskId)
    {
        var result = await redis.ScriptEvaluateAsync(AbandonTaskScript, [CatalogKeys.TaskResource(taskId)], [(long)CreationClaimStore.AbandonedLifetime.TotalSeconds]);
        return result.IsNull || (string)result! == NoResource ? null : (string)result!;
    }
}
