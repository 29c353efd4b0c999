using Grpc.Core;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Common.V1;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.Contracts.Sharing.V1;
using GrpcImages.Testing;
using static GrpcImages.IntegrationTests.CatalogSteps;

namespace GrpcImages.IntegrationTests;

/// <summary>Sharing with an organization (R37): a resource directory, its folders and member accounts, as membership changes.</summary>
public class OrganizationSharingTests(ClusterFixture fixture, ITestOutputHelper output) : ClusterTest(fixture, output)
{
    /// <summary>R37: membership changes reach access checks on every replica within a second (the announcements' bound).</summary>
    private static readonly TimeSpan Propagation = TimeSpan.FromSeconds(1);

    private static readonly string[] RaceOutcomes = ["ok", "EntityNotExists.Account", "NotSupport.AccountInAnotherResourceDirectory", "InvalidParameter"];

    [Fact]
    public async Task R37_AnImageSharedWithAFolderReachesAnAccountMovedInLaterAndStopsWhenItLeaves()
    {
        var a = await Cluster.NewAccountAsync();
        var b = await Cluster.NewAccountAsync();
        var directory = await a.NewDirectoryAsync();
        await a.JoinAsync(directory, b);
        var dev = await a.NewFolderAsync(directory.RootFolderId, "dev");
        var web = await a.NewFolderAsync(dev.FolderId, "web");
        var image = await a.NewImageAsync((await a.NewInstanceAsync()).InstanceId);

        var shared = await a.ShareWithOrganizationAsync(image.ImageId, dev.FolderId);
        var grant = Assert.Single(shared.OrganizationGrants);
        Assert.Equal(new OrganizationTarget { DirectoryId = directory.DirectoryId, TargetId = dev.FolderId, Kind = OrganizationTargetKind.Folder }, grant.Target);
        Assert.Equal((0, 1), (shared.TotalAccounts, shared.TotalOrganizationGrants));
        // B sits in the root folder, above dev: not reached.
        Assert.Empty(await b.OthersAsync());
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidImageId.NotFound", () => b.GetImageAsync(image.ImageId));

        // Moved into a sub-folder of dev afterwards, B gains the image.
        await a.MoveAsync(b, web.FolderId);
        await EventuallyAsync(async () => Assert.Equal(ImageOwnerAlias.Others, (await b.GetImageAsync(image.ImageId)).OwnerAlias));
        var listed = Assert.Single(await b.OthersAsync());
        Assert.Equal((image.ImageId, a.AccountId), (listed.ImageId, listed.OwnerAccountId));
        var via = Assert.Single((await b.Sharing().ListSharedImagesAsync(new ListSharedImagesRequest { RegionId = Hangzhou })).Images);
        Assert.Equal(dev.FolderId, via.OrganizationTarget.TargetId);
        var instance = await b.StopAsync(await b.NewInstanceAsync(image.ImageId));

        // Back in the root folder, B loses it as a revoked share takes it (R32): no listing, no reinitialising.
        await a.MoveAsync(b, directory.RootFolderId);
        await EventuallyAsync(() => RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidImageId.NotFound", () => b.GetImageAsync(image.ImageId)));
        Assert.Empty(await b.OthersAsync());
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, "InvalidImageId.NotFound", () =>
            b.Instances().ReinitializeSystemDiskAsync(new ReinitializeSystemDiskRequest { RegionId = Hangzhou, InstanceId = instance.InstanceId }));

        // In dev again it has it back; removed from the directory, it has it no more.
        await a.MoveAsync(b, dev.FolderId);
        await EventuallyAsync(async () => Assert.Single(await b.OthersAsync()));
        await a.Directories().RemoveAccountAsync(new RemoveAccountRequest { DirectoryId = directory.DirectoryId, AccountId = b.AccountId });
        await EventuallyAsync(() => RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidImageId.NotFound", () => b.GetImageAsync(image.ImageId)));
        Assert.Empty(await b.OthersAsync());

        // The owner sees the grant beside account grants, and the audit records it.
        var described = await a.Sharing().DescribeImageSharePermissionAsync(new DescribeImageSharePermissionRequest { RegionId = Hangzhou, ImageId = image.ImageId });
        Assert.Equal((dev.FolderId, 1), (Assert.Single(described.OrganizationGrants).Target.TargetId, described.TotalOrganizationGrants));
        var record = Assert.Single((await a.Sharing().ListShareAuditRecordsAsync(new ListShareAuditRecordsRequest { ImageId = image.ImageId })).Records);
        Assert.Equal((ShareAction.Grant, dev.FolderId, ""), (record.Action, record.OrganizationTarget.TargetId, record.AccountId));
    }

    [Fact]
    public async Task R37_SharingOutsideOnesOwnDirectoryIsRefused()
    {
        var a = await Cluster.NewAccountAsync();
        var outsider = await Cluster.NewAccountAsync();
        var other = await Cluster.NewAccountAsync();
        var image = await a.NewImageAsync((await a.NewInstanceAsync()).InstanceId);
        var othersDirectory = await other.NewDirectoryAsync();
        var othersFolder = await other.NewFolderAsync(othersDirectory.RootFolderId, "theirs");

        // In no directory, A shares with no organization.
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidParameter", () => a.ShareWithOrganizationAsync(image.ImageId, othersDirectory.DirectoryId));

        var directory = await a.NewDirectoryAsync();
        // Another directory and its folders are missing to A (R36); an account outside A's directory is not a member.
        await RpcAssert.FailsAsync(StatusCode.NotFound, "EntityNotExists.ResourceDirectory", () => a.ShareWithOrganizationAsync(image.ImageId, othersDirectory.DirectoryId));
        await RpcAssert.FailsAsync(StatusCode.NotFound, "EntityNotExists.Folder", () => a.ShareWithOrganizationAsync(image.ImageId, othersFolder.FolderId));
        await RpcAssert.FailsAsync(StatusCode.NotFound, "EntityNotExists.Folder", () => a.ShareWithOrganizationAsync(image.ImageId, othersDirectory.RootFolderId));
        var ex = await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidParameter", () => a.ShareWithOrganizationAsync(image.ImageId, outsider.AccountId));
        Assert.Equal(["add_organization_targets[0]"], RpcAssert.ViolatedFields(ex));
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidParameter.OrganizationTarget", () => a.ShareWithOrganizationAsync(image.ImageId, "fd-NOT-AN-ID"));
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidParameter.TargetCount", () =>
            a.ShareWithOrganizationAsync(image.ImageId, [.. Enumerable.Repeat(directory.DirectoryId, 11)]));
        // All or nothing: a good target beside a bad one is not shared with either.
        await RpcAssert.FailsAsync(StatusCode.NotFound, "EntityNotExists.Folder", () =>
            a.ShareWithOrganizationAsync(image.ImageId, directory.DirectoryId, othersFolder.FolderId));
        Assert.Equal(0, (await a.Sharing().DescribeImageSharePermissionAsync(new DescribeImageSharePermissionRequest
        {
            RegionId = Hangzhou, ImageId = image.ImageId,
        })).TotalOrganizationGrants);

        // Nobody shares another owner's image with its organization (R16).
        await other.JoinAsync(othersDirectory, outsider);
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidImageId.NotFound", () => outsider.ShareWithOrganizationAsync(image.ImageId, othersDirectory.DirectoryId));
        Assert.Empty(await outsider.OthersAsync());
    }

    [Fact]
    public async Task R37_ADirectoryOrFolderGrantCountsAsOneTowardTheQuotas()
    {
        var a = await Cluster.NewAccountAsync();
        var directory = await a.NewDirectoryAsync();
        var members = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => Cluster.NewAccountAsync()));
        foreach (var m in members)
        {
            await a.JoinAsync(directory, m);
        }
        var folder = await a.NewFolderAsync(directory.RootFolderId, "team");
        var image = await a.NewImageAsync((await a.NewInstanceAsync()).InstanceId);
        var accounts = (await Task.WhenAll(Enumerable.Range(0, 48).Select(_ => Cluster.NewAccountAsync()))).Select(r => r.AccountId).ToList();
        foreach (var ten in accounts.Chunk(10))
        {
            await a.ShareAsync(image.ImageId, ten);
        }

        // The directory (four members) and a folder are one grant each: 48 + 2 = 50, the limit (R15).
        var shared = await a.ShareWithOrganizationAsync(image.ImageId, directory.DirectoryId, folder.FolderId);
        Assert.Equal((48, 2), (shared.TotalAccounts, shared.TotalOrganizationGrants));
        Assert.Equal(50, (await QuotaAsync(a, QuotaKind.AccountsPerImage)).Usage);
        Assert.Equal(1, (await QuotaAsync(a, QuotaKind.SharedImages)).Usage); // one image shared (R14), however many grants
        await RpcAssert.FailsAsync(StatusCode.ResourceExhausted, "QuotaExceed.ShareImageUser", () => a.ShareWithOrganizationAsync(image.ImageId, members[0].AccountId));
        await RpcAssert.FailsAsync(StatusCode.ResourceExhausted, "QuotaExceed.ShareImageUser", () => a.ShareAsync(image.ImageId, members[0].AccountId));
        // Every member is reached through the one directory grant.
        foreach (var m in members)
        {
            Assert.Equal(image.ImageId, Assert.Single(await m.OthersAsync()).ImageId);
        }

        // Removing the folder frees its slot for a member-account grant.
        var after = await a.UnshareWithOrganizationAsync(image.ImageId, folder.FolderId);
        Assert.Equal(directory.DirectoryId, Assert.Single(after.OrganizationGrants).Target.TargetId);
        await a.ShareWithOrganizationAsync(image.ImageId, members[0].AccountId);
        Assert.Equal(50, (await QuotaAsync(a, QuotaKind.AccountsPerImage)).Usage);

        // With no account grants left, the organization grants alone keep the image shared (R14), and block deletion without force (R32).
        foreach (var ten in accounts.Chunk(10))
        {
            await a.UnshareAsync(image.ImageId, ten);
        }
        Assert.Equal(1, (await QuotaAsync(a, QuotaKind.SharedImages)).Usage);
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, "ImageUseShared", () =>
            a.Images().DeleteImageAsync(new DeleteImageRequest { RegionId = Hangzhou, ImageId = image.ImageId }));
        await a.Images().DeleteImageAsync(new DeleteImageRequest { RegionId = Hangzhou, ImageId = image.ImageId, Force = true });
        Assert.Equal(0, (await QuotaAsync(a, QuotaKind.SharedImages)).Usage);
        Assert.Empty(await members[1].OthersAsync());
    }

    [Fact]
    public async Task R37_AnEncryptedImageIsNotSharedWithAnOrganizationWithoutTheRole()
    {
        var a = await Cluster.NewAccountAsync();
        var b = await Cluster.NewAccountAsync();
        var directory = await a.NewDirectoryAsync();
        await a.JoinAsync(directory, b);
        var key = await a.NewCmkAsync();
        var source = (await a.Instances().CreateInstanceAsync(new CreateInstanceRequest
        {
            RegionId = Hangzhou, ImageId = Ubuntu, SystemDiskEncryption = new EncryptionSpec { Encrypted = true, KmsKeyId = key.KeyId },
        })).Instance;
        var image = await a.NewImageAsync(source.InstanceId);

        var refused = await RpcAssert.FailsAsync(StatusCode.PermissionDenied, "AssumeRoleError", () => a.ShareWithOrganizationAsync(image.ImageId, directory.DirectoryId));
        Assert.Equal("Requires a RAM role of AliyunECSShareEncryptImageDefaultRole before sharing encrypted image.", refused.Status.Detail);
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, "AssumeRoleError", () => a.ShareWithOrganizationAsync(image.ImageId, b.AccountId));
        Assert.Empty(await b.OthersAsync());

        await a.AddRoleAsync(KmsSteps.ShareEncryptRole);
        await a.ShareWithOrganizationAsync(image.ImageId, directory.DirectoryId);
        Assert.Equal(image.ImageId, Assert.Single(await b.OthersAsync()).ImageId);
    }

    [Fact]
    public async Task R37_AMarketplaceDerivedImageSharedWithADirectoryReachesOnlyMembersOfTheOwnersSite()
    {
        var cn = await Cluster.NewAccountAsync(Site.Cn);
        var cn2 = await Cluster.NewAccountAsync(Site.Cn);
        var jp = await Cluster.NewAccountAsync(Site.Jp);
        var directory = await cn.NewDirectoryAsync();
        await cn.JoinAsync(directory, cn2);
        await cn.JoinAsync(directory, jp);
        var sqlServer = await cn.MarketplaceSqlServerAsync();
        var derived = await cn.NewImageAsync((await cn.NewInstanceAsync(sqlServer.ImageId)).InstanceId);

        // R18 by each member's own site: a member account of another site is refused by name...
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, "InvalidImageId.BidMismatch", () => cn.ShareWithOrganizationAsync(derived.ImageId, jp.AccountId));
        // ...and the directory reaches only the owner's site.
        await cn.ShareWithOrganizationAsync(derived.ImageId, directory.DirectoryId);
        Assert.Equal(derived.ImageId, Assert.Single(await cn2.OthersAsync()).ImageId);
        Assert.Empty(await jp.OthersAsync());
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidImageId.NotFound", () => jp.GetImageAsync(derived.ImageId));
    }

    [Fact]
    public async Task R37_AMemberOfAnotherDirectorySeesNothing()
    {
        var a = await Cluster.NewAccountAsync();
        var b = await Cluster.NewAccountAsync();
        var other = await Cluster.NewAccountAsync();
        var stranger = await Cluster.NewAccountAsync();
        var directory = await a.NewDirectoryAsync();
        await a.JoinAsync(directory, b);
        var othersDirectory = await other.NewDirectoryAsync();
        await other.JoinAsync(othersDirectory, stranger);
        var image = await a.NewImageAsync((await a.NewInstanceAsync()).InstanceId);

        await a.ShareWithOrganizationAsync(image.ImageId, directory.DirectoryId, directory.RootFolderId, b.AccountId);

        Assert.Single(await b.OthersAsync());
        foreach (var outsider in new[] { other, stranger })
        {
            Assert.Empty(await outsider.OthersAsync());
            Assert.Empty((await outsider.Sharing().ListSharedImagesAsync(new ListSharedImagesRequest { RegionId = Hangzhou })).Images);
            await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidImageId.NotFound", () => outsider.GetImageAsync(image.ImageId));
            await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidImageId.NotFound", () => outsider.NewInstanceAsync(image.ImageId));
            await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidImageId.NotFound", () =>
                outsider.Sharing().DescribeImageSharePermissionAsync(new DescribeImageSharePermissionRequest { RegionId = Hangzhou, ImageId = image.ImageId }));
            // A's directory, its folders and its members are missing to them too (R36).
            await RpcAssert.FailsAsync(StatusCode.NotFound, "EntityNotExists.ResourceDirectory", () =>
                outsider.Directories().GetResourceDirectoryAsync(new GetResourceDirectoryRequest { DirectoryId = directory.DirectoryId }));
            await RpcAssert.FailsAsync(StatusCode.NotFound, "EntityNotExists.Folder", () =>
                outsider.Directories().GetFolderAsync(new GetFolderRequest { FolderId = directory.RootFolderId }));
        }

        // A member of A's directory that moves to another directory leaves A's grants behind, its member grant included.
        await a.Directories().RemoveAccountAsync(new RemoveAccountRequest { DirectoryId = directory.DirectoryId, AccountId = b.AccountId });
        await other.JoinAsync(othersDirectory, b);
        await EventuallyAsync(() => RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidImageId.NotFound", () => b.GetImageAsync(image.ImageId)));
        Assert.Empty(await b.OthersAsync());
    }

    [Fact]
    public async Task R37_FiftyConcurrentMembershipChangesAndSharesLeaveGrantsAndRecipientIndexesConsistent()
    {
        // A cluster of its own: the invariant check reads the whole of Redis, and other tests leave their own marks there.
        await using var cluster = await TestCluster.StartAsync(output: Output);
        var a = await cluster.NewAccountAsync();
        var directory = await a.NewDirectoryAsync();
        var members = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => cluster.NewAccountAsync()));
        var operatorDirectories = await cluster.OperatorDirectoriesAsync();
        foreach (var m in members)
        {
            await operatorDirectories.AddAccountAsync(new AddAccountRequest { DirectoryId = directory.DirectoryId, AccountId = m.AccountId });
        }
        var teams = await a.NewFolderAsync(directory.RootFolderId, "teams");
        var red = await a.NewFolderAsync(teams.FolderId, "red");
        var blue = await a.NewFolderAsync(teams.FolderId, "blue");
        string[] folders = [directory.RootFolderId, teams.FolderId, red.FolderId, blue.FolderId];
        var snapshot = await a.SnapshotOfAsync((await a.NewInstanceAsync()).SystemDisk.DiskId);
        var images = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => a.QuickImageAsync(snapshot.SnapshotId)));
        string[] targets = [directory.DirectoryId, .. folders[1..], .. members.Take(3).Select(m => m.AccountId)];

        // 50 changes at once: members moved between folders, removed and added back, images shared and unshared.
        var random = new Random(37);
        var changes = Enumerable.Range(0, 50).Select(i => (Kind: i % 3, Member: members[random.Next(members.Length)], Image: images[random.Next(images.Length)],
            Folder: folders[random.Next(folders.Length)], Target: targets[random.Next(targets.Length)], Add: random.Next(3) > 0)).ToList();
        var outcomes = await Task.WhenAll(changes.Select(async change =>
        {
            try
            {
                switch (change.Kind)
                {
                    case 0:
                        await operatorDirectories.MoveAccountAsync(new MoveAccountRequest { AccountId = change.Member.AccountId, DestinationFolderId = change.Folder });
                        break;
                    case 1 when change.Add:
                        await a.ShareWithOrganizationAsync(change.Image.ImageId, change.Target);
                        break;
                    case 1:
                        await a.UnshareWithOrganizationAsync(change.Image.ImageId, change.Target);
                        break;
                    default:
                        await operatorDirectories.RemoveAccountAsync(new RemoveAccountRequest { DirectoryId = directory.DirectoryId, AccountId = change.Member.AccountId });
                        await operatorDirectories.AddAccountAsync(new AddAccountRequest
                        {
                            DirectoryId = directory.DirectoryId, AccountId = change.Member.AccountId, FolderId = change.Folder,
                        });
                        break;
                }
                return "ok";
            }
            catch (RpcException ex)
            {
                return RpcAssert.Reason(ex) ?? ex.StatusCode.ToString();
            }
        }));
        // Races between changes of one member may refuse some: it left meanwhile (not a member, so no member-account
        // share either), or is back already; nothing else fails.
        Assert.All(outcomes, o => Assert.Contains(o, RaceOutcomes));
        Output.WriteLine(string.Join(", ", outcomes.GroupBy(o => o).Select(g => $"{g.Key}: {g.Count()}")));

        // The grants and every recipient index agree (the invariant check, extended to organization grants)...
        Assert.Empty(await Invariants.SettleAsync(cluster.RedisConfiguration, TimeSpan.FromSeconds(10)));
        // (The check is not vacuous: an organization grant whose index entry is lost is reported.)
        var anyGrant = images.Select(i => i.ImageId).First();
        await a.ShareWithOrganizationAsync(anyGrant, directory.DirectoryId);
        await using (var redis = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(cluster.RedisConfiguration))
        {
            var index = $"gi:share:{{{directory.DirectoryId}}}:orecv:{directory.DirectoryId}:{Hangzhou}";
            Assert.True(await redis.GetDatabase().SortedSetRemoveAsync(index, $"{a.AccountId}|{anyGrant}"));
            Assert.Contains(await Invariants.CheckAsync(cluster.RedisConfiguration), v => v.Contains(anyGrant, StringComparison.Ordinal) && v.Contains("lacks it", StringComparison.Ordinal));
            await redis.GetDatabase().SortedSetAddAsync(index, $"{a.AccountId}|{anyGrant}", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        }
        // ...and what each member lists is what its membership and the grants say now.
        var grants = new Dictionary<string, HashSet<string>>();
        foreach (var image in images)
        {
            var described = await a.Sharing().DescribeImageSharePermissionAsync(new DescribeImageSharePermissionRequest
            {
                RegionId = Hangzhou, ImageId = image.ImageId, PageSize = 100,
            });
            grants[image.ImageId] = [.. described.OrganizationGrants.Select(g => g.Target.TargetId)];
        }
        foreach (var m in members)
        {
            var membership = await m.MembershipAsync();
            var reaches = membership.DirectoryId.Length == 0
                ? new HashSet<string>()
                : [membership.DirectoryId, .. membership.Path.Split('/').Skip(1), m.AccountId];
            var expected = images.Where(i => grants[i.ImageId].Overlaps(reaches)).Select(i => i.ImageId).Order().ToList();
            await EventuallyAsync(async () => Assert.Equal(expected, (await m.OthersAsync()).Select(i => i.ImageId).Order().ToList()));
        }
    }

    [Fact]
    public async Task R37_DescribeImageSharePermissionThroughTheGatewayReportsOrganizationGrantsAsShareGroups()
    {
        var a = await Cluster.NewAccountAsync();
        var b = await Cluster.NewAccountAsync();
        var c = await Cluster.NewAccountAsync();
        var directory = await a.NewDirectoryAsync();
        await a.JoinAsync(directory, b);
        var folder = await a.NewFolderAsync(directory.RootFolderId, "ops");
        var image = await a.NewImageAsync((await a.NewInstanceAsync()).InstanceId);
        await a.ShareWithOrganizationAsync(image.ImageId, directory.DirectoryId, folder.FolderId, b.AccountId);
        await a.ShareAsync(image.ImageId, c.AccountId);
        var key = await a.Client<AccessKeyService.AccessKeyServiceClient>().CreateAccessKeyAsync(new CreateAccessKeyRequest { AccountId = a.AccountId });
        using var ecs = new EcsClient(await Cluster.StartGatewayAsync(), key.AccessKey.AccessKeyId, key.AccessKeySecret);

        var (status, body) = await ecs.CallAsync("DescribeImageSharePermission", ("RegionId", Hangzhou), ("ImageId", image.ImageId));

        Assert.Equal(200, status);
        var groups = body.GetProperty("ShareGroups").GetProperty("ShareGroup").EnumerateArray()
            .Select(g => (g.GetProperty("Group").GetString(), g.GetProperty("GroupType").GetString())).ToHashSet();
        Assert.Equal([(directory.DirectoryId, "ResourceDirectory"), (folder.FolderId, "Folder"), (b.AccountId, "Account")], groups);
        var account = Assert.Single(body.GetProperty("Accounts").GetProperty("Account").EnumerateArray());
        Assert.Equal((c.AccountId, 1), (account.GetProperty("AliyunId").GetString(), body.GetProperty("TotalCount").GetInt32()));
    }

    private static async Task<Quota> QuotaAsync(TestAccount account, QuotaKind kind) =>
        (await account.Quotas().GetQuotasAsync(new GetQuotasRequest { RegionId = Hangzhou })).Quotas.Single(q => q.Kind == kind);

    /// <summary>Retries an assertion for at most <see cref="Propagation"/> (then once more, to fail with its message).</summary>
    private static async Task EventuallyAsync(Func<Task> assertion)
    {
        var until = DateTime.UtcNow + Propagation;
        while (DateTime.UtcNow < until)
        {
            try
            {
                await assertion();
                return;
            }
            catch (Exception ex) when (ex is Xunit.Sdk.XunitException or RpcException)
            {
                await Task.Delay(50);
            }
        }
        await assertion();
    }
}
