using Grpc.Core;
using GrpcImages.Contracts.Catalog.V1;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace GrpcImages.Bench;

/// <summary>
/// The ceiling to compare with: the same GetImage contract served by a bare gRPC service that does
/// one Redis GET and nothing else (no token, no interceptors, no visibility rules).
/// </summary>
public sealed class BaselineServer
{
    public const string Key = "bench:baseline:image";

    /// <summary>baseline &lt;redis&gt; &lt;port&gt;: serves until killed (the API bench runs it as a process of its own).</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        await using var app = await StartAsync(args[0], int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture));
        await app.WaitForShutdownAsync();
        return 0;
    }

    public static async Task<WebApplication> StartAsync(string redis, int port)
    {
        var builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.ListenLocalhost(port, l => l.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        builder.Services.AddGrpcHealthChecks(o => o.UseHealthChecksCache = false);
        builder.Services.AddSingleton<IConnectionMultiplexer>(ConnectionMultiplexer.Connect(redis));
        var app = builder.Build();
        app.MapGrpcService<BaselineImageService>();
        app.MapGrpcHealthChecksService();
        await app.StartAsync();
        return app;
    }

    private sealed class BaselineImageService(IConnectionMultiplexer redis) : ImageService.ImageServiceBase
    {
        private readonly IDatabase _db = redis.GetDatabase();

        public override async Task<GetImageResponse> GetImage(GetImageRequest request, ServerCallContext context) =>
            new() { Image = Image.Parser.ParseFrom((byte[])(await _db.StringGetAsync(Key))!) };
    }
}
