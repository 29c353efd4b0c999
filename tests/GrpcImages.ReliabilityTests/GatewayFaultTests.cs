using System.Diagnostics;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.Testing;
using static GrpcImages.ReliabilityTests.ReliabilitySteps;

namespace GrpcImages.ReliabilityTests;

/// <summary>The ECS gateway while Redis stalls longer than the clients' timeout: a clear 503, never a 500 or a hang, and service again after.</summary>
public class GatewayFaultTests(ITestOutputHelper output)
{
    [Fact]
    public async Task ARedisStallIsServiceUnavailableAndTheGatewayServesAgainAfter()
    {
        await using var cluster = await TestCluster.StartAsync(new Dictionary<string, string?> { ["Regions:0:Id"] = Hangzhou }, output: output);
        var account = await cluster.NewAccountAsync();
        var key = await account.Client<AccessKeyService.AccessKeyServiceClient>().CreateAccessKeyAsync(new CreateAccessKeyRequest { AccountId = account.AccountId });
        using var ecs = new EcsClient(await cluster.StartGatewayAsync(), key.AccessKey.AccessKeyId, key.AccessKeySecret);
        Assert.Equal(200, (await ecs.CallAsync("DescribeRegions")).Status);

        CreationFaultTests.Signal(cluster.Redis.Pid, "STOP");
        int status;
        string? code;
        var watch = Stopwatch.StartNew();
        try
        {
            var (s, body) = await ecs.CallAsync("DescribeImages", ("RegionId", Hangzhou), ("ImageOwnerAlias", "system"));
            (status, code) = (s, body.GetProperty("Code").GetString());
        }
        finally
        {
            await Task.Delay(TimeSpan.FromSeconds(Math.Max(0, 7 - watch.Elapsed.TotalSeconds))); // a stall longer than the 5 s client timeout
            CreationFaultTests.Signal(cluster.Redis.Pid, "CONT");
        }
        Assert.Equal(503, status);
        Assert.Equal("ServiceUnavailable", code);

        var recovered = false;
        for (var i = 0; i < 100 && !recovered; i++)
        {
            recovered = (await ecs.CallAsync("DescribeImages", ("RegionId", Hangzhou), ("ImageOwnerAlias", "system"))).Status == 200;
            if (!recovered)
            {
                await Task.Delay(100);
            }
        }
        Assert.True(recovered, "the gateway did not serve again after Redis came back");
        FaultSummary.Record("Redis frozen 7 s under the ECS gateway", 1, recovered ? 1 : 0, 0, "503 ServiceUnavailable, then 200");
    }
}
