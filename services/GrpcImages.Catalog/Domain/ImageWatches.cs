using System.Threading.Channels;
using GrpcImages.Catalog.Storage;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.ServiceDefaults.Hosting;
using GrpcImages.ServiceDefaults.Identity;

namespace GrpcImages.Catalog.Domain;

/// <summary>
/// WatchImages (R38): the changes of the caller's own images in a region as the catalog saves them, pushed
/// rather than polled. A watcher that falls far behind loses the oldest changes it has not read (it keeps
/// the newest), and one whose service lost Redis for a while is told nothing more: it lists again.
/// </summary>
public sealed class ImageWatches(ImageChanges changes, Regions regions)
{
    /// <summary>Changes a slow watcher may have waiting before the oldest go.</summary>
    private const int Backlog = 1024;

    /// <summary>Starts following the caller's images in the region: changes saved from now on are in the watch.</summary>
    public async Task<ImageWatch> OpenAsync(Caller caller, string regionId)
    {
        var account = caller.RequireAccount();
        var region = regions.Require(regionId);
        var waiting = Channel.CreateBounded<WatchImagesResponse>(new BoundedChannelOptions(Backlog) { FullMode = BoundedChannelFullMode.DropOldest });
        var subscription = await changes.SubscribeAsync(account, region, change => waiting.Writer.TryWrite(change), () => { });
        return new ImageWatch(waiting.Reader, subscription);
    }
}

/// <summary>An open watch: its changes as they come, until it is disposed.</summary>
public sealed class ImageWatch(ChannelReader<WatchImagesResponse> changes, IAsyncDisposable subscription) : IAsyncDisposable
{
    public IAsyncEnumerable<WatchImagesResponse> ReadAllAsync(CancellationToken cancellationToken) => changes.ReadAllAsync(cancellationToken);

    public ValueTask DisposeAsync() => subscription.DisposeAsync();
}
