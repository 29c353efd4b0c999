using Grpc.Core;
using GrpcImages.Contracts.Common.V1;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.Testing;

namespace GrpcImages.IntegrationTests;

/// <summary>Accounts, RAM users and tokens in the kms service (R36).</summary>
public class IdentityTests(ClusterFixture fixture, ITestOutputHelper output) : ClusterTest(fixture, output)
{
    private async Task<AccountService.AccountServiceClient> OperatorAccounts() =>
        Cluster.Client<AccountService.AccountServiceClient>(await Cluster.OperatorTokenAsync());

    [Fact]
    public async Task TheOperatorCreatesTwoAccountsAndGetsTheirTokens()
    {
        var accounts = await OperatorAccounts();
        var cn = (await accounts.CreateAccountAsync(new CreateAccountRequest { Site = Site.Cn, DisplayName = "Hangzhou Ltd" })).Account;
        var directory = (await Cluster.Client<ResourceDirectoryService.ResourceDirectoryServiceClient>(await Cluster.OperatorTokenAsync())
            .CreateResourceDirectoryAsync(new CreateResourceDirectoryRequest { ManagementAccountId = cn.AccountId })).Directory;
        var jp = (await accounts.CreateAccountAsync(new CreateAccountRequest { Site = Site.Jp, DisplayName = "Tokyo KK", OrganizationId = directory.DirectoryId })).Account;

        Assert.Matches("^[1-9][0-9]{15}$", cn.AccountId);
        Assert.NotEqual(cn.AccountId, jp.AccountId);
        Assert.Equal(directory.DirectoryId, jp.OrganizationId); // R37: it joined the directory

        foreach (var account in new[] { cn, jp })
        {
            var issued = await accounts.IssueTokenAsync(new IssueTokenRequest { AccountId = account.AccountId });
            var whoAmI = await Cluster.Client<AccountService.AccountServiceClient>(issued.Token).GetCallerIdentityAsync(new GetCallerIdentityRequest());
            Assert.Equal(PrincipalKind.AccountRoot, whoAmI.Principal.Kind);
            Assert.Equal(account.AccountId, whoAmI.Principal.AccountId);
            Assert.Equal(account.Site, whoAmI.Principal.Site);
            Assert.True(issued.ExpireTime.ToDateTimeOffset() > DateTimeOffset.UtcNow.AddHours(11));
        }
    }

    [Fact]
    public async Task TheOperatorCredentialIsNeededForAnOperatorToken()
    {
        var anonymous = Cluster.Client<AccountService.AccountServiceClient>(null);

        await RpcAssert.FailsAsync(StatusCode.Unauthenticated, "InvalidCredential", () =>
            anonymous.IssueTokenAsync(new IssueTokenRequest { OperatorName = TestCluster.OperatorName, OperatorCredential = "guess" }));
        await RpcAssert.FailsAsync(StatusCode.Unauthenticated, "MissingSecurityToken", () =>
            anonymous.IssueTokenAsync(new IssueTokenRequest { OperatorName = TestCluster.OperatorName }));
        var account = await Cluster.NewAccountAsync();
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, "Forbidden.OperatorOnly", () =>
            account.Client<AccountService.AccountServiceClient>().IssueTokenAsync(new IssueTokenRequest { OperatorName = TestCluster.OperatorName }));
    }

    [Fact]
    public async Task OnlyTheOperatorCreatesAccounts()
    {
        var account = await Cluster.NewAccountAsync();

        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, "Forbidden.OperatorOnly", () =>
            account.Client<AccountService.AccountServiceClient>().CreateAccountAsync(new CreateAccountRequest { Site = Site.Cn, DisplayName = "x" }));
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, "Forbidden.OperatorOnly", () =>
            account.Client<AccountService.AccountServiceClient>().ListAccountsAsync(new ListAccountsRequest()));
    }

    [Theory]
    [InlineData("123", Site.Cn, "ok name", "", "account_id", "InvalidAccountId.Malformed")]
    [InlineData("", Site.Unspecified, "ok name", "", "site", "InvalidSite.Malformed")]
    [InlineData("", (Site)9, "ok name", "", "site", "InvalidSite.Malformed")]
    [InlineData("", Site.Cn, "", "", "display_name", "InvalidDisplayName.Malformed")]
    [InlineData("", Site.Cn, "ok name", "org-1", "organization_id", "InvalidOrganizationId.Malformed")]
    public async Task BadAccountInputNamesTheField(string id, Site site, string name, string org, string field, string reason)
    {
        var accounts = await OperatorAccounts();

        var ex = await RpcAssert.FailsAsync(StatusCode.InvalidArgument, reason, () =>
            accounts.CreateAccountAsync(new CreateAccountRequest { AccountId = id, Site = site, DisplayName = name, OrganizationId = org }));

        Assert.Equal([field], RpcAssert.ViolatedFields(ex));
    }

    [Fact]
    public async Task AnAccountIdCanBeChosenButNotTwice()
    {
        var accounts = await OperatorAccounts();
        var id = "9" + Random.Shared.NextInt64(100_000_000_000_000, 999_999_999_999_999);

        var account = (await accounts.CreateAccountAsync(new CreateAccountRequest { AccountId = id, Site = Site.Intl, DisplayName = "chosen" })).Account;

        Assert.Equal(id, account.AccountId);
        await RpcAssert.FailsAsync(StatusCode.AlreadyExists, "InvalidAccount.AlreadyExists", () =>
            accounts.CreateAccountAsync(new CreateAccountRequest { AccountId = id, Site = Site.Intl, DisplayName = "again" }));
    }

    [Fact]
    public async Task AClientTokenReturnsTheFirstAccountAndRefusesAnotherRequest() // R35
    {
        var accounts = await OperatorAccounts();
        var token = Guid.NewGuid().ToString("N");
        var request = new CreateAccountRequest { Site = Site.Cn, DisplayName = "retry-safe", ClientToken = token };

        var first = (await accounts.CreateAccountAsync(request)).Account;
        var again = (await accounts.CreateAccountAsync(request)).Account;

        Assert.Equal(first, again);
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "IdempotenceParamNotMatch", () =>
            accounts.CreateAccountAsync(new CreateAccountRequest { Site = Site.Jp, DisplayName = "retry-safe", ClientToken = token }));
    }

    [Fact]
    public async Task TheOperatorListsAccountsPageByPage()
    {
        var accounts = await OperatorAccounts();
        var mine = new HashSet<string>();
        for (var i = 0; i < 3; i++)
        {
            mine.Add((await Cluster.NewAccountAsync()).AccountId);
        }

        var seen = new List<string>();
        var pageToken = "";
        do
        {
            var page = await accounts.ListAccountsAsync(new ListAccountsRequest { PageSize = 2, PageToken = pageToken });
            Assert.True(page.Accounts.Count <= 2);
            seen.AddRange(page.Accounts.Select(a => a.AccountId));
            pageToken = page.NextPageToken;
        } while (pageToken.Length > 0);

        Assert.Subset(seen.ToHashSet(), mine);
        Assert.Equal(seen.Order(StringComparer.Ordinal), seen);
        Assert.Equal(seen.Count, seen.Distinct().Count());
    }

    [Fact]
    public async Task AnAccountSeesItselfButAnotherAccountIsNotFound() // R36
    {
        var a = await Cluster.NewAccountAsync();
        var b = await Cluster.NewAccountAsync(Site.Intl);
        var bAccounts = b.Client<AccountService.AccountServiceClient>();

        Assert.Equal(Site.Intl, (await bAccounts.GetAccountAsync(new GetAccountRequest { AccountId = b.AccountId })).Account.Site);
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidAccount.NotFound", () =>
            bAccounts.GetAccountAsync(new GetAccountRequest { AccountId = a.AccountId }));
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidAccount.NotFound", () =>
            bAccounts.IssueTokenAsync(new IssueTokenRequest { AccountId = a.AccountId }));
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidAccount.NotFound", () =>
            bAccounts.CreateRamUserAsync(new CreateRamUserRequest { AccountId = a.AccountId, UserName = "mole", AllowedActions = { "*" } }));
        // An account that does not exist at all answers the same: no existence leak.
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidAccount.NotFound", () =>
            bAccounts.GetAccountAsync(new GetAccountRequest { AccountId = "1000000000000001" }));
    }

    [Fact]
    public async Task ARamUserActsWithinItsAllowedActions() // R36
    {
        var account = await Cluster.NewAccountAsync();
        var root = account.Client<AccountService.AccountServiceClient>();
        await root.CreateRamUserAsync(new CreateRamUserRequest
        {
            AccountId = account.AccountId,
            UserName = "alice",
            AllowedActions = { "ram:GetAccount" },
        });
        var aliceToken = (await root.IssueTokenAsync(new IssueTokenRequest
        {
            RamUser = new RamUserSubject { AccountId = account.AccountId, UserName = "alice" },
        })).Token;
        var alice = Cluster.Client<AccountService.AccountServiceClient>(aliceToken);

        var who = (await alice.GetCallerIdentityAsync(new GetCallerIdentityRequest(), new CallOptions())).Principal;
        Assert.Equal(PrincipalKind.RamUser, who.Kind);
        Assert.Equal("alice", who.Name);
        Assert.Equal(account.AccountId, (await alice.GetAccountAsync(new GetAccountRequest { AccountId = account.AccountId })).Account.AccountId);
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, "Forbidden.RAM", () =>
            alice.CreateRamUserAsync(new CreateRamUserRequest { AccountId = account.AccountId, UserName = "eve", AllowedActions = { "*" } }));
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, "Forbidden.RAM", () =>
            alice.IssueTokenAsync(new IssueTokenRequest { AccountId = account.AccountId }));
    }

    [Fact]
    public async Task RamUsersAreManagedByTheirAccountsRoot()
    {
        var account = await Cluster.NewAccountAsync();
        var root = account.Client<AccountService.AccountServiceClient>();

        var created = (await root.CreateRamUserAsync(new CreateRamUserRequest
        {
            AccountId = account.AccountId,
            UserName = "builder",
            AllowedActions = { "ecs:CreateImage", "ecs:CreateImage", "oss:*" },
        })).User;
        Assert.Equal(["ecs:CreateImage", "oss:*"], created.AllowedActions);
        await RpcAssert.FailsAsync(StatusCode.AlreadyExists, "InvalidRamUser.AlreadyExists", () =>
            root.CreateRamUserAsync(new CreateRamUserRequest { AccountId = account.AccountId, UserName = "builder" }));

        var updated = (await root.UpdateRamUserAsync(new UpdateRamUserRequest
        {
            AccountId = account.AccountId,
            UserName = "builder",
            AllowedActions = { "ecs:*" },
        })).User;
        Assert.Equal(["ecs:*"], updated.AllowedActions);
        Assert.Equal(updated, (await root.GetRamUserAsync(new GetRamUserRequest { AccountId = account.AccountId, UserName = "builder" })).User);

        await root.DeleteRamUserAsync(new DeleteRamUserRequest { AccountId = account.AccountId, UserName = "builder" });
        await root.DeleteRamUserAsync(new DeleteRamUserRequest { AccountId = account.AccountId, UserName = "builder" }); // idempotent
        await RpcAssert.FailsAsync(StatusCode.NotFound, "EntityNotExist.User", () =>
            root.IssueTokenAsync(new IssueTokenRequest { RamUser = new RamUserSubject { AccountId = account.AccountId, UserName = "builder" } }));
    }

    [Fact]
    public async Task R35_ARamUserCreatedWithAClientTokenIsCreatedOnce()
    {
        var account = await Cluster.NewAccountAsync();
        var root = account.Client<AccountService.AccountServiceClient>();
        var request = new CreateRamUserRequest { AccountId = account.AccountId, UserName = "deployer", AllowedActions = { "ecs:*" }, ClientToken = Guid.NewGuid().ToString() };

        var first = (await root.CreateRamUserAsync(request)).User;

        Assert.Equal(first, (await root.CreateRamUserAsync(request)).User);
        request.AllowedActions.Add("oss:*");
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "IdempotenceParamNotMatch", () => root.CreateRamUserAsync(request));
    }

    [Theory]
    [InlineData("", "ecs:CreateImage", "user_name", "InvalidRamUser.Malformed")]
    [InlineData("has space", "ecs:CreateImage", "user_name", "InvalidRamUser.Malformed")]
    [InlineData("bob", "CreateImage", "allowed_actions[0]", "InvalidAction.Malformed")]
    [InlineData("bob", "ecs:Create Image", "allowed_actions[0]", "InvalidAction.Malformed")]
    public async Task BadRamUserInputNamesTheField(string user, string action, string field, string reason)
    {
        var account = await Cluster.NewAccountAsync();

        var ex = await RpcAssert.FailsAsync(StatusCode.InvalidArgument, reason, () =>
            account.Client<AccountService.AccountServiceClient>().CreateRamUserAsync(new CreateRamUserRequest
            {
                AccountId = account.AccountId,
                UserName = user,
                AllowedActions = { action },
            }));
        Assert.Equal([field], RpcAssert.ViolatedFields(ex));
    }

    [Fact]
    public async Task ATokensLifetimeIsBounded()
    {
        var accounts = await OperatorAccounts();
        var account = await Cluster.NewAccountAsync();

        var shortLived = await accounts.IssueTokenAsync(new IssueTokenRequest
        {
            AccountId = account.AccountId,
            Ttl = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.FromMinutes(5)),
        });
        Assert.InRange(shortLived.ExpireTime.ToDateTimeOffset(), DateTimeOffset.UtcNow.AddMinutes(4), DateTimeOffset.UtcNow.AddMinutes(6));
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidParameter.Ttl", () =>
            accounts.IssueTokenAsync(new IssueTokenRequest
            {
                AccountId = account.AccountId,
                Ttl = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.FromDays(8)),
            }));
    }
}
