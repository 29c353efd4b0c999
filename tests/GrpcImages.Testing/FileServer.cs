using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace GrpcImages.Testing;

/// <summary>
/// A plain HTTP server on loopback for import sources: GET /files/&lt;name&gt; serves bytes with ranges, and
/// GET /redirect?to=&lt;url&gt; answers 302 to any URL (to prove redirects are checked like the first address).
/// </summary>
public sealed class FileServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, byte[]> _files = new(StringComparer.Ordinal);

    private FileServer(WebApplication app) => _app = app;

    public int Port { get; private set; }

    /// <summary>"127.0.0.1:port", as Import:AllowedEndpoints names it.</summary>
    public string Endpoint => $"127.0.0.1:{Port}";

    public static async Task<FileServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new FileServer(app);
        app.MapGet("/files/{name}", (string name) =>
            server._files.TryGetValue(name, out var bytes) ? Results.Bytes(bytes, "application/octet-stream", enableRangeProcessing: true) : Results.NotFound());
        app.MapGet("/redirect", (string to) => Results.Redirect(to));
        await app.StartAsync();
        server.Port = new Uri(app.Urls.First()).Port;
        return server;
    }

    /// <summary>Serves bytes at /files/&lt;name&gt;; returns their URL.</summary>
    public string Serve(string name, byte[] bytes)
    {
        _files[name] = bytes;
        return $"http://{Endpoint}/files/{name}";
    }

    public string RedirectTo(string url) => $"http://{Endpoint}/redirect?to={Uri.EscapeDataString(url)}";

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
