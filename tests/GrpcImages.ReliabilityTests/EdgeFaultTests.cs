using System.Diagnostics;
using System.Net;
using Grpc.Core;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.Contracts.Sharing.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.Testing;
using static GrpcImages.ReliabilityTests.ReliabilitySteps;

namespace GrpcImages.ReliabilityTests;

/// <summary>
/// The edges users reach (signed download links, the ECS gateway) and calls between services while what
/// they depend on is frozen: a clear "unavailable, retry" soon, never a 500, nor a 504 after the whole deadline.
/// </summary>
public class EdgeFaultTests(ITestOutputHelper output)
{
    /// <summary>The production defaults: a silent peer is pinged after 2 s and given 3 s to answer.</summary>
    private static readonly Dictionary<string, string?> ProductionPings = new()
    {
        ["Regions:0:Id"] = Hangzhou, ["Peers:PingDelay"] = "00:00:02", ["Peers:PingTimeout"] = "00:00:03",
    };

    [Fact]
    public async Task R29_ADownloadWhileRedisIsFrozenIsServiceUnavailableWithRetryAfterThenServes()
    {
        await using var cluster = await TestCluster.StartAsync(new Dictionary<string, string?> { ["Regions:0:Id"] = Hangzhou }, output: output);
        var account = await cluster.NewAccountAsync();
        var bucket = await account.NewBucketAsync(Hangzhou);
        await account.PutObjectAsync(Hangzhou, bucket.Name, "disk.raw", [1, 2, 3]);
        var link = await account.Client<ObjectStoreService.ObjectStoreServiceClient>().CreateDownloadUrlAsync(new CreateDownloadUrlRequest
        {
            RegionId = Hangzhou, Bucket = bucket.Name, Name = "disk.raw",
        });
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };

        HttpResponseMessage frozen;
        string body;
        CreationFaultTests.Signal(cluster.Redis.Pid, "STOP");
        var watch = Stopwatch.StartNew();
        try
        {
            frozen = await http.GetAsync(link.Url);
            body = await frozen.Content.ReadAsStringAsync();
        }
        finally
        {
            await Task.Delay(TimeSpan.FromSeconds(Math.Max(0, 7 - watch.Elapsed.TotalSeconds)));
            CreationFaultTests.Signal(cluster.Redis.Pid, "CONT");
        }

        Assert.Equal(HttpStatusCode.ServiceUnavailable, frozen.StatusCode);
        Assert.True(frozen.Headers.RetryAfter?.Delta > TimeSpan.Zero, "no Retry-After");
        Assert.Contains("retry", body, StringComparison.OrdinalIgnoreCase);
        var served = await RetryAsync(async () =>
        {
            var response = await http.GetAsync(link.Url);
            return response.StatusCode == HttpStatusCode.OK ? await response.Content.ReadAsByteArrayAsync()
                : throw new RpcException(new Status(StatusCode.Unavailable, $"still {response.StatusCode}"));
        });
        Assert.Equal([1, 2, 3], served);
        Assert.DoesNotContain(cluster.Logs.Recent, l => l.Contains("RedisTimeoutException", StringComparison.Ordinal) && l.Contains(" Error ", StringComparison.Ordinal));
        await AssertInvariantsAsync(cluster, "Redis SIGSTOP for 7 s under a download link", 1, 1, output);
    }

    [Fact]
    public async Task AFrozenKmsOrCatalogIsServiceUnavailableAtTheGatewayAndBetweenServicesBeforeAnyDeadline()
    {
        await using var cluster = await TestCluster.StartAsync(ProductionPings, [], output: output);
        var kms = await cluster.StartProcessAsync(ServiceKind.Kms, primary: true);
        await cluster.StartReplicaAsync(ServiceKind.Sharing);
        await cluster.StartReplicaAsync(ServiceKind.Transfer);
        var catalog = await cluster.StartProcessAsync(ServiceKind.Catalog, primary: true);
        var account = await cluster.NewAccountAsync();
        var key = await account.Client<AccessKeyService.AccessKeyServiceClient>().CreateAccessKeyAsync(new CreateAccessKeyRequest { AccountId = account.AccountId });
        using var ecs = new EcsClient(await cluster.StartGatewayAsync(), key.AccessKey.AccessKeyId, key.AccessKeySecret);
        var instance = await NewInstanceAsync(account, 20);
        var images = account.Client<ImageService.ImageServiceClient>();
        var image = (await images.CreateImageAsync(new CreateImageRequest { RegionId = Hangzhou, InstanceId = instance.InstanceId, ImageName = "frozen-peer" })).Image;
        await WaitForAsync(images, image.ImageId, i => i.Status == ImageStatus.Available);
        var recipient = await cluster.NewAccountAsync();

        var notes = new List<string>();
        foreach (var (name, process) in new[] { ("kms", kms), ("catalog", catalog) })
        {
            Assert.Equal(200, (await ecs.CallAsync("DescribeImages", ("RegionId", Hangzhou), ("ImageOwnerAlias", "self"))).Status); // connections made
            process.Pause();
            var watch = Stopwatch.StartNew();
            try
            {
                var (status, body) = await ecs.CallAsync("DescribeImages", ("RegionId", Hangzhou), ("ImageOwnerAlias", "self"));
                Assert.Equal((503, "ServiceUnavailable"), (status, body.GetProperty("Code").GetString()));
                notes.Add($"{name}: 503 after {watch.ElapsedMilliseconds} ms");
                if (process == catalog)
                {
                    // Between services: sharing asks the frozen catalog whose image this is.
                    watch.Restart();
                    var refused = await Assert.ThrowsAsync<RpcException>(() => account.Client<SharingService.SharingServiceClient>().ModifyImageSharePermissionAsync(
                        new ModifyImageSharePermissionRequest { RegionId = Hangzhou, ImageId = image.ImageId, AddAccountIds = { recipient.AccountId } },
                        deadline: DateTime.UtcNow.AddSeconds(60)).ResponseAsync);
                    Assert.Equal(StatusCode.Unavailable, refused.StatusCode);
                    notes.Add($"sharing -> catalog: UNAVAILABLE after {watch.ElapsedMilliseconds} ms");
                }
            }
            finally
            {
                process.Resume();
            }
            var back = await RetryAsync(async () => (await ecs.CallAsync("DescribeImages", ("RegionId", Hangzhou), ("ImageOwnerAlias", "self"))) is (200, var ok)
                ? ok : throw new RpcException(new Status(StatusCode.Unavailable, "not yet")));
            Assert.Contains(back.GetProperty("Images").GetProperty("Image").EnumerateArray(), i => i.GetProperty("ImageId").GetString() == image.ImageId);
        }

        output.WriteLine(string.Join("; ", notes));
        var violations = await Invariants.SettleAsync(cluster.RedisConfiguration);
        FaultSummary.Record("kms, then catalog SIGSTOP under the gateway and sharing", 2, 2, violations.Count, string.Join("; ", notes));
        Assert.Empty(violations);
    }
}
