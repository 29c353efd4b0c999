using System.Globalization;
using System.Net;
using Grpc.AspNetCore.HealthChecks;
using GrpcImages.ServiceDefaults.Errors;
using GrpcImages.ServiceDefaults.Identity;
using GrpcImages.ServiceDefaults.Redis;
using GrpcImages.ServiceDefaults.Validation;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace GrpcImages.ServiceDefaults.Hosting;

public static class ServiceDefaultsExtensions
{
    /// <summary>
    /// What every service host has: an h2c gRPC port ("Service:Port", "Service:Bind"), token
    /// authentication and error mapping on every RPC, Redis, the regions, health (reporting
    /// Redis), reflection, and OpenTelemetry when an OTLP endpoint is configured.
    /// </summary>
    public static WebApplicationBuilder AddServiceDefaults(this WebApplicationBuilder builder, string name, int defaultPort)
    {
        var configuration = builder.Configuration;
        // Lowest precedence: appsettings files, environment variables and tests override these.
        configuration.Sources.Insert(0, new MemoryConfigurationSource { InitialData = LoggingDefaults });
        configuration["Service:Name"] = name;
        var port = configuration.GetValue("Service:Port", defaultPort);
        var bind = IPAddress.Parse(configuration["Service:Bind"] ?? "127.0.0.1");
        var grpcEndpoint = new GrpcEndpoint();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Listen(bind, port, listen =>
            {
                listen.Protocols = HttpProtocols.Http2;
                grpcEndpoint.Listen = listen;
            });
        });

        var services = builder.Services;
        services.AddSingleton(grpcEndpoint);
        services.AddSingleton(TimeProvider.System);
        services.Configure<IdentityOptions>(configuration.GetSection(IdentityOptions.Section));
        services.AddSingleton<TokenService>();
        services.AddSingleton<RamUserVersions>();
        services.AddSingleton<CallAuthenticator>();
        services.AddSingleton<Regions>();
        services.AddRedis(configuration);

        services.AddGrpc(o =>
        {
            o.Interceptors.Add<ErrorInterceptor>();
            o.MaxReceiveMessageSize = 8 * 1024 * 1024;
            o.EnableDetailedErrors = false;
        });
        services.AddStrictRequestParsing();
        services.AddReflectionWithErrorDetails();
        // "" (readiness) reports Redis; "liveness" only that the process answers, so a Redis
        // outage takes pods out of rotation without restarting them.
        services.AddGrpcHealthChecks(o =>
            {
                o.UseHealthChecksCache = false;
                o.Services.Map("", r => r.Tags.Contains("ready"));
                o.Services.Map("liveness", r => r.Tags.Contains("live"));
            })
            .AddCheck("process", () => HealthCheckResult.Healthy(), ["live"])
            .AddCheck<RedisHealthCheck>("redis", HealthStatus.Unhealthy, ["ready"]);

        if (!string.IsNullOrEmpty(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            services.AddOpenTelemetry()
                .ConfigureResource(r => r.AddService($"grpcimages-{name}"))
                .WithMetrics(m => m.AddAspNetCoreInstrumentation().AddRuntimeInstrumentation().AddMeter($"GrpcImages.*"))
                .WithTracing(t => t.AddAspNetCoreInstrumentation().AddHttpClientInstrumentation().AddSource("GrpcImages.*"))
                .UseOtlpExporter();
        }
        return builder;
    }

    /// <summary>JSON logs; framework categories (including HttpClientFactory's per-request lines) only from warnings up.</summary>
    private static readonly Dictionary<string, string?> LoggingDefaults = new()
    {
        ["Logging:Console:FormatterName"] = "json",
        ["Logging:LogLevel:Default"] = "Information",
        ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
        // Categories match by plain prefix: "Grpc" alone would also silence "GrpcImages.*".
        ["Logging:LogLevel:Grpc.AspNetCore"] = "Warning",
        ["Logging:LogLevel:Grpc.Net"] = "Warning",
        ["Logging:LogLevel:System.Net.Http.HttpClient"] = "Warning",
        // Readiness probes failing while a catalog seeds or Redis is away are expected, not news.
        ["Logging:LogLevel:Microsoft.Extensions.Diagnostics.HealthChecks"] = "Critical",
    };

    /// <summary>
    /// Maps gRPC health (grpc.health.v1) and server reflection, both without a token. With
    /// "Service:PortFile" set, the port the service listens on is written there once it listens
    /// (so "Service:Port" may be 0: tests and scripts let the kernel pick).
    /// </summary>
    public static WebApplication MapServiceDefaults(this WebApplication app)
    {
        PageToken.UseKey(app.Services.GetRequiredService<IOptions<IdentityOptions>>().Value.DeriveKey("page-tokens/v1"));
        app.UseCallAuthentication();
        app.MapGrpcHealthChecksService().AllowAnonymous();
        app.MapGrpcReflectionService().AllowAnonymous();
        if (app.Configuration["Service:PortFile"] is { Length: > 0 } portFile)
        {
            app.Lifetime.ApplicationStarted.Register(() =>
            {
                var temp = portFile + ".tmp";
                File.WriteAllText(temp, ListeningPort(app).ToString(CultureInfo.InvariantCulture));
                File.Move(temp, portFile, overwrite: true);
            });
        }
        return app;
    }

    /// <summary>The port the service listens on (the kernel's pick when "Service:Port" was 0).</summary>
    public static int ListeningPort(this WebApplication app) =>
        app.Services.GetRequiredService<GrpcEndpoint>().Listen?.IPEndPoint?.Port is > 0 and var port
            ? port
            : throw new InvalidOperationException("The service is not listening yet.");
}

/// <summary>The gRPC port's listen options (its port is the kernel's pick once bound, when configured as 0).</summary>
public sealed class GrpcEndpoint
{
    public Microsoft.AspNetCore.Server.Kestrel.Core.ListenOptions? Listen { get; set; }
}
