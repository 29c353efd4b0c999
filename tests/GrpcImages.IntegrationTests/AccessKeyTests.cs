using System.Security.Cryptography;
using System.Text;
using Grpc.Core;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.Testing;
using StackExchange.Redis;
using static GrpcImages.IntegrationTests.CatalogSteps;

namespace GrpcImages.IntegrationTests;

/// <summary>AccessKey pairs in kms: what the ECS gateway signs requests against (issue: ECS OpenAPI gateway).</summary>
public class AccessKeyTests(ClusterFixture fixture, ITestOutputHelper output) : ClusterTest(fixture, output)
{
    private static AccessKeyService.AccessKeyServiceClient Keys(TestAccount account) => account.Client<AccessKeyService.AccessKeyServiceClient>();

    private AccessKeyService.AccessKeyServiceClient AsService() => Cluster.Client<AccessKeyService.AccessKeyServiceClient>(Cluster.ServiceToken("gateway"));

    private static string Sign(string secret, string stringToSign) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(stringToSign)));

    [Fact]
    public async Task ASignatureMadeWithTheSecretBuysATokenForTheKeysOwner()
    {
        var account = await Cluster.NewAccountAsync();
        var created = await Keys(account).CreateAccessKeyAsync(new CreateAccessKeyRequest { AccountId = account.AccountId });
        Assert.StartsWith("LTAI", created.AccessKey.AccessKeyId);
        Assert.Equal(30, created.AccessKeySecret.Length);

        var verified = await AsService().VerifySignatureAsync(new VerifySignatureRequest
        {
            AccessKeyId = created.AccessKey.AccessKeyId,
            Algorithm = SignatureAlgorithm.Acs3HmacSha256,
            StringToSign = "ACS3-HMAC-SHA256\nabc",
            Signature = Sign(created.AccessKeySecret, "ACS3-HMAC-SHA256\nabc"),
        });
        Assert.Equal(account.AccountId, verified.Principal.AccountId);
        var asOwner = account with { Token = verified.Token };
        Assert.NotEmpty((await asOwner.Images().ListImagesAsync(new ListImagesRequest { RegionId = Hangzhou, OwnerAlias = ImageOwnerAlias.System })).Images);

        await RpcAssert.FailsAsync(StatusCode.Unauthenticated, "SignatureDoesNotMatch", () => AsService().VerifySignatureAsync(new VerifySignatureRequest
        {
            AccessKeyId = created.AccessKey.AccessKeyId,
            Algorithm = SignatureAlgorithm.Acs3HmacSha256,
            StringToSign = "ACS3-HMAC-SHA256\nabd",
            Signature = Sign(created.AccessKeySecret, "ACS3-HMAC-SHA256\nabc"),
        }));
    }

    [Fact]
    public async Task OnlyServicesOfTheClusterMayVerifyAndTheSecretIsStoredSealed()
    {
        var account = await Cluster.NewAccountAsync();
        var created = await Keys(account).CreateAccessKeyAsync(new CreateAccessKeyRequest { AccountId = account.AccountId });
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, "Forbidden.InternalOnly", () => Keys(account).VerifySignatureAsync(new VerifySignatureRequest
        {
            AccessKeyId = created.AccessKey.AccessKeyId, Algorithm = SignatureAlgorithm.Acs3HmacSha256, StringToSign = "x", Signature = Sign(created.AccessKeySecret, "x"),
        }));

        await using var redis = await ConnectionMultiplexer.ConnectAsync(Cluster.RedisConfiguration);
        var stored = await redis.GetDatabase().HashGetAllAsync($"gi:kms:{{dir}}:ak:{created.AccessKey.AccessKeyId}");
        Assert.NotEmpty(stored);
        var secret = Encoding.UTF8.GetBytes(created.AccessKeySecret);
        Assert.All(stored, field => Assert.Equal(-1, ((byte[])field.Value!).AsSpan().IndexOf(secret)));
        Assert.DoesNotContain(created.AccessKeySecret, (await Keys(account).ListAccessKeysAsync(new ListAccessKeysRequest { AccountId = account.AccountId })).ToString());
    }

    [Fact]
    public async Task AKeyCanBeDisabledAndDeletedAndAPrincipalHoldsTwoAtMost()
    {
        var account = await Cluster.NewAccountAsync();
        var first = await Keys(account).CreateAccessKeyAsync(new CreateAccessKeyRequest { AccountId = account.AccountId });
        await Keys(account).CreateAccessKeyAsync(new CreateAccessKeyRequest { AccountId = account.AccountId });
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, "LimitExceeded.AccessKey", () =>
            Keys(account).CreateAccessKeyAsync(new CreateAccessKeyRequest { AccountId = account.AccountId }));

        var disabled = await Keys(account).UpdateAccessKeyAsync(new UpdateAccessKeyRequest
        {
            AccountId = account.AccountId, AccessKeyId = first.AccessKey.AccessKeyId, Status = AccessKeyStatus.Inactive,
        });
        Assert.Equal(AccessKeyStatus.Inactive, disabled.AccessKey.Status);
        var request = new VerifySignatureRequest
        {
            AccessKeyId = first.AccessKey.AccessKeyId, Algorithm = SignatureAlgorithm.Acs3HmacSha256, StringToSign = "s", Signature = Sign(first.AccessKeySecret, "s"),
        };
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, "InvalidAccessKeyId.Inactive", () => AsService().VerifySignatureAsync(request));

        await Keys(account).DeleteAccessKeyAsync(new DeleteAccessKeyRequest { AccountId = account.AccountId, AccessKeyId = first.AccessKey.AccessKeyId });
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidAccessKeyId.NotFound", () => AsService().VerifySignatureAsync(request));
        Assert.Single((await Keys(account).ListAccessKeysAsync(new ListAccessKeysRequest { AccountId = account.AccountId })).AccessKeys);
        await Keys(account).CreateAccessKeyAsync(new CreateAccessKeyRequest { AccountId = account.AccountId }); // room again
    }

    [Fact]
    public async Task AnotherAccountsKeysAreNotFoundAndARamUserDoesNotManageKeys()
    {
        var account = await Cluster.NewAccountAsync();
        var other = await Cluster.NewAccountAsync();
        var key = await Keys(account).CreateAccessKeyAsync(new CreateAccessKeyRequest { AccountId = account.AccountId });
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidAccount.NotFound", () =>
            Keys(other).ListAccessKeysAsync(new ListAccessKeysRequest { AccountId = account.AccountId }));
        await RpcAssert.FailsAsync(StatusCode.NotFound, "EntityNotExist.AccessKey", () => Keys(other).DeleteAccessKeyAsync(
            new DeleteAccessKeyRequest { AccountId = other.AccountId, AccessKeyId = key.AccessKey.AccessKeyId }));

        var root = account.Client<AccountService.AccountServiceClient>();
        await root.CreateRamUserAsync(new CreateRamUserRequest { AccountId = account.AccountId, UserName = "dev", AllowedActions = { "ecs:*" } });
        var userKey = await Keys(account).CreateAccessKeyAsync(new CreateAccessKeyRequest { AccountId = account.AccountId, UserName = "dev" });
        var verified = await AsService().VerifySignatureAsync(new VerifySignatureRequest
        {
            AccessKeyId = userKey.AccessKey.AccessKeyId, Algorithm = SignatureAlgorithm.Acs3HmacSha256, StringToSign = "u", Signature = Sign(userKey.AccessKeySecret, "u"),
        });
        Assert.Equal((PrincipalKind.RamUser, "dev"), (verified.Principal.Kind, verified.Principal.Name));
        var user = account with { Token = verified.Token };
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, "Forbidden.RAM", () =>
            Keys(user).CreateAccessKeyAsync(new CreateAccessKeyRequest { AccountId = account.AccountId }));
    }

    [Fact]
    public async Task ADeletedUsersKeysGoWithItAndDoNotReturnWithItsName()
    {
        var account = await Cluster.NewAccountAsync();
        var root = account.Client<AccountService.AccountServiceClient>();
        await root.CreateRamUserAsync(new CreateRamUserRequest { AccountId = account.AccountId, UserName = "temp", AllowedActions = { "ecs:*" } });
        var key = await Keys(account).CreateAccessKeyAsync(new CreateAccessKeyRequest { AccountId = account.AccountId, UserName = "temp" });

        await root.DeleteRamUserAsync(new DeleteRamUserRequest { AccountId = account.AccountId, UserName = "temp" });
        await root.CreateRamUserAsync(new CreateRamUserRequest { AccountId = account.AccountId, UserName = "temp", AllowedActions = { "ecs:*" } });

        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidAccessKeyId.NotFound", () => AsService().VerifySignatureAsync(new VerifySignatureRequest
        {
            AccessKeyId = key.AccessKey.AccessKeyId, Algorithm = SignatureAlgorithm.Acs3HmacSha256, StringToSign = "t", Signature = Sign(key.AccessKeySecret, "t"),
        }));
        Assert.Empty((await Keys(account).ListAccessKeysAsync(new ListAccessKeysRequest { AccountId = account.AccountId, UserName = "temp" })).AccessKeys);
    }

    private static SignInRequest SignIn(string accessKeyId, string secret, long? at = null, string? nonce = null)
    {
        var seconds = at ?? DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        nonce ??= Guid.NewGuid().ToString("N");
        var signature = Convert.ToBase64String(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret),
            Encoding.UTF8.GetBytes($"grpcimages-sign-in\n{accessKeyId}\n{seconds}\n{nonce}")));
        return new SignInRequest { AccessKeyId = accessKeyId, TimestampSeconds = seconds, Nonce = nonce, Signature = signature };
    }

    [Fact]
    public async Task R38_APersonSignsInWithAPairWhoseSecretNeverLeavesTheClientAndTheSessionEndsWithThePair()
    {
        var account = await Cluster.NewAccountAsync();
        var created = await Keys(account).CreateAccessKeyAsync(new CreateAccessKeyRequest { AccountId = account.AccountId });
        var id = created.AccessKey.AccessKeyId;
        var anonymous = Cluster.Client<AccessKeyService.AccessKeyServiceClient>(null);

        var signedIn = await anonymous.SignInAsync(SignIn(id, created.AccessKeySecret));
        Assert.Equal((PrincipalKind.AccountRoot, account.AccountId), (signedIn.Principal.Kind, signedIn.Principal.AccountId));
        var session = account with { Token = signedIn.Token };
        Assert.Equal(account.AccountId, (await session.Client<AccountService.AccountServiceClient>().GetCallerIdentityAsync(new GetCallerIdentityRequest())).Principal.AccountId);
        Assert.True(signedIn.ExpireTime.ToDateTimeOffset() - DateTimeOffset.UtcNow <= TimeSpan.FromMinutes(15.5));

        // Renewed for itself while the pair is active (IssueToken of its own principal), never longer than an hour.
        var renewed = await session.Client<AccountService.AccountServiceClient>().IssueTokenAsync(new IssueTokenRequest
        {
            AccountId = account.AccountId, Ttl = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.FromDays(1)),
        });
        Assert.True(renewed.ExpireTime.ToDateTimeOffset() - DateTimeOffset.UtcNow <= TimeSpan.FromMinutes(61));
        await Keys(account).UpdateAccessKeyAsync(new UpdateAccessKeyRequest { AccountId = account.AccountId, AccessKeyId = id, Status = AccessKeyStatus.Inactive });
        await RpcAssert.FailsAsync(StatusCode.Unauthenticated, "InvalidSecurityToken.Revoked", () =>
            (account with { Token = renewed.Token }).Client<AccountService.AccountServiceClient>().IssueTokenAsync(new IssueTokenRequest { AccountId = account.AccountId }).ResponseAsync);
        await RpcAssert.FailsAsync(StatusCode.Unauthenticated, "SignatureDoesNotMatch", () => anonymous.SignInAsync(SignIn(id, created.AccessKeySecret)).ResponseAsync);
    }

    [Fact]
    public async Task R38_ASignInIsRefusedForAWrongSecretAnOldTimeOrAUsedNonceAndThrottledAfterFiveFailures()
    {
        var account = await Cluster.NewAccountAsync();
        var created = await Keys(account).CreateAccessKeyAsync(new CreateAccessKeyRequest { AccountId = account.AccountId });
        var id = created.AccessKey.AccessKeyId;
        var anonymous = Cluster.Client<AccessKeyService.AccessKeyServiceClient>(null);

        var once = SignIn(id, created.AccessKeySecret);
        await anonymous.SignInAsync(once);
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "SignatureNonceUsed", () => anonymous.SignInAsync(once).ResponseAsync);
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidTimeStamp.Expired", () =>
            anonymous.SignInAsync(SignIn(id, created.AccessKeySecret, DateTimeOffset.UtcNow.AddMinutes(-20).ToUnixTimeSeconds())).ResponseAsync);
        for (var i = 0; i < 5; i++)
        {
            await RpcAssert.FailsAsync(StatusCode.Unauthenticated, "SignatureDoesNotMatch", () => anonymous.SignInAsync(SignIn(id, "wrong secret")).ResponseAsync);
        }
        await RpcAssert.FailsAsync(StatusCode.ResourceExhausted, "Throttling.SignIn", () => anonymous.SignInAsync(SignIn(id, created.AccessKeySecret)).ResponseAsync);
        await RpcAssert.FailsAsync(StatusCode.Unauthenticated, "SignatureDoesNotMatch", () => anonymous.SignInAsync(SignIn("LTAI" + new string('x', 20), "x")).ResponseAsync);
    }
}
