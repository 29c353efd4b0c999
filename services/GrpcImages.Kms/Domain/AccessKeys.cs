using System.Security.Cryptography;
using System.Text;
using Google.Protobuf.WellKnownTypes;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.Kms.Storage;
using GrpcImages.ServiceDefaults.Errors;
using GrpcImages.ServiceDefaults.Identity;
using GrpcImages.ServiceDefaults.Validation;
using Microsoft.Extensions.Options;

namespace GrpcImages.Kms.Domain;

/// <summary>
/// AccessKey pairs of accounts' roots and RAM users, and the check of the signatures Alibaba's
/// SDKs make with them. A secret leaves kms once, in CreateAccessKey's response; it is stored
/// sealed by the KMS root key and opened only to check a signature here.
/// </summary>
public sealed partial class AccessKeys(AccessKeyStore store, DirectoryStore directory, TokenService tokens, IOptions<KmsOptions> options, TimeProvider time,
    ILogger<AccessKeys> logger)
{
    /// <summary>Pairs a principal may hold at once, as RAM allows.</summary>
    public const int MaxPerPrincipal = 2;

    /// <summary>What a verified signature buys: a token for a few minutes, enough for one request.</summary>
    public static readonly TimeSpan TokenLifetime = TimeSpan.FromMinutes(5);

    /// <summary>A console session's token, renewed while it is used.</summary>
    public static readonly TimeSpan DefaultSignInLifetime = TimeSpan.FromMinutes(15);

    public static readonly TimeSpan MaxSignInLifetime = TimeSpan.FromHours(1);

    /// <summary>How far a sign-in's time may be from the cluster's (and how long its nonce is remembered, twice that).</summary>
    public static readonly TimeSpan SignInSkew = TimeSpan.FromMinutes(15);

    /// <summary>Failed sign-ins with one pair in a minute or two before every try is refused until they age out.</summary>
    public const int MaxSignInFailuresPerMinute = 5;

    public const string SignInPrefix = "grpcimages-sign-in";

    private const string IdAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    private readonly byte[] _root = options.Value.LoadRootKey();

    public async Task<(AccessKey Key, string Secret)> CreateAsync(Caller caller, CreateAccessKeyRequest request)
    {
        await RequirePrincipalAsync(caller, request.AccountId, request.UserName);
        var key = new AccessKey
        {
            AccessKeyId = "LTAI" + RandomNumberGenerator.GetString(IdAlphabet, 20),
            AccountId = request.AccountId,
            UserName = request.UserName,
            Status = AccessKeyStatus.Active,
            CreateTime = Timestamp.FromDateTimeOffset(time.GetUtcNow()),
        };
        var secret = RandomNumberGenerator.GetString(IdAlphabet, 30);
        return await store.CreateAsync(key, Sealing.Seal(_root, Encoding.UTF8.GetBytes(secret), SecretContext(key.AccessKeyId)), MaxPerPrincipal) switch
        {
            AccessKeyCreate.Created => (key, secret),
            AccessKeyCreate.LimitReached => throw Fault.FailedPrecondition("LimitExceeded.AccessKey",
                $"A principal holds at most {MaxPerPrincipal} AccessKey pairs; delete one first."),
            _ => throw Fault.NotFound("EntityNotExist.User", $"The user {request.UserName} does not exist."),
        };
    }

    public async Task<IReadOnlyList<AccessKey>> ListAsync(Caller caller, ListAccessKeysRequest request)
    {
        await RequirePrincipalAsync(caller, request.AccountId, request.UserName);
        return await store.ListAsync(request.AccountId, request.UserName);
    }

    public async Task<AccessKey> UpdateAsync(Caller caller, UpdateAccessKeyRequest request)
    {
        if (request.Status is not (AccessKeyStatus.Active or AccessKeyStatus.Inactive))
        {
            throw Fault.InvalidArgument("InvalidParameter.Status", "status", "The status is Active or Inactive.");
        }
        var key = await RequireOwnedAsync(caller, request.AccountId, request.AccessKeyId);
        key.Status = request.Status;
        if (!await store.ReplaceAsync(key))
        {
            throw AccessKeyNotFound(request.AccessKeyId);
        }
        return key;
    }

    public async Task DeleteAsync(Caller caller, DeleteAccessKeyRequest request) =>
        await store.DeleteAsync(await RequireOwnedAsync(caller, request.AccountId, request.AccessKeyId));

    /// <summary>Checks <paramref name="request"/>'s signature with the pair's secret; a token for the pair's principal when it matches.</summary>
    public async Task<VerifySignatureResponse> VerifyAsync(VerifySignatureRequest request)
    {
        if (request.StringToSign.Length == 0 || request.Signature.Length is 0 or > 128) // the schema bounds what is signed
        {
            throw Fault.InvalidArgument("IncompleteSignature", "string_to_sign", "The request's signature or what it signs is missing or too long.");
        }
        var stored = request.AccessKeyId.Length is > 0 and <= 64 ? await store.FindAsync(request.AccessKeyId) : null;
        if (stored is null)
        {
            throw Fault.NotFound("InvalidAccessKeyId.NotFound", "Specified access key is not found.");
        }
        if (stored.Key.Status != AccessKeyStatus.Active)
        {
            throw Fault.PermissionDenied("InvalidAccessKeyId.Inactive", "Specified access key is disabled.");
        }
        var secret = Sealing.Open(_root, stored.SealedSecret, SecretContext(stored.Key.AccessKeyId))
            ?? throw new InvalidOperationException($"The secret of {stored.Key.AccessKeyId} does not open with this root key.");
#pragma warning disable CA5350 // signature version 1.0 is HMAC-SHA1; the SDKs that use it decide, not us
        var expected = request.Algorithm switch
        {
            SignatureAlgorithm.HmacSha1 => Encoding.ASCII.GetBytes(Convert.ToBase64String(
                HMACSHA1.HashData((byte[])[.. secret, (byte)'&'], Encoding.UTF8.GetBytes(request.StringToSign)))),
            SignatureAlgorithm.Acs3HmacSha256 => Encoding.ASCII.GetBytes(Convert.ToHexStringLower(
                HMACSHA256.HashData(secret, Encoding.UTF8.GetBytes(request.StringToSign)))),
            SignatureAlgorithm.OssHmacSha1 => Encoding.ASCII.GetBytes(Convert.ToBase64String(
                HMACSHA1.HashData(secret, Encoding.UTF8.GetBytes(request.StringToSign)))),
            SignatureAlgorithm.Oss4HmacSha256 => Encoding.ASCII.GetBytes(Convert.ToHexStringLower(
                HMACSHA256.HashData(OssV4SigningKey(secret, request.CredentialScope), Encoding.UTF8.GetBytes(request.StringToSign)))),
            _ => throw Fault.InvalidArgument("InvalidParameter.SignatureMethod", "algorithm", "The signature method is HMAC-SHA1, ACS3-HMAC-SHA256, OSS (HMAC-SHA1) or OSS4-HMAC-SHA256."),
        };
#pragma warning restore CA5350
        if (!CryptographicOperations.FixedTimeEquals(expected, Encoding.ASCII.GetBytes(request.Signature)))
        {
            throw Fault.Unauthenticated("SignatureDoesNotMatch",
                $"Specified signature does not match our calculation. Server string to sign is: {request.StringToSign}");
        }

        var principal = await PrincipalAsync(stored.Key);
        var token = tokens.Issue(principal, TokenLifetime, out var expires);
        return new VerifySignatureResponse
        {
            Token = token,
            ExpireTime = Timestamp.FromDateTimeOffset(expires),
            Principal = AccountDirectory.ToPrincipal(principal),
        };
    }

    /// <summary>
    /// Signs a person in with a pair (R38): the client signed the pair's id, the time and a nonce with the secret,
    /// which never leaves it. Every refusal looks the same to the caller (a missing, disabled or wrong pair), and
    /// failures are counted per pair, so a secret cannot be guessed at speed.
    /// </summary>
    public async Task<SignInResponse> SignInAsync(SignInRequest request)
    {
        if (request.AccessKeyId.Length is 0 or > 64 || request.Nonce.Length is 0 or > 64 || request.Signature.Length is 0 or > 128)
        {
            throw Fault.InvalidArgument("InvalidParameter", "access_key_id", "Give the pair's id, a nonce of 1-64 characters and the signature.");
        }
        var lifetime = request.Ttl is null ? DefaultSignInLifetime : Check.Duration(request.Ttl, "ttl", "InvalidParameter.Ttl");
        if (lifetime <= TimeSpan.Zero || lifetime > MaxSignInLifetime)
        {
            throw Fault.InvalidArgument("InvalidParameter.Ttl", "ttl", "A console session's token lives more than 0 seconds and at most an hour.");
        }
        var now = time.GetUtcNow();
        if (Math.Abs(now.ToUnixTimeSeconds() - request.TimestampSeconds) > (long)SignInSkew.TotalSeconds)
        {
            throw Fault.InvalidArgument("InvalidTimeStamp.Expired", "timestamp_seconds", "The sign-in's time is more than 15 minutes from the cluster's.");
        }
        var minute = now.ToUnixTimeSeconds() / 60;
        if (await store.SignInFailuresAsync(request.AccessKeyId, minute) >= MaxSignInFailuresPerMinute)
        {
            throw Fault.ResourceExhausted("Throttling.SignIn", "Too many failed sign-ins with this AccessKey; try again in a minute.");
        }
        var stored = await store.FindAsync(request.AccessKeyId);
        var secret = stored is { Key.Status: AccessKeyStatus.Active }
            ? Sealing.Open(_root, stored.SealedSecret, SecretContext(stored.Key.AccessKeyId))
            : null;
        var expected = secret is null ? [] : Encoding.ASCII.GetBytes(Convert.ToBase64String(HMACSHA256.HashData(secret,
            Encoding.UTF8.GetBytes($"{SignInPrefix}\n{request.AccessKeyId}\n{request.TimestampSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)}\n{request.Nonce}"))));
        if (secret is null || !CryptographicOperations.FixedTimeEquals(expected, Encoding.ASCII.GetBytes(request.Signature)))
        {
            await store.CountSignInFailureAsync(request.AccessKeyId, minute);
            LogSignInRefused(request.AccessKeyId[..Math.Min(8, request.AccessKeyId.Length)]);
            throw Fault.Unauthenticated("SignatureDoesNotMatch", "The AccessKey pair is not known, not active, or the signature does not match.");
        }
        if (!await store.TakeSignInNonceAsync(request.AccessKeyId, request.Nonce, SignInSkew * 2))
        {
            throw Fault.InvalidArgument("SignatureNonceUsed", "nonce", "The sign-in's nonce was used already.");
        }
        var principal = (await PrincipalAsync(stored!.Key)) with { AccessKeyId = stored.Key.AccessKeyId };
        var token = tokens.Issue(principal, lifetime, out var expires);
        return new SignInResponse { Token = token, ExpireTime = Timestamp.FromDateTimeOffset(expires), Principal = AccountDirectory.ToPrincipal(principal) };
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A sign-in with AccessKey {AccessKeyPrefix}... was refused")]
    private partial void LogSignInRefused(string accessKeyPrefix);

    private async Task<Caller> PrincipalAsync(AccessKey key)
    {
        // Both reads at once: this is every gateway request's path.
        var userRead = key.UserName.Length == 0 ? Task.FromResult<RamUser?>(null) : directory.GetRamUserAsync(key.AccountId, key.UserName);
        var account = await directory.GetAccountAsync(key.AccountId)
            ?? throw Fault.NotFound("InvalidAccessKeyId.NotFound", "Specified access key is not found.");
        if (key.UserName.Length == 0)
        {
            return Caller.Root(account.AccountId, account.Site);
        }
        var user = await userRead ?? throw Fault.NotFound("InvalidAccessKeyId.NotFound", "Specified access key is not found.");
        return Caller.RamUser(account.AccountId, user.UserName, account.Site, user.AllowedActions.ToArray(), user.Version);
    }

    /// <summary>The account's root or an operator manages an account's pairs; another account's are not found.</summary>
    private async Task RequirePrincipalAsync(Caller caller, string accountId, string userName)
    {
        RequireManager(caller, accountId);
        if (await directory.GetAccountAsync(accountId) is null)
        {
            throw Fault.NotFound("InvalidAccount.NotFound", $"The account {accountId} does not exist.");
        }
        if (userName.Length > 0 && (userName.Length > 64 || await directory.GetRamUserAsync(accountId, userName) is null))
        {
            throw Fault.NotFound("EntityNotExist.User", $"The user {userName} does not exist.");
        }
    }

    private async Task<AccessKey> RequireOwnedAsync(Caller caller, string accountId, string accessKeyId)
    {
        RequireManager(caller, accountId);
        var stored = accessKeyId.Length is > 0 and <= 64 ? await store.FindAsync(accessKeyId) : null;
        return stored is not null && stored.Key.AccountId == accountId ? stored.Key : throw AccessKeyNotFound(accessKeyId);
    }

    private static void RequireManager(Caller caller, string accountId)
    {
        if (!Check.IsAccountId(accountId) || !caller.MayActFor(accountId))
        {
            throw Fault.NotFound("InvalidAccount.NotFound", $"The account {accountId} does not exist.");
        }
        if (caller.Kind == PrincipalKind.RamUser)
        {
            throw Fault.PermissionDenied("Forbidden.RAM", "Only the account's root manages its AccessKey pairs.");
        }
    }

    /// <summary>
    /// The OSS V4 signing key: HMAC-SHA256 chained from "aliyun_v4" + secret over the scope's date, region, product
    /// ("oss") and "aliyun_v4_request". The scope is the one the request names; a malformed one signs nothing.
    /// </summary>
    private static byte[] OssV4SigningKey(byte[] secret, string scope)
    {
        var parts = scope.Split('/');
        if (parts is not [{ Length: 8 } date, { Length: > 0 and <= 64 } region, "oss", "aliyun_v4_request"] || !date.All(char.IsAsciiDigit))
        {
            throw Fault.InvalidArgument("InvalidCredential", "credential_scope", "The credential scope is <yyyyMMdd>/<region>/oss/aliyun_v4_request.");
        }
        var key = HMACSHA256.HashData((byte[])[.. "aliyun_v4"u8, .. secret], Encoding.UTF8.GetBytes(date));
        key = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(region));
        key = HMACSHA256.HashData(key, "oss"u8);
        return HMACSHA256.HashData(key, "aliyun_v4_request"u8);
    }

    private static DomainException AccessKeyNotFound(string id) =>
        Fault.NotFound("EntityNotExist.AccessKey", $"The AccessKey {id} does not exist.");

    private static string SecretContext(string accessKeyId) => $"access-key-secret:{accessKeyId}";
}
