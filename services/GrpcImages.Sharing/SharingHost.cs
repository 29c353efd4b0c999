using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.ServiceDefaults.Hosting;
using GrpcImages.ServiceDefaults.Peers;
using GrpcImages.ServiceDefaults.Work;
using GrpcImages.Sharing.Domain;
using GrpcImages.Sharing.Grpc;
using GrpcImages.Sharing.Storage;

namespace GrpcImages.Sharing;

public static class SharingHost
{
    public const int DefaultPort = 5103;

    /// <summary>
    /// Builds the sharing service. Tests pass <paramref name="configure"/> to point it at their own Redis and
    /// ports, and <paramref name="overrideServices"/> to replace services after the host registered its own.
    /// </summary>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null, Action<IServiceCollection>? overrideServices = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        configure?.Invoke(builder);
        builder.AddServiceDefaults("sharing", DefaultPort);
        builder.AddSharingServices();

        overrideServices?.Invoke(builder.Services);
        var app = builder.Build();
        app.MapServiceDefaults();
        app.MapGrpcService<SharingGrpcService>();
        app.MapGrpcService<QuotaGrpcService>();
        return app;
    }

    public static WebApplicationBuilder AddSharingServices(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.Configure<SharingOptions>(builder.Configuration.GetSection(SharingOptions.Section));
        services.AddPeerClient<ImageService.ImageServiceClient>("Catalog");
        services.AddPeerClient<ImageControlService.ImageControlServiceClient>("Catalog");
        services.AddPeerClient<AccountService.AccountServiceClient>("Kms");
        services.AddPeerClient<RoleService.RoleServiceClient>("Kms");
        services.AddPeerClient<ResourceDirectoryService.ResourceDirectoryServiceClient>("Kms");
        services.AddSingleton<ShareStore>();
        services.AddSingleton<QuotaStore>();
        services.AddSingleton<Organizations>();
        services.AddSingleton<ShareManager>();
        services.AddSingleton<QuotaManager>();
        services.AddWorkQueue<RecipientOutbox>(SharingKeys.Root, RecipientOutbox.Queue);
        return builder;
    }
}
