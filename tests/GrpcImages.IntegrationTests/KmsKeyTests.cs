using Google.Protobuf;
using Grpc.Core;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using static GrpcImages.IntegrationTests.CatalogSteps;

namespace GrpcImages.IntegrationTests;

/// <summary>The kms service's keys, data keys and service roles (R20-R23).</summary>
public class KmsKeyTests(ClusterFixture fixture, ITestOutputHelper output) : ClusterTest(fixture, output)
{
    private KeyService.KeyServiceClient Internal => Cluster.Client<KeyService.KeyServiceClient>(Cluster.ServiceToken("transfer"));

    [Fact]
    public async Task R21_NothingIsEncryptedUntilKmsIsEnabledInTheRegion()
    {
        var account = await Cluster.NewAccountAsync();

        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, "InvalidParameter.KmsNotEnabled", () =>
            account.Keys().CreateKeyAsync(new CreateKeyRequest { RegionId = Hangzhou }));
        Assert.False((await account.Keys().GetKmsStatusAsync(new GetKmsStatusRequest { RegionId = Hangzhou })).Enabled);
        await account.EnableKmsAsync();
        Assert.True((await account.Keys().GetKmsStatusAsync(new GetKmsStatusRequest { RegionId = Hangzhou })).Enabled);
        Assert.False((await account.Keys().GetKmsStatusAsync(new GetKmsStatusRequest { RegionId = Shanghai })).Enabled);
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, "InvalidParameter.KmsNotEnabled", () =>
            account.Keys().CreateKeyAsync(new CreateKeyRequest { RegionId = Shanghai }));
    }

    [Fact]
    public async Task R23_AKeyIsDeletedWhenItsPendingWindowEndsAndACancelledDeletionNeverHappens()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var cluster = await TestCluster.StartAsync(new Dictionary<string, string?> { ["Regions:0:Id"] = Hangzhou }, [ServiceKind.Kms],
            overrideServices: (_, services) => services.AddSingleton<TimeProvider>(clock), output: Output);
        var account = await cluster.NewAccountAsync();
        var doomed = await account.NewCmkAsync();
        var kept = (await account.Keys().CreateKeyAsync(new CreateKeyRequest { RegionId = Hangzhou })).Key;
        foreach (var key in new[] { doomed, kept })
        {
            await account.Keys().ScheduleKeyDeletionAsync(new ScheduleKeyDeletionRequest { RegionId = Hangzhou, KeyId = key.KeyId, PendingWindowDays = 7 });
        }
        await account.Keys().CancelKeyDeletionAsync(new CancelKeyDeletionRequest { RegionId = Hangzhou, KeyId = kept.KeyId });

        clock.Advance(TimeSpan.FromDays(8));

        // Tokens are checked against the same (advanced) clock: get fresh ones.
        var accounts = cluster.Client<AccountService.AccountServiceClient>(null);
        var operatorToken = (await accounts.IssueTokenAsync(new IssueTokenRequest { OperatorName = TestCluster.OperatorName, OperatorCredential = TestCluster.OperatorCredential })).Token;
        var token = (await cluster.Client<AccountService.AccountServiceClient>(operatorToken).IssueTokenAsync(new IssueTokenRequest { AccountId = account.AccountId })).Token;
        var keys = cluster.Client<KeyService.KeyServiceClient>(token);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                await keys.GetKeyAsync(new GetKeyRequest { RegionId = Hangzhou, KeyId = doomed.KeyId });
                Assert.True(DateTime.UtcNow < deadline, "the key was not deleted after its pending window");
                await Task.Delay(100);
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound)
            {
                break;
            }
        }
        Assert.Equal(KeyState.Disabled, (await keys.GetKeyAsync(new GetKeyRequest { RegionId = Hangzhou, KeyId = kept.KeyId })).Key.State);
    }

    [Fact]
    public async Task KeysGoThroughTheirStatesAndStayTheirAccounts()
    {
        var account = await Cluster.NewAccountAsync();
        var other = await Cluster.NewAccountAsync();
        var key = await account.NewCmkAsync();
        var keys = account.Keys();

        Assert.Equal((KeyState.Enabled, false, Hangzhou), (key.State, key.ServiceKey, key.RegionId));
        Assert.True(Guid.TryParse(key.KeyId, out _));
        Assert.Equal(KeyState.Disabled, (await keys.DisableKeyAsync(new DisableKeyRequest { RegionId = Hangzhou, KeyId = key.KeyId })).Key.State);
        Assert.Equal(KeyState.Enabled, (await keys.EnableKeyAsync(new EnableKeyRequest { RegionId = Hangzhou, KeyId = key.KeyId })).Key.State);
        var pending = (await keys.ScheduleKeyDeletionAsync(new ScheduleKeyDeletionRequest { RegionId = Hangzhou, KeyId = key.KeyId, PendingWindowDays = 7 })).Key;
        Assert.Equal(KeyState.PendingDeletion, pending.State);
        Assert.InRange(pending.DeletionTime.ToDateTimeOffset(), DateTimeOffset.UtcNow.AddDays(6.9), DateTimeOffset.UtcNow.AddDays(7.1));
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, "Rejected.UnexpectedState", () =>
            keys.EnableKeyAsync(new EnableKeyRequest { RegionId = Hangzhou, KeyId = key.KeyId }));
        var cancelled = (await keys.CancelKeyDeletionAsync(new CancelKeyDeletionRequest { RegionId = Hangzhou, KeyId = key.KeyId })).Key;
        Assert.Equal(KeyState.Disabled, cancelled.State);
        Assert.Null(cancelled.DeletionTime);
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidParameter.PendingWindowInDays", () =>
            keys.ScheduleKeyDeletionAsync(new ScheduleKeyDeletionRequest { RegionId = Hangzhou, KeyId = key.KeyId, PendingWindowDays = 3 }));

        Assert.Equal(cancelled, (await keys.GetKeyAsync(new GetKeyRequest { RegionId = Hangzhou, KeyId = key.KeyId })).Key);
        Assert.Contains((await keys.ListKeysAsync(new ListKeysRequest { RegionId = Hangzhou })).Keys, k => k.KeyId == key.KeyId);
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidParameter.KMSKeyId.NotFound", () =>
            keys.GetKeyAsync(new GetKeyRequest { RegionId = Shanghai, KeyId = key.KeyId }));
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidParameter.KMSKeyId.NotFound", () =>
            other.Keys().GetKeyAsync(new GetKeyRequest { RegionId = Hangzhou, KeyId = key.KeyId }));
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidParameter.KMSKeyId.NotFound", () =>
            other.Keys().DisableKeyAsync(new DisableKeyRequest { RegionId = Hangzhou, KeyId = key.KeyId }));
    }

    [Fact]
    public async Task R35_CreateKeyWithAClientTokenMakesOneKey()
    {
        var account = await Cluster.NewAccountAsync();
        await account.EnableKmsAsync();
        var request = new CreateKeyRequest { RegionId = Hangzhou, Description = "once", ClientToken = Guid.NewGuid().ToString() };

        var first = (await account.Keys().CreateKeyAsync(request)).Key;

        Assert.Equal(first.KeyId, (await account.Keys().CreateKeyAsync(request)).Key.KeyId);
        request.Description = "twice";
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "IdempotenceParamNotMatch", () => account.Keys().CreateKeyAsync(request));
    }

    [Fact]
    public async Task R20_TheDefaultServiceKeyIsMadeOnFirstUseNeedsNoRoleAndCannotBeDisabled()
    {
        var account = await Cluster.NewAccountAsync();
        await account.EnableKmsAsync();
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidParameter.KMSKeyId.NotFound", () =>
            account.Keys().GetKeyAsync(new GetKeyRequest { RegionId = Hangzhou, KeyId = "alias/acs/ecs" }));

        var used = (await Internal.CheckKeyUsableAsync(new CheckKeyUsableRequest { AccountId = account.AccountId, RegionId = Hangzhou })).Key;
        var again = (await Internal.CheckKeyUsableAsync(new CheckKeyUsableRequest { AccountId = account.AccountId, RegionId = Hangzhou })).Key;

        Assert.Equal(used.KeyId, again.KeyId);
        Assert.True(used.ServiceKey);
        Assert.Equal(["alias/acs/ecs"], used.Aliases);
        Assert.Equal(used, (await account.Keys().GetKeyAsync(new GetKeyRequest { RegionId = Hangzhou, KeyId = "alias/acs/ecs" })).Key);
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, "Rejected.UnexpectedState", () =>
            account.Keys().DisableKeyAsync(new DisableKeyRequest { RegionId = Hangzhou, KeyId = used.KeyId }));
    }

    [Fact]
    public async Task CheckKeyUsableAnswersWithTheExactRule() // R21, R23
    {
        var account = await Cluster.NewAccountAsync();
        var other = await Cluster.NewAccountAsync();
        CheckKeyUsableRequest Check(string keyId, TestAccount? who = null, string region = Hangzhou) =>
            new() { AccountId = (who ?? account).AccountId, RegionId = region, KeyId = keyId };

        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, "InvalidParameter.KmsNotEnabled", () => Internal.CheckKeyUsableAsync(Check("")));
        await account.EnableKmsAsync();
        var key = (await account.Keys().CreateKeyAsync(new CreateKeyRequest { RegionId = Hangzhou })).Key;
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, "InvalidParameter.KMSKeyId.KMSUnauthorized", () => Internal.CheckKeyUsableAsync(Check(key.KeyId)));
        await account.AddRoleAsync(KmsSteps.DiskEncryptRole);
        Assert.Equal(key.KeyId, (await Internal.CheckKeyUsableAsync(Check(key.KeyId))).Key.KeyId);

        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidParameter.KMSKeyId.NotFound", () => Internal.CheckKeyUsableAsync(Check(Guid.NewGuid().ToString())));
        await other.EnableKmsAsync();
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidParameter.KMSKeyId.NotFound", () => Internal.CheckKeyUsableAsync(Check(key.KeyId, other)));
        await account.Keys().DisableKeyAsync(new DisableKeyRequest { RegionId = Hangzhou, KeyId = key.KeyId });
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, "InvalidParameter.KMSKeyId.CMKNotEnabled", () => Internal.CheckKeyUsableAsync(Check(key.KeyId)));
        await account.Keys().ScheduleKeyDeletionAsync(new ScheduleKeyDeletionRequest { RegionId = Hangzhou, KeyId = key.KeyId, PendingWindowDays = 30 });
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, "InvalidParameter.KMSKeyId.CMKNotEnabled", () => Internal.CheckKeyUsableAsync(Check(key.KeyId)));
    }

    [Fact]
    public async Task R21_ResolveEncryptionIsTheOneCallCopyAndEncryptNeeds()
    {
        var account = await Cluster.NewAccountAsync();
        var key = await account.NewCmkAsync();
        ResolveEncryptionRequest Resolve(bool encrypted, string keyId = "", string region = Hangzhou, bool sourceEncrypted = false, bool foreign = false) => new()
        {
            AccountId = account.AccountId, RegionId = region, Encrypted = encrypted, KmsKeyId = keyId,
            SourceEncrypted = sourceEncrypted, SourceKmsKeyId = sourceEncrypted ? key.KeyId : "", SourceKeyForeign = foreign,
        };

        Assert.False((await Internal.ResolveEncryptionAsync(Resolve(false))).Encrypted);
        var withKey = await Internal.ResolveEncryptionAsync(Resolve(true, key.KeyId));
        Assert.Equal((true, key.KeyId, false), (withKey.Encrypted, withKey.KmsKeyId, withKey.ServiceKey));
        Assert.True((await Internal.ResolveEncryptionAsync(Resolve(true))).ServiceKey);
        Assert.Equal(key.KeyId, (await Internal.ResolveEncryptionAsync(Resolve(false, sourceEncrypted: true))).KmsKeyId);

        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidParameter.EncryptedIllegal", () => Internal.ResolveEncryptionAsync(Resolve(false, key.KeyId)));
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, "OperationDeined.EncryptedSnapshot", () =>
            Internal.ResolveEncryptionAsync(Resolve(false, region: Shanghai, sourceEncrypted: true, foreign: true)));
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, "InvalidParameter.KmsNotEnabled", () =>
            Internal.ResolveEncryptionAsync(Resolve(true, key.KeyId, Shanghai, sourceEncrypted: true, foreign: true)));
        await account.EnableKmsAsync(Shanghai);
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidParameter.KMSKeyId.NotFound", () =>
            Internal.ResolveEncryptionAsync(Resolve(true, key.KeyId, Shanghai, sourceEncrypted: true, foreign: true)));
    }

    [Fact]
    public async Task R23_DataKeysOpenOnlyWithTheirKeyAndAccount()
    {
        var account = await Cluster.NewAccountAsync();
        var other = await Cluster.NewAccountAsync();
        var key = await account.NewCmkAsync();

        var generated = await Internal.GenerateDataKeyAsync(new GenerateDataKeyRequest { AccountId = account.AccountId, RegionId = Hangzhou, KeyId = key.KeyId });
        Assert.Equal(32, generated.Plaintext.Length);
        Assert.DoesNotContain(Convert.ToHexString(generated.Plaintext.ToByteArray()), Convert.ToHexString(generated.CiphertextBlob.ToByteArray()));

        var opened = await Internal.DecryptDataKeyAsync(new DecryptDataKeyRequest { AccountId = account.AccountId, RegionId = Hangzhou, CiphertextBlob = generated.CiphertextBlob });
        Assert.Equal(generated.Plaintext, opened.Plaintext);

        var tampered = generated.CiphertextBlob.ToByteArray();
        tampered[^1] ^= 1;
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidParameter.CiphertextBlob", () =>
            Internal.DecryptDataKeyAsync(new DecryptDataKeyRequest { AccountId = account.AccountId, RegionId = Hangzhou, CiphertextBlob = ByteString.CopyFrom(tampered) }));
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidParameter.KMSKeyId.NotFound", () =>
            Internal.DecryptDataKeyAsync(new DecryptDataKeyRequest { AccountId = other.AccountId, RegionId = Hangzhou, CiphertextBlob = generated.CiphertextBlob }));
        // A disabled key makes no new data keys but still opens existing ones (R23).
        await account.Keys().DisableKeyAsync(new DisableKeyRequest { RegionId = Hangzhou, KeyId = key.KeyId });
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, "InvalidParameter.KMSKeyId.CMKNotEnabled", () =>
            Internal.GenerateDataKeyAsync(new GenerateDataKeyRequest { AccountId = account.AccountId, RegionId = Hangzhou, KeyId = key.KeyId }));
        Assert.Equal(generated.Plaintext, (await Internal.DecryptDataKeyAsync(new DecryptDataKeyRequest
        {
            AccountId = account.AccountId, RegionId = Hangzhou, CiphertextBlob = generated.CiphertextBlob,
        })).Plaintext);
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, "Forbidden.InternalOnly", () =>
            account.Keys().GenerateDataKeyAsync(new GenerateDataKeyRequest { AccountId = account.AccountId, RegionId = Hangzhou, KeyId = key.KeyId }));
    }

    [Fact]
    public async Task ServiceRolesAreCreatedListedAndDeletedByTheirAccount()
    {
        var account = await Cluster.NewAccountAsync();
        var other = await Cluster.NewAccountAsync();
        var roles = account.Roles();

        await RpcAssert.FailsAsync(StatusCode.NotFound, "EntityNotExist.Role", () =>
            roles.GetServiceRoleAsync(new GetServiceRoleRequest { RoleName = KmsSteps.ShareEncryptRole }));
        var created = (await roles.CreateServiceRoleAsync(new CreateServiceRoleRequest { RoleName = KmsSteps.ShareEncryptRole })).Role;
        Assert.Equal($"acs:ram::{account.AccountId}:role/aliyunecsshareencryptimagedefaultrole", created.Arn);
        Assert.Equal(created, (await roles.CreateServiceRoleAsync(new CreateServiceRoleRequest { RoleName = KmsSteps.ShareEncryptRole })).Role);
        await roles.CreateServiceRoleAsync(new CreateServiceRoleRequest { RoleName = "AliyunECSImageImportDefaultRole" });
        Assert.Equal(["AliyunECSImageImportDefaultRole", KmsSteps.ShareEncryptRole],
            (await roles.ListServiceRolesAsync(new ListServiceRolesRequest())).Roles.Select(r => r.RoleName));
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidParameter.RoleName", () =>
            roles.CreateServiceRoleAsync(new CreateServiceRoleRequest { RoleName = "AdministratorAccess" }));
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidAccount.NotFound", () =>
            other.Roles().CreateServiceRoleAsync(new CreateServiceRoleRequest { AccountId = account.AccountId, RoleName = KmsSteps.ShareEncryptRole }));

        await roles.DeleteServiceRoleAsync(new DeleteServiceRoleRequest { RoleName = KmsSteps.ShareEncryptRole });
        await RpcAssert.FailsAsync(StatusCode.NotFound, "EntityNotExist.Role", () =>
            roles.GetServiceRoleAsync(new GetServiceRoleRequest { RoleName = KmsSteps.ShareEncryptRole }));
    }

    [Fact]
    public async Task KeyMaterialIsUsableOnlyWithTheClustersRootKey()
    {
        var account = await Cluster.NewAccountAsync();
        var key = await account.NewCmkAsync();
        var generated = await Internal.GenerateDataKeyAsync(new GenerateDataKeyRequest { AccountId = account.AccountId, RegionId = Hangzhou, KeyId = key.KeyId });
        var decrypt = new DecryptDataKeyRequest { AccountId = account.AccountId, RegionId = Hangzhou, CiphertextBlob = generated.CiphertextBlob };

        // A kms replica over the same Redis but with another root key cannot open the key's material.
        var impostor = await Cluster.StartReplicaAsync(ServiceKind.Kms, new Dictionary<string, string?>
        {
            ["Kms:RootKey"] = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)),
        });
        var elsewhere = new KeyService.KeyServiceClient(Cluster.Invoker(impostor, Cluster.ServiceToken("transfer")));
        var ex = await Assert.ThrowsAsync<RpcException>(async () => await elsewhere.DecryptDataKeyAsync(decrypt));
        Assert.Equal(StatusCode.Internal, ex.StatusCode);
        Assert.DoesNotContain(key.KeyId, ex.Status.Detail);

        Assert.Equal(generated.Plaintext, (await Internal.DecryptDataKeyAsync(decrypt)).Plaintext);
    }
}
