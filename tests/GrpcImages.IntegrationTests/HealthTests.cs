using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Reflection.V1Alpha;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.Testing;

namespace GrpcImages.IntegrationTests;

/// <summary>Health (grpc.health.v1, reporting Redis) and reflection answer without a token.</summary>
public class HealthTests(ClusterFixture fixture, ITestOutputHelper output) : ClusterTest(fixture, output)
{
    public static TheoryData<ServiceKind, string[]> ServicesOfEachHost => new()
    {
        { ServiceKind.Kms, ["grpcimages.kms.v1.AccountService", "grpcimages.kms.v1.RoleService", "grpcimages.kms.v1.KeyService"] },
        {
            ServiceKind.Catalog,
            ["grpcimages.catalog.v1.ImageService", "grpcimages.catalog.v1.InstanceService", "grpcimages.catalog.v1.SnapshotService",
             "grpcimages.catalog.v1.RegionService", "grpcimages.catalog.v1.ImageControlService"]
        },
        {
            ServiceKind.Transfer,
            ["grpcimages.transfer.v1.TransferService", "grpcimages.transfer.v1.TaskService", "grpcimages.transfer.v1.ObjectStoreService",
             "grpcimages.transfer.v1.ContentService"]
        },
        { ServiceKind.Sharing, ["grpcimages.sharing.v1.SharingService", "grpcimages.sharing.v1.QuotaService"] },
    };

    [Theory]
    [MemberData(nameof(ServicesOfEachHost))]
    public async Task EachServiceIsServingAndListsItsServicesByReflection(ServiceKind service, string[] expected)
    {
        var health = new Health.HealthClient(Cluster.Invoker(service, null));
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving,
            (await health.CheckAsync(new HealthCheckRequest())).Status);

        var reflection = new ServerReflection.ServerReflectionClient(Cluster.Invoker(service, null));
        using var call = reflection.ServerReflectionInfo();
        await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" });
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        var listed = call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToList();

        Assert.Subset(listed.ToHashSet(), expected.Append("grpc.health.v1.Health").ToHashSet());
    }

    [Theory]
    [InlineData(ServiceKind.Catalog, "google.rpc.ErrorInfo")]
    [InlineData(ServiceKind.Kms, "google.rpc.BadRequest")]
    public async Task ReflectionServesTheErrorDetailTypesSoOutsideClientsDecodeThem(ServiceKind service, string symbol)
    {
        var reflection = new ServerReflection.ServerReflectionClient(Cluster.Invoker(service, null));
        using var call = reflection.ServerReflectionInfo();
        await call.RequestStream.WriteAsync(new ServerReflectionRequest { FileContainingSymbol = symbol });
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        var files = call.ResponseStream.Current.FileDescriptorResponse.FileDescriptorProto
            .Select(b => Google.Protobuf.Reflection.FileDescriptorProto.Parser.ParseFrom(b)).ToList();

        Assert.Contains(files, f => f.Name == "google/rpc/error_details.proto" && f.MessageType.Any(m => symbol.EndsWith("." + m.Name, StringComparison.Ordinal)));
    }

    [Fact]
    public async Task WhenRedisIsDownHealthSaysSoAndCallsAreUnavailableWithoutInternals()
    {
        // Short client timeouts: the test waits for Redis to be found gone, not for the defaults to run out.
        await using var redis = await RedisServer.StartAsync();
        await using var cluster = await TestCluster.StartAsync(new Dictionary<string, string?>
        {
            ["Redis:Configuration"] = $"{redis.ConnectionString},syncTimeout=500,asyncTimeout=500,connectTimeout=500",
            ["Regions:0:Id"] = "cn-hangzhou",
        }, output: Output);
        var operatorToken = await cluster.OperatorTokenAsync();
        var accounts = cluster.Client<AccountService.AccountServiceClient>(operatorToken);

        redis.Stop();

        var health = new Health.HealthClient(cluster.Invoker(ServiceKind.Kms, null));
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, (await health.CheckAsync(new HealthCheckRequest())).Status);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, // the process itself is fine: no restart
            (await health.CheckAsync(new HealthCheckRequest { Service = "liveness" })).Status);
        var ex = await RpcAssert.FailsAsync(StatusCode.Unavailable, "ServiceUnavailable", () =>
            accounts.GetAccountAsync(new GetAccountRequest { AccountId = "1234567890123456" }));
        Assert.DoesNotContain(redis.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), ex.Status.Detail);
        Assert.DoesNotContain("Exception", ex.Status.Detail);
    }
}
