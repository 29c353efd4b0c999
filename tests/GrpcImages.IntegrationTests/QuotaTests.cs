using Grpc.Core;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Sharing.V1;
using GrpcImages.Testing;
using static GrpcImages.IntegrationTests.CatalogSteps;

namespace GrpcImages.IntegrationTests;

/// <summary>The quotas (R3, R14, R15), exact under concurrency, and the requests that raise them.</summary>
public class QuotaTests(ClusterFixture fixture, ITestOutputHelper output) : ClusterTest(fixture, output)
{
    private QuotaService.QuotaServiceClient Internal => Cluster.Client<QuotaService.QuotaServiceClient>(Cluster.ServiceToken("catalog"));

    private async Task<QuotaService.QuotaServiceClient> OperatorQuotas() => Cluster.Client<QuotaService.QuotaServiceClient>(await Cluster.OperatorTokenAsync());

    private static async Task<Quota> QuotaAsync(TestAccount account, QuotaKind kind, string region = Hangzhou) =>
        (await account.Quotas().GetQuotasAsync(new GetQuotasRequest { RegionId = region })).Quotas.Single(q => q.Kind == kind);

    [Fact]
    public async Task R15_The51stAccountIsRefusedUntilAnOperatorApprovesARaise()
    {
        var a = await Cluster.NewAccountAsync();
        var image = await a.NewImageAsync((await a.NewInstanceAsync()).InstanceId);
        var recipients = (await Task.WhenAll(Enumerable.Range(0, 51).Select(_ => Cluster.NewAccountAsync()))).Select(r => r.AccountId).ToList();
        foreach (var ten in recipients.Take(50).Chunk(10))
        {
            await a.ShareAsync(image.ImageId, ten);
        }
        Assert.Equal(new Quota { Kind = QuotaKind.AccountsPerImage, Limit = 50, Usage = 50 }, await QuotaAsync(a, QuotaKind.AccountsPerImage));

        await RpcAssert.FailsAsync(StatusCode.ResourceExhausted, "QuotaExceed.ShareImageUser", () => a.ShareAsync(image.ImageId, recipients[50]));

        var request = (await a.Quotas().RequestQuotaIncreaseAsync(new RequestQuotaIncreaseRequest
        {
            Kind = QuotaKind.AccountsPerImage, DesiredLimit = 80, Reason = "A partner programme",
        })).Request;
        Assert.Equal(QuotaRequestState.Pending, request.State);
        await RpcAssert.FailsAsync(StatusCode.ResourceExhausted, "QuotaExceed.ShareImageUser", () => a.ShareAsync(image.ImageId, recipients[50]));
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, "Forbidden.OperatorOnly", () =>
            a.Quotas().ApproveQuotaRequestAsync(new ApproveQuotaRequestRequest { RequestId = request.RequestId }));

        var operatorQuotas = await OperatorQuotas();
        var pending = (await operatorQuotas.ListQuotaRequestsAsync(new ListQuotaRequestsRequest { State = QuotaRequestState.Pending, PageSize = 100 })).Requests;
        Assert.Contains(pending, r => r.RequestId == request.RequestId);
        var approved = (await operatorQuotas.ApproveQuotaRequestAsync(new ApproveQuotaRequestRequest { RequestId = request.RequestId, Comment = "ok" })).Request;
        Assert.Equal((QuotaRequestState.Approved, "operator:admin"), (approved.State, approved.DecidedBy));

        Assert.Equal(51, (await a.ShareAsync(image.ImageId, recipients[50])).TotalAccounts);
        Assert.Equal(80, (await QuotaAsync(a, QuotaKind.AccountsPerImage)).Limit);
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, "IncorrectQuotaRequestStatus", () =>
            operatorQuotas.RejectQuotaRequestAsync(new RejectQuotaRequestRequest { RequestId = request.RequestId }));
    }

    [Fact]
    public async Task R14_The101stSharedImageIsRefusedUntilTheOwnerRaisesItsOwnQuota()
    {
        var a = await Cluster.NewAccountAsync();
        var b = await Cluster.NewAccountAsync();
        // 101 images, in two regions (the image quota is 100 per region, R3).
        var images = new List<Image>();
        foreach (var (region, count) in new[] { (Hangzhou, 60), (Shanghai, 41) })
        {
            var snapshot = await a.SnapshotOfAsync((await a.NewInstanceAsync(Ubuntu, region)).SystemDisk.DiskId, region);
            foreach (var batch in Enumerable.Range(0, count).Chunk(10))
            {
                images.AddRange(await Task.WhenAll(batch.Select(_ => a.QuickImageAsync(snapshot.SnapshotId, region))));
            }
        }
        foreach (var batch in images.Take(100).Chunk(10))
        {
            await Task.WhenAll(batch.Select(i => a.ShareInAsync(i.RegionId, i.ImageId, b.AccountId)));
        }
        Assert.Equal(100, (await QuotaAsync(a, QuotaKind.SharedImages)).Usage);

        var last = images[100];
        await RpcAssert.FailsAsync(StatusCode.ResourceExhausted, "QuotaExceed.ShareImage", () => a.ShareInAsync(last.RegionId, last.ImageId, b.AccountId));

        var raised = (await a.Quotas().RequestQuotaIncreaseAsync(new RequestQuotaIncreaseRequest { Kind = QuotaKind.SharedImages, DesiredLimit = 150 })).Request;
        Assert.Equal((QuotaRequestState.Approved, "self-service"), (raised.State, raised.DecidedBy));
        await a.ShareInAsync(last.RegionId, last.ImageId, b.AccountId);

        var quota = await QuotaAsync(a, QuotaKind.SharedImages);
        Assert.Equal((150, 101), (quota.Limit, quota.Usage));
        // Beyond the self-service ceiling an operator decides.
        var beyond = (await a.Quotas().RequestQuotaIncreaseAsync(new RequestQuotaIncreaseRequest { Kind = QuotaKind.SharedImages, DesiredLimit = quota.SelfServiceCeiling + 1 })).Request;
        Assert.Equal(QuotaRequestState.Pending, beyond.State);
        // R3: shared images do not count against the recipient's image quota.
        Assert.Equal(0, (await QuotaAsync(b, QuotaKind.Images, Hangzhou)).Usage);
        Assert.Equal(60, (await QuotaAsync(a, QuotaKind.Images, Hangzhou)).Usage);
    }

    [Fact]
    public async Task R3_TheImageQuotaRefusesTheOneHundredAndFirstImageAndDeletesGiveUnitsBack()
    {
        var a = await Cluster.NewAccountAsync();
        // 99 units held by other images of the account (reserved as the catalog would).
        await Task.WhenAll(Enumerable.Range(0, 99).Select(i => Internal.ReserveQuotaAsync(new ReserveQuotaRequest
        {
            AccountId = a.AccountId, Kind = QuotaKind.Images, RegionId = Hangzhou, HolderId = $"m-filler{i:D14}",
        }).ResponseAsync));
        var instance = await a.NewInstanceAsync();
        var hundredth = await a.NewImageAsync(instance.InstanceId);
        Assert.Equal(new Quota { Kind = QuotaKind.Images, RegionId = Hangzhou, Limit = 100, Usage = 100 }, await QuotaAsync(a, QuotaKind.Images));

        await RpcAssert.FailsAsync(StatusCode.ResourceExhausted, "QuotaExceed.Image", () => a.Images().CreateImageAsync(new CreateImageRequest
        {
            RegionId = Hangzhou, InstanceId = instance.InstanceId, ImageName = UniqueName(),
        }));
        Assert.Single((await a.Images().ListImagesAsync(new ListImagesRequest { RegionId = Hangzhou, OwnerAlias = ImageOwnerAlias.Self, Statuses = { ImageStatus.Creating, ImageStatus.Available } })).Images);
        Assert.Single((await a.Snapshots().ListSnapshotsAsync(new ListSnapshotsRequest { RegionId = Hangzhou })).Snapshots);
        // Another region has its own quota.
        await a.NewImageAsync((await a.NewInstanceAsync(Ubuntu, Shanghai)).InstanceId, Shanghai);

        await a.Images().DeleteImageAsync(new DeleteImageRequest { RegionId = Hangzhou, ImageId = hundredth.ImageId });
        Assert.Equal(99, (await QuotaAsync(a, QuotaKind.Images)).Usage);
        await a.NewImageAsync(instance.InstanceId);
    }

    [Fact]
    public async Task R15_TwoHundredConcurrentSharesRacingForTheLastFiveSlotsGrantExactlyFive()
    {
        var a = await Cluster.NewAccountAsync();
        var image = await a.NewImageAsync((await a.NewInstanceAsync()).InstanceId);
        var first = (await Task.WhenAll(Enumerable.Range(0, 45).Select(_ => Cluster.NewAccountAsync()))).Select(r => r.AccountId).ToList();
        foreach (var ten in first.Chunk(10))
        {
            await a.ShareAsync(image.ImageId, ten);
        }
        var racers = (await Task.WhenAll(Enumerable.Range(0, 200).Select(_ => Cluster.NewAccountAsync()))).Select(r => r.AccountId).ToList();

        var outcomes = await Task.WhenAll(racers.Select(async r =>
        {
            try
            {
                await a.ShareAsync(image.ImageId, r);
                return "granted";
            }
            catch (RpcException ex)
            {
                return RpcAssert.Reason(ex) ?? ex.StatusCode.ToString();
            }
        }));

        Assert.Equal(5, outcomes.Count(o => o == "granted"));
        Assert.Equal(195, outcomes.Count(o => o == "QuotaExceed.ShareImageUser"));
        Assert.Equal(50, (await a.Sharing().DescribeImageSharePermissionAsync(new DescribeImageSharePermissionRequest { RegionId = Hangzhou, ImageId = image.ImageId })).TotalAccounts);
    }

    [Fact]
    public async Task R3_TwoHundredConcurrentReservationsForTheLastFiveUnitsGrantExactlyFive()
    {
        var a = await Cluster.NewAccountAsync();
        ReserveQuotaRequest Reserve(string holder) => new() { AccountId = a.AccountId, Kind = QuotaKind.Images, RegionId = Tokyo, HolderId = holder };
        await Task.WhenAll(Enumerable.Range(0, 95).Select(i => Internal.ReserveQuotaAsync(Reserve($"held-{i}")).ResponseAsync));

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 200).Select(async i =>
        {
            try
            {
                await Internal.ReserveQuotaAsync(Reserve($"racer-{i}"));
                return true;
            }
            catch (RpcException ex) when (RpcAssert.Reason(ex) == "QuotaExceed.Image")
            {
                return false;
            }
        }));

        Assert.Equal(5, outcomes.Count(o => o));
        // Reserving again for a holder that has a unit changes nothing; releasing frees it.
        Assert.Equal(100, (await Internal.ReserveQuotaAsync(Reserve("held-0"))).Quota.Usage);
        Assert.True((await Internal.ReleaseQuotaAsync(new ReleaseQuotaRequest { AccountId = a.AccountId, Kind = QuotaKind.Images, RegionId = Tokyo, HolderId = "held-0" })).Released);
        Assert.Equal(100, (await Internal.ReserveQuotaAsync(Reserve("new"))).Quota.Usage);
    }

    [Fact]
    public async Task QuotaRequestsAreListedWithTheirStatesAndHonourClientTokens() // R35
    {
        var a = await Cluster.NewAccountAsync();
        var b = await Cluster.NewAccountAsync();
        var request = new RequestQuotaIncreaseRequest { Kind = QuotaKind.Images, RegionId = Hangzhou, DesiredLimit = 200, Reason = "migration", ClientToken = Guid.NewGuid().ToString() };
        var first = (await a.Quotas().RequestQuotaIncreaseAsync(request)).Request;
        Assert.Equal(first.RequestId, (await a.Quotas().RequestQuotaIncreaseAsync(request)).Request.RequestId);
        request.DesiredLimit = 300;
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "IdempotenceParamNotMatch", () => a.Quotas().RequestQuotaIncreaseAsync(request));
        var second = (await a.Quotas().RequestQuotaIncreaseAsync(new RequestQuotaIncreaseRequest { Kind = QuotaKind.AccountsPerImage, DesiredLimit = 60 })).Request;
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidParameter.DesiredLimit", () =>
            a.Quotas().RequestQuotaIncreaseAsync(new RequestQuotaIncreaseRequest { Kind = QuotaKind.AccountsPerImage, DesiredLimit = 10 }));

        var operatorQuotas = await OperatorQuotas();
        var rejected = (await operatorQuotas.RejectQuotaRequestAsync(new RejectQuotaRequestRequest { RequestId = second.RequestId, Comment = "not now" })).Request;
        Assert.Equal(QuotaRequestState.Rejected, rejected.State);

        var mine = (await a.Quotas().ListQuotaRequestsAsync(new ListQuotaRequestsRequest())).Requests;
        Assert.Equal([second.RequestId, first.RequestId], mine.Select(r => r.RequestId)); // newest first
        Assert.Equal([first.RequestId], (await a.Quotas().ListQuotaRequestsAsync(new ListQuotaRequestsRequest { State = QuotaRequestState.Pending })).Requests.Select(r => r.RequestId));
        Assert.Empty((await b.Quotas().ListQuotaRequestsAsync(new ListQuotaRequestsRequest())).Requests);
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidQuotaRequestId.NotFound", () =>
            operatorQuotas.ApproveQuotaRequestAsync(new ApproveQuotaRequestRequest { RequestId = "q-aaaaaaaaaaaaaaaaaaaa" }));
        Assert.Equal(100, (await QuotaAsync(a, QuotaKind.Images)).Limit); // a rejected or pending request raises nothing
    }
}
