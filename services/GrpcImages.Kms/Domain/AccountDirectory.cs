using System.Security.Cryptography;
using System.Text;
using Google.Protobuf.WellKnownTypes;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.Kms.Storage;
using GrpcImages.ServiceDefaults.Errors;
using GrpcImages.ServiceDefaults.Identity;
using GrpcImages.ServiceDefaults.Storage;
using GrpcImages.ServiceDefaults.Validation;
using Microsoft.Extensions.Options;

namespace GrpcImages.Kms.Domain;

/// <summary>
/// Accounts, RAM users and tokens (R36). Another account's account or users are
/// InvalidAccount.NotFound / EntityNotExist.User to a caller, never PermissionDenied.
/// </summary>
public sealed partial class AccountDirectory(DirectoryStore store, ResourceDirectoryStore directories, AccessKeyStore accessKeys, TokenService tokens,
    IOptions<OperatorOptions> operatorOptions, TimeProvider time, ILogger<AccountDirectory> logger)
{
    /// <summary>
    /// Wrong operator credentials the whole cluster accepts per second before it refuses every try for
    /// the rest of that second: guessing is held to a few tries a second, not thousands.
    /// </summary>
    public const int MaxCredentialFailuresPerSecond = 5;

    public static readonly TimeSpan DefaultTokenLifetime = TimeSpan.FromHours(12);
    public static readonly TimeSpan MaxTokenLifetime = TimeSpan.FromDays(7);

    /// <summary>Bounds a user's record (and every token issued for it, which carries the list).</summary>
    public const int MaxAllowedActions = 64;

    private const int MaxActionLength = 64;

    private readonly OperatorOptions _operator = operatorOptions.Value;

    public async Task<Account> CreateAccountAsync(Caller caller, CreateAccountRequest request)
    {
        caller.RequireOperator();
        if (request.AccountId.Length > 0)
        {
            Check.AccountId(request.AccountId, "account_id");
        }
        Check.Site(request.Site, "site");
        if (request.DisplayName.Trim().Length is < 1 or > 64)
        {
            throw Fault.InvalidArgument("InvalidDisplayName.Malformed", "display_name", "The display name is 1-64 characters.");
        }
        if (request.OrganizationId.Length > 0 && !OrganizationIds.IsDirectoryId(request.OrganizationId))
        {
            throw Fault.InvalidArgument("InvalidOrganizationId.Malformed", "organization_id",
                "An organization id is \"rd-\" followed by 6-32 lowercase letters or digits.");
        }
        var token = ClientToken.Of(request, request.ClientToken);
        if (token.Resolve(await store.FindClientTokenAsync("acct", token)) is { } prior)
        {
            return await RequireAccountAsync(prior);
        }

        // R37: an account created in a directory joins its root folder in the same step; its organization_id is read
        // from its membership ever after.
        Folder? root = null;
        if (request.OrganizationId.Length > 0)
        {
            var directory = await directories.GetDirectoryAsync(request.OrganizationId) ?? throw DirectoryErrors.DirectoryNotFound(request.OrganizationId);
            root = await directories.GetFolderAsync(directory.RootFolderId) ?? throw DirectoryErrors.DirectoryNotFound(request.OrganizationId);
        }
        var account = new Account
        {
            AccountId = request.AccountId.Length > 0 ? request.AccountId : NewAccountId(),
            Site = request.Site,
            DisplayName = request.DisplayName.Trim(),
            CreateTime = Timestamp.FromDateTimeOffset(time.GetUtcNow()),
        };
        var (status, stored) = await store.CreateAccountAsync(account, token, root);
        if (status == CreateStatus.Created && root is not null)
        {
            account.OrganizationId = root.DirectoryId;
        }
        return status switch
        {
            null => throw DirectoryErrors.DirectoryNotFound(request.OrganizationId),
            CreateStatus.Created => account,
            CreateStatus.AlreadyExists => throw Fault.AlreadyExists("InvalidAccount.AlreadyExists", $"The account {account.AccountId} already exists."),
            _ => await RequireAccountAsync(ClientTokens.ResolveStored(stored, token.Fingerprint)),
        };
    }

    public async Task<Account> GetAccountAsync(Caller caller, string accountId)
    {
        if (!Check.IsAccountId(accountId) || !caller.MayActFor(accountId))
        {
            throw AccountNotFound(accountId);
        }
        return await RequireAccountAsync(accountId);
    }

    public async Task<(IReadOnlyList<Account> Accounts, string NextPageToken)> ListAccountsAsync(Caller caller, int pageSize, string pageToken)
    {
        if (!caller.IsOperator && !caller.IsClusterService)
        {
            caller.RequireOperator();
        }
        var size = Check.PageSize(pageSize);
        var (page, next) = await store.ListAccountsAsync(PageToken.Decode(pageToken), size);
        return (page, PageToken.Encode(next));
    }

    public async Task<RamUser> CreateRamUserAsync(Caller caller, CreateRamUserRequest request)
    {
        var account = await GetAccountAsync(caller, request.AccountId);
        var userName = RamUserName(request.UserName);
        var actions = Actions(request.AllowedActions);
        var token = ClientToken.Of(request, request.ClientToken);
        if (token.Resolve(await store.FindClientTokenAsync($"ram:{account.AccountId}", token)) is { } prior)
        {
            return await RequireRamUserAsync(account.AccountId, prior);
        }

        var user = new RamUser
        {
            AccountId = account.AccountId,
            UserName = userName,
            CreateTime = Timestamp.FromDateTimeOffset(time.GetUtcNow()),
            Version = NewVersion(),
        };
        user.AllowedActions.AddRange(actions);
        var (status, stored) = await store.CreateRamUserAsync(user, token);
        return status switch
        {
            CreateStatus.Created => user,
            CreateStatus.AlreadyExists => throw Fault.AlreadyExists("InvalidRamUser.AlreadyExists", $"The account already has a user named {userName}."),
            _ => await RequireRamUserAsync(account.AccountId, ClientTokens.ResolveStored(stored, token.Fingerprint)),
        };
    }

    public async Task<RamUser> GetRamUserAsync(Caller caller, string accountId, string userName)
    {
        var account = await GetAccountAsync(caller, accountId);
        return await RequireRamUserAsync(account.AccountId, userName);
    }

    public async Task<RamUser> UpdateRamUserAsync(Caller caller, UpdateRamUserRequest request)
    {
        var user = await GetRamUserAsync(caller, request.AccountId, request.UserName);
        var actions = Actions(request.AllowedActions);
        user.AllowedActions.Clear();
        user.AllowedActions.AddRange(actions);
        user.Version = NewVersion(); // tokens issued for the wider set stop working
        if (!await store.ReplaceRamUserAsync(user))
        {
            throw RamUserNotFound(request.UserName);
        }
        return user;
    }

    public async Task<bool> DeleteRamUserAsync(Caller caller, string accountId, string userName)
    {
        var account = await GetAccountAsync(caller, accountId);
        return await store.DeleteRamUserAsync(account.AccountId, userName);
    }

    /// <summary>
    /// Issues a token. An operator may issue for anyone; an account's root for itself and its
    /// RAM users; a RAM user for itself; a caller without a token only for the operator, with
    /// the operator's bootstrap credential.
    /// </summary>
    public async Task<IssueTokenResponse> IssueTokenAsync(Caller? caller, IssueTokenRequest request)
    {
        var lifetime = TokenLifetime(request.Ttl);
        if (caller is null)
        {
            if (request.OperatorCredential.Length == 0)
            {
                throw Fault.Unauthenticated("MissingSecurityToken", "Call with a token, or with the operator's credential.");
            }
            var second = time.GetUtcNow().ToUnixTimeSeconds();
            if (await store.CredentialFailuresAsync(second) >= MaxCredentialFailuresPerSecond)
            {
                throw Fault.ResourceExhausted("Throttling.Credential", "Too many wrong operator credentials; retry in a second.");
            }
            if (!CredentialMatches(request.OperatorCredential))
            {
                LogWrongCredential(await store.CountCredentialFailureAsync(second));
                throw Fault.Unauthenticated("InvalidCredential", "The operator credential is not valid.");
            }
            caller = Caller.Operator(_operator.Name);
        }

        Caller subject = request.SubjectCase switch
        {
            IssueTokenRequest.SubjectOneofCase.OperatorName => OperatorSubject(caller, request.OperatorName),
            IssueTokenRequest.SubjectOneofCase.AccountId => await AccountRootSubjectAsync(caller, request.AccountId),
            IssueTokenRequest.SubjectOneofCase.RamUser => await RamUserSubjectAsync(caller, request.RamUser),
            _ => throw Fault.InvalidArgument("InvalidParameter.Subject", "subject",
                "Name the token's principal: operator_name, account_id or ram_user."),
        };
        if (caller.AccessKeyId.Length > 0 && SamePrincipal(caller, subject))
        {
            // A session signed in with an AccessKey pair is renewed only while the pair is the principal's and active.
            if (await accessKeys.FindAsync(caller.AccessKeyId) is not { Key.Status: AccessKeyStatus.Active } pair
                || pair.Key.AccountId != caller.AccountId || pair.Key.UserName != (caller.Kind == PrincipalKind.RamUser ? caller.Name : ""))
            {
                throw Fault.Unauthenticated("InvalidSecurityToken.Revoked", "The AccessKey pair this session signed in with is disabled or deleted.");
            }
            subject = subject with { AccessKeyId = caller.AccessKeyId };
            lifetime = lifetime < AccessKeys.MaxSignInLifetime ? lifetime : AccessKeys.MaxSignInLifetime;
        }
        var token = tokens.Issue(subject, lifetime, out var expires);
        return new IssueTokenResponse
        {
            Token = token,
            ExpireTime = Timestamp.FromDateTimeOffset(expires),
            Principal = ToPrincipal(subject),
        };
    }

    private static bool SamePrincipal(Caller a, Caller b) => a.Kind == b.Kind && a.AccountId == b.AccountId && a.Name == b.Name;

    public static Principal ToPrincipal(Caller caller)
    {
        var principal = new Principal { Kind = caller.Kind, AccountId = caller.AccountId, Name = caller.Name, Site = caller.Site };
        principal.AllowedActions.AddRange(caller.AllowedActions);
        return principal;
    }

    private Caller OperatorSubject(Caller caller, string name)
    {
        caller.RequireOperator();
        if (name != _operator.Name)
        {
            throw Fault.NotFound("InvalidOperator.NotFound", $"There is no operator named '{name}'.");
        }
        return Caller.Operator(name);
    }

    private async Task<Caller> AccountRootSubjectAsync(Caller caller, string accountId)
    {
        if (caller.Kind == PrincipalKind.RamUser && caller.AccountId == accountId)
        {
            throw Fault.PermissionDenied("Forbidden.RAM", "A RAM user cannot obtain its account's root token.");
        }
        var account = await GetAccountAsync(caller, accountId);
        return Caller.Root(account.AccountId, account.Site);
    }

    private async Task<Caller> RamUserSubjectAsync(Caller caller, RamUserSubject subject)
    {
        if (caller.Kind == PrincipalKind.RamUser && (caller.AccountId != subject.AccountId || caller.Name != subject.UserName))
        {
            if (caller.AccountId != subject.AccountId)
            {
                throw AccountNotFound(subject.AccountId);
            }
            throw Fault.PermissionDenied("Forbidden.RAM", "A RAM user can only renew its own token.");
        }
        var account = await GetAccountAsync(caller, subject.AccountId);
        var user = await RequireRamUserAsync(account.AccountId, subject.UserName);
        return Caller.RamUser(account.AccountId, user.UserName, account.Site, user.AllowedActions.ToArray(), user.Version);
    }

    private bool CredentialMatches(string offered)
    {
        var expected = _operator.LoadCredential();
        return expected is not null &&
               CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(offered)), SHA256.HashData(Encoding.UTF8.GetBytes(expected)));
    }

    /// <summary>The account with the resource directory it belongs to now (R37).</summary>
    private async Task<Account> RequireAccountAsync(string accountId)
    {
        var (record, membership) = (store.GetAccountAsync(accountId), directories.GetMemberAsync(accountId));
        var (account, member) = (await record, await membership);
        if (account is null)
        {
            throw AccountNotFound(accountId);
        }
        account.OrganizationId = member?.DirectoryId ?? "";
        return account;
    }

    private async Task<RamUser> RequireRamUserAsync(string accountId, string userName) =>
        await store.GetRamUserAsync(accountId, userName) ?? throw RamUserNotFound(userName);

    private static TimeSpan TokenLifetime(Duration? ttl)
    {
        if (ttl is null)
        {
            return DefaultTokenLifetime;
        }
        var lifetime = Check.Duration(ttl, "ttl", "InvalidParameter.Ttl");
        if (lifetime <= TimeSpan.Zero || lifetime > MaxTokenLifetime)
        {
            throw Fault.InvalidArgument("InvalidParameter.Ttl", "ttl", "A token lives more than 0 seconds and at most 7 days.");
        }
        return lifetime;
    }

    private static string RamUserName(string name)
    {
        if (name.Length is < 1 or > 64 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
        {
            throw Fault.InvalidArgument("InvalidRamUser.Malformed", "user_name",
                "A user name is 1-64 characters: letters, digits, '.', '_' and '-'.");
        }
        return name;
    }

    private static string NewVersion() => Convert.ToHexString(RandomNumberGenerator.GetBytes(8));

    private static List<string> Actions(Google.Protobuf.Collections.RepeatedField<string> actions)
    {
        if (actions.Count > MaxAllowedActions)
        {
            throw Fault.InvalidArgument("InvalidParameter", "allowed_actions", $"A RAM user has at most {MaxAllowedActions} allowed actions.");
        }
        var list = actions.ToList();
        for (var i = 0; i < list.Count; i++)
        {
            if (!IsAction(list[i]))
            {
                throw Fault.InvalidArgument("InvalidAction.Malformed", $"allowed_actions[{i}]",
                    "An action is \"<product>:<Action>\", \"<product>:*\" or \"*\", e.g. \"ecs:CreateImage\".");
            }
        }
        return list.Distinct(StringComparer.Ordinal).ToList();
    }

    private static bool IsAction(string action)
    {
        if (action == "*")
        {
            return true;
        }
        if (action.Length > MaxActionLength)
        {
            return false;
        }
        var colon = action.IndexOf(':');
        if (colon <= 0 || colon == action.Length - 1)
        {
            return false;
        }
        var product = action[..colon];
        var verb = action[(colon + 1)..];
        return product.All(char.IsAsciiLetterLower) && (verb == "*" || verb.All(char.IsAsciiLetter));
    }

    private static string NewAccountId() =>
        RandomNumberGenerator.GetString("123456789", 1) + RandomNumberGenerator.GetString("0123456789", 15);

    private static DomainException AccountNotFound(string accountId) =>
        Fault.NotFound("InvalidAccount.NotFound", $"The account {accountId} does not exist.");

    private static DomainException RamUserNotFound(string userName) =>
        Fault.NotFound("EntityNotExist.User", $"The user {userName} does not exist.");

    [LoggerMessage(Level = LogLevel.Warning, Message = "A wrong operator credential was offered ({Failures} this second)")]
    private partial void LogWrongCredential(long failures);
}
