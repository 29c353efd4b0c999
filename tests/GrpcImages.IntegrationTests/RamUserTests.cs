using Grpc.Core;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.Contracts.Sharing.V1;
using GrpcImages.Testing;
using static GrpcImages.IntegrationTests.CatalogSteps;

namespace GrpcImages.IntegrationTests;

/// <summary>RAM users act on their account's resources within their allowed actions, in every service (R36).</summary>
public class RamUserTests(ClusterFixture fixture, ITestOutputHelper output) : ClusterTest(fixture, output)
{
    private static async Task<TestAccount> RamUserAsync(TestAccount account, string name, params string[] actions)
    {
        var root = account.Client<AccountService.AccountServiceClient>();
        await root.CreateRamUserAsync(new CreateRamUserRequest { AccountId = account.AccountId, UserName = name, AllowedActions = { actions } });
        var token = (await root.IssueTokenAsync(new IssueTokenRequest { RamUser = new RamUserSubject { AccountId = account.AccountId, UserName = name } })).Token;
        return account with { Token = token };
    }

    [Fact]
    public async Task ARamUserWorksOnItsAccountsImagesWithinItsActions()
    {
        var account = await Cluster.NewAccountAsync();
        var other = await Cluster.NewAccountAsync();
        var image = await account.NewImageAsync((await account.NewInstanceAsync()).InstanceId);
        var operatorUser = await RamUserAsync(account, "ops", "ecs:GetImage", "ecs:ListImages", "ecs:CreateInstance");

        Assert.Equal(ImageOwnerAlias.Self, (await operatorUser.GetImageAsync(image.ImageId)).OwnerAlias); // the account's own image
        var instance = await operatorUser.NewInstanceAsync(image.ImageId);
        Assert.Equal(account.AccountId, instance.OwnerAccountId);
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, "Forbidden.RAM", () =>
            operatorUser.Images().DeleteImageAsync(new DeleteImageRequest { RegionId = Hangzhou, ImageId = image.ImageId, Force = true }));
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, "Forbidden.RAM", () => operatorUser.Sharing().ModifyImageSharePermissionAsync(
            new ModifyImageSharePermissionRequest { RegionId = Hangzhou, ImageId = image.ImageId, AddAccountIds = { other.AccountId } }));
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, "Forbidden.RAM", () =>
            operatorUser.Client<KeyService.KeyServiceClient>().EnableKmsAsync(new EnableKmsRequest { RegionId = Hangzhou }));

        var admin = await RamUserAsync(account, "admin", "ecs:*");
        await admin.Sharing().ModifyImageSharePermissionAsync(new ModifyImageSharePermissionRequest { RegionId = Hangzhou, ImageId = image.ImageId, AddAccountIds = { other.AccountId } });
        Assert.Single(await other.OthersAsync());
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, "Forbidden.RAM", () =>
            admin.Client<KeyService.KeyServiceClient>().EnableKmsAsync(new EnableKmsRequest { RegionId = Hangzhou }));
        // Cross-service calls made for a RAM user are not held to its actions again (the service it called already was).
        Assert.Equal(1, (await admin.Sharing().DescribeImageSharePermissionAsync(new DescribeImageSharePermissionRequest { RegionId = Hangzhou, ImageId = image.ImageId })).TotalAccounts);
    }
}
