using System.Globalization;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.Contracts.Sharing.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.Gateway.Ecs;
using GrpcImages.Gateway.Signatures;
using GrpcImages.ServiceDefaults.Hosting;
using GrpcImages.ServiceDefaults.Peers;

namespace GrpcImages.Gateway;

public static class GatewayHost
{
    /// <summary>The gRPC port (health, reflection); the ECS API is on <see cref="GatewayOptions.HttpPort"/>.</summary>
    public const int DefaultPort = 5106;

    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        configure?.Invoke(builder);
        builder.AddServiceDefaults("gateway", DefaultPort);
        var settings = builder.Configuration.GetSection(GatewayOptions.Section);
        builder.Services.Configure<GatewayOptions>(settings);
        var http = new HttpEndpoint();
        builder.Services.AddSingleton(http);
        var bind = System.Net.IPAddress.Parse(builder.Configuration["Service:Bind"] ?? "127.0.0.1");
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(bind, settings.GetValue("HttpPort", new GatewayOptions().HttpPort), listen =>
        {
            listen.Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http1;
            http.Listen = listen;
        }));

        var services = builder.Services;
        services.AddPeerClient<RegionService.RegionServiceClient>("Catalog");
        services.AddPeerClient<ImageService.ImageServiceClient>("Catalog");
        services.AddPeerClient<InstanceService.InstanceServiceClient>("Catalog");
        services.AddPeerClient<SnapshotService.SnapshotServiceClient>("Catalog");
        services.AddPeerClient<NetworkService.NetworkServiceClient>("Catalog");
        services.AddPeerClient<SecurityGroupService.SecurityGroupServiceClient>("Catalog");
        services.AddPeerClient<KeyPairService.KeyPairServiceClient>("Catalog");
        services.AddPeerClient<AddressService.AddressServiceClient>("Catalog");
        services.AddPeerClient<TagService.TagServiceClient>("Catalog");
        services.AddPeerClient<SharingService.SharingServiceClient>("Sharing");
        services.AddPeerClient<AccessKeyService.AccessKeyServiceClient>("Kms");
        services.AddRegionPeerClients<TransferService.TransferServiceClient>(builder.Configuration, "Transfer");
        services.AddRegionPeerClients<TaskService.TaskServiceClient>(builder.Configuration, "Transfer");
        services.AddSingleton<ClusterClients>();
        services.AddSingleton<NonceGuard>();
        services.AddSingleton<EcsEndpoint>();

        var app = builder.Build();
        app.MapServiceDefaults();
        var endpoint = app.Services.GetRequiredService<EcsEndpoint>();
        // Every method and path, so that what the ECS API does not serve still gets its error body (405, 404).
        app.Map("/", endpoint.HandleAsync);
        app.MapFallback("{**path}", endpoint.HandleAsync);
        if (app.Configuration[$"{GatewayOptions.Section}:HttpPortFile"] is { Length: > 0 } portFile)
        {
            app.Lifetime.ApplicationStarted.Register(() =>
            {
                var port = http.Listen?.IPEndPoint?.Port ?? 0;
                File.WriteAllText(portFile + ".tmp", port.ToString(CultureInfo.InvariantCulture));
                File.Move(portFile + ".tmp", portFile, overwrite: true);
            });
        }
        return app;
    }
}

/// <summary>The ECS API's HTTP/1.1 listener (its port is the kernel's pick once bound, when configured as 0).</summary>
public sealed class HttpEndpoint
{
    public Microsoft.AspNetCore.Server.Kestrel.Core.ListenOptions? Listen { get; set; }
}
