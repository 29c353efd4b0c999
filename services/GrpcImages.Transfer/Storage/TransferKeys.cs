using GrpcImages.ServiceDefaults.Validation;
using StackExchange.Redis;

namespace GrpcImages.Transfer.Storage;

/// <summary>
/// The transfer service's Redis keys, every one of them. Content keys carry a hash tag per chunk
/// shard, per manifest and per write session, so one region's copies spread over the slots of a
/// Redis Cluster; each step of the content protocol is one script over keys of one tag.
/// <code>
/// Content of region R (R34):
/// - gi:xfer:{c:R:h}:refs               hash  blob name -> references; -1 while being deleted. h = the name's first hex digit (16 shards)
/// - gi:xfer:{c:R:h}:gc                 zset  blob name -> ms its references fell to 0
/// - gi:xfer:{c:R:h}:tomb               zset  blob name -> ms it was marked for deletion
/// - gi:xfer:{c:R:h}:pins:&lt;owner&gt;       set   names of the shard pinned by a write session ("s:&lt;id&gt;") or a manifest ("m:&lt;id&gt;")
/// - gi:xfer:{m:R:&lt;id&gt;}:man             hash  state (1 committing, 2 live, 3 dying), session, size, digest, stored, chunks, account, key
/// - gi:xfer:{m:R:&lt;id&gt;}:holders         set   holders (disk, snapshot, image, task ids) keeping the manifest alive
/// - gi:xfer:{m:R:&lt;id&gt;}:shards          set   shards where the manifest has pins
/// - gi:xfer:{h:R:&lt;holder&gt;}:held        set   manifests a holder may hold (added before the hold, removed after the release)
/// - gi:xfer:{h:R:&lt;holder&gt;}:gone        string a holder released for good (its retains after that are taken back), 1 day
/// - gi:xfer:{w:R:&lt;id&gt;}:sess            hash  a write session: size, manifest it commits
/// - gi:xfer:{w:R:&lt;id&gt;}:chunks          hash  position -> chunk name: what the session has stored (its checkpoint)
/// - gi:xfer:{w:R:&lt;id&gt;}:shards          set   shards where the session has pins
/// - gi:xfer:{r:R}:sessions             zset  session -> ms it expires unless renewed (a dead writer's pins are dropped after)
/// - gi:xfer:{r:R}:dying                zset  manifest -> ms its last holder was leaving (its pins are being dropped)
/// Tasks (R8, R10, R24, R29), under the owner's tag {t}:
/// - gi:xfer:{t}:task:&lt;task&gt;            hash  d=TransferTask, v=version, fence=its worker's token, plan=checkpoint,
///                                      pr=the line revision its queue position was read at
/// - gi:xfer:{t}:tasks:&lt;account&gt;:&lt;region&gt; zset task ids by creation time (the task log)
/// - gi:xfer:{t}:ct:&lt;account&gt;:&lt;scope&gt;:&lt;token&gt; string "fingerprint|task id" for 24 h (R35)
/// - channel gi:xfer:task:&lt;task&gt;         the task's new state, for WatchTask
/// Object store of region R (R24, R29), under the bucket's tag {b:R:bucket}:
/// - gi:xfer:{b:R:&lt;bucket&gt;}:bucket     hash  owner, acl, created (ms), n (objects), bytes (objects' and open uploads' parts' bytes)
/// - gi:xfer:{b:R:&lt;bucket&gt;}:names      zset  object names, all score 0 (listed by name, prefixes by range)
/// - gi:xfer:{b:R:&lt;bucket&gt;}:w:&lt;task&gt;   string the fencing token of the export task's newest worker: an older one may not write objects here
/// - gi:xfer:{b:R:&lt;bucket&gt;}:o:&lt;name&gt;   hash  size, sha, type, created, manifest, holder (the content's holder "o:&lt;version&gt;"), ver (new with each write),
///                                      etag (the OSS ETag, when written with one)
/// - gi:xfer:{b:R:&lt;bucket&gt;}:uploads    zset  "&lt;object name&gt;\n&lt;upload id&gt;", all score 0: the bucket's open multipart uploads by name, then id
/// - gi:xfer:{b:R:&lt;bucket&gt;}:u:&lt;upload&gt; hash  name, type, init (ms), touched (ms of the last part), bytes (of its parts)
/// - gi:xfer:{b:R:&lt;bucket&gt;}:up:&lt;upload&gt; hash part number -> PartRecord ("size etag manifest holder written-ms"); each part's content
///                                      is held by its own holder "p:&lt;upload&gt;:&lt;part&gt;:&lt;write&gt;"
/// - gi:xfer:{&lt;account tag&gt;}:buckets:&lt;account&gt; set "R/bucket": the account's buckets (added before the bucket, dropped after it)
/// Queues (WorkQueue):
/// - gi:xfer:{q:&lt;action&gt;:&lt;region&gt;}:*  tasks of an action (copy, import, export) in a region, at most N running
/// - gi:xfer:{q:gc:&lt;region&gt;}:*          one standing item: the region's garbage collection
/// - gi:xfer:{q:objects:&lt;region&gt;}:*     object and part writes and deletes to settle: holders of content no object (or part) points at are released
/// - gi:xfer:{q:uploads:&lt;region&gt;}:*     one item per open multipart upload: aborted once no part arrived for ObjectStore:AbandonedUploadAfter
/// </code>
/// </summary>
public static class TransferKeys
{
    public const string Root = "gi:xfer:";

    /// <summary>The shard of a blob: the first hex digit of its name ("m:&lt;id&gt;" for a manifest's own blob).</summary>
    public static char ShardOf(string blobName) => blobName.StartsWith("m:", StringComparison.Ordinal) ? blobName[2] : blobName[0];

    public static IEnumerable<char> Shards => "0123456789abcdef";

    private static string Chunks(string region, char shard) => $"{Root}{{c:{region}:{shard}}}:";

    public static RedisKey Refs(string region, char shard) => Chunks(region, shard) + "refs";

    public static RedisKey Gc(string region, char shard) => Chunks(region, shard) + "gc";

    public static RedisKey Tomb(string region, char shard) => Chunks(region, shard) + "tomb";

    public static RedisKey Pins(string region, char shard, string owner) => Chunks(region, shard) + "pins:" + owner;

    private static string Manifest(string region, string id) => $"{Root}{{m:{region}:{id}}}:";

    public static RedisKey ManifestRecord(string region, string id) => Manifest(region, id) + "man";

    public static RedisKey Holders(string region, string id) => Manifest(region, id) + "holders";

    public static RedisKey ManifestShards(string region, string id) => Manifest(region, id) + "shards";

    private static string Session(string region, string id) => $"{Root}{{w:{region}:{id}}}:";

    public static RedisKey SessionRecord(string region, string id) => Session(region, id) + "sess";

    public static RedisKey SessionChunks(string region, string id) => Session(region, id) + "chunks";

    public static RedisKey SessionShards(string region, string id) => Session(region, id) + "shards";

    public static RedisKey Held(string region, string holder) => $"{Root}{{h:{region}:{holder}}}:held";

    /// <summary>Marks a holder released for good: it cannot hold again (see <c>ContentIndex.RetainAsync</c>).</summary>
    public static RedisKey HolderGone(string region, string holder) => $"{Root}{{h:{region}:{holder}}}:gone";

    public static RedisKey Sessions(string region) => $"{Root}{{r:{region}}}:sessions";

    public static RedisKey Dying(string region) => $"{Root}{{r:{region}}}:dying";

    /// <summary>The pin owner name of a write session or a manifest.</summary>
    public static string SessionOwner(string session) => "s:" + session;

    public static string ManifestOwner(string manifestId) => "m:" + manifestId;

    private static string Owner(string tag) => $"{Root}{{{tag}}}:";

    public static RedisKey Task(string taskId) => Owner(ResourceIds.TagOf(taskId)) + "task:" + taskId;

    public static RedisKey Tasks(string account, string region) => Owner(ResourceIds.OwnerTag(account)) + $"tasks:{account}:{region}";

    public static string TaskRecordPrefix(string account) => Owner(ResourceIds.OwnerTag(account)) + "task:";

    public static RedisKey ClientToken(string account, string scope, string token) => Owner(ResourceIds.OwnerTag(account)) + $"ct:{account}:{scope}:{token}";

    private static string Bucket(string region, string bucket) => $"{Root}{{b:{region}:{bucket}}}:";

    public static RedisKey BucketRecord(string region, string bucket) => Bucket(region, bucket) + "bucket";

    public static RedisKey ObjectNames(string region, string bucket) => Bucket(region, bucket) + "names";

    public static RedisKey ObjectRecord(string region, string bucket, string name) => Bucket(region, bucket) + "o:" + name;

    public static string ObjectRecordPrefix(string region, string bucket) => Bucket(region, bucket) + "o:";

    /// <summary>The fencing token of the newest worker of a task that writes into the bucket.</summary>
    public static RedisKey ObjectWriter(string region, string bucket, string taskId) => Bucket(region, bucket) + "w:" + taskId;

    /// <summary>The bucket's open multipart uploads.</summary>
    public static RedisKey Uploads(string region, string bucket) => Bucket(region, bucket) + "uploads";

    public static RedisKey Upload(string region, string bucket, string uploadId) => Bucket(region, bucket) + "u:" + uploadId;

    public static RedisKey UploadParts(string region, string bucket, string uploadId) => Bucket(region, bucket) + "up:" + uploadId;

    public static RedisKey AccountBuckets(string account) => Owner(ResourceIds.OwnerTag(account)) + "buckets:" + account;

    public static RedisChannel TaskChannel(string taskId) => RedisChannel.Literal($"{Root}task:{taskId}");
}
