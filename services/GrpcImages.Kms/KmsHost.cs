using GrpcImages.Kms.Domain;
using GrpcImages.Kms.Grpc;
using GrpcImages.Kms.Storage;
using GrpcImages.ServiceDefaults.Hosting;
using GrpcImages.ServiceDefaults.Work;

namespace GrpcImages.Kms;

public static class KmsHost
{
    public const int DefaultPort = 5104;

    /// <summary>
    /// Builds the kms service. Tests pass <paramref name="configure"/> to point it at their own Redis and
    /// ports, and <paramref name="overrideServices"/> to replace services after the host registered its own.
    /// </summary>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null, Action<IServiceCollection>? overrideServices = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        configure?.Invoke(builder);
        builder.AddServiceDefaults("kms", DefaultPort);
        builder.Services.Configure<OperatorOptions>(builder.Configuration.GetSection(OperatorOptions.Section));
        builder.Services.Configure<KmsOptions>(builder.Configuration.GetSection(KmsOptions.Section));
        builder.Services.AddSingleton<DirectoryStore>();
        builder.Services.AddSingleton<AccountDirectory>();
        builder.Services.AddSingleton<KeyStore>();
        builder.Services.AddSingleton<Roles>();
        builder.Services.AddSingleton<KeyManager>();
        builder.Services.AddSingleton<AccessKeyStore>();
        builder.Services.AddSingleton<AccessKeys>();
        builder.Services.AddSingleton<ResourceDirectoryStore>();
        builder.Services.AddSingleton<ResourceDirectories>();
        builder.Services.AddWorkQueue<KeyDeletions>(KmsKeys.Root, KeyDeletions.Queue);

        overrideServices?.Invoke(builder.Services);
        var app = builder.Build();
        app.MapServiceDefaults();
        app.MapGrpcService<AccountGrpcService>();
        app.MapGrpcService<RoleGrpcService>();
        app.MapGrpcService<KeyGrpcService>();
        app.MapGrpcService<AccessKeyGrpcService>();
        app.MapGrpcService<ResourceDirectoryGrpcService>();
        return app;
    }
}
