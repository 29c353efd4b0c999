using Grpc.Core;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Sharing.V1;
using GrpcImages.Testing;
using static GrpcImages.ReliabilityTests.ReliabilitySteps;

namespace GrpcImages.ReliabilityTests;

/// <summary>
/// R19 under faults: the sharing outbox hands each grant and revoke to the catalog, which counts a recipient's shared
/// images from them. A sharing process killed (SIGKILL) in the middle of parallel shares and revokes, and Redis frozen
/// (SIGSTOP) past the client timeout while they run, leave the counts what the grants make once the outbox queue has
/// run: the invariants hold and each recipient's total is what walking its pages finds.
/// </summary>
public class ShareCountFaultTests(ITestOutputHelper output)
{
    private static Dictionary<string, string?> Settings() => new()
    {
        ["Regions:0:Id"] = Hangzhou,
        ["Quotas:OutboxGuardMilliseconds"] = "1000", // a change whose request died is applied a second later
        ["Queues:outbox:Lease"] = "00:00:02",
    };

    private static async Task<int> ListedAsync(TestAccount recipient)
    {
        var request = new ListImagesRequest { RegionId = Hangzhou, OwnerAlias = ImageOwnerAlias.Others, PageSize = 3 };
        var (total, listed) = await ImageLists.WalkAsync(recipient.Client<ImageService.ImageServiceClient>(), request);
        Assert.Equal(listed, total);
        return listed;
    }

    [Fact]
    public async Task SharesAndRevokesThroughASharingKillAndARedisStallAreCountedAsTheGrantsStand()
    {
        // Callers reach a sharing replica in a process of its own; the in-process one beside it runs outbox items too.
        await using var cluster = await TestCluster.StartAsync(Settings(), [ServiceKind.Kms, ServiceKind.Sharing, ServiceKind.Catalog, ServiceKind.Transfer], output: output);
        var sharingProcess = await cluster.StartProcessAsync(ServiceKind.Sharing, primary: true);
        var owner = await cluster.NewAccountAsync();
        var recipients = new[] { await cluster.NewAccountAsync(), await cluster.NewAccountAsync(), await cluster.NewAccountAsync() };
        var instance = await NewInstanceAsync(owner, 20);
        var images = new List<string>();
        for (var i = 0; i < 8; i++)
        {
            var made = (await owner.Client<ImageService.ImageServiceClient>().CreateImageAsync(new CreateImageRequest
            {
                RegionId = Hangzhou, InstanceId = instance.InstanceId, ImageName = $"shared-{i}",
            })).Image;
            images.Add((await WaitForAsync(owner.Client<ImageService.ImageServiceClient>(), made.ImageId, m => m.Status == ImageStatus.Available)).ImageId);
        }

        // The first run shares every image with every recipient; the next ones revoke the odd ones and share the even ones
        // again (which changes nothing), all in parallel.
        const int Runs = 3;
        var survived = 0;
        for (var run = 0; run < Runs; run++)
        {
            var changes = images.Select((id, i) => new ModifyImageSharePermissionRequest
            {
                RegionId = Hangzhou, ImageId = id,
                AddAccountIds = { run == 0 || i % 2 == 0 ? recipients.Select(r => r.AccountId) : [] },
                RemoveAccountIds = { run > 0 && i % 2 == 1 ? recipients.Select(r => r.AccountId) : [] },
            }).ToList();
            var sharing = owner.Client<SharingService.SharingServiceClient>();
            var burst = changes.Select(async c =>
            {
                try
                {
                    await sharing.ModifyImageSharePermissionAsync(c);
                }
                catch (RpcException)
                {
                }
            }).ToList();
            if (run == 1)
            {
                await FreezeRedisAsync(cluster); // the drains and the catalog's recording time out; the outbox queue retries
            }
            else
            {
                await Task.Delay(10 + (run * 15));
                sharingProcess.Kill();
                // Started again where it was: the catalog's client of it keeps its address.
                sharingProcess = await cluster.StartProcessAsync(ServiceKind.Sharing, primary: true, port: sharingProcess.Port);
            }
            await Task.WhenAll(burst);
            // Changes whose request died (or whose script ran after the stall, past its caller's timeout) are applied by
            // the outbox queue alone: the catalog's counts must follow them before anyone asks again.
            Assert.Empty(await Invariants.SettleAsync(cluster.RedisConfiguration));

            // Callers whose answer was lost ask again: a change is idempotent.
            sharing = owner.Client<SharingService.SharingServiceClient>();
            foreach (var change in changes)
            {
                await RetryAsync(() => sharing.ModifyImageSharePermissionAsync(change).ResponseAsync);
            }
            survived++;
        }

        await AssertInvariantsAsync(cluster, "sharing SIGKILL and Redis SIGSTOP during parallel shares and revokes", Runs, survived, output);
        // The even images stay shared with each recipient.
        foreach (var recipient in recipients)
        {
            Assert.Equal(images.Count / 2, await ListedAsync(recipient));
        }
    }
}
