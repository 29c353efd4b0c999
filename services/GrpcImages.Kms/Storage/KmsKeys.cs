using GrpcImages.ServiceDefaults.Identity;
using GrpcImages.ServiceDefaults.Validation;

namespace GrpcImages.Kms.Storage;

/// <summary>
/// The kms service's Redis keys, every one of them. Accounts and RAM users sit under the {dir} tag
/// (the directory is small, and a create with its index and client token is one script); KMS state
/// sits under each account's slot tag {t}.
/// <code>
/// - gi:kms:{dir}:acct:&lt;account&gt;                 string  Account (protobuf)
/// - gi:kms:{dir}:accts                          zset    account ids (score 0, lexical order)
/// - gi:kms:{dir}:ram:&lt;account&gt;:&lt;user&gt;           string  RamUser (protobuf)
/// - gi:kms:{dir}:rams:&lt;account&gt;                 zset    user names of the account (score 0)
/// - gi:kms:{dir}:ct:&lt;scope&gt;:&lt;client token&gt;     string  "fingerprint|id" for 24 h (R35); scopes acct, ram:&lt;account&gt;
/// - gi:kms:{dir}:credfail:&lt;unix second&gt;      string  wrong operator credentials offered in that second (5 s)
/// - gi:kms:{dir}:ak:&lt;access key id&gt;            hash    d=AccessKey, s=secret sealed by the root key
/// - gi:kms:{dir}:aks:&lt;account&gt;:&lt;user&gt;         zset    a principal's access key ids by creation ms (user "" = root)
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

    private static string Prefix(string account) => $"{Root}{{{ResourceIds.OwnerTag(account)}}}:";

    public static string Enabled(string account) => $"{Prefix(account)}enabled:{account}";

    public static string Key(string account, string keyId) => $"{Prefix(account)}key:{account}:{keyId}";

    public static string Keys(string account, string region) => $"{Prefix(account)}keys:{account}:{region}";

    public static string DefaultKey(string account, string region) => $"{Prefix(account)}default:{account}:{region}";

    public static string Roles(string account) => $"{Prefix(account)}roles:{account}";

    public static string KeyClientToken(string account, string token) => $"{Prefix(account)}ct:{account}:key:{token}";
}
