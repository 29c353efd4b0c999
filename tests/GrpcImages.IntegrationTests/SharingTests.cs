using Grpc.Core;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Common.V1;
using GrpcImages.Contracts.Sharing.V1;
using GrpcImages.Testing;
using static GrpcImages.IntegrationTests.CatalogSteps;

namespace GrpcImages.IntegrationTests;

/// <summary>Grants and what they allow (R13, R16-R19), revokes (R32), the audit.</summary>
public class SharingTests(ClusterFixture fixture, ITestOutputHelper output) : ClusterTest(fixture, output)
{
    [Fact]
    public async Task R19_ARecipientListsUsesAndDerivesFromASharedImageAndSharesOnlyItsOwn()
    {
        var a = await Cluster.NewAccountAsync();
        var b = await Cluster.NewAccountAsync();
        var c = await Cluster.NewAccountAsync();
        var image = await a.NewImageAsync((await a.NewInstanceAsync()).InstanceId);

        var shared = await a.ShareAsync(image.ImageId, b.AccountId);
        Assert.Equal(1, shared.TotalAccounts);
        Assert.Equal(b.AccountId, Assert.Single(shared.Grants).AccountId);

        // B sees it as "others", in its region only (R13), and can get it and use it.
        var listed = Assert.Single(await b.OthersAsync());
        Assert.Equal((image.ImageId, ImageOwnerAlias.Others, a.AccountId), (listed.ImageId, listed.OwnerAlias, listed.OwnerAccountId));
        Assert.Empty(await b.OthersAsync(Shanghai)); // R17: a share stays in its region (reaching another region takes a copy)
        Assert.Equal(ImageOwnerAlias.Others, (await b.GetImageAsync(image.ImageId)).OwnerAlias);
        Assert.Contains((await b.Images().ListImagesAsync(new ListImagesRequest { RegionId = Hangzhou, PageSize = 100 })).Images, i => i.ImageId == image.ImageId);
        var instance = await b.NewInstanceAsync(image.ImageId);
        var own = await b.NewImageAsync(instance.InstanceId);
        Assert.Equal(ImageOwnerAlias.Self, own.OwnerAlias);

        // B may share its own image, not A's (R16), and cannot change or delete A's (R19).
        await b.ShareAsync(own.ImageId, c.AccountId);
        Assert.Contains(await c.OthersAsync(), i => i.ImageId == own.ImageId);
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidImageId.NotFound", () => b.ShareAsync(image.ImageId, c.AccountId));
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidImageId.NotFound", () =>
            b.Images().UpdateImageAsync(new UpdateImageRequest { RegionId = Hangzhou, ImageId = image.ImageId, Description = "mine" }));
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidImageId.NotFound", () =>
            b.Images().DeleteImageAsync(new DeleteImageRequest { RegionId = Hangzhou, ImageId = image.ImageId, Force = true }));
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidImageId.NotFound", () =>
            b.Sharing().DescribeImageSharePermissionAsync(new DescribeImageSharePermissionRequest { RegionId = Hangzhou, ImageId = image.ImageId }));
        Assert.DoesNotContain(await c.OthersAsync(), i => i.ImageId == image.ImageId);
    }

    [Fact]
    public async Task AnImageStillBeingMadeCanBeSharedAndReachesItsRecipientAsItIs()
    {
        var a = await Cluster.NewAccountAsync();
        var b = await Cluster.NewAccountAsync();
        // A 32 TiB data disk keeps the image Creating for minutes at the test cluster's snapshot pace.
        var instance = await a.NewInstanceAsync(dataDiskGib: 32_768);
        var image = (await a.Images().CreateImageAsync(new CreateImageRequest { RegionId = Hangzhou, InstanceId = instance.InstanceId, ImageName = UniqueName() })).Image;
        Assert.Equal(ImageStatus.Creating, image.Status);

        // Packer shares a copy as soon as it asked for it: the grant is made while the image is being made.
        var shared = await a.ShareAsync(image.ImageId, b.AccountId);
        Assert.Equal(b.AccountId, Assert.Single(shared.Grants).AccountId);
        var seen = await b.GetImageAsync(image.ImageId);
        Assert.Equal((ImageStatus.Creating, ImageOwnerAlias.Others), (seen.Status, seen.OwnerAlias));
        // Lists show Available images by default, and nothing runs from an unfinished image.
        Assert.DoesNotContain(await b.OthersAsync(), i => i.ImageId == image.ImageId);
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, "IncorrectImageStatus", () => b.NewInstanceAsync(image.ImageId));
    }

    [Fact]
    public async Task R19_ARecipientReplacesASystemDiskWithASharedImage()
    {
        var a = await Cluster.NewAccountAsync();
        var b = await Cluster.NewAccountAsync();
        var image = await a.NewImageAsync((await a.NewInstanceAsync()).InstanceId);
        await a.ShareAsync(image.ImageId, b.AccountId);
        var instance = await b.StopAsync(await b.NewInstanceAsync());

        var replaced = (await b.Instances().ReplaceSystemDiskAsync(new ReplaceSystemDiskRequest
        {
            RegionId = Hangzhou, InstanceId = instance.InstanceId, ImageId = image.ImageId,
        })).Instance;

        Assert.Equal(image.ImageId, replaced.ImageId);
        // R31: A's image is now in use by B's instance.
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, "ImageUsingByInstance", () =>
            a.Images().DeleteImageAsync(new DeleteImageRequest { RegionId = Hangzhou, ImageId = image.ImageId }));
    }

    [Fact]
    public async Task R32_ForceDeletingASharedImageRevokesEveryGrant()
    {
        var a = await Cluster.NewAccountAsync();
        var b = await Cluster.NewAccountAsync();
        var image = await a.NewImageAsync((await a.NewInstanceAsync()).InstanceId);
        await a.ShareAsync(image.ImageId, b.AccountId);
        var instance = await b.StopAsync(await b.NewInstanceAsync(image.ImageId));
        var delete = new DeleteImageRequest { RegionId = Hangzhou, ImageId = image.ImageId };

        // In use by B's instance (R31) and shared (R32): refused without force.
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, "ImageUsingByInstance", () => a.Images().DeleteImageAsync(delete));
        await b.Instances().DeleteInstanceAsync(new DeleteInstanceRequest { RegionId = Hangzhou, InstanceId = instance.InstanceId });
        var kept = await b.StopAsync(await b.NewInstanceAsync(image.ImageId));
        await b.Instances().DeleteInstanceAsync(new DeleteInstanceRequest { RegionId = Hangzhou, InstanceId = kept.InstanceId });
        var survivor = await b.StopAsync(await b.NewInstanceAsync(image.ImageId));
        delete.Force = true;
        Assert.True((await a.Images().DeleteImageAsync(delete)).Deleted);

        Assert.Empty(await b.OthersAsync());
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidImageId.NotFound", () => b.GetImageAsync(image.ImageId));
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidImageId.NotFound", () =>
            b.Instances().CreateInstanceAsync(new CreateInstanceRequest { RegionId = Hangzhou, ImageId = image.ImageId }));
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, "InvalidImageId.NotFound", () =>
            b.Instances().ReinitializeSystemDiskAsync(new ReinitializeSystemDiskRequest { RegionId = Hangzhou, InstanceId = survivor.InstanceId }));
        var quotas = (await a.Quotas().GetQuotasAsync(new GetQuotasRequest { RegionId = Hangzhou })).Quotas;
        Assert.Equal(0, quotas.Single(q => q.Kind == QuotaKind.SharedImages).Usage);
    }

    [Fact]
    public async Task R32_ASharedImageIsNotDeletedWithoutForce()
    {
        var a = await Cluster.NewAccountAsync();
        var b = await Cluster.NewAccountAsync();
        var image = await a.NewImageAsync((await a.NewInstanceAsync()).InstanceId);
        await a.ShareAsync(image.ImageId, b.AccountId);

        var ex = await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, "ImageUseShared", () =>
            a.Images().DeleteImageAsync(new DeleteImageRequest { RegionId = Hangzhou, ImageId = image.ImageId }));

        Assert.Contains("shared", ex.Status.Detail);
        Assert.Single(await b.OthersAsync());
    }

    [Fact]
    public async Task R32_RemovingAnAccountFromAShareTakesTheImageAwayFromIt()
    {
        var a = await Cluster.NewAccountAsync();
        var b = await Cluster.NewAccountAsync();
        var c = await Cluster.NewAccountAsync();
        var image = await a.NewImageAsync((await a.NewInstanceAsync()).InstanceId);
        await a.ShareAsync(image.ImageId, b.AccountId, c.AccountId);
        var instance = await b.StopAsync(await b.NewInstanceAsync(image.ImageId));

        var after = await a.UnshareAsync(image.ImageId, b.AccountId);

        Assert.Equal([c.AccountId], after.Grants.Select(g => g.AccountId));
        Assert.Empty(await b.OthersAsync());
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidImageId.NotFound", () => b.GetImageAsync(image.ImageId));
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, "InvalidImageId.NotFound", () =>
            b.Instances().ReinitializeSystemDiskAsync(new ReinitializeSystemDiskRequest { RegionId = Hangzhou, InstanceId = instance.InstanceId }));
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidImageId.NotFound", () =>
            b.Instances().ReplaceSystemDiskAsync(new ReplaceSystemDiskRequest { RegionId = Hangzhou, InstanceId = instance.InstanceId, ImageId = image.ImageId }));
        Assert.Single(await c.OthersAsync()); // C still has it
    }

    [Fact]
    public async Task R13_SharingIsWithOtherExistingAccountsAtMostTenAtATime()
    {
        var a = await Cluster.NewAccountAsync();
        var image = await a.NewImageAsync((await a.NewInstanceAsync()).InstanceId);

        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidAccount.Forbbiden", () => a.ShareAsync(image.ImageId, a.AccountId));
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidAccount.NotFound", () => a.ShareAsync(image.ImageId, "1000000000000009"));
        var eleven = Enumerable.Range(0, 11).Select(i => $"10000000000000{i:D2}").ToArray();
        var ex = await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidParameter.AccountCount", () => a.ShareAsync(image.ImageId, eleven));
        Assert.Equal(["add_account_ids"], RpcAssert.ViolatedFields(ex));
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidAccountId.Malformed", () => a.ShareAsync(image.ImageId, "12345"));
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidImageId.NotFound", () => a.ShareInAsync(Shanghai, image.ImageId, "1000000000000001"));
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidImageId.NotFound", () => a.ShareAsync(Ubuntu, "1000000000000001"));
        Assert.Equal(0, (await a.Sharing().DescribeImageSharePermissionAsync(new DescribeImageSharePermissionRequest { RegionId = Hangzhou, ImageId = image.ImageId })).TotalAccounts);

        var ten = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => Cluster.NewAccountAsync()));
        Assert.Equal(10, (await a.ShareAsync(image.ImageId, ten.Select(t => t.AccountId).ToArray())).TotalAccounts);
        Assert.Equal(10, (await a.ShareAsync(image.ImageId, ten[0].AccountId)).TotalAccounts); // sharing again changes nothing
    }

    [Fact]
    public async Task R19_ADeprecatedImageCannotBeSharedButStaysWithItsRecipients()
    {
        var a = await Cluster.NewAccountAsync();
        var b = await Cluster.NewAccountAsync();
        var c = await Cluster.NewAccountAsync();
        var image = await a.NewImageAsync((await a.NewInstanceAsync()).InstanceId);
        await a.ShareAsync(image.ImageId, b.AccountId);
        await a.Images().UpdateImageAsync(new UpdateImageRequest { RegionId = Hangzhou, ImageId = image.ImageId, Deprecated = true });

        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, "OperationDenied.InvalidImageStatus", () => a.ShareAsync(image.ImageId, c.AccountId));

        Assert.Equal(ImageStatus.Deprecated, (await b.GetImageAsync(image.ImageId)).Status);
        await a.UnshareAsync(image.ImageId, b.AccountId); // removing still works
    }

    [Fact]
    public async Task R18_AMarketplaceDerivedImageStaysOnItsSiteWhileAPlainOneCrossesSites()
    {
        var cn = await Cluster.NewAccountAsync(Site.Cn);
        var cn2 = await Cluster.NewAccountAsync(Site.Cn);
        var jp = await Cluster.NewAccountAsync(Site.Jp);
        var sqlServer = await cn.MarketplaceSqlServerAsync();
        var derived = await cn.NewImageAsync((await cn.NewInstanceAsync(sqlServer.ImageId)).InstanceId);
        var plain = await cn.NewImageAsync((await cn.NewInstanceAsync()).InstanceId);

        var ex = await RpcAssert.FailsAsync(StatusCode.PermissionDenied, "InvalidImageId.BidMismatch", () => cn.ShareAsync(derived.ImageId, jp.AccountId, cn2.AccountId));
        Assert.Equal($"Cannot share the image with users {jp.AccountId} of other sites.", ex.Status.Detail);
        Assert.Empty(await cn2.OthersAsync()); // all or nothing

        await cn.ShareAsync(derived.ImageId, cn2.AccountId);
        await cn.ShareAsync(plain.ImageId, jp.AccountId);
        Assert.Contains(await jp.OthersAsync(), i => i.ImageId == plain.ImageId);
    }

    [Fact]
    public async Task R19_TheOwnerSeesWhoAnImageIsSharedWithAndWhenPageByPage()
    {
        var a = await Cluster.NewAccountAsync();
        var image = await a.NewImageAsync((await a.NewInstanceAsync()).InstanceId);
        var recipients = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => Cluster.NewAccountAsync()));
        foreach (var r in recipients)
        {
            await a.ShareAsync(image.ImageId, r.AccountId);
        }

        var seen = new List<ShareGrant>();
        var token = "";
        do
        {
            var page = await a.Sharing().DescribeImageSharePermissionAsync(new DescribeImageSharePermissionRequest
            {
                RegionId = Hangzhou, ImageId = image.ImageId, PageSize = 2, PageToken = token,
            });
            Assert.Equal(5, page.TotalAccounts);
            seen.AddRange(page.Grants);
            token = page.NextPageToken;
        } while (token.Length > 0);

        Assert.Equal(recipients.Select(r => r.AccountId), seen.Select(g => g.AccountId)); // oldest first
        Assert.All(seen, g => Assert.InRange(g.ShareTime.ToDateTimeOffset(), DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddSeconds(5)));
    }

    [Fact]
    public async Task EveryGrantAndRevokeIsAudited()
    {
        var a = await Cluster.NewAccountAsync();
        var b = await Cluster.NewAccountAsync();
        var c = await Cluster.NewAccountAsync();
        var image = await a.NewImageAsync((await a.NewInstanceAsync()).InstanceId);
        await a.ShareAsync(image.ImageId, b.AccountId, c.AccountId);
        await a.UnshareAsync(image.ImageId, b.AccountId);
        await a.Images().DeleteImageAsync(new DeleteImageRequest { RegionId = Hangzhou, ImageId = image.ImageId, Force = true });

        var records = (await a.Sharing().ListShareAuditRecordsAsync(new ListShareAuditRecordsRequest { ImageId = image.ImageId, PageSize = 100 })).Records;

        // Newest first; one call's grants are recorded in the order given.
        Assert.Equal(
            [(c.AccountId, ShareAction.RevokeOnDelete), (b.AccountId, ShareAction.Revoke), (c.AccountId, ShareAction.Grant), (b.AccountId, ShareAction.Grant)],
            records.Select(r => (r.AccountId, r.Action)));
        Assert.All(records.Where(r => r.Action != ShareAction.RevokeOnDelete), r => Assert.Equal(a.AccountId, r.Actor));
        Assert.All(records, r => Assert.Equal((image.ImageId, Hangzhou), (r.ImageId, r.RegionId)));
        Assert.Empty((await b.Sharing().ListShareAuditRecordsAsync(new ListShareAuditRecordsRequest { ImageId = image.ImageId })).Records); // B owns none of it
    }

    [Fact]
    public async Task AGrantWhoseRecipientIndexUpdateWasLostStillReachesTheRecipient()
    {
        var a = await Cluster.NewAccountAsync();
        var b = await Cluster.NewAccountAsync();
        var image = await a.NewImageAsync((await a.NewInstanceAsync()).InstanceId);
        await a.ShareAsync(image.ImageId, b.AccountId);
        var listed = (await b.Sharing().ListSharedImagesAsync(new ListSharedImagesRequest { RegionId = Hangzhou })).Images.Single();
        Assert.Equal((image.ImageId, a.AccountId), (listed.ImageId, listed.OwnerAccountId));

        // As if the sharing service died after committing the grant: the index entry is missing, the
        // change waits in the owner's outbox, and the owner is queued (as each grant change queues it first).
        await using var redis = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(Cluster.RedisConfiguration);
        var db = redis.GetDatabase();
        var prefix = $"gi:share:{{{GrpcImages.ServiceDefaults.Validation.ResourceIds.OwnerTag(b.AccountId)}}}:";
        var ownerPrefix = $"gi:share:{{{GrpcImages.ServiceDefaults.Validation.ResourceIds.OwnerTag(a.AccountId)}}}:";
        await db.KeyDeleteAsync($"{prefix}recv:{b.AccountId}:{Hangzhou}");
        Assert.Empty(await b.OthersAsync());
        await db.ListRightPushAsync($"{ownerPrefix}outbox:{a.AccountId}", $"+|{b.AccountId}|{Hangzhou}|{a.AccountId}|{image.ImageId}|{DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()}");
        var outbox = new GrpcImages.ServiceDefaults.Work.WorkQueue(redis, "gi:share:", "outbox", new GrpcImages.ServiceDefaults.Work.WorkQueueOptions());
        await outbox.EnqueueAsync(a.AccountId, a.AccountId, TimeSpan.FromMilliseconds(500));

        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((await b.OthersAsync()).Count == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the outbox queue did not repair the recipient's index");
            await Task.Delay(200);
        }
        Assert.Equal(image.ImageId, Assert.Single(await b.OthersAsync()).ImageId);
    }

    [Fact]
    public async Task InternalSharingCallsAreForTheClusterOnly()
    {
        var a = await Cluster.NewAccountAsync();

        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, "Forbidden.InternalOnly", () =>
            a.Sharing().CheckImageAccessAsync(new CheckImageAccessRequest { ImageId = "m-aaaaaaaaaaaaaaaaaaaa", OwnerAccountId = a.AccountId, AccountId = a.AccountId }));
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, "Forbidden.InternalOnly", () =>
            a.Quotas().ReserveQuotaAsync(new ReserveQuotaRequest { AccountId = a.AccountId, Kind = QuotaKind.Images, RegionId = Hangzhou, HolderId = "x" }));
    }
}
