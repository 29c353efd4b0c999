using System.Diagnostics;
using Grpc.Core;
using Grpc.Health.V1;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.Contracts.Sharing.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.Testing;
using static GrpcImages.ReliabilityTests.ReliabilitySteps;

namespace GrpcImages.ReliabilityTests;

/// <summary>
/// Redis going away, with the services' default client settings: every service answers UNAVAILABLE
/// well within a caller's deadline (commands are not queued while disconnected), readiness turns
/// NOT_SERVING, and when Redis is back on its address the same processes serve again.
/// </summary>
public class RedisOutageTests(ITestOutputHelper output)
{
    [Fact]
    public async Task RedisGoneIsUnavailableWithinTheCallersDeadlineAndTheClusterRecoversWithoutRestarts()
    {
        var redis = await RedisServer.StartAsync();
        var port = redis.Port;
        await using var cluster = await TestCluster.StartAsync(new Dictionary<string, string?>
        {
            ["Redis:Configuration"] = redis.ConnectionString,
            ["Regions:0:Id"] = Hangzhou,
        }, output: output);
        var account = await cluster.NewAccountAsync();
        var calls = new (ServiceKind Service, Func<DateTime, Task> Call)[]
        {
            (ServiceKind.Kms, d => account.Client<AccountService.AccountServiceClient>().GetAccountAsync(new GetAccountRequest { AccountId = account.AccountId }, deadline: d).ResponseAsync),
            (ServiceKind.Catalog, d => account.Client<ImageService.ImageServiceClient>().GetImageAsync(new GetImageRequest { RegionId = Hangzhou, ImageId = Ubuntu }, deadline: d).ResponseAsync),
            (ServiceKind.Sharing, d => account.Client<QuotaService.QuotaServiceClient>().ListQuotaRequestsAsync(new ListQuotaRequestsRequest(), deadline: d).ResponseAsync),
            (ServiceKind.Transfer, d => account.Client<TaskService.TaskServiceClient>().ListTasksAsync(new ListTasksRequest { RegionId = Hangzhou }, deadline: d).ResponseAsync),
        };
        foreach (var (_, call) in calls)
        {
            await call(DateTime.UtcNow.AddSeconds(10)); // all answer while Redis is there
        }

        redis.Stop();
        var slowest = TimeSpan.Zero;
        foreach (var (service, call) in calls)
        {
            var watch = Stopwatch.StartNew();
            // Three times the goal of one second: a queued command would run into this deadline instead.
            var ex = await Assert.ThrowsAsync<RpcException>(() => call(DateTime.UtcNow.AddSeconds(3)));
            Assert.True(ex.StatusCode == StatusCode.Unavailable, $"{service}: {ex.StatusCode} {ex.Status.Detail}");
            Assert.Equal("ServiceUnavailable", RpcAssert.Reason(ex));
            slowest = watch.Elapsed > slowest ? watch.Elapsed : slowest;
        }
        var readiness = Stopwatch.StartNew();
        foreach (var service in Enum.GetValues<ServiceKind>())
        {
            var health = new Health.HealthClient(cluster.Invoker(service, null));
            while ((await health.CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(5))).Status != HealthCheckResponse.Types.ServingStatus.NotServing)
            {
                Assert.True(readiness.Elapsed < TimeSpan.FromSeconds(30), $"{service} stayed SERVING without Redis");
                await Task.Delay(50);
            }
        }
        var notServing = readiness.Elapsed;

        await using var back = await RedisServer.StartOnPortAsync(port);
        var recovery = Stopwatch.StartNew();
        foreach (var (service, call) in calls)
        {
            while (true)
            {
                try
                {
                    await call(DateTime.UtcNow.AddSeconds(3));
                    break;
                }
                catch (RpcException ex) when (ex.StatusCode != StatusCode.Unavailable)
                {
                    break; // an answer from the (now empty) store: the service reaches Redis again
                }
                catch (RpcException) when (recovery.Elapsed < TimeSpan.FromSeconds(60))
                {
                    await Task.Delay(100);
                }
            }
            output.WriteLine($"{service} answers again after {recovery.ElapsedMilliseconds} ms");
        }
        await redis.DisposeAsync();
        var note = $"slowest UNAVAILABLE {slowest.TotalMilliseconds:F0} ms, all NOT_SERVING after {notServing.TotalMilliseconds:F0} ms, recovered in {recovery.Elapsed.TotalMilliseconds:F0} ms";
        output.WriteLine(note);
        FaultSummary.Record("Redis killed, then back on its port", 1, 1, 0, note);
    }
}
