using System.Runtime.CompilerServices;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.Contracts.Sharing.V1;
using GrpcImages.Contracts.Transfer.V1;

namespace GrpcImages.Client;

/// <summary>
/// Every public service of a GrpcImages cluster, plus progress of long work as async streams.
/// Build one with <see cref="Create"/>, or take it from DI after
/// <see cref="GrpcImagesServiceCollectionExtensions.AddGrpcImagesClient"/>.
/// </summary>
public sealed class GrpcImagesClient : IDisposable
{
    private readonly Func<Type, object> _clients;
    private readonly IReadOnlyList<IDisposable> _owned;

    internal GrpcImagesClient(Func<Type, object> clients, IReadOnlyList<IDisposable> owned)
    {
        _clients = clients;
        _owned = owned;
    }

    /// <summary>A client with channels of its own (dispose it when done).</summary>
    public static GrpcImagesClient Create(GrpcImagesClientOptions options)
    {
        var channels = new GrpcImagesChannels(options);
        return new GrpcImagesClient(channels.Clients(channels.Invokers(options.Tokens)), [channels]);
    }

    /// <summary>The channel settings both ways of building share: retries in the service config, the token as call credentials.</summary>
    internal static GrpcChannelOptions ChannelOptions(GrpcImagesClientOptions options)
    {
        var channel = new GrpcChannelOptions { ServiceConfig = CallPolicy.ServiceConfig(options.MaxAttempts) };
        if (options.Tokens is { } tokens)
        {
            channel.Credentials = ChannelCredentials.Create(ChannelCredentials.Insecure, Credentials(tokens));
            channel.UnsafeUseInsecureChannelCallCredentials = true; // the services speak h2c inside the cluster
        }
        return channel;
    }

    internal static CallCredentials Credentials(ITokenProvider tokens) =>
        CallCredentials.FromInterceptor(async (context, metadata) =>
        {
            if (await tokens.GetTokenAsync(context.CancellationToken) is { Length: > 0 } token)
            {
                metadata.Add("authorization", $"Bearer {token}");
            }
        });

    public ImageService.ImageServiceClient Images => Get<ImageService.ImageServiceClient>();

    public InstanceService.InstanceServiceClient Instances => Get<InstanceService.InstanceServiceClient>();

    public SnapshotService.SnapshotServiceClient Snapshots => Get<SnapshotService.SnapshotServiceClient>();

    public RegionService.RegionServiceClient Regions => Get<RegionService.RegionServiceClient>();

    public KeyPairService.KeyPairServiceClient KeyPairs => Get<KeyPairService.KeyPairServiceClient>();

    public NetworkService.NetworkServiceClient Networks => Get<NetworkService.NetworkServiceClient>();

    public SecurityGroupService.SecurityGroupServiceClient SecurityGroups => Get<SecurityGroupService.SecurityGroupServiceClient>();

    public AddressService.AddressServiceClient Addresses => Get<AddressService.AddressServiceClient>();

    public TagService.TagServiceClient Tags => Get<TagService.TagServiceClient>();

    public TransferService.TransferServiceClient Transfers => Get<TransferService.TransferServiceClient>();

    public TaskService.TaskServiceClient Tasks => Get<TaskService.TaskServiceClient>();

    public ObjectStoreService.ObjectStoreServiceClient Objects => Get<ObjectStoreService.ObjectStoreServiceClient>();

    public SharingService.SharingServiceClient Sharing => Get<SharingService.SharingServiceClient>();

    public QuotaService.QuotaServiceClient Quotas => Get<QuotaService.QuotaServiceClient>();

    public AccountService.AccountServiceClient Accounts => Get<AccountService.AccountServiceClient>();

    public RoleService.RoleServiceClient Roles => Get<RoleService.RoleServiceClient>();

    public KeyService.KeyServiceClient Keys => Get<KeyService.KeyServiceClient>();

    public AccessKeyService.AccessKeyServiceClient AccessKeys => Get<AccessKeyService.AccessKeyServiceClient>();

    public ResourceDirectoryService.ResourceDirectoryServiceClient ResourceDirectories => Get<ResourceDirectoryService.ResourceDirectoryServiceClient>();

    /// <summary>A service client by its type, e.g. <c>Service&lt;ImageService.ImageServiceClient&gt;()</c>.</summary>
    public T Service<T>() where T : ClientBase<T> => Get<T>();

    private T Get<T>() => (T)_clients(typeof(T));

    /// <summary>A task's states as they change, until it ends (finished, failed or cancelled); reconnects without missing a state.</summary>
    public async IAsyncEnumerable<TransferTask> WatchTaskAsync(string taskId, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        long revision = 0;
        while (true)
        {
            using var call = Tasks.WatchTask(new WatchTaskRequest { TaskId = taskId, AfterRevision = revision }, cancellationToken: cancellationToken);
            var reader = call.ResponseStream;
            while (true)
            {
                bool more;
                try
                {
                    more = await reader.MoveNext(cancellationToken);
                }
                catch (GrpcImagesException ex) when (ex.StatusCode is StatusCode.Unavailable or StatusCode.Internal && !cancellationToken.IsCancellationRequested)
                {
                    break; // the stream broke: watch again from the last revision seen
                }
                if (!more)
                {
                    break;
                }
                var task = reader.Current.Task;
                revision = task.Revision;
                yield return task;
                if (task.Status is Contracts.Transfer.V1.TaskStatus.Finished or Contracts.Transfer.V1.TaskStatus.Failed or Contracts.Transfer.V1.TaskStatus.Cancelled)
                {
                    yield break;
                }
            }
            await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken);
        }
    }

    /// <summary>An image's states while it is being made (each change of status or progress), until it is usable or failed.</summary>
    public async IAsyncEnumerable<Image> WaitForImageAsync(string regionId, string imageId, TimeSpan? poll = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        Image? last = null;
        while (true)
        {
            var image = (await Images.GetImageAsync(new GetImageRequest { RegionId = regionId, ImageId = imageId }, cancellationToken: cancellationToken)).Image;
            if (last is null || image.Status != last.Status || image.Progress != last.Progress)
            {
                yield return image;
                last = image;
            }
            if (image.Status is not (ImageStatus.Creating or ImageStatus.Waiting))
            {
                yield break;
            }
            await Task.Delay(poll ?? TimeSpan.FromMilliseconds(500), cancellationToken);
        }
    }

    public void Dispose()
    {
        foreach (var owned in _owned)
        {
            owned.Dispose();
        }
    }
}
