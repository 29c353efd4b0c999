using Grpc.Core;
using Grpc.Net.ClientFactory;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.Contracts.Sharing.V1;
using GrpcImages.Contracts.Transfer.V1;
using Microsoft.Extensions.DependencyInjection;

namespace GrpcImages.Client;

public static class GrpcImagesServiceCollectionExtensions
{
    /// <summary>
    /// Registers every service client (on Grpc.Net.ClientFactory: pooled connections, the token as
    /// call credentials, retries of safe calls, default deadlines, client tokens, one exception
    /// type) and <see cref="GrpcImagesClient"/> over them.
    /// </summary>
    public static IServiceCollection AddGrpcImagesClient(this IServiceCollection services, Action<GrpcImagesClientOptions> configure)
    {
        var options = new GrpcImagesClientOptions();
        configure(options);
        services.AddSingleton(options);
        var interceptor = new ClientInterceptor(options);

        void Add<T>(Uri address) where T : ClientBase<T>
        {
            var builder = services.AddGrpcClient<T>(o => o.Address = address)
                .ConfigureChannel(c =>
                {
                    var defaults = GrpcImagesClient.ChannelOptions(options);
                    c.ServiceConfig = defaults.ServiceConfig;
                    c.UnsafeUseInsecureChannelCallCredentials = true;
                })
                .AddInterceptor(InterceptorScope.Client, _ => interceptor);
            if (options.Tokens is { } tokens)
            {
                builder.AddCallCredentials(async (context, metadata) =>
                {
                    if (await tokens.GetTokenAsync(context.CancellationToken) is { Length: > 0 } token)
                    {
                        metadata.Add("authorization", $"Bearer {token}");
                    }
                });
            }
        }

        Add<ImageService.ImageServiceClient>(options.Catalog);
        Add<InstanceService.InstanceServiceClient>(options.Catalog);
        Add<SnapshotService.SnapshotServiceClient>(options.Catalog);
        Add<RegionService.RegionServiceClient>(options.Catalog);
        Add<KeyPairService.KeyPairServiceClient>(options.Catalog);
        Add<NetworkService.NetworkServiceClient>(options.Catalog);
        Add<SecurityGroupService.SecurityGroupServiceClient>(options.Catalog);
        Add<AddressService.AddressServiceClient>(options.Catalog);
        Add<TagService.TagServiceClient>(options.Catalog);
        Add<TransferService.TransferServiceClient>(options.Transfer);
        Add<TaskService.TaskServiceClient>(options.Transfer);
        Add<ObjectStoreService.ObjectStoreServiceClient>(options.Transfer);
        Add<SharingService.SharingServiceClient>(options.Sharing);
        Add<QuotaService.QuotaServiceClient>(options.Sharing);
        Add<AccountService.AccountServiceClient>(options.Kms);
        Add<RoleService.RoleServiceClient>(options.Kms);
        Add<KeyService.KeyServiceClient>(options.Kms);
        Add<AccessKeyService.AccessKeyServiceClient>(options.Kms);
        Add<ResourceDirectoryService.ResourceDirectoryServiceClient>(options.Kms);
        services.AddTransient(provider => new GrpcImagesClient(provider.GetRequiredService, []));
        return services;
    }
}
