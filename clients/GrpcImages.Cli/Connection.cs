using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;

namespace GrpcImages.Cli;

/// <summary>Where the services are and which token to send: options first, then IMGCTL_* environment variables, then the local defaults of scripts/run.sh.</summary>
public sealed class Connection(string catalog, string transfer, string sharing, string kms, string? token) : IDisposable
{
    private readonly Dictionary<string, GrpcChannel> _channels = [];

    public string? Token { get; } = token;

    public T Catalog<T>() where T : ClientBase<T> => Client<T>(catalog);

    public T Transfer<T>() where T : ClientBase<T> => Client<T>(transfer);

    public T Sharing<T>() where T : ClientBase<T> => Client<T>(sharing);

    public T Kms<T>() where T : ClientBase<T> => Client<T>(kms);

    public void Dispose()
    {
        foreach (var channel in _channels.Values)
        {
            channel.Dispose();
        }
    }

    private T Client<T>(string address) where T : ClientBase<T>
    {
        if (!_channels.TryGetValue(address, out var channel))
        {
            _channels[address] = channel = GrpcChannel.ForAddress(address);
        }
        var invoker = Token is null
            ? channel.CreateCallInvoker()
            : channel.CreateCallInvoker().Intercept(headers =>
            {
                headers.Add("authorization", $"Bearer {Token}");
                return headers;
            });
        return (T)Activator.CreateInstance(typeof(T), invoker)!;
    }
}
