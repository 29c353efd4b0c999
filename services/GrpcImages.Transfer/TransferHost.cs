using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.ServiceDefaults.Hosting;
using GrpcImages.ServiceDefaults.Peers;
using GrpcImages.ServiceDefaults.Work;
using GrpcImages.Transfer.Content;
using GrpcImages.Transfer.Domain;
using GrpcImages.Transfer.Formats;
using GrpcImages.Transfer.Grpc;
using GrpcImages.Transfer.Objects;
using GrpcImages.Transfer.Oss;
using GrpcImages.Transfer.Storage;
using GrpcImages.Transfer.Tasks;

namespace GrpcImages.Transfer;

public static class TransferHost
{
    public const int DefaultPort = 5102;

    /// <summary>
    /// Builds the transfer service. Tests pass <paramref name="configure"/> to point it at their own Redis and
    /// ports, and <paramref name="overrideServices"/> to replace services after the host registered its own.
    /// </summary>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null, Action<IServiceCollection>? overrideServices = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        configure?.Invoke(builder);
        builder.AddServiceDefaults("transfer", DefaultPort);
        builder.AddTransferServices();
        builder.AddDownloadPort();
        builder.AddOssPorts();

        overrideServices?.Invoke(builder.Services);
        var app = builder.Build();
        app.UseOssEndpoint();
        app.MapServiceDefaults();
        app.MapDownloads();
        app.MapGrpcService<TransferGrpcService>();
        app.MapGrpcService<TaskGrpcService>();
        app.MapGrpcService<ObjectStoreGrpcService>();
        app.MapGrpcService<ContentGrpcService>();
        return app;
    }

    /// <summary>The plain HTTP/1.1 port of signed download links ("ObjectStore:HttpPort", on "Service:Bind").</summary>
    public static WebApplicationBuilder AddDownloadPort(this WebApplicationBuilder builder)
    {
        var endpoint = new DownloadEndpoint();
        builder.Services.AddSingleton(endpoint);
        var port = builder.Configuration.GetValue($"{ObjectStoreOptions.Section}:HttpPort", new ObjectStoreOptions().HttpPort);
        var bind = System.Net.IPAddress.Parse(builder.Configuration["Service:Bind"] ?? "127.0.0.1");
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(bind, port, listen =>
        {
            listen.Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http1;
            endpoint.Listen = listen;
        }));
        return builder;
    }

    /// <summary>
    /// The OSS-compatible endpoint's ports ("ObjectStore:OssPort", and "ObjectStore:OssHttpsPort" when a certificate is configured), HTTP/1.1
    /// on "ObjectStore:OssBind" or "Service:Bind".
    /// </summary>
    public static WebApplicationBuilder AddOssPorts(this WebApplicationBuilder builder)
    {
        var ports = new OssPorts();
        builder.Services.AddSingleton(ports);
        builder.Services.AddPeerClient<AccessKeyService.AccessKeyServiceClient>("Kms");
        builder.Services.AddSingleton<OssServices>();
        builder.Services.AddSingleton<OssEndpoint>();
        var settings = builder.Configuration.GetSection(ObjectStoreOptions.Section).Get<ObjectStoreOptions>() ?? new ObjectStoreOptions();
        var bind = System.Net.IPAddress.Parse(settings.OssBind ?? builder.Configuration["Service:Bind"] ?? "127.0.0.1");
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            if (settings.OssPort >= 0)
            {
                kestrel.Listen(bind, settings.OssPort, listen =>
                {
                    listen.Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http1;
                    ports.Http = listen;
                });
            }
            if (settings.OssCertificateFile is { Length: > 0 } certificate)
            {
                var pem = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPemFile(certificate, settings.OssCertificateKeyFile);
                // Kestrel needs the key in a form SslStream can use on every platform.
                var usable = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadPkcs12(pem.Export(
                    System.Security.Cryptography.X509Certificates.X509ContentType.Pkcs12), null);
                kestrel.Listen(bind, settings.OssHttpsPort, listen =>
                {
                    listen.Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http1;
                    listen.UseHttps(usable);
                    ports.Https = listen;
                });
            }
        });
        return builder;
    }

    /// <summary>Requests on the OSS ports are the OSS endpoint's, whatever their path (they never reach gRPC or the download links).</summary>
    public static WebApplication UseOssEndpoint(this WebApplication app)
    {
        var ports = app.Services.GetRequiredService<OssPorts>();
        var endpoint = app.Services.GetRequiredService<OssEndpoint>();
        app.Use(async (context, next) =>
        {
            if (ports.Serves(context.Connection.LocalPort))
            {
                await endpoint.HandleAsync(context);
                return;
            }
            await next(context);
        });
        return app;
    }

    public static WebApplicationBuilder AddTransferServices(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.Configure<BlobOptions>(builder.Configuration.GetSection(BlobOptions.Section));
        services.Configure<TransferOptions>(builder.Configuration.GetSection(TransferOptions.Section));
        services.AddSingleton<FileBlobStores>();
        services.AddSingleton<IBlobStores>(sp => sp.GetRequiredService<FileBlobStores>());
        services.AddSingleton<ContentIndex>();
        services.AddPeerClient<KeyService.KeyServiceClient>("Kms");
        services.AddPeerClient<ImageControlService.ImageControlServiceClient>("Catalog");
        services.AddRegionPeerClients<ContentService.ContentServiceClient>(builder.Configuration, "Transfer");
        services.AddRegionPeerClients<ChunkPullClient>(builder.Configuration, "Transfer");
        services.AddSingleton<DataKeys>();
        services.AddSingleton<ContentMetrics>();
        services.AddSingleton<ContentLibrary>();
        services.AddSingleton<GarbageCollector>();
        services.AddSingleton<ContentCopier>();
        services.AddSingleton<TaskStore>();
        services.AddSingleton<TaskChanges>();
        services.AddSingleton<TaskQueues>();
        services.AddSingleton<TaskManager>();
        services.AddSingleton<TaskCatalog>();
        services.AddSingleton<TaskLifecycle>();
        services.AddSingleton<CopySteps>();
        services.AddSingleton<ImportDisks>();
        services.AddSingleton<ExportObjects>();
        services.AddSingleton<ITaskKind, ImageCopyTask>();
        services.AddSingleton<ITaskKind, SnapshotCopyTask>();
        services.AddSingleton<ITaskKind, ImportTask>();
        services.AddSingleton<ITaskKind, ExportTask>();
        services.AddSingleton<TaskKinds>();
        services.AddSingleton<CopyRequests>();
        services.Configure<ObjectStoreOptions>(builder.Configuration.GetSection(ObjectStoreOptions.Section));
        services.AddSingleton<ObjectIndex>();
        services.AddSingleton<UploadIndex>();
        services.AddSingleton<MultipartUploads>();
        services.AddSingleton<ObjectSettlements>();
        services.AddSingleton<DownloadLinks>();
        services.AddSingleton<ObjectStore>();
        services.Configure<ImportOptions>(builder.Configuration.GetSection(ImportOptions.Section));
        services.Configure<QemuOptions>(builder.Configuration.GetSection(QemuOptions.Section));
        services.AddPeerClient<RoleService.RoleServiceClient>("Kms");
        services.AddSingleton<ImportSources>();
        services.AddSingleton<QemuImg>();
        services.AddSingleton<ContentFiles>();
        services.AddSingleton<Scratch>();
        services.AddSingleton<ImportRequests>();
        services.AddSingleton<ExportRequests>();

        // Every region's task queues can take tasks here; this instance runs those of the regions it serves,
        // and collects their garbage (one standing item per region).
        var options = builder.Configuration.GetSection(TransferOptions.Section).Get<TransferOptions>() ?? new TransferOptions();
        var regions = new Regions(builder.Configuration);
        var served = options.ServedRegions(regions).ToHashSet(StringComparer.Ordinal);
        foreach (var region in regions.All.Select(r => r.Id))
        {
            var runs = served.Contains(region) && options.RunTasks;
            AddTaskQueue(services, TaskQueues.Name(TaskAction.CopyImage, region), options.CopyLimit, runs);
            AddTaskQueue(services, TaskQueues.Name(TaskAction.ImportImage, region), options.ImportLimit, runs);
            AddTaskQueue(services, TaskQueues.Name(TaskAction.ExportImage, region), options.ExportLimit, runs);
            if (served.Contains(region))
            {
                services.AddWorkQueue<GarbageCollection>(TransferKeys.Root, $"{GarbageCollection.Queue}:{region}", standing: _ => [region]);
                services.AddWorkQueue<ObjectSettlements>(TransferKeys.Root, ObjectSettlements.QueueName(region));
                services.AddWorkQueue<AbandonedUploads>(TransferKeys.Root, MultipartUploads.QueueName(region));
            }
            else
            {
                services.AddWorkQueueWithoutRunner(TransferKeys.Root, ObjectSettlements.QueueName(region));
                services.AddWorkQueueWithoutRunner(TransferKeys.Root, MultipartUploads.QueueName(region));
            }
        }
        return builder;
    }

    /// <summary>A task queue with its limit of running tasks across every replica; run here or only fed from here.</summary>
    private static void AddTaskQueue(IServiceCollection services, string name, int limit, bool run)
    {
        var queue = new WorkQueueOptions { Limit = limit, MaxInFlight = limit };
        if (run)
        {
            services.AddWorkQueue<TaskWorker>(TransferKeys.Root, name, queue);
        }
        else
        {
            services.AddWorkQueueWithoutRunner(TransferKeys.Root, name, queue);
        }
    }
}
