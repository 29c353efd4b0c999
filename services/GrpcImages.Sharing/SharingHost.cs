using GrpcImages.ServiceDefaults.Hosting;
using GrpcImages.Sharing.Grpc;

namespace GrpcImages.Sharing;

public static class SharingHost
{
    public const int DefaultPort = 5103;

    /// <summary>Builds the sharing service; tests pass <paramref name="configure"/> to point it at their own Redis and ports.</summary>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        configure?.Invoke(builder);
        builder.AddServiceDefaults("sharing", DefaultPort);

        var app = builder.Build();
        app.MapServiceDefaults();
        app.MapGrpcService<SharingGrpcService>();
        app.MapGrpcService<QuotaGrpcService>();
        return app;
    }
}
