using Grpc.Core;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.Testing;
using static GrpcImages.ReliabilityTests.ReliabilitySteps;

namespace GrpcImages.ReliabilityTests;

/// <summary>The smaller faults of issue 11: what an anonymous caller costs, guessing the operator credential, a peer that is down.</summary>
public class SecurityTests(ITestOutputHelper output)
{
    private static readonly Marshaller<byte[]> Raw = Marshallers.Create(b => b, b => b);

    [Fact]
    public async Task AnAnonymousCallIsRefusedFromItsHeadersBeforeItsBodyIsRead()
    {
        await using var cluster = await TestCluster.StartAsync(new Dictionary<string, string?> { ["Regions:0:Id"] = Hangzhou }, [ServiceKind.Kms], output: output);
        // Over the 8 MiB message limit: a service that read the body first would answer RESOURCE_EXHAUSTED.
        var body = new byte[9 << 20];
        var method = new Method<byte[], byte[]>(MethodType.Unary, AccountService.Descriptor.FullName, "CreateAccount", Raw, Raw);
        var ex = await Assert.ThrowsAsync<RpcException>(() => cluster.Invoker(ServiceKind.Kms, null).AsyncUnaryCall(method, null, default, body).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, ex.StatusCode);
        Assert.Equal("MissingSecurityToken", RpcAssert.Reason(ex));
    }

    [Fact]
    public async Task GuessingTheOperatorCredentialIsThrottledAcrossTheCluster()
    {
        await using var cluster = await TestCluster.StartAsync(new Dictionary<string, string?> { ["Regions:0:Id"] = Hangzhou }, [ServiceKind.Kms], output: output);
        var second = await cluster.StartReplicaAsync(ServiceKind.Kms);
        var replicas = new[] { cluster.Port(ServiceKind.Kms), second };
        var outcomes = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            var accounts = new AccountService.AccountServiceClient(cluster.Invoker(replicas[i % 2], null));
            var ex = await Assert.ThrowsAsync<RpcException>(() => accounts.IssueTokenAsync(new IssueTokenRequest
            {
                OperatorName = TestCluster.OperatorName,
                OperatorCredential = $"guess-{i}",
            }).ResponseAsync);
            outcomes.Add(RpcAssert.Reason(ex)!);
        }
        output.WriteLine(string.Join(", ", outcomes.GroupBy(o => o).Select(g => $"{g.Key}: {g.Count()}")));
        Assert.Contains("Throttling.Credential", outcomes);
        Assert.All(outcomes, o => Assert.True(o is "InvalidCredential" or "Throttling.Credential", o));
        // The right credential works again once the second of guesses is over.
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.NotEmpty(await cluster.OperatorTokenAsync());
    }

    [Fact]
    public async Task APeerThatIsDownIsUnavailableWithItsReasonNotATransportMessage()
    {
        await using var cluster = await TestCluster.StartAsync(new Dictionary<string, string?> { ["Regions:0:Id"] = Hangzhou }, output: output);
        var account = await cluster.NewAccountAsync();
        var instance = await NewInstanceAsync(account, 20);
        await cluster.StopAsync(ServiceKind.Sharing); // the image quota lives there

        var ex = await RpcAssert.FailsAsync(StatusCode.Unavailable, "ServiceUnavailable", () => account.Client<ImageService.ImageServiceClient>()
            .CreateImageAsync(new CreateImageRequest { RegionId = Hangzhou, InstanceId = instance.InstanceId, ImageName = "no-quota-service" }));
        Assert.DoesNotContain("subchannel", ex.Status.Detail, StringComparison.OrdinalIgnoreCase);
    }
}
