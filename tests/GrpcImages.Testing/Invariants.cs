using GrpcImages.Catalog.Domain;
using GrpcImages.Catalog.Storage;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.ServiceDefaults.Work;
using GrpcImages.Sharing.Storage;
using GrpcImages.Transfer.Domain;
using GrpcImages.Transfer.Storage;
using GrpcImages.Transfer.Tasks;
using StackExchange.Redis;
using TaskStatus = GrpcImages.Contracts.Transfer.V1.TaskStatus;

namespace GrpcImages.Testing;

/// <summary>
/// The invariants of ARCHITECTURE.md, read straight from Redis after a fault: every quota unit and
/// every content hold belongs to a live resource, every image hold to a task not ended, every task not
/// ended has its queue item, and every
/// image or snapshot being made has a job or a task (not ended) that will end it; every grant, to an account or an
/// organization (R37), is in its recipient's index and every index entry has its grant, once the owner's outbox is
/// applied, and the catalog records the same recipients per image and counts them per status; every owner's image
/// status counts are what its index holds. A test waits for them (the jobs that restore them run after their grace)
/// and fails with the list of what is still wrong.
/// </summary>
public static class Invariants
{
    public static async Task<IReadOnlyList<string>> CheckAsync(string redisConfiguration)
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync(redisConfiguration);
        var db = redis.GetDatabase();
        var server = redis.GetServers().First(s => !s.IsReplica);
        var violations = new List<string>();
        var jobs = new WorkQueue(redis, CatalogKeys.Root, CatalogQueues.Jobs, new WorkQueueOptions());

        // Quota units (R3): gi:share:{t}:iq:<account>:<region> holds image ids.
        await foreach (var key in server.KeysAsync(pattern: "gi:share:{*}:iq:*", pageSize: 1000))
        {
            var parts = ((string)key!).Split(':');
            var region = parts[^1];
            foreach (var holder in await db.SetMembersAsync(key))
            {
                if (!await db.KeyExistsAsync(CatalogKeys.Image(region, holder!)))
                {
                    violations.Add($"quota unit of {parts[^2]} in {region} held by {holder}, which does not exist");
                }
            }
        }

        // An object write's hold ("o:<id>") is an object's, or waits in a settlement that will let it go.
        var objectHolders = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var key in server.KeysAsync(pattern: TransferKeys.Root + "{b:*}:o:*", pageSize: 1000))
        {
            if (await db.HashGetAsync(key, "holder") is { HasValue: true } holder)
            {
                objectHolders.Add(holder!);
            }
        }
        var settling = new List<string>();
        await foreach (var key in server.KeysAsync(pattern: TransferKeys.Root + "{q:objects:*}:i:*", pageSize: 1000))
        {
            settling.Add((string?)await db.HashGetAsync(key, "p") ?? "");
        }

        // Content holds: gi:xfer:{m:<region>:<manifest>}:holders.
        await foreach (var key in server.KeysAsync(pattern: "gi:xfer:{m:*}:holders", pageSize: 1000))
        {
            var text = (string)key!;
            var inner = text[(text.IndexOf('{') + 3)..text.IndexOf('}')];
            var region = inner[..inner.IndexOf(':')];
            foreach (var holder in await db.SetMembersAsync(key))
            {
                var id = (string)holder!;
                RedisKey? record = id.Length < 2 ? null : id[..2] switch
                {
                    "m-" => CatalogKeys.Image(region, id),
                    "s-" => CatalogKeys.Snapshot(id),
                    "d-" => CatalogKeys.Disk(id),
                    "t-" => TransferKeys.Task(id),
                    _ => null,
                };
                if (id.StartsWith("o:", StringComparison.Ordinal) && !objectHolders.Contains(id) && !settling.Any(p => p.Contains(id, StringComparison.Ordinal)))
                {
                    violations.Add($"content {inner} held by object write {id}, which no object points at and no settlement will let go");
                }
                if (record is { } live && !await db.KeyExistsAsync(live))
                {
                    violations.Add($"content {inner} held by {id}, which does not exist");
                }
                else if (id.StartsWith("t-", StringComparison.Ordinal) && await db.HashGetAsync(TransferKeys.Task(id), "d") is { HasValue: true } task
                         && IsEnded(TransferTask.Parser.ParseFrom((byte[])task!)))
                {
                    violations.Add($"content {inner} still held by {id}, which has ended");
                }
            }
        }

        // Tasks not ended: each has its item in its queue (waiting, or running under a lease); a Processing one holds
        // a live lease; no more run in a queue than its limit (R8).
        var processing = new Dictionary<string, int>(StringComparer.Ordinal);
        await foreach (var key in server.KeysAsync(pattern: TransferKeys.Root + "{*}:task:*", pageSize: 1000))
        {
            if (await db.HashGetAsync(key, "d") is not { HasValue: true } stored)
            {
                continue;
            }
            var task = TransferTask.Parser.ParseFrom((byte[])stored!);
            var queue = new WorkQueue(redis, TransferKeys.Root, TaskQueues.Name(task.Action, task.RegionId), new WorkQueueOptions());
            if (!IsEnded(task) && await queue.GetAsync(task.TaskId) is null)
            {
                violations.Add($"task {task.TaskId} is {task.Status} with no item in {queue.Name} to run it");
            }
            if (task.Status == TaskStatus.Processing)
            {
                processing[queue.Name] = processing.GetValueOrDefault(queue.Name) + 1;
                if (await queue.LeaseAgeAsync(task.TaskId) is not { } age || age > queue.Options.Lease + LeaseSlack)
                {
                    violations.Add($"task {task.TaskId} is Processing without a live lease in {queue.Name}");
                }
            }
        }
        foreach (var (queue, count) in processing.Where(p => p.Value > LimitOf(p.Key)))
        {
            violations.Add($"{count} tasks are Processing in {queue}, more than its limit of {LimitOf(queue)}");
        }

        // Image holds (R9, R33: copy sources, images under export): each is a task's that has not ended.
        await foreach (var key in server.KeysAsync(pattern: "gi:cat:{*}:holds:*", pageSize: 1000))
        {
            var image = ((string)key!)[(((string)key!).LastIndexOf(':') + 1)..];
            foreach (var holder in await db.HashKeysAsync(key))
            {
                var task = await db.HashGetAsync(TransferKeys.Task((string)holder!), "d");
                if (!task.HasValue)
                {
                    violations.Add($"{image} is held by task {holder}, which does not exist (it can never be deleted)");
                }
                else if (IsEnded(TransferTask.Parser.ParseFrom((byte[])task!)))
                {
                    violations.Add($"{image} is still held by task {holder}, which has ended (it can never be deleted)");
                }
            }
        }

        await CheckGrantsAsync(db, server, violations);

        // Images and snapshots being made: each has its creation job, or the task that makes it.
        await foreach (var key in server.KeysAsync(pattern: "gi:cat:{*}:img:*", pageSize: 1000))
        {
            await CheckBeingMadeAsync(db, jobs, key, "img|", [(int)ImageStatus.Creating, (int)ImageStatus.Waiting], violations);
        }
        await foreach (var key in server.KeysAsync(pattern: "gi:cat:{*}:snap:*", pageSize: 1000))
        {
            await CheckBeingMadeAsync(db, jobs, key, "snap|", [(int)SnapshotStatus.Progressing], violations);
        }

        // Status counts (imgn:<owner>:<region>): what each status counts is what the owner's index holds in it.
        await foreach (var key in server.KeysAsync(pattern: "gi:cat:{*}:imgn:*", pageSize: 1000))
        {
            await CheckStatusCountsAsync(db, key, violations);
        }
        await CheckRecipientCountsAsync(db, server, violations);
        return violations;
    }

    /// <summary>
    /// The catalog's record of who each image is shared with (irecv, rcnt, rown): once the owner's outbox is applied,
    /// an existing image's recipients are the accounts its grants name, each owner's counts per recipient and status
    /// are what those sets and the records' statuses make, and each counted owner is among the recipient's owners.
    /// </summary>
    private static async Task CheckRecipientCountsAsync(IDatabase db, IServer server, List<string> violations)
    {
        var expected = new Dictionary<string, Dictionary<string, long>>(StringComparer.Ordinal); // rcnt key -> field -> count
        var settled = new Dictionary<string, bool>(StringComparer.Ordinal);
        async Task<bool> SettledAsync(string owner) =>
            settled.TryGetValue(owner, out var known) ? known : settled[owner] = await db.ListLengthAsync(SharingKeys.Outbox(owner)) == 0;

        await foreach (var key in server.KeysAsync(pattern: "gi:cat:{*}:img:*", pageSize: 1000))
        {
            var fields = await db.HashGetAsync(key, ["d", "s"]);
            if (!fields[0].HasValue)
            {
                continue;
            }
            var image = Image.Parser.ParseFrom((byte[])fields[0]!);
            var (owner, region) = (image.OwnerAccountId, image.RegionId);
            if (!await SettledAsync(owner))
            {
                continue;
            }
            var recorded = (await db.SetMembersAsync(CatalogKeys.ImageRecipients(image.ImageId))).Select(r => (string)r!).Order(StringComparer.Ordinal).ToList();
            var granted = (await db.SortedSetRangeByRankAsync(SharingKeys.Grants(owner, image.ImageId))).Select(r => (string)r!).Order(StringComparer.Ordinal).ToList();
            if (!recorded.SequenceEqual(granted))
            {
                violations.Add($"{image.ImageId} of {owner} is recorded as shared with [{string.Join(",", recorded)}], its grants name [{string.Join(",", granted)}]");
            }
            var rcnt = CatalogKeys.RecipientCounts(owner, region);
            var counts = expected.TryGetValue(rcnt, out var known) ? known : expected[rcnt] = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var recipient in recorded)
            {
                var field = $"{recipient}|{(string)fields[1]!}";
                counts[field] = counts.GetValueOrDefault(field) + 1;
                if (!await db.SetContainsAsync(CatalogKeys.SharingOwners(recipient, region), owner))
                {
                    violations.Add($"{recipient}'s owners in {region} lack {owner}, which shared {image.ImageId} with it");
                }
            }
        }
        await foreach (var key in server.KeysAsync(pattern: "gi:cat:{*}:rcnt:*", pageSize: 1000))
        {
            if (!expected.ContainsKey(key!) && await SettledAsync(((string)key!).Split(':')[^2]))
            {
                expected[key!] = []; // an owner none of whose images is shared: nothing may be counted
            }
        }
        foreach (var (key, counts) in expected)
        {
            var stored = (await db.HashGetAllAsync(key)).ToDictionary(e => (string)e.Name!, e => (long)e.Value, StringComparer.Ordinal);
            foreach (var field in counts.Keys.Union(stored.Keys))
            {
                if (counts.GetValueOrDefault(field) != stored.GetValueOrDefault(field))
                {
                    violations.Add($"{key}: \"{field}\" is counted {stored.GetValueOrDefault(field)}, the images' recipients make {counts.GetValueOrDefault(field)}");
                }
            }
        }
    }

    private static async Task CheckStatusCountsAsync(IDatabase db, RedisKey countsKey, List<string> violations)
    {
        var parts = ((string)countsKey!).Split(':');
        var (owner, region) = (parts[^2], parts[^1]);
        var held = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var id in await db.SortedSetRangeByRankAsync(CatalogKeys.Images(owner, region)))
        {
            if (await db.HashGetAsync(CatalogKeys.Image(region, id!), "s") is { HasValue: true } status)
            {
                held[status!] = held.GetValueOrDefault(status!) + 1;
            }
        }
        foreach (var entry in await db.HashGetAllAsync(countsKey))
        {
            if ((long)entry.Value != held.GetValueOrDefault(entry.Name!))
            {
                violations.Add($"{owner}'s images in {region}: status {entry.Name} is counted {entry.Value}, the index holds {held.GetValueOrDefault(entry.Name!)}");
            }
            held.Remove(entry.Name!);
        }
        foreach (var (status, count) in held)
        {
            violations.Add($"{owner}'s images in {region}: {count} in status {status} are not counted");
        }
    }

    /// <summary>
    /// Grants and the recipients' indexes (R19, R37): every grant of a shared image, to an account or an organization
    /// principal, has its entry in that recipient's index of the image's region, and every index entry has its grant; an
    /// image is in its owner's shared set exactly while it has a grant. An owner whose outbox still holds changes is left
    /// for later (the outbox is what brings the indexes in line).
    /// </summary>
    private static async Task CheckGrantsAsync(IDatabase db, IServer server, List<string> violations)
    {
        var settled = new Dictionary<string, bool>(StringComparer.Ordinal);
        async Task<bool> SettledAsync(string owner) =>
            settled.TryGetValue(owner, out var known) ? known : settled[owner] = await db.ListLengthAsync(SharingKeys.Outbox(owner)) == 0;

        await foreach (var key in server.KeysAsync(pattern: SharingKeys.Root + "{*}:shared:*", pageSize: 1000))
        {
            var owner = ((string)key!)[(((string)key!).LastIndexOf(':') + 1)..];
            if (!await SettledAsync(owner))
            {
                continue;
            }
            foreach (var image in (await db.SortedSetRangeByRankAsync(key)).Select(i => (string)i!))
            {
                var region = (string?)await db.StringGetAsync(SharingKeys.Where(owner, image));
                var accounts = await db.SortedSetRangeByRankAsync(SharingKeys.Grants(owner, image));
                var principals = await db.SortedSetRangeByRankAsync(SharingKeys.OrganizationGrants(owner, image));
                if (region is null || accounts.Length + principals.Length == 0)
                {
                    violations.Add($"{image} of {owner} is in its shared set with {accounts.Length + principals.Length} grants and region '{region}'");
                    continue;
                }
                var member = new ReceivedMember(owner, image).Format();
                foreach (var recipient in accounts.Concat(principals).Select(r => (string)r!))
                {
                    if (await db.SortedSetScoreAsync(SharingKeys.ReceivedBy(recipient, region), member) is null)
                    {
                        violations.Add($"{image} of {owner} is shared with {recipient}, whose index in {region} lacks it");
                    }
                }
            }
        }

        foreach (var (pattern, organization) in new[] { (SharingKeys.Root + "{*}:recv:*", false), (SharingKeys.Root + "{*}:orecv:*", true) })
        {
            await foreach (var key in server.KeysAsync(pattern: pattern, pageSize: 1000))
            {
                // ...:recv:<account>:<region> or ...:orecv:<principal>:<region>
                var text = (string)key!;
                var tail = text[(text.IndexOf(organization ? ":orecv:" : ":recv:", StringComparison.Ordinal) + (organization ? 7 : 6))..];
                var (recipient, region) = (tail[..tail.LastIndexOf(':')], tail[(tail.LastIndexOf(':') + 1)..]);
                foreach (var entry in await db.SortedSetRangeByRankAsync(key))
                {
                    var shared = ReceivedMember.Parse(entry!);
                    if (!await SettledAsync(shared.Owner))
                    {
                        continue;
                    }
                    var grants = organization ? SharingKeys.OrganizationGrants(shared.Owner, shared.ImageId) : SharingKeys.Grants(shared.Owner, shared.ImageId);
                    if (await db.SortedSetScoreAsync(grants, recipient) is null || (string?)await db.StringGetAsync(SharingKeys.Where(shared.Owner, shared.ImageId)) != region)
                    {
                        violations.Add($"the index of {recipient} in {region} lists {shared.ImageId} of {shared.Owner}, which is not shared with it there");
                    }
                }
            }
        }
    }

    private static async Task CheckBeingMadeAsync(IDatabase db, WorkQueue jobs, RedisKey key, string jobPrefix, int[] pending, List<string> violations)
    {
        var fields = await db.HashGetAsync(key, ["s", "task"]);
        if (!fields[0].HasValue || !pending.Contains((int)fields[0]))
        {
            return;
        }
        var id = ((string)key!)[(((string)key!).LastIndexOf(':') + 1)..];
        if (fields[1].HasValue && ((string)fields[1]!).Length > 0)
        {
            var task = await db.HashGetAsync(TransferKeys.Task((string)fields[1]!), "d");
            if (!task.HasValue)
            {
                violations.Add($"{id} is being made by task {fields[1]}, which does not exist");
            }
            else if (IsEnded(TransferTask.Parser.ParseFrom((byte[])task!)))
            {
                violations.Add($"{id} is being made by task {fields[1]}, which has ended");
            }
            return;
        }
        if (await jobs.GetAsync(jobPrefix + id) is null)
        {
            violations.Add($"{id} is being made (status {fields[0]}) with no job to finish it");
        }
    }

    /// <summary>How long past its lease a Processing task's item may wait for a worker to take it over (the workers' polling).</summary>
    private static readonly TimeSpan LeaseSlack = TimeSpan.FromSeconds(3);

    /// <summary>The running limit of a task queue (the services' defaults, which the fault tests keep).</summary>
    public static int LimitOf(string queue)
    {
        var defaults = new GrpcImages.Transfer.TransferOptions();
        return queue.StartsWith("copy:", StringComparison.Ordinal) ? defaults.CopyLimit
            : queue.StartsWith("import:", StringComparison.Ordinal) ? defaults.ImportLimit : defaults.ExportLimit;
    }

    private static bool IsEnded(TransferTask task) => task.Status is TaskStatus.Finished or TaskStatus.Failed or TaskStatus.Cancelled;

    /// <summary>Waits until the invariants hold (jobs that restore them run after their grace), or returns what is still wrong.</summary>
    public static async Task<IReadOnlyList<string>> SettleAsync(string redisConfiguration, TimeSpan? patience = null)
    {
        var until = DateTime.UtcNow + (patience ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            var violations = await CheckAsync(redisConfiguration);
            if (violations.Count == 0 || DateTime.UtcNow > until)
            {
                return violations;
            }
            await Task.Delay(250);
        }
    }
}
