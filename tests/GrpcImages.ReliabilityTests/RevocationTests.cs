using Grpc.Core;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.Testing;
using static GrpcImages.ReliabilityTests.ReliabilitySteps;

namespace GrpcImages.ReliabilityTests;

/// <summary>
/// A RAM user's tokens stop working on every replica once the user is narrowed or deleted, without
/// waiting for them to expire; tokens issued afterwards carry what the user may do now.
/// </summary>
public class RevocationTests(ITestOutputHelper output)
{
    [Fact]
    public async Task ANarrowedOrDeletedRamUsersTokensAreRefusedOnEveryReplica()
    {
        await using var cluster = await TestCluster.StartAsync(new Dictionary<string, string?> { ["Regions:0:Id"] = Hangzhou }, output: output);
        var second = await cluster.StartReplicaAsync(ServiceKind.Catalog);
        await cluster.WaitUntilServingAsync(second);
        var account = await cluster.NewAccountAsync();
        var root = account.Client<AccountService.AccountServiceClient>();
        await root.CreateRamUserAsync(new CreateRamUserRequest { AccountId = account.AccountId, UserName = "ops", AllowedActions = { "ecs:*" } });
        var week = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.FromDays(7));
        async Task<string> IssueAsync() => (await root.IssueTokenAsync(new IssueTokenRequest
        {
            RamUser = new RamUserSubject { AccountId = account.AccountId, UserName = "ops" },
            Ttl = week,
        })).Token;
        ImageService.ImageServiceClient[] Replicas(string token) =>
        [
            new(cluster.Invoker(ServiceKind.Catalog, token)),
            new(cluster.Invoker(second, token)),
        ];
        var list = new ListImagesRequest { RegionId = Hangzhou, OwnerAlias = ImageOwnerAlias.System };

        var wide = await IssueAsync();
        foreach (var replica in Replicas(wide))
        {
            await replica.ListImagesAsync(list); // both replicas know the user now
        }

        await root.UpdateRamUserAsync(new UpdateRamUserRequest { AccountId = account.AccountId, UserName = "ops", AllowedActions = { "oss:*" } });
        foreach (var replica in Replicas(wide))
        {
            await EventuallyRefusedAsync(() => replica.ListImagesAsync(list).ResponseAsync);
        }
        var narrow = await IssueAsync();
        foreach (var replica in Replicas(narrow))
        {
            await RpcAssert.FailsAsync(StatusCode.PermissionDenied, "Forbidden.RAM", () => replica.ListImagesAsync(list));
        }

        await root.UpdateRamUserAsync(new UpdateRamUserRequest { AccountId = account.AccountId, UserName = "ops", AllowedActions = { "ecs:*" } });
        var again = await IssueAsync();
        await Replicas(again)[0].ListImagesAsync(list);
        await root.DeleteRamUserAsync(new DeleteRamUserRequest { AccountId = account.AccountId, UserName = "ops" });
        foreach (var replica in Replicas(again))
        {
            await EventuallyRefusedAsync(() => replica.ListImagesAsync(list).ResponseAsync);
        }
        // Nor can the deleted user renew its own token.
        await RpcAssert.FailsAsync(StatusCode.Unauthenticated, "InvalidSecurityToken.Revoked", () =>
            new AccountService.AccountServiceClient(cluster.Invoker(ServiceKind.Kms, again)).IssueTokenAsync(new IssueTokenRequest
            {
                RamUser = new RamUserSubject { AccountId = account.AccountId, UserName = "ops" },
            }));
        FaultSummary.Record("RAM user narrowed, then deleted (2 catalog replicas)", 2, 2, 0);
    }

    /// <summary>Calls until refused as revoked: the change reaches replicas through pub/sub, so not necessarily on the first call.</summary>
    private static async Task EventuallyRefusedAsync(Func<Task> call)
    {
        var until = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                await call();
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Unauthenticated)
            {
                Assert.Equal("InvalidSecurityToken.Revoked", RpcAssert.Reason(ex));
                return;
            }
            Assert.True(DateTime.UtcNow < until, "a revoked token kept working");
            await Task.Delay(100);
        }
    }
}

/// <summary>
/// The catalog keeps access checks of shared images (a shared GetImage then costs no call to the
/// sharing service), and a revoke still reaches every replica at once: the sharing service announces
/// the change and each replica drops what it held. A change of membership, which an organization grant
/// follows (R37), reaches them the same way through kms's announcement.
/// </summary>
public class ShareRevocationTests(ITestOutputHelper output)
{
    [Fact]
    public async Task R32_ARevokedShareIsRefusedOnEveryCatalogReplica()
    {
        await using var cluster = await TestCluster.StartAsync(new Dictionary<string, string?> { ["Regions:0:Id"] = Hangzhou }, output: output);
        var second = await cluster.StartReplicaAsync(ServiceKind.Catalog);
        await cluster.WaitUntilServingAsync(second);
        var owner = await cluster.NewAccountAsync();
        var recipient = await cluster.NewAccountAsync();
        var instance = await NewInstanceAsync(owner, 20);
        var images = owner.Client<ImageService.ImageServiceClient>();
        var image = (await images.CreateImageAsync(new CreateImageRequest { RegionId = Hangzhou, InstanceId = instance.InstanceId, ImageName = "shared-then-not" })).Image;
        await WaitForAsync(images, image.ImageId, i => i.Status == ImageStatus.Available);
        var sharing = owner.Client<GrpcImages.Contracts.Sharing.V1.SharingService.SharingServiceClient>();
        await sharing.ModifyImageSharePermissionAsync(new() { RegionId = Hangzhou, ImageId = image.ImageId, AddAccountIds = { recipient.AccountId } });
        ImageService.ImageServiceClient[] replicas =
        [
            new(cluster.Invoker(ServiceKind.Catalog, recipient.Token)),
            new(cluster.Invoker(second, recipient.Token)),
        ];
        var get = new GetImageRequest { RegionId = Hangzhou, ImageId = image.ImageId };
        foreach (var replica in replicas)
        {
            for (var i = 0; i < 3; i++)
            {
                Assert.Equal(ImageOwnerAlias.Others, (await replica.GetImageAsync(get)).Image.OwnerAlias); // now held by the replica
            }
        }

        await sharing.ModifyImageSharePermissionAsync(new() { RegionId = Hangzhou, ImageId = image.ImageId, RemoveAccountIds = { recipient.AccountId } });
        var revoked = System.Diagnostics.Stopwatch.StartNew();
        var delays = new List<double>();
        foreach (var replica in replicas)
        {
            while (true)
            {
                try
                {
                    await replica.GetImageAsync(get);
                }
                catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound)
                {
                    break;
                }
                Assert.True(revoked.Elapsed < TimeSpan.FromSeconds(30), "a revoked share kept working");
                await Task.Delay(5);
            }
            delays.Add(revoked.Elapsed.TotalMilliseconds);
        }
        var note = $"refused on both replicas {delays.Max():F0} ms after the revoke returned";
        output.WriteLine(note);
        FaultSummary.Record("share revoked while 2 catalog replicas hold its access check", 1, 1, 0, note);
    }
    [Fact]
    public async Task R37_AMemberMovedOutOfASharedFolderIsRefusedOnEveryCatalogReplicaWithinASecond()
    {
        await using var cluster = await TestCluster.StartAsync(new Dictionary<string, string?> { ["Regions:0:Id"] = Hangzhou }, output: output);
        var second = await cluster.StartReplicaAsync(ServiceKind.Catalog);
        await cluster.WaitUntilServingAsync(second);
        var owner = await cluster.NewAccountAsync();
        var member = await cluster.NewAccountAsync();
        var directories = owner.Client<ResourceDirectoryService.ResourceDirectoryServiceClient>();
        var directory = (await directories.CreateResourceDirectoryAsync(new CreateResourceDirectoryRequest())).Directory;
        var folder = (await directories.CreateFolderAsync(new CreateFolderRequest { ParentFolderId = directory.RootFolderId, FolderName = "shared" })).Folder;
        await cluster.Client<ResourceDirectoryService.ResourceDirectoryServiceClient>(await cluster.OperatorTokenAsync())
            .AddAccountAsync(new AddAccountRequest { DirectoryId = directory.DirectoryId, AccountId = member.AccountId, FolderId = folder.FolderId });
        var instance = await NewInstanceAsync(owner, 20);
        var images = owner.Client<ImageService.ImageServiceClient>();
        var image = (await images.CreateImageAsync(new CreateImageRequest { RegionId = Hangzhou, InstanceId = instance.InstanceId, ImageName = "shared-with-a-folder" })).Image;
        await WaitForAsync(images, image.ImageId, i => i.Status == ImageStatus.Available);
        await owner.Client<GrpcImages.Contracts.Sharing.V1.SharingService.SharingServiceClient>().ModifyImageSharePermissionAsync(new()
        {
            RegionId = Hangzhou, ImageId = image.ImageId, AddOrganizationTargets = { folder.FolderId },
        });
        ImageService.ImageServiceClient[] replicas =
        [
            new(cluster.Invoker(ServiceKind.Catalog, member.Token)),
            new(cluster.Invoker(second, member.Token)),
        ];
        var get = new GetImageRequest { RegionId = Hangzhou, ImageId = image.ImageId };
        foreach (var replica in replicas)
        {
            for (var i = 0; i < 3; i++)
            {
                Assert.Equal(ImageOwnerAlias.Others, (await replica.GetImageAsync(get)).Image.OwnerAlias); // now held by the replica
            }
        }

        // Moving the member out of the folder changes no grant: kms's announcement of the membership is what reaches the replicas.
        await directories.MoveAccountAsync(new MoveAccountRequest { AccountId = member.AccountId, DestinationFolderId = directory.RootFolderId });
        var moved = System.Diagnostics.Stopwatch.StartNew();
        var delays = new List<double>();
        foreach (var replica in replicas)
        {
            while (true)
            {
                // A call begun a second after the move must be refused (the bound holds even for a lost announcement).
                var began = moved.Elapsed;
                try
                {
                    await replica.GetImageAsync(get);
                }
                catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound)
                {
                    break;
                }
                Assert.True(began < TimeSpan.FromSeconds(1), "a member moved out of a shared folder kept the image for more than a second (R37)");
                await Task.Delay(5);
            }
            delays.Add(moved.Elapsed.TotalMilliseconds);
        }
        var note = $"refused on both replicas {delays.Max():F0} ms after the move returned";
        output.WriteLine(note);
        FaultSummary.Record("member moved out of a shared folder while 2 catalog replicas hold its access check", 1, 1, 0, note);
    }
}
