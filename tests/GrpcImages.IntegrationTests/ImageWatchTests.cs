using Grpc.Core;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.Testing;
using static GrpcImages.IntegrationTests.CatalogSteps;

namespace GrpcImages.IntegrationTests;

/// <summary>WatchImages (R38): what the console's Images page follows instead of polling each row.</summary>
public class ImageWatchTests(ClusterFixture fixture, ITestOutputHelper output) : ClusterTest(fixture, output)
{
    [Fact]
    public async Task R1_R38_AnImageBeingMadeIsPushedToItsOwnersWatchFromCreatingThroughProgressToAvailable()
    {
        var owner = await Cluster.NewAccountAsync();
        var stranger = await Cluster.NewAccountAsync();
        var instance = await owner.NewInstanceAsync(Ubuntu, Hangzhou, 0, 40, 40);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var watch = owner.Images().WatchImages(new WatchImagesRequest { RegionId = Hangzhou }, cancellationToken: timeout.Token);
        using var strangers = stranger.Images().WatchImages(new WatchImagesRequest { RegionId = Hangzhou }, cancellationToken: timeout.Token);
        await watch.ResponseHeadersAsync; // subscribed before anything changes
        await strangers.ResponseHeadersAsync;

        var image = (await owner.Images().CreateImageAsync(new CreateImageRequest { RegionId = Hangzhou, InstanceId = instance.InstanceId, ImageName = UniqueName() })).Image;
        var seen = new List<Image>();
        while (await watch.ResponseStream.MoveNext(timeout.Token))
        {
            if (watch.ResponseStream.Current.Image.ImageId == image.ImageId)
            {
                seen.Add(watch.ResponseStream.Current.Image);
                if (watch.ResponseStream.Current.Image.Status == ImageStatus.Available)
                {
                    break;
                }
            }
        }
        await owner.Images().DeleteImageAsync(new DeleteImageRequest { RegionId = Hangzhou, ImageId = image.ImageId });
        while (await watch.ResponseStream.MoveNext(timeout.Token) && !(watch.ResponseStream.Current.Image.ImageId == image.ImageId && watch.ResponseStream.Current.Deleted))
        {
        }

        Assert.Equal(ImageStatus.Creating, seen[0].Status);
        Assert.Equal(ImageStatus.Available, seen[^1].Status);
        Assert.Contains(seen, i => i.Status == ImageStatus.Creating && i.Progress is > 0 and < 100); // progress pushed as it moves
        Assert.True(seen.Select(i => i.Progress).SequenceEqual(seen.Select(i => i.Progress).Order()), string.Join(",", seen.Select(i => i.Progress)));
        // Another account's watch heard nothing of it.
        using var quiet = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token);
        quiet.CancelAfter(TimeSpan.FromMilliseconds(300));
        var heard = await Record.ExceptionAsync(() => strangers.ResponseStream.MoveNext(quiet.Token));
        Assert.True(heard is RpcException { StatusCode: StatusCode.Cancelled } or OperationCanceledException, $"{heard}");
    }

    [Fact]
    public async Task R36_ARamUserWatchesImagesOnlyWithDescribeImages()
    {
        var account = await Cluster.NewAccountAsync();
        var root = account.Client<AccountService.AccountServiceClient>();
        await root.CreateRamUserAsync(new CreateRamUserRequest { AccountId = account.AccountId, UserName = "ops", AllowedActions = { "ecs:DescribeInstances" } });
        var token = (await root.IssueTokenAsync(new IssueTokenRequest { RamUser = new RamUserSubject { AccountId = account.AccountId, UserName = "ops" } })).Token;
        var user = account with { Token = token };

        using var watch = user.Images().WatchImages(new WatchImagesRequest { RegionId = Hangzhou });
        var refused = await Assert.ThrowsAsync<RpcException>(() => watch.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
    }
}
