using GrpcImages.ServiceDefaults.Identity;
using GrpcImages.ServiceDefaults.Validation;

namespace GrpcImages.Kms.Storage;

/// <summary>
/// The kms service's Redis keys, every one of them. Accounts, RAM users and resource directories sit
/// under the {dir} tag (the directory is small, and a create with its index and client token, or a
/// change of membership with the account's record, is one script); KMS state sits under each
/// account's slot tag {t}. Membership changes are announced on <see cref="ServiceDefaults.Redis.Channels.MembershipChanged"/>.
/// <code>
/// - gi:kms:{dir}:acct:&lt;account&gt;                 string  Account (protobuf)
/// - gi:kms:{dir}:accts                          zset    account ids (score 0, lexical order)
/// - gi:kms:{dir}:ram:&lt;account&gt;:&lt;user&gt;           string  RamUser (protobuf)
/// - gi:kms:{dir}:rams:&lt;account&gt;                 zset    user names of the account (score 0)
/// - gi:kms:{dir}:ct:&lt;scope&gt;:&lt;client token&gt;     string  "fingerprint|id" for 24 h (R35); scopes acct, ram:&lt;account&gt;, rd, fd:&lt;directory&gt;, hs:&lt;directory&gt;
/// - gi:kms:{dir}:credfail:&lt;unix second&gt;      string  wrong operator credentials offered in that second (5 s)
/// - gi:kms:{dir}:ak:&lt;access key id&gt;            hash    d=AccessKey, s=secret sealed by the root key
/// - gi:kms:{dir}:aks:&lt;account&gt;:&lt;user&gt;         zset    a principal's access key ids by creation ms (user "" = root)
/// - gi:kms:{dir}:rd:&lt;directory&gt;               hash    d=ResourceDirectory, m=management account, r=root folder (R37)
/// - gi:kms:{dir}:rds                          zset    directory ids (score 0, lexical order)
/// - gi:kms:{dir}:fd:&lt;folder&gt;                  hash    d=Folder, r=directory, p=parent ('' for the root), n=name, path=Folder.path
/// - gi:kms:{dir}:fds:&lt;directory&gt;              zset    the directory's folder ids, the root's included (score 0)
/// - gi:kms:{dir}:kids:&lt;folder&gt;                hash    sub-folder name -> folder id
/// - gi:kms:{dir}:mem:&lt;account&gt;                hash    r=directory, f=folder, path=the folder's path, t=ms joined or moved (one per account)
/// - gi:kms:{dir}:fmem:&lt;folder&gt;                zset    accounts directly in the folder (score 0)
/// - gi:kms:{dir}:rdmem:&lt;directory&gt;            zset    every member of the directory (score 0)
/// - gi:kms:{dir}:hs:&lt;handshake&gt;               hash    d=Handshake, r=directory, a=invited account, s=HandshakeStatus, e=ms it expires; kept 30 days after it ends
/// - gi:kms:{dir}:hsto:&lt;account&gt;               zset    handshakes sent to the account -> ms sent
/// - gi:kms:{dir}:hsof:&lt;directory&gt;             zset    handshakes the directory sent -> ms sent
/// - gi:kms:{dir}:hspend:&lt;directory&gt;           zset    accounts with a pending handshake of the directory -> ms it expires
/// - gi:kms:{si:&lt;access key id&gt;}:nonce:&lt;nonce&gt;  string  a sign-in nonce used (30 min)
/// - gi:kms:{si:&lt;access key id&gt;}:fail:&lt;minute&gt;  string  failed sign-ins with the pair in that minute (2 min)
/// - gi:kms:{t}:enabled:&lt;account&gt;               set     regions where KMS is enabled
/// - gi:kms:{t}:key:&lt;account&gt;:&lt;key&gt;            hash    d=Key, m=material sealed by the root key, v=version
/// - gi:kms:{t}:keys:&lt;account&gt;:&lt;region&gt;        zset    key ids by creation time
/// - gi:kms:{t}:default:&lt;account&gt;:&lt;region&gt;     string  the default service key's id (alias/acs/ecs)
/// - gi:kms:{t}:roles:&lt;account&gt;                 hash    service role name -> ms created
/// - gi:kms:{t}:ct:&lt;account&gt;:key:&lt;token&gt;       string  "fingerprint|key id" for 24 h (R35)
/// - gi:kms:{q:key-deletions}:*                queue   "account|key" (KeyDeletionItem), due when the key's pending deletion ends (WorkQueue)
/// </code>
/// </summary>
public static class KmsKeys
{
    public const string Root = "gi:kms:";
    private const string Directory = Root + "{dir}:";

    public const string Accounts = Directory + "accts";

    public static string SignInNonce(string accessKeyId, string nonce) => $"{Root}{{si:{accessKeyId}}}:nonce:{nonce}";

    public static string SignInFailures(string accessKeyId, long minute) => $"{Root}{{si:{accessKeyId}}}:fail:{minute.ToString(System.Globalization.CultureInfo.InvariantCulture)}";

    public static string Account(string accountId) => $"{Directory}acct:{accountId}";

    /// <summary>Every service reads it to check RAM users' tokens, so its layout lives with that check.</summary>
    public static string RamUser(string accountId, string userName) => RamUserVersions.Key(accountId, userName);

    public static string RamUsers(string accountId) => $"{Directory}rams:{accountId}";

    public static string CredentialFailures(long unixSecond) => $"{Directory}credfail:{unixSecond}";

    public const string AccessKeyPrefix = Directory + "ak:";

    public static string AccessKey(string accessKeyId) => AccessKeyPrefix + accessKeyId;

    public static string AccessKeys(string accountId, string userName) => $"{Directory}aks:{accountId}:{userName}";

    public static string DirectoryClientToken(string scope, string token) => $"{Directory}ct:{scope}:{token}";

    public const string ResourceDirectories = Directory + "rds";

    public static string ResourceDirectory(string directoryId) => $"{Directory}rd:{directoryId}";

    public static string Folder(string folderId) => $"{Directory}fd:{folderId}";

    public static string Folders(string directoryId) => $"{Directory}fds:{directoryId}";

    public static string SubFolders(string folderId) => $"{Directory}kids:{folderId}";

    public static string Membership(string accountId) => $"{Directory}mem:{accountId}";

    public static string FolderMembers(string folderId) => $"{Directory}fmem:{folderId}";

    public static string DirectoryMembers(string directoryId) => $"{Directory}rdmem:{directoryId}";

    public static string Handshake(string handshakeId) => $"{Directory}hs:{handshakeId}";

    public static string HandshakesTo(string accountId) => $"{Directory}hsto:{accountId}";

    public static string HandshakesOf(string directoryId) => $"{Directory}hsof:{directoryId}";

    public static string PendingHandshakes(string directoryId) => $"{Directory}hspend:{directoryId}";

    private static string Prefix(string account) => $"{Root}{{{ResourceIds.OwnerTag(account)}}}:";

    public static string Enabled(string account) => $"{Prefix(account)}enabled:{account}";

    public static string Key(string account, string keyId) => $"{Prefix(account)}key:{account}:{keyId}";

    public static string Keys(string account, string region) => $"{Prefix(account)}keys:{account}:{region}";

    public static string DefaultKey(string account, string region) => $"{Prefix(account)}default:{account}:{region}";

    public static string Roles(string account) => $"{Prefix(account)}roles:{account}";

    public static string KeyClientToken(string account, string token) => $"{Prefix(account)}ct:{account}:key:{token}";
}
