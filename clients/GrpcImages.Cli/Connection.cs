using Grpc.Core;
using GrpcImages.Client;

namespace GrpcImages.Cli;

/// <summary>
/// Where the services are and which token to send (options first, then IMGCTL_* environment
/// variables, then the local defaults of scripts/run.sh), as a <see cref="GrpcImagesClient"/>:
/// imgctl gets the library's retries, deadlines and client tokens like any application.
/// </summary>
public sealed class Connection(string catalog, string transfer, string sharing, string kms, string? token) : IDisposable
{
    private readonly GrpcImagesClient _client = GrpcImagesClient.Create(new GrpcImagesClientOptions
    {
        Catalog = new Uri(catalog),
        Transfer = new Uri(transfer),
        Sharing = new Uri(sharing),
        Kms = new Uri(kms),
        Tokens = token is null ? null : new StaticTokenProvider(token),
        DefaultDeadline = TimeSpan.FromMinutes(2),
    });

    public string? Token { get; } = token;

    public GrpcImagesClient Client => _client;

    public T Catalog<T>() where T : ClientBase<T> => _client.Service<T>();

    public T Transfer<T>() where T : ClientBase<T> => _client.Service<T>();

    public T Sharing<T>() where T : ClientBase<T> => _client.Service<T>();

    public T Kms<T>() where T : ClientBase<T> => _client.Service<T>();

    public void Dispose() => _client.Dispose();
}
