using Google.Protobuf;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.ServiceDefaults.Redis;
using GrpcImages.ServiceDefaults.Storage;
using StackExchange.Redis;

namespace GrpcImages.Kms.Storage;

/// <summary>What a resource-directory script did (numbers the scripts return).</summary>
public enum DirectoryResult
{
    Done = 1,
    /// <summary>The client token was used before: its stored value comes back too (R35).</summary>
    TokenUsed = 2,
    /// <summary>A new id collided with an existing one (make another).</summary>
    IdTaken = 3,
    NoAccount = 4,
    /// <summary>The account already belongs to a directory.</summary>
    InAnotherDirectory = 5,
    NoDirectory = 6,
    NoFolder = 7,
    /// <summary>A sibling folder has the name.</summary>
    NameTaken = 8,
    TooManyFolders = 9,
    HasSubFolders = 10,
    HasMembers = 11,
    /// <summary>The account is not a member of the directory.</summary>
    NotMember = 12,
    /// <summary>The account is the directory's management account.</summary>
    IsManagement = 13,
    /// <summary>The directory already has a pending handshake for the account.</summary>
    HandshakePending = 14,
    TooManyHandshakes = 15,
    /// <summary>A record changed since it was read (read it again).</summary>
    Changed = 16,
}

/// <summary>An account's membership as stored.</summary>
public sealed record MemberRecord(string AccountId, string DirectoryId, string FolderId, string Path, long JoinedMs);

/// <summary>A stored handshake with the bytes it was read as (its version for a change).</summary>
public sealed record StoredHandshake(Handshake Handshake, byte[] Stored);

/// <summary>
/// Resource directories, folders, membership and handshakes (R37) in Redis (key layout: <see cref="KmsKeys"/>),
/// under the {dir} tag with the accounts, so that every change of membership is one script that also checks the
/// account, the directory and the folder it names. Each change of membership is announced.
/// </summary>
public sealed class ResourceDirectoryStore(IDatabase redis)
{
    /// <summary>How long a handshake's record stays after it was answered, withdrawn or expired.</summary>
    public static readonly TimeSpan HandshakeRetention = TimeSpan.FromDays(30);

    // Lua shared by the membership scripts: join(mem, fmem, rdmem, account, directory, folder, path, ms).
    private const string JoinLua = """

        local function join(mem, fmem, rdmem, account, directory, folder, path, ms)
          redis.call('HSET', mem, 'r', directory, 'f', folder, 'path', path, 't', ms)
          redis.call('ZADD', fmem, 0, account)
          redis.call('ZADD', rdmem, 0, account)
        end
        """;

    // KEYS: directory, directories, root folder, folders, membership, root's members, directory's members, account, token.
    // ARGV: directory id, root id, directory record, root record, root path, account, ms, fingerprint, token ttl.
    // Returns {DirectoryResult, the token's stored value}.
    private const string CreateDirectoryScript = ClientTokens.Lua + JoinLua + """

        local prior = prior_token(KEYS[9], ARGV[8])
        if prior then return {2, prior} end
        if redis.call('EXISTS', KEYS[8]) == 0 then return {4, ''} end
        if redis.call('EXISTS', KEYS[5]) == 1 then return {5, ''} end
        if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[3]) == 1 then return {3, ''} end
        redis.call('HSET', KEYS[1], 'd', ARGV[3], 'm', ARGV[6], 'r', ARGV[2])
        redis.call('ZADD', KEYS[2], 0, ARGV[1])
        redis.call('HSET', KEYS[3], 'd', ARGV[4], 'r', ARGV[1], 'p', '', 'n', 'Root', 'path', ARGV[5])
        redis.call('ZADD', KEYS[4], 0, ARGV[2])
        join(KEYS[5], KEYS[6], KEYS[7], ARGV[6], ARGV[1], ARGV[2], ARGV[5], ARGV[7])
        remember_token(KEYS[9], ARGV[8], ARGV[1], ARGV[9])
        return {1, ''}
        """;

    // KEYS: directory, directories, root folder, folders, root's sub-folders, directory's members, root's members,
    //       management's membership, pending handshakes.
    // ARGV: directory id, management account. Returns a DirectoryResult.
    private const string DeleteDirectoryScript = """
        if redis.call('EXISTS', KEYS[1]) == 0 then return 6 end
        local members = redis.call('ZRANGE', KEYS[6], 0, -1)
        if #members > 1 or (#members == 1 and members[1] ~= ARGV[2]) then return 11 end
        if redis.call('ZCARD', KEYS[4]) > 1 or redis.call('HLEN', KEYS[5]) > 0 then return 10 end
        redis.call('DEL', KEYS[1], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9])
        redis.call('ZREM', KEYS[2], ARGV[1])
        return 1
        """;

    // KEYS: directory, parent folder, new folder, folders, parent's sub-folders, token.
    // ARGV: directory id, folder id, record, name, path, most folders, fingerprint, token ttl, parent id.
    // Returns {DirectoryResult, the token's stored value}.
    private const string CreateFolderScript = ClientTokens.Lua + """

        local prior = prior_token(KEYS[6], ARGV[7])
        if prior then return {2, prior} end
        if redis.call('EXISTS', KEYS[1]) == 0 then return {6, ''} end
        if redis.call('HGET', KEYS[2], 'r') ~= ARGV[1] then return {7, ''} end
        if redis.call('HEXISTS', KEYS[5], ARGV[4]) == 1 then return {8, ''} end
        if redis.call('ZCARD', KEYS[4]) >= tonumber(ARGV[6]) then return {9, ''} end
        if redis.call('EXISTS', KEYS[3]) == 1 then return {3, ''} end
        redis.call('HSET', KEYS[3], 'd', ARGV[3], 'r', ARGV[1], 'p', ARGV[9], 'n', ARGV[4], 'path', ARGV[5])
        redis.call('ZADD', KEYS[4], 0, ARGV[2])
        redis.call('HSET', KEYS[5], ARGV[4], ARGV[2])
        remember_token(KEYS[6], ARGV[7], ARGV[2], ARGV[8])
        return {1, ''}
        """;

    // KEYS: folder, folders, parent's sub-folders, its sub-folders, its members. ARGV: folder id, name. Returns a DirectoryResult.
    private const string DeleteFolderScript = """
        if redis.call('EXISTS', KEYS[1]) == 0 then return 7 end
        if redis.call('HLEN', KEYS[4]) > 0 then return 10 end
        if redis.call('ZCARD', KEYS[5]) > 0 then return 11 end
        redis.call('DEL', KEYS[1], KEYS[4])
        redis.call('ZREM', KEYS[2], ARGV[1])
        redis.call('HDEL', KEYS[3], ARGV[2])
        return 1
        """;

    // KEYS: membership, folder's members, directory's members, directory, folder, account[, handshake, pending handshakes].
    // ARGV: account, directory id, folder id, path, ms[, handshake as read, accepted handshake, retention s].
    // With the handshake keys, the handshake is accepted in the same step (only if unchanged since read).
    // Returns a DirectoryResult.
    private const string JoinScript = JoinLua + """

        if #KEYS > 6 and redis.call('HGET', KEYS[7], 'd') ~= ARGV[6] then return 16 end
        if redis.call('EXISTS', KEYS[6]) == 0 then return 4 end
        if redis.call('EXISTS', KEYS[4]) == 0 then return 6 end
        if redis.call('HGET', KEYS[5], 'r') ~= ARGV[2] then return 7 end
        if redis.call('EXISTS', KEYS[1]) == 1 then return 5 end
        join(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5])
        if #KEYS > 6 then
          redis.call('HSET', KEYS[7], 'd', ARGV[7], 's', 2)
          redis.call('EXPIRE', KEYS[7], ARGV[8])
          redis.call('ZREM', KEYS[8], ARGV[1])
        end
        return 1
        """;

    // KEYS: membership, old folder's members, new folder's members, new folder.
    // ARGV: account, directory id, old folder id, new folder id, new path, ms. Returns a DirectoryResult.
    private const string MoveScript = """
        if redis.call('HGET', KEYS[1], 'r') ~= ARGV[2] then return 12 end
        if redis.call('HGET', KEYS[1], 'f') ~= ARGV[3] then return 16 end
        if redis.call('HGET', KEYS[4], 'r') ~= ARGV[2] then return 7 end
        redis.call('ZREM', KEYS[2], ARGV[1])
        redis.call('ZADD', KEYS[3], 0, ARGV[1])
        redis.call('HSET', KEYS[1], 'f', ARGV[4], 'path', ARGV[5], 't', ARGV[6])
        return 1
        """;

    // KEYS: membership, folder's members, directory's members, directory. ARGV: account, directory id, folder id.
    // Returns a DirectoryResult.
    private const string LeaveScript = """
        if redis.call('HGET', KEYS[1], 'r') ~= ARGV[2] then return 12 end
        if redis.call('HGET', KEYS[4], 'm') == ARGV[1] then return 13 end
        if redis.call('HGET', KEYS[1], 'f') ~= ARGV[3] then return 16 end
        redis.call('DEL', KEYS[1])
        redis.call('ZREM', KEYS[2], ARGV[1])
        redis.call('ZREM', KEYS[3], ARGV[1])
        return 1
        """;

    // KEYS: handshake, sent to the account, sent by the directory, pending of the directory, directory, account, token.
    // ARGV: id, record, account, now ms, expires ms, most pending, fingerprint, token ttl, record ttl s, directory id.
    // Returns {DirectoryResult, the token's stored value}.
    private const string InviteScript = ClientTokens.Lua + """

        local prior = prior_token(KEYS[7], ARGV[7])
        if prior then return {2, prior} end
        if redis.call('EXISTS', KEYS[5]) == 0 then return {6, ''} end
        if redis.call('EXISTS', KEYS[6]) == 0 then return {4, ''} end
        redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', ARGV[4])
        if redis.call('ZSCORE', KEYS[4], ARGV[3]) then return {14, ''} end
        if redis.call('ZCARD', KEYS[4]) >= tonumber(ARGV[6]) then return {15, ''} end
        if redis.call('EXISTS', KEYS[1]) == 1 then return {3, ''} end
        redis.call('HSET', KEYS[1], 'd', ARGV[2], 'r', ARGV[10], 'a', ARGV[3], 's', 1, 'e', ARGV[5])
        redis.call('EXPIRE', KEYS[1], ARGV[9])
        redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
        redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
        redis.call('ZADD', KEYS[4], ARGV[5], ARGV[3])
        remember_token(KEYS[7], ARGV[7], ARGV[1], ARGV[8])
        return {1, ''}
        """;

    // KEYS: handshake, pending handshakes of its directory. ARGV: record as read, new record, new status, account, retention s.
    // Returns a DirectoryResult.
    private const string EndHandshakeScript = """
        if redis.call('HGET', KEYS[1], 'd') ~= ARGV[1] then return 16 end
        redis.call('HSET', KEYS[1], 'd', ARGV[2], 's', ARGV[3])
        redis.call('EXPIRE', KEYS[1], ARGV[5])
        redis.call('ZREM', KEYS[2], ARGV[4])
        return 1
        """;

    public async Task<(DirectoryResult Result, string Prior)> CreateDirectoryAsync(ResourceDirectory directory, Folder root, long ms, ClientToken token)
    {
        var account = directory.ManagementAccountId;
        var result = (RedisResult[])(await redis.ScriptEvaluateAsync(CreateDirectoryScript,
            [
                KmsKeys.ResourceDirectory(directory.DirectoryId), KmsKeys.ResourceDirectories, KmsKeys.Folder(root.FolderId),
                KmsKeys.Folders(directory.DirectoryId), KmsKeys.Membership(account), KmsKeys.FolderMembers(root.FolderId),
                KmsKeys.DirectoryMembers(directory.DirectoryId), KmsKeys.Account(account), KmsKeys.DirectoryClientToken("rd", token.Token),
            ],
            [
                directory.DirectoryId, root.FolderId, directory.ToByteArray(), root.ToByteArray(), root.Path, account, ms,
                token.Fingerprint, ClientTokens.LifetimeSeconds,
            ]))!;
        var status = ScriptResults.Map<DirectoryResult>((int)result[0]);
        if (status == DirectoryResult.Done)
        {
            await AnnounceAsync(account);
        }
        return (status, (string)result[1]!);
    }

    public async Task<DirectoryResult> DeleteDirectoryAsync(ResourceDirectory directory)
    {
        var result = ScriptResults.Map<DirectoryResult>((int)await redis.ScriptEvaluateAsync(DeleteDirectoryScript,
            [
                KmsKeys.ResourceDirectory(directory.DirectoryId), KmsKeys.ResourceDirectories, KmsKeys.Folder(directory.RootFolderId),
                KmsKeys.Folders(directory.DirectoryId), KmsKeys.SubFolders(directory.RootFolderId), KmsKeys.DirectoryMembers(directory.DirectoryId),
                KmsKeys.FolderMembers(directory.RootFolderId), KmsKeys.Membership(directory.ManagementAccountId),
                KmsKeys.PendingHandshakes(directory.DirectoryId),
            ],
            [directory.DirectoryId, directory.ManagementAccountId]));
        if (result == DirectoryResult.Done)
        {
            await AnnounceAsync(directory.ManagementAccountId);
        }
        return result;
    }

    /// <summary>A directory and how many members it has, or null.</summary>
    public async Task<ResourceDirectory?> GetDirectoryAsync(string directoryId)
    {
        var batch = redis.CreateBatch();
        var record = batch.HashGetAsync(KmsKeys.ResourceDirectory(directoryId), "d");
        var members = batch.SortedSetLengthAsync(KmsKeys.DirectoryMembers(directoryId));
        batch.Execute();
        if (await record is not { HasValue: true } value)
        {
            return null;
        }
        var directory = ResourceDirectory.Parser.ParseFrom((byte[])value!);
        directory.MemberCount = (int)await members;
        return directory;
    }

    /// <summary>A page of directory ids after <paramref name="after"/> (exclusive).</summary>
    public async Task<(IReadOnlyList<string> Page, string Next)> ListDirectoryIdsAsync(string after, int pageSize) =>
        await PageByValueAsync(KmsKeys.ResourceDirectories, after, pageSize);

    public async Task<(DirectoryResult Result, string Prior)> CreateFolderAsync(Folder folder, int mostFolders, ClientToken token)
    {
        var result = (RedisResult[])(await redis.ScriptEvaluateAsync(CreateFolderScript,
            [
                KmsKeys.ResourceDirectory(folder.DirectoryId), KmsKeys.Folder(folder.ParentFolderId), KmsKeys.Folder(folder.FolderId),
                KmsKeys.Folders(folder.DirectoryId), KmsKeys.SubFolders(folder.ParentFolderId),
                KmsKeys.DirectoryClientToken($"fd:{folder.DirectoryId}", token.Token),
            ],
            [
                folder.DirectoryId, folder.FolderId, folder.ToByteArray(), folder.FolderName, folder.Path, mostFolders, token.Fingerprint,
                ClientTokens.LifetimeSeconds, folder.ParentFolderId,
            ]))!;
        return (ScriptResults.Map<DirectoryResult>((int)result[0]), (string)result[1]!);
    }

    public async Task<DirectoryResult> DeleteFolderAsync(Folder folder) =>
        ScriptResults.Map<DirectoryResult>((int)await redis.ScriptEvaluateAsync(DeleteFolderScript,
            [
                KmsKeys.Folder(folder.FolderId), KmsKeys.Folders(folder.DirectoryId), KmsKeys.SubFolders(folder.ParentFolderId),
                KmsKeys.SubFolders(folder.FolderId), KmsKeys.FolderMembers(folder.FolderId),
            ],
            [folder.FolderId, folder.FolderName]));

    public async Task<Folder?> GetFolderAsync(string folderId) =>
        await redis.HashGetAsync(KmsKeys.Folder(folderId), "d") is { HasValue: true } value ? Folder.Parser.ParseFrom((byte[])value!) : null;

    /// <summary>A page of a folder's sub-folders by name, after the name <paramref name="after"/> (exclusive).</summary>
    public async Task<(IReadOnlyList<Folder> Page, string Next)> SubFoldersAsync(string folderId, string after, int pageSize)
    {
        // A directory holds at most MaxFolders folders, so one folder's sub-folders are read whole and sorted here.
        var children = (await redis.HashGetAllAsync(KmsKeys.SubFolders(folderId)))
            .Select(e => ((string)e.Name!, (string)e.Value!))
            .Where(e => string.CompareOrdinal(e.Item1, after) > 0)
            .OrderBy(e => e.Item1, StringComparer.Ordinal)
            .Take(pageSize + 1)
            .ToList();
        var page = children.Take(pageSize).ToList();
        var batch = redis.CreateBatch();
        var reads = page.Select(c => batch.HashGetAsync(KmsKeys.Folder(c.Item2), "d")).ToList();
        batch.Execute();
        var folders = new List<Folder>();
        foreach (var read in reads)
        {
            if (await read is { HasValue: true } value)
            {
                folders.Add(Folder.Parser.ParseFrom((byte[])value!));
            }
        }
        return (folders, children.Count > pageSize ? page[^1].Item1 : "");
    }

    /// <summary>Adds an account to a folder of a directory (an operator's AddAccount, a new account created in a directory).</summary>
    public Task<DirectoryResult> JoinAsync(string accountId, Folder folder, long ms) => JoinAsync(accountId, folder, ms, null, null);

    /// <summary>The invited account joins the directory's root folder and the handshake is accepted, in one step.</summary>
    public Task<DirectoryResult> AcceptAsync(StoredHandshake handshake, Handshake accepted, Folder root, long ms) =>
        JoinAsync(handshake.Handshake.TargetAccountId, root, ms, handshake, accepted);

    private async Task<DirectoryResult> JoinAsync(string accountId, Folder folder, long ms, StoredHandshake? handshake, Handshake? accepted)
    {
        List<RedisKey> keys =
        [
            KmsKeys.Membership(accountId), KmsKeys.FolderMembers(folder.FolderId), KmsKeys.DirectoryMembers(folder.DirectoryId),
            KmsKeys.ResourceDirectory(folder.DirectoryId), KmsKeys.Folder(folder.FolderId), KmsKeys.Account(accountId),
        ];
        List<RedisValue> args = [accountId, folder.DirectoryId, folder.FolderId, folder.Path, ms];
        if (handshake is not null && accepted is not null)
        {
            keys.AddRange([KmsKeys.Handshake(accepted.HandshakeId), KmsKeys.PendingHandshakes(accepted.DirectoryId)]);
            args.AddRange([handshake.Stored, accepted.ToByteArray(), (long)HandshakeRetention.TotalSeconds]);
        }
        var result = ScriptResults.Map<DirectoryResult>((int)await redis.ScriptEvaluateAsync(JoinScript, [.. keys], [.. args]));
        if (result == DirectoryResult.Done)
        {
            await AnnounceAsync(accountId);
        }
        return result;
    }

    /// <summary>Moves a member from the folder it was read in to another folder of its directory.</summary>
    public async Task<DirectoryResult> MoveAsync(MemberRecord member, Folder destination, long ms)
    {
        var result = ScriptResults.Map<DirectoryResult>((int)await redis.ScriptEvaluateAsync(MoveScript,
            [
                KmsKeys.Membership(member.AccountId), KmsKeys.FolderMembers(member.FolderId), KmsKeys.FolderMembers(destination.FolderId),
                KmsKeys.Folder(destination.FolderId),
            ],
            [member.AccountId, member.DirectoryId, member.FolderId, destination.FolderId, destination.Path, ms]));
        if (result == DirectoryResult.Done)
        {
            await AnnounceAsync(member.AccountId);
        }
        return result;
    }

    /// <summary>Removes a member (as read) from its directory.</summary>
    public async Task<DirectoryResult> LeaveAsync(MemberRecord member)
    {
        var result = ScriptResults.Map<DirectoryResult>((int)await redis.ScriptEvaluateAsync(LeaveScript,
            [
                KmsKeys.Membership(member.AccountId), KmsKeys.FolderMembers(member.FolderId), KmsKeys.DirectoryMembers(member.DirectoryId),
                KmsKeys.ResourceDirectory(member.DirectoryId),
            ],
            [member.AccountId, member.DirectoryId, member.FolderId]));
        if (result == DirectoryResult.Done)
        {
            await AnnounceAsync(member.AccountId);
        }
        return result;
    }

    public async Task<MemberRecord?> GetMemberAsync(string accountId) =>
        (await MembersAsync([accountId]))[0];

    /// <summary>The memberships of the accounts (null for one in no directory), in one round trip.</summary>
    public async Task<IReadOnlyList<MemberRecord?>> MembersAsync(IReadOnlyList<string> accountIds)
    {
        var batch = redis.CreateBatch();
        var reads = accountIds.Select(a => batch.HashGetAsync(KmsKeys.Membership(a), ["r", "f", "path", "t"])).ToList();
        batch.Execute();
        var members = new List<MemberRecord?>(accountIds.Count);
        for (var i = 0; i < accountIds.Count; i++)
        {
            var fields = await reads[i];
            members.Add(fields[0].HasValue
                ? new MemberRecord(accountIds[i], (string)fields[0]!, (string)fields[1]!, (string)fields[2]!, (long)fields[3])
                : null);
        }
        return members;
    }

    /// <summary>A page of member account ids of a directory, or of one folder, after <paramref name="after"/> (exclusive).</summary>
    public Task<(IReadOnlyList<string> Page, string Next)> MemberIdsAsync(string? directoryId, string? folderId, string after, int pageSize) =>
        PageByValueAsync(folderId is not null ? KmsKeys.FolderMembers(folderId) : KmsKeys.DirectoryMembers(directoryId!), after, pageSize);

    public async Task<(DirectoryResult Result, string Prior)> InviteAsync(Handshake handshake, int mostPending, ClientToken token)
    {
        var expires = handshake.ExpireTime.ToDateTimeOffset();
        var result = (RedisResult[])(await redis.ScriptEvaluateAsync(InviteScript,
            [
                KmsKeys.Handshake(handshake.HandshakeId), KmsKeys.HandshakesTo(handshake.TargetAccountId), KmsKeys.HandshakesOf(handshake.DirectoryId),
                KmsKeys.PendingHandshakes(handshake.DirectoryId), KmsKeys.ResourceDirectory(handshake.DirectoryId), KmsKeys.Account(handshake.TargetAccountId),
                KmsKeys.DirectoryClientToken($"hs:{handshake.DirectoryId}", token.Token),
            ],
            [
                handshake.HandshakeId, handshake.ToByteArray(), handshake.TargetAccountId, handshake.CreateTime.ToDateTimeOffset().ToUnixTimeMilliseconds(),
                expires.ToUnixTimeMilliseconds(), mostPending, token.Fingerprint, ClientTokens.LifetimeSeconds,
                (long)(expires - handshake.CreateTime.ToDateTimeOffset() + HandshakeRetention).TotalSeconds, handshake.DirectoryId,
            ]))!;
        return (ScriptResults.Map<DirectoryResult>((int)result[0]), (string)result[1]!);
    }

    /// <summary>Declines or cancels a handshake unchanged since it was read.</summary>
    public async Task<DirectoryResult> EndHandshakeAsync(StoredHandshake handshake, Handshake ended) =>
        ScriptResults.Map<DirectoryResult>((int)await redis.ScriptEvaluateAsync(EndHandshakeScript,
            [KmsKeys.Handshake(ended.HandshakeId), KmsKeys.PendingHandshakes(ended.DirectoryId)],
            [handshake.Stored, ended.ToByteArray(), (int)ended.Status, ended.TargetAccountId, (long)HandshakeRetention.TotalSeconds]));

    public async Task<StoredHandshake?> GetHandshakeAsync(string handshakeId) =>
        await redis.HashGetAsync(KmsKeys.Handshake(handshakeId), "d") is { HasValue: true } value
            ? new StoredHandshake(Handshake.Parser.ParseFrom((byte[])value!), (byte[])value!)
            : null;

    /// <summary>
    /// A page of handshakes, newest first, sent to an account or by a directory, before the position
    /// "ms:id" (exclusive); ids whose record has gone (past its retention) are dropped from the index.
    /// </summary>
    public async Task<(IReadOnlyList<Handshake> Page, string Next)> HandshakesAsync(string? accountId, string? directoryId, string position, int pageSize)
    {
        var index = accountId is not null ? KmsKeys.HandshakesTo(accountId) : KmsKeys.HandshakesOf(directoryId!);
        var (max, lastId) = position.Length == 0
            ? (double.PositiveInfinity, "")
            : (double.Parse(position[..position.IndexOf(':')], System.Globalization.CultureInfo.InvariantCulture), position[(position.IndexOf(':') + 1)..]);
        var page = new List<Handshake>();
        for (var offset = 0; ; offset += 100)
        {
            var entries = await redis.SortedSetRangeByScoreWithScoresAsync(index, double.NegativeInfinity, max, Exclude.None, Order.Descending, offset, 100);
            if (entries.Length == 0)
            {
                return (page, "");
            }
            // Ties come in descending id order: skip those the previous page returned.
            var fresh = entries.Where(e => e.Score < max || lastId.Length == 0 || string.CompareOrdinal(e.Element, lastId) < 0).ToList();
            var batch = redis.CreateBatch();
            var reads = fresh.Select(e => batch.HashGetAsync(KmsKeys.Handshake((string)e.Element!), "d")).ToList();
            batch.Execute();
            for (var i = 0; i < fresh.Count; i++)
            {
                if (await reads[i] is not { HasValue: true } value)
                {
                    await redis.SortedSetRemoveAsync(index, fresh[i].Element);
                    continue;
                }
                page.Add(Handshake.Parser.ParseFrom((byte[])value!));
                if (page.Count == pageSize)
                {
                    return (page, string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{fresh[i].Score:R}:{fresh[i].Element}"));
                }
            }
        }
    }

    /// <summary>The value stored under a client token of the scope ("fingerprint|id"), or null.</summary>
    public Task<string?> FindClientTokenAsync(string scope, ClientToken token) =>
        ClientTokens.FindAsync(redis, token, KmsKeys.DirectoryClientToken(scope, token.Token));

    /// <summary>Tells every service that the account's membership changed (access checks that followed it are dropped).</summary>
    private Task<long> AnnounceAsync(string accountId) => Channels.AnnounceAsync(redis, Channels.MembershipChanged, accountId);

    private async Task<(IReadOnlyList<string> Page, string Next)> PageByValueAsync(string key, string after, int pageSize)
    {
        var ids = await redis.SortedSetRangeByValueAsync(key,
            after.Length == 0 ? default : (RedisValue)after, default, after.Length == 0 ? Exclude.None : Exclude.Start,
            Order.Ascending, 0, pageSize + 1);
        var page = ids.Take(pageSize).Select(i => (string)i!).ToList();
        return (page, ids.Length > pageSize ? page[^1] : "");
    }
}
