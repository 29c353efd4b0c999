using GrpcImages.Catalog.Grpc;
using GrpcImages.ServiceDefaults.Hosting;

namespace GrpcImages.Catalog;

public static class CatalogHost
{
    public const int DefaultPort = 5101;

    /// <summary>Builds the catalog service; tests pass <paramref name="configure"/> to point it at their own Redis and ports.</summary>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        configure?.Invoke(builder);
        builder.AddServiceDefaults("catalog", DefaultPort);

        var app = builder.Build();
        app.MapServiceDefaults();
        app.MapGrpcService<ImageGrpcService>();
        app.MapGrpcService<InstanceGrpcService>();
        app.MapGrpcService<SnapshotGrpcService>();
        app.MapGrpcService<RegionGrpcService>();
        app.MapGrpcService<ImageControlGrpcService>();
        return app;
    }
}
