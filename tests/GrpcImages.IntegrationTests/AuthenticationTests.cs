using Grpc.Core;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Common.V1;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.Contracts.Sharing.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.ServiceDefaults.Identity;
using GrpcImages.Testing;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace GrpcImages.IntegrationTests;

/// <summary>Every RPC of every service needs a token signed by the cluster (R36).</summary>
public class AuthenticationTests(ClusterFixture fixture, ITestOutputHelper output) : ClusterTest(fixture, output)
{
    public static TheoryData<ServiceKind> Services => [ServiceKind.Kms, ServiceKind.Catalog, ServiceKind.Transfer, ServiceKind.Sharing];

    /// <summary>One ordinary account-facing RPC of each service.</summary>
    private Task Call(ServiceKind service, string? token) => service switch
    {
        ServiceKind.Kms => Cluster.Client<AccountService.AccountServiceClient>(token).GetCallerIdentityAsync(new GetCallerIdentityRequest()).ResponseAsync,
        ServiceKind.Catalog => Cluster.Client<RegionService.RegionServiceClient>(token).ListRegionsAsync(new ListRegionsRequest()).ResponseAsync,
        ServiceKind.Transfer => Cluster.Client<TaskService.TaskServiceClient>(token).ListTasksAsync(new ListTasksRequest { RegionId = "cn-hangzhou" }).ResponseAsync,
        _ => Cluster.Client<QuotaService.QuotaServiceClient>(token).GetQuotasAsync(new GetQuotasRequest { RegionId = "cn-hangzhou" }).ResponseAsync,
    };

    private TokenService Tokens(TimeProvider time) =>
        new(Options.Create(new IdentityOptions { SigningKey = Cluster.SigningKey }), time);

    [Theory]
    [MemberData(nameof(Services))]
    public async Task ACallWithoutATokenIsUnauthenticated(ServiceKind service) =>
        await RpcAssert.FailsAsync(StatusCode.Unauthenticated, "MissingSecurityToken", () => Call(service, null));

    [Theory]
    [MemberData(nameof(Services))]
    public async Task ATokenWithABadSignatureIsUnauthenticated(ServiceKind service)
    {
        var forged = new TokenService(Options.Create(new IdentityOptions
        {
            SigningKey = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)),
        }), TimeProvider.System).Issue(Caller.Operator(TestCluster.OperatorName), TimeSpan.FromHours(1), out _);

        await RpcAssert.FailsAsync(StatusCode.Unauthenticated, "InvalidSecurityToken.MismatchWithSignature", () => Call(service, forged));
    }

    [Theory]
    [MemberData(nameof(Services))]
    public async Task AnExpiredTokenIsUnauthenticated(ServiceKind service)
    {
        var past = new FakeTimeProvider(DateTimeOffset.UtcNow.AddHours(-3));
        var expired = Tokens(past).Issue(Caller.Root("1234567890123456", Site.Cn), TimeSpan.FromHours(1), out _);

        await RpcAssert.FailsAsync(StatusCode.Unauthenticated, "InvalidSecurityToken.Expired", () => Call(service, expired));
    }

    [Theory]
    [MemberData(nameof(Services))]
    public async Task AMalformedTokenIsUnauthenticated(ServiceKind service) =>
        await RpcAssert.FailsAsync(StatusCode.Unauthenticated, "InvalidSecurityToken.Malformed", () => Call(service, "not-a-jwt"));

    [Theory]
    [MemberData(nameof(Services))]
    public async Task AnAccountTokenFromKmsIsAcceptedByEveryService(ServiceKind service)
    {
        var account = await Cluster.NewAccountAsync();

        var ex = await Record.ExceptionAsync(() => Call(service, account.Token));

        // Authentication passed: the call succeeded or the service answered for itself.
        Assert.False(ex is RpcException { StatusCode: StatusCode.Unauthenticated or StatusCode.PermissionDenied }, ex?.Message);
    }

    [Fact]
    public async Task InternalRpcsAreForServicesOfTheClusterOnly()
    {
        var account = await Cluster.NewAccountAsync();
        var operatorToken = await Cluster.OperatorTokenAsync();

        foreach (var token in new[] { account.Token, operatorToken })
        {
            await RpcAssert.FailsAsync(StatusCode.PermissionDenied, "Forbidden.InternalOnly", () =>
                Cluster.Client<ContentService.ContentServiceClient>(token).GetContentInfoAsync(new GetContentInfoRequest { RegionId = "cn-hangzhou" }));
            await RpcAssert.FailsAsync(StatusCode.PermissionDenied, "Forbidden.InternalOnly", () =>
                Cluster.Client<ImageControlService.ImageControlServiceClient>(token).GetImageContentAsync(new GetImageContentRequest()));
        }

        // A service token signed with the cluster key passes the gate (what the RPC then answers is its own business).
        var serviceToken = Tokens(TimeProvider.System).Issue(Caller.Service("catalog"), TimeSpan.FromMinutes(5), out _);
        var ex = await Record.ExceptionAsync(() =>
            Cluster.Client<ContentService.ContentServiceClient>(serviceToken).GetContentInfoAsync(new GetContentInfoRequest { RegionId = "cn-hangzhou" }).ResponseAsync);
        Assert.False(ex is RpcException { StatusCode: StatusCode.PermissionDenied or StatusCode.Unauthenticated }, ex?.Message);
    }
}
