using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.Contracts.Sharing.V1;
using GrpcImages.Contracts.Transfer.V1;

namespace GrpcImages.Client;

/// <summary>
/// The channels to a cluster, made once and shared by many clients that each call with tokens of their own:
/// an application that acts for several principals at once (the web console, one per signed-in session)
/// keeps one connection pool instead of one per principal. Dispose it when the application stops.
/// </summary>
public sealed class GrpcImagesChannels : IDisposable
{
    private readonly GrpcImagesClientOptions _options;
    private readonly Dictionary<Uri, GrpcChannel> _channels = [];

    public GrpcImagesChannels(GrpcImagesClientOptions options)
    {
        _options = options;
        foreach (var address in new[] { options.Catalog, options.Transfer, options.Sharing, options.Kms }.Distinct())
        {
            var channel = GrpcImagesClient.ChannelOptions(options);
            channel.Credentials = null; // tokens travel per call (TokenInterceptor), so clients over one channel can differ
            channel.UnsafeUseInsecureChannelCallCredentials = true; // over h2c inside the cluster
            _channels[address] = GrpcChannel.ForAddress(address, channel);
        }
    }

    /// <summary>A client over these channels whose calls carry <paramref name="tokens"/>' token (none when null: only unauthenticated calls work).</summary>
    public GrpcImagesClient CreateClient(ITokenProvider? tokens) => new(Clients(Invokers(tokens)), []);

    internal Func<Uri, CallInvoker> Invokers(ITokenProvider? tokens)
    {
        var interceptors = new List<Interceptor> { new ClientInterceptor(_options) };
        if (tokens is not null)
        {
            interceptors.Add(new TokenInterceptor(tokens));
        }
        return address => _channels[address].Intercept([.. interceptors]);
    }

    internal Func<Type, object> Clients(Func<Uri, CallInvoker> invoker)
    {
        var (catalog, transfer, sharing, kms) = (invoker(_options.Catalog), invoker(_options.Transfer), invoker(_options.Sharing), invoker(_options.Kms));
        var byService = new Dictionary<Type, object>
        {
            [typeof(ImageService.ImageServiceClient)] = new ImageService.ImageServiceClient(catalog),
            [typeof(InstanceService.InstanceServiceClient)] = new InstanceService.InstanceServiceClient(catalog),
            [typeof(SnapshotService.SnapshotServiceClient)] = new SnapshotService.SnapshotServiceClient(catalog),
            [typeof(RegionService.RegionServiceClient)] = new RegionService.RegionServiceClient(catalog),
            [typeof(KeyPairService.KeyPairServiceClient)] = new KeyPairService.KeyPairServiceClient(catalog),
            [typeof(NetworkService.NetworkServiceClient)] = new NetworkService.NetworkServiceClient(catalog),
            [typeof(SecurityGroupService.SecurityGroupServiceClient)] = new SecurityGroupService.SecurityGroupServiceClient(catalog),
            [typeof(AddressService.AddressServiceClient)] = new AddressService.AddressServiceClient(catalog),
            [typeof(TagService.TagServiceClient)] = new TagService.TagServiceClient(catalog),
            [typeof(TransferService.TransferServiceClient)] = new TransferService.TransferServiceClient(transfer),
            [typeof(TaskService.TaskServiceClient)] = new TaskService.TaskServiceClient(transfer),
            [typeof(ObjectStoreService.ObjectStoreServiceClient)] = new ObjectStoreService.ObjectStoreServiceClient(transfer),
            [typeof(SharingService.SharingServiceClient)] = new SharingService.SharingServiceClient(sharing),
            [typeof(QuotaService.QuotaServiceClient)] = new QuotaService.QuotaServiceClient(sharing),
            [typeof(AccountService.AccountServiceClient)] = new AccountService.AccountServiceClient(kms),
            [typeof(RoleService.RoleServiceClient)] = new RoleService.RoleServiceClient(kms),
            [typeof(KeyService.KeyServiceClient)] = new KeyService.KeyServiceClient(kms),
            [typeof(AccessKeyService.AccessKeyServiceClient)] = new AccessKeyService.AccessKeyServiceClient(kms),
            [typeof(ResourceDirectoryService.ResourceDirectoryServiceClient)] = new ResourceDirectoryService.ResourceDirectoryServiceClient(kms),
        };
        return t => byService[t];
    }

    public void Dispose()
    {
        foreach (var channel in _channels.Values)
        {
            channel.Dispose();
        }
    }

    /// <summary>Puts the provider's token on each call as call credentials (a call that names its own keeps it).</summary>
    private sealed class TokenInterceptor(ITokenProvider tokens) : Interceptor
    {
        private readonly CallCredentials _credentials = GrpcImagesClient.Credentials(tokens);

        public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(TRequest request, ClientInterceptorContext<TRequest, TResponse> context,
            AsyncUnaryCallContinuation<TRequest, TResponse> continuation) => continuation(request, With(context));

        public override TResponse BlockingUnaryCall<TRequest, TResponse>(TRequest request, ClientInterceptorContext<TRequest, TResponse> context,
            BlockingUnaryCallContinuation<TRequest, TResponse> continuation) => continuation(request, With(context));

        public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(TRequest request,
            ClientInterceptorContext<TRequest, TResponse> context, AsyncServerStreamingCallContinuation<TRequest, TResponse> continuation) =>
            continuation(request, With(context));

        public override AsyncClientStreamingCall<TRequest, TResponse> AsyncClientStreamingCall<TRequest, TResponse>(
            ClientInterceptorContext<TRequest, TResponse> context, AsyncClientStreamingCallContinuation<TRequest, TResponse> continuation) =>
            continuation(With(context));

        public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(
            ClientInterceptorContext<TRequest, TResponse> context, AsyncDuplexStreamingCallContinuation<TRequest, TResponse> continuation) =>
            continuation(With(context));

        private ClientInterceptorContext<TRequest, TResponse> With<TRequest, TResponse>(ClientInterceptorContext<TRequest, TResponse> context)
            where TRequest : class where TResponse : class =>
            context.Options.Credentials is not null ? context : new(context.Method, context.Host, context.Options.WithCredentials(_credentials));
    }
}
