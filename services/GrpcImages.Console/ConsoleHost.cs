using System.Globalization;
using GrpcImages.Client;
using GrpcImages.Console.Components;
using GrpcImages.Console.Sessions;
using GrpcImages.Console.Uploads;
using GrpcImages.ServiceDefaults.Hosting;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.StackExchangeRedis;
using Microsoft.AspNetCore.Localization;
using StackExchange.Redis;

namespace GrpcImages.Console;

/// <summary>
/// The console host: the pages on their own HTTP port (<see cref="ConsoleOptions.HttpPort"/>), gRPC health on the
/// service port like every host. It keeps no state but its sessions' cookie keys (Data Protection's key ring, in
/// Redis so every replica reads every session), and calls the services as the signed-in principal.
/// </summary>
public static class ConsoleHost
{
    /// <summary>The gRPC port (health); the pages are on <see cref="ConsoleOptions.HttpPort"/>.</summary>
    public const int DefaultPort = 5111;

    /// <summary>Where the key ring of the sessions' cookies lives in Redis (the console's only key).</summary>
    public const string KeyRingKey = "gi:con:dataprotection-keys";

    public static readonly string[] Cultures = ["en", "ja"];

    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        // Named after this assembly, not the process's entry one: its static assets are found by that name when the
        // console is hosted by another process (the tests).
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ApplicationName = typeof(ConsoleHost).Assembly.GetName().Name });
        configure?.Invoke(builder);
        builder.AddServiceDefaults("console", DefaultPort);
        builder.AddConsole();
        var app = builder.Build();
        app.MapServiceDefaults();
        app.MapConsole();
        return app;
    }

    public static WebApplicationBuilder AddConsole(this WebApplicationBuilder builder)
    {
        var settings = builder.Configuration.GetSection(ConsoleOptions.Section);
        var options = settings.Get<ConsoleOptions>() ?? new ConsoleOptions();
        var services = builder.Services;
        services.Configure<ConsoleOptions>(settings);
        // Run from a build's output (scripts/run.sh, tests), the framework's scripts are found through the build's
        // static web assets manifest; a published app carries them itself and has no manifest (then this does nothing).
        builder.WebHost.UseStaticWebAssets();
        var http = new PagesEndpoint();
        services.AddSingleton(http);
        var bind = System.Net.IPAddress.Parse(builder.Configuration["Service:Bind"] ?? "127.0.0.1");
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(bind, options.HttpPort, listen =>
        {
            listen.Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http1AndHttp2;
            http.Listen = listen;
        }));

        services.AddSingleton(sp => new GrpcImagesChannels(ClientOptions(sp.GetRequiredService<IConfiguration>())));
        services.AddDataProtection().SetApplicationName("grpcimages-console");
        services.AddOptions<KeyManagementOptions>().Configure<IConnectionMultiplexer>((o, redis) =>
            o.XmlRepository = new RedisXmlRepository(() => redis.GetDatabase(), KeyRingKey));
        services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme).AddCookie(cookie =>
        {
            cookie.Cookie.Name = "gi.session";
            cookie.Cookie.HttpOnly = true;
            cookie.Cookie.SameSite = SameSiteMode.Strict;
            cookie.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest; // Secure whenever the console is reached over TLS
            cookie.LoginPath = "/signin";
            cookie.LogoutPath = "/signout";
            cookie.AccessDeniedPath = "/signin";
            cookie.ExpireTimeSpan = options.IdleTimeout;
            cookie.SlidingExpiration = true;
            cookie.EventsType = typeof(SessionCookieEvents);
        });
        services.AddSingleton<SessionCookieEvents>();
        services.AddAuthorization();
        services.AddCascadingAuthenticationState();
        services.AddSingleton<SignInThrottle>();
        services.AddSingleton<SessionSignIn>();
        services.AddScoped<ConsoleSession>();
        services.AddScoped<ServiceStatus>();
        services.AddSingleton<RegionDirectory>();
        services.AddSingleton<UploadSessions>();
        services.AddHostedService(sp => sp.GetRequiredService<UploadSessions>());
        services.AddLocalization(o => o.ResourcesPath = "");
        services.AddRazorComponents().AddInteractiveServerComponents();
        services.AddAntiforgery(o => o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest);
        return builder;
    }

    public static WebApplication MapConsole(this WebApplication app)
    {
        var pages = app.Services.GetRequiredService<PagesEndpoint>();
        // The pages answer on their own port only; the service port speaks gRPC.
        app.Use(async (context, next) =>
        {
            if (context.Connection.LocalPort != pages.Listen?.IPEndPoint?.Port && context.Request.ContentType?.StartsWith("application/grpc", StringComparison.Ordinal) != true)
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return;
            }
            await next(context);
        });
        app.UseRequestLocalization(new RequestLocalizationOptions()
            .SetDefaultCulture(Cultures[0]).AddSupportedCultures(Cultures).AddSupportedUICultures(Cultures));
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseAntiforgery();
        app.MapStaticAssets();
        app.MapRazorComponents<App>().AddInteractiveServerRenderMode();
        app.MapSessionEndpoints();
        app.MapUploadEndpoints();
        app.MapGet("/culture", (string c, string? back, HttpContext context) =>
        {
            if (Cultures.Contains(c))
            {
                context.Response.Cookies.Append(CookieRequestCultureProvider.DefaultCookieName,
                    CookieRequestCultureProvider.MakeCookieValue(new RequestCulture(c)),
                    new CookieOptions { HttpOnly = true, SameSite = SameSiteMode.Lax, MaxAge = TimeSpan.FromDays(365), Secure = context.Request.IsHttps });
            }
            return Results.LocalRedirect(IsLocalPath(back) ? back! : "/");
        });
        if (app.Configuration[$"{ConsoleOptions.Section}:HttpPortFile"] is { Length: > 0 } portFile)
        {
            app.Lifetime.ApplicationStarted.Register(() =>
            {
                File.WriteAllText(portFile + ".tmp", (pages.Listen?.IPEndPoint?.Port ?? 0).ToString(CultureInfo.InvariantCulture));
                File.Move(portFile + ".tmp", portFile, overwrite: true);
            });
        }
        return app;
    }

    /// <summary>A path of this site only ("/x", never "//host" or "/\\host", which browsers read as another site).</summary>
    private static bool IsLocalPath(string? path) =>
        path is { Length: > 0 and <= 2048 } && path[0] == '/' && (path.Length == 1 || (path[1] != '/' && path[1] != '\\')) && !path.Any(char.IsControl);

    /// <summary>Where the services are: the same "Peers:*" settings the services use for each other.</summary>
    private static GrpcImagesClientOptions ClientOptions(IConfiguration configuration)
    {
        Uri Peer(string name) => new(configuration[$"Peers:{name}"] ?? throw new InvalidOperationException($"Set Peers:{name} to the address of the {name} service."));
        return new GrpcImagesClientOptions
        {
            Catalog = Peer("Catalog"), Transfer = Peer("Transfer"), Sharing = Peer("Sharing"), Kms = Peer("Kms"),
            DefaultDeadline = TimeSpan.FromSeconds(30),
        };
    }
}

/// <summary>The pages' listener (its port is the kernel's pick once bound, when configured as 0).</summary>
public sealed class PagesEndpoint
{
    public Microsoft.AspNetCore.Server.Kestrel.Core.ListenOptions? Listen { get; set; }
}
