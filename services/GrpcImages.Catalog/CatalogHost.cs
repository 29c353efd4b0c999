using GrpcImages.Catalog.Domain;
using GrpcImages.Catalog.Grpc;
using GrpcImages.Catalog.Storage;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.Contracts.Sharing.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.ServiceDefaults.Hosting;
using GrpcImages.ServiceDefaults.Peers;
using GrpcImages.ServiceDefaults.Work;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using StackExchange.Redis;

namespace GrpcImages.Catalog;

public static class CatalogHost
{
    public const int DefaultPort = 5101;

    /// <summary>
    /// Builds the catalog service. Tests pass <paramref name="configure"/> to point it at their own Redis and
    /// ports, and <paramref name="overrideServices"/> to replace services after the host registered its own.
    /// </summary>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null, Action<IServiceCollection>? overrideServices = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        configure?.Invoke(builder);
        builder.AddServiceDefaults("catalog", DefaultPort);
        builder.AddCatalogServices();

        overrideServices?.Invoke(builder.Services);
        var app = builder.Build();
        app.MapServiceDefaults();
        app.MapGrpcService<ImageGrpcService>();
        app.MapGrpcService<InstanceGrpcService>();
        app.MapGrpcService<SnapshotGrpcService>();
        app.MapGrpcService<RegionGrpcService>();
        app.MapGrpcService<ImageControlGrpcService>();
        app.MapGrpcService<NetworkGrpcService>();
        app.MapGrpcService<SecurityGroupGrpcService>();
        app.MapGrpcService<KeyPairGrpcService>();
        app.MapGrpcService<AddressGrpcService>();
        app.MapGrpcService<TagGrpcService>();
        return app;
    }

    public static WebApplicationBuilder AddCatalogServices(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.Configure<CatalogOptions>(builder.Configuration.GetSection(CatalogOptions.Section));
        services.AddRegionPeerClients<ContentService.ContentServiceClient>(builder.Configuration, "Transfer");
        services.AddPeerClient<SharingService.SharingServiceClient>("Sharing");
        services.AddPeerClient<QuotaService.QuotaServiceClient>("Sharing");
        services.AddPeerClient<KeyService.KeyServiceClient>("Kms");
        services.AddPeerClient<RoleService.RoleServiceClient>("Kms");
        services.AddSingleton<ImageStore>();
        services.AddSingleton<SnapshotStore>();
        services.AddSingleton<InstanceStore>();
        services.AddSingleton<CreationClaimStore>();
        services.AddSingleton<PendingResourceStore>();
        services.AddSingleton<ImageHoldStore>();
        services.AddSingleton<PlatformCatalogStore>();
        services.AddSingleton<NetworkStore>();
        services.AddSingleton<KeyPairStore>();
        services.AddSingleton<AddressStore>();
        services.AddSingleton<TagStore>();
        services.AddSingleton<CatalogMetrics>();
        services.AddWorkQueue<Releases>(CatalogKeys.Root, CatalogQueues.Releases);
        services.AddWorkQueue<CreationJobs>(CatalogKeys.Root, CatalogQueues.Jobs);
        services.AddWorkQueue<CatalogSeeder>(CatalogKeys.Root, CatalogQueues.Seed, standing: sp => CatalogSeeder.Items(sp.GetRequiredService<Regions>()));
        services.AddSingleton<ContentClient>();
        services.AddSingleton<IAccessCheckCache>(sp => new AnnouncedAccessChecks(
            sp.GetRequiredService<IConnectionMultiplexer>(), SharingClient.AccessCheckMaxAge, sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<SharingClient>();
        services.AddSingleton<EncryptionPolicy>();
        services.AddSingleton<ImageAccess>();
        services.AddSingleton<OwnedResources>();
        services.AddSingleton<ImageCreation>();
        services.AddSingleton<ImageQueries>();
        services.AddSingleton<ImageChanges>();
        services.AddSingleton<ImageWatches>();
        services.AddSingleton<ImageUpdate>();
        services.AddSingleton<ImageDeletion>();
        services.AddSingleton<InstanceManager>();
        services.AddSingleton<SnapshotManager>();
        services.AddSingleton<ImageControl>();
        services.AddSingleton<PendingResources>();
        services.AddSingleton<PlatformOfferings>();
        services.AddSingleton<OfferingQueries>();
        services.AddSingleton<NetworkManager>();
        services.AddSingleton<SecurityGroupManager>();
        services.AddSingleton<KeyPairManager>();
        services.AddSingleton<AddressManager>();
        services.AddSingleton<InstancePlacement>();
        services.AddSingleton<TagManager>();
        services.AddHealthChecks().AddCheck<SeededHealthCheck>("seeded", HealthStatus.Unhealthy, ["ready"]);
        return builder;
    }
}
