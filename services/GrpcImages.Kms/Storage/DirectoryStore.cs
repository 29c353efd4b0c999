using Google.Protobuf;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.ServiceDefaults.Identity;
using GrpcImages.ServiceDefaults.Redis;
using GrpcImages.ServiceDefaults.Storage;
using StackExchange.Redis;

namespace GrpcImages.Kms.Storage;

/// <summary>Accounts and RAM users in Redis (key layout: <see cref="KmsKeys"/>).</summary>
public sealed class DirectoryStore(IDatabase redis)
{
    // Named parameters: the record, index and client-token keys; the record bytes, index member,
    // fingerprint ('' = no token) and token ttl. Returns {CreateStatus, the token's stored value}.
    private static readonly LuaScript CreateScript = LuaScript.Prepare(ClientTokens.Lua + """

        local prior = prior_token(@tokenKey, @fingerprint)
        if prior then return {2, prior} end
        if redis.call('EXISTS', @recordKey) == 1 then return {3, ''} end
        redis.call('SET', @recordKey, @record)
        redis.call('ZADD', @indexKey, 0, @member)
        remember_token(@tokenKey, @fingerprint, @member, @ttl)
        return {1, ''}
        """);

    // KEYS: the account, the index, the client token, its membership, the folder's members, the directory's members, the
    // directory, the folder. ARGV: record, id, fingerprint, token ttl, directory id, folder id, path, ms. The account is
    // made a member of the folder in the same step (R37). Returns {CreateStatus, the token's stored value}, or {4, ''}
    // when the directory or its folder is gone.
    private const string CreateMemberAccountScript = ClientTokens.Lua + """

        local prior = prior_token(KEYS[3], ARGV[3])
        if prior then return {2, prior} end
        if redis.call('EXISTS', KEYS[1]) == 1 then return {3, ''} end
        if redis.call('EXISTS', KEYS[7]) == 0 or redis.call('HGET', KEYS[8], 'r') ~= ARGV[5] then return {4, ''} end
        redis.call('SET', KEYS[1], ARGV[1])
        redis.call('ZADD', KEYS[2], 0, ARGV[2])
        redis.call('HSET', KEYS[4], 'r', ARGV[5], 'f', ARGV[6], 'path', ARGV[7], 't', ARGV[8])
        redis.call('ZADD', KEYS[5], 0, ARGV[2])
        redis.call('ZADD', KEYS[6], 0, ARGV[2])
        remember_token(KEYS[3], ARGV[3], ARGV[2], ARGV[4])
        return {1, ''}
        """;

    /// <summary>
    /// Creates an account; with <paramref name="folder"/>, as a member of that folder of its directory in the same step
    /// (R37). Null status when the directory went away meanwhile.
    /// </summary>
    public async Task<(CreateStatus? Status, string Prior)> CreateAccountAsync(Account account, ClientToken token, Folder? folder = null)
    {
        if (folder is null)
        {
            return await CreateAsync(KmsKeys.Account(account.AccountId), KmsKeys.Accounts, KmsKeys.DirectoryClientToken("acct", token.Token), account, account.AccountId, token);
        }
        var result = (RedisResult[])(await redis.ScriptEvaluateAsync(CreateMemberAccountScript,
            [
                KmsKeys.Account(account.AccountId), KmsKeys.Accounts, KmsKeys.DirectoryClientToken("acct", token.Token), KmsKeys.Membership(account.AccountId),
                KmsKeys.FolderMembers(folder.FolderId), KmsKeys.DirectoryMembers(folder.DirectoryId), KmsKeys.ResourceDirectory(folder.DirectoryId),
                KmsKeys.Folder(folder.FolderId),
            ],
            [
                account.ToByteArray(), account.AccountId, token.Fingerprint, ClientTokens.LifetimeSeconds, folder.DirectoryId, folder.FolderId, folder.Path,
                account.CreateTime.ToDateTimeOffset().ToUnixTimeMilliseconds(),
            ]))!;
        var code = (int)result[0];
        return (code == 4 ? null : ScriptResults.Map<CreateStatus>(code), (string)result[1]!);
    }

    public Task<(CreateStatus Status, string Prior)> CreateRamUserAsync(RamUser user, ClientToken token) =>
        CreateAsync(KmsKeys.RamUser(user.AccountId, user.UserName), KmsKeys.RamUsers(user.AccountId),
            KmsKeys.DirectoryClientToken($"ram:{user.AccountId}", token.Token), user, user.UserName, token);

    public async Task<Account?> GetAccountAsync(string accountId) =>
        await redis.StringGetAsync(KmsKeys.Account(accountId)) is { HasValue: true } value ? Account.Parser.ParseFrom((byte[])value!) : null;

    /// <summary>The accounts (null for one that does not exist), in the order asked, in one round trip.</summary>
    public async Task<IReadOnlyList<Account?>> GetAccountsAsync(IReadOnlyList<string> accountIds)
    {
        if (accountIds.Count == 0)
        {
            return [];
        }
        var values = await redis.StringGetAsync(accountIds.Select(id => (RedisKey)KmsKeys.Account(id)).ToArray());
        return values.Select(v => v.HasValue ? Account.Parser.ParseFrom((byte[])v!) : null).ToList();
    }

    public async Task<RamUser?> GetRamUserAsync(string accountId, string userName) =>
        await redis.StringGetAsync(KmsKeys.RamUser(accountId, userName)) is { HasValue: true } value ? RamUser.Parser.ParseFrom((byte[])value!) : null;

    public async Task<bool> ReplaceRamUserAsync(RamUser user)
    {
        var replaced = await redis.StringSetAsync(KmsKeys.RamUser(user.AccountId, user.UserName), user.ToByteArray(), when: When.Exists);
        await AnnounceAsync(user.AccountId, user.UserName);
        return replaced;
    }

    // KEYS: the user, the account's user index, the user's AccessKey index. ARGV: user name, AccessKey record prefix.
    // The user's AccessKeys go with it: a user made again under the name must not find them working.
    private const string DeleteRamUserScript = """
        for _, id in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do redis.call('DEL', ARGV[2] .. id) end
        redis.call('DEL', KEYS[3])
        redis.call('ZREM', KEYS[2], ARGV[1])
        return redis.call('DEL', KEYS[1])
        """;

    public async Task<bool> DeleteRamUserAsync(string accountId, string userName)
    {
        var deleted = (int)await redis.ScriptEvaluateAsync(DeleteRamUserScript,
            [KmsKeys.RamUser(accountId, userName), KmsKeys.RamUsers(accountId), KmsKeys.AccessKeys(accountId, userName)],
            [userName, KmsKeys.AccessKeyPrefix]) == 1;
        await AnnounceAsync(accountId, userName);
        return deleted;
    }

    /// <summary>Wrong operator credentials counted in the given second (cluster-wide).</summary>
    public async Task<long> CredentialFailuresAsync(long second) =>
        (long?)await redis.StringGetAsync(KmsKeys.CredentialFailures(second)) ?? 0;

    public async Task<long> CountCredentialFailureAsync(long second)
    {
        var key = KmsKeys.CredentialFailures(second);
        var tx = redis.CreateTransaction();
        var count = tx.StringIncrementAsync(key);
        _ = tx.KeyExpireAsync(key, TimeSpan.FromSeconds(5));
        await tx.ExecuteAsync();
        return await count;
    }

    /// <summary>Tells every service to re-read the user before trusting its tokens again (a lost message costs at most RamUserVersions.MaxAge).</summary>
    private Task<long> AnnounceAsync(string accountId, string userName) =>
        Channels.AnnounceAsync(redis, RamUserVersions.Changes, $"{accountId}:{userName}");

    /// <summary>A page of accounts after <paramref name="after"/> (exclusive), by id.</summary>
    public async Task<(IReadOnlyList<Account> Page, string Next)> ListAccountsAsync(string after, int pageSize)
    {
        var ids = await redis.SortedSetRangeByValueAsync(KmsKeys.Accounts,
            after.Length == 0 ? default : (RedisValue)after, default, after.Length == 0 ? Exclude.None : Exclude.Start,
            Order.Ascending, 0, pageSize + 1);
        var page = ids.Take(pageSize).ToArray();
        var values = page.Length == 0 ? [] : await redis.StringGetAsync(page.Select(id => (RedisKey)KmsKeys.Account(id!)).ToArray());
        var accounts = values.Where(v => v.HasValue).Select(v => Account.Parser.ParseFrom((byte[])v!)).ToList();
        return (accounts, ids.Length > pageSize ? (string)page[^1]! : "");
    }

    /// <summary>The value stored under a client token of the scope ("fingerprint|id"), or null.</summary>
    public Task<string?> FindClientTokenAsync(string scope, ClientToken token) =>
        ClientTokens.FindAsync(redis, token, KmsKeys.DirectoryClientToken(scope, token.Token));

    private async Task<(CreateStatus, string)> CreateAsync(string recordKey, string indexKey, string tokenKey, IMessage record, string member, ClientToken token)
    {
        var result = (RedisResult[])(await redis.ScriptEvaluateAsync(CreateScript, new
        {
            recordKey = (RedisKey)recordKey,
            indexKey = (RedisKey)indexKey,
            tokenKey = (RedisKey)tokenKey,
            record = record.ToByteArray(),
            member,
            fingerprint = token.Fingerprint,
            ttl = ClientTokens.LifetimeSeconds,
        }))!;
        return (ScriptResults.Map<CreateStatus>((int)result[0]), (string)result[1]!);
    }
}
