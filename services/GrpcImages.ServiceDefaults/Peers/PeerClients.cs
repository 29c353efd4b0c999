using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.ClientFactory;
using GrpcImages.ServiceDefaults.Identity;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace GrpcImages.ServiceDefaults.Peers;

public static class PeerClients
{
    /// <summary>The largest message a peer may send: a 4 MiB chunk of content with its envelope.</summary>
    public const int MaxMessageBytes = 16 * 1024 * 1024;

    /// <summary>Each HTTP/2 stream's receive window: two 4 MiB chunks in flight.</summary>
    public const int StreamWindowBytes = 8 * 1024 * 1024;

    /// <summary>How long a connection to a peer may be silent while calls wait on it before it is pinged ("Peers:PingDelay").</summary>
    public static readonly TimeSpan DefaultPingDelay = TimeSpan.FromSeconds(2);

    /// <summary>How long a pinged peer (or one being connected to) has to answer before its calls fail UNAVAILABLE ("Peers:PingTimeout").</summary>
    public static readonly TimeSpan DefaultPingTimeout = TimeSpan.FromSeconds(3);

    /// <summary>
    /// A typed client of another service of the cluster at "Peers:{peer}" (read when the client is
    /// first made). Calls carry the incoming call's token (or this service's own when there is none),
    /// this service's token in x-grpcimages-service, and the incoming call's deadline and cancellation.
    /// </summary>
    public static IHttpClientBuilder AddPeerClient<TClient>(this IServiceCollection services, string peer)
        where TClient : ClientBase
    {
        services.TryAddSingleton<PeerClient<TClient>>();
        return Configure(services, services.AddGrpcClient<TClient>((sp, o) => o.Address = Address(sp, $"Peers:{peer}", peer)));
    }

    /// <summary>
    /// Clients of a service whose instances each serve some regions (the transfer service keeps each
    /// region's bytes): the one for a region is at "Peers:{peer}ByRegion:&lt;region&gt;", else "Peers:{peer}".
    /// </summary>
    public static IServiceCollection AddRegionPeerClients<TClient>(this IServiceCollection services, IConfiguration configuration, string peer)
        where TClient : ClientBase
    {
        foreach (var region in new Hosting.Regions(configuration).All)
        {
            Configure(services, services.AddGrpcClient<TClient>(RegionClientName<TClient>(peer, region.Id), (sp, o) =>
            {
                var settings = sp.GetRequiredService<IConfiguration>();
                o.Address = settings[$"Peers:{peer}ByRegion:{region.Id}"] is { Length: > 0 } address ? new Uri(address) : Address(sp, $"Peers:{peer}", peer);
            }));
        }
        services.TryAddSingleton(sp => new RegionPeers<TClient>(sp.GetRequiredService<GrpcClientFactory>(), peer));
        return services;
    }

    internal static string RegionClientName<TClient>(string peer, string region) => $"{peer}:{region}:{typeof(TClient).Name}";

    private static Uri Address(IServiceProvider services, string key, string peer) =>
        new(services.GetRequiredService<IConfiguration>()[key] ?? throw new InvalidOperationException($"Set {key} to the address of the {peer} service."));

    private static IHttpClientBuilder Configure(IServiceCollection services, IHttpClientBuilder client)
    {
        services.AddHttpContextAccessor();
        services.TryAddSingleton<ServiceTokenSource>();
        services.TryAddSingleton<ForwardIdentityInterceptor>();
        return client
            .ConfigurePrimaryHttpMessageHandler(sp =>
            {
                var settings = sp.GetRequiredService<IConfiguration>();
                return new SocketsHttpHandler
                {
                    EnableMultipleHttp2Connections = true,
                    PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
                    // A peer that is alive answers pings even while its calls take long; one that is frozen
                    // (stopped, swapped out, partitioned) does not, and its connection is dropped, so calls
                    // waiting on it end UNAVAILABLE within delay + timeout instead of at their deadline.
                    KeepAlivePingDelay = settings.GetValue("Peers:PingDelay", DefaultPingDelay),
                    KeepAlivePingTimeout = settings.GetValue("Peers:PingTimeout", DefaultPingTimeout),
                    KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
                    ConnectTimeout = settings.GetValue("Peers:PingTimeout", DefaultPingTimeout),
                    // A chunk stream (PullChunks, 4 MiB messages) would otherwise start at a 64 KiB window and wait for
                    // window updates while it grows; a window of two chunks keeps the sender writing.
                    InitialHttp2StreamWindowSize = StreamWindowBytes,
                };
            })
            .ConfigureChannel(o => o.MaxReceiveMessageSize = MaxMessageBytes)
            .AddInterceptor<ForwardIdentityInterceptor>(InterceptorScope.Channel)
            .EnableCallContextPropagation(o => o.SuppressContextNotFoundErrors = true);
    }
}

/// <summary>
/// A peer's client made when it is used rather than when its user is made: for services that start
/// before their peer is known (each service of the cluster may call the other).
/// </summary>
public sealed class PeerClient<TClient>(GrpcClientFactory factory) where TClient : ClientBase
{
    public TClient Client => factory.CreateClient<TClient>(typeof(TClient).Name);
}

/// <summary>The clients of a peer service by region.</summary>
public sealed class RegionPeers<TClient>(GrpcClientFactory factory, string peer) where TClient : ClientBase
{
    /// <summary>The client of the instance that serves <paramref name="region"/>.</summary>
    public TClient In(string region) => factory.CreateClient<TClient>(PeerClients.RegionClientName<TClient>(peer, region));
}

/// <summary>This service's own token, minted with the cluster key and renewed before it expires.</summary>
public sealed class ServiceTokenSource(TokenService tokens, IConfiguration configuration, TimeProvider time)
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromHours(1);
    private readonly string _name = configuration["Service:Name"] ?? "service";
    private (string Token, DateTimeOffset Expires) _current;

    public string Token
    {
        get
        {
            var current = _current;
            if (current.Token is null || current.Expires - time.GetUtcNow() < Lifetime / 2)
            {
                var token = tokens.Issue(Caller.Service(_name), Lifetime, out var expires);
                _current = current = (token, expires);
            }
            return current.Token;
        }
    }
}

public sealed class ForwardIdentityInterceptor(IHttpContextAccessor accessor, ServiceTokenSource serviceToken) : Interceptor
{
    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(
        TRequest request, ClientInterceptorContext<TRequest, TResponse> context,
        AsyncUnaryCallContinuation<TRequest, TResponse> continuation) =>
        continuation(request, WithIdentity(context));

    public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(
        TRequest request, ClientInterceptorContext<TRequest, TResponse> context,
        AsyncServerStreamingCallContinuation<TRequest, TResponse> continuation) =>
        continuation(request, WithIdentity(context));

    public override AsyncClientStreamingCall<TRequest, TResponse> AsyncClientStreamingCall<TRequest, TResponse>(
        ClientInterceptorContext<TRequest, TResponse> context,
        AsyncClientStreamingCallContinuation<TRequest, TResponse> continuation) =>
        continuation(WithIdentity(context));

    public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(
        ClientInterceptorContext<TRequest, TResponse> context,
        AsyncDuplexStreamingCallContinuation<TRequest, TResponse> continuation) =>
        continuation(WithIdentity(context));

    private ClientInterceptorContext<TRequest, TResponse> WithIdentity<TRequest, TResponse>(ClientInterceptorContext<TRequest, TResponse> context)
        where TRequest : class where TResponse : class
    {
        // A call that names its principal itself (the ECS gateway, acting as an AccessKey's owner) goes
        // as that principal alone, checked like any outside caller (RAM actions included); others carry
        // the incoming call's token and this service's.
        if (context.Options.Headers?.Get("authorization") is not null)
        {
            return context;
        }
        var headers = new Metadata(); // a copy: a caller may reuse its CallOptions for several calls
        foreach (var entry in context.Options.Headers ?? [])
        {
            headers.Add(entry);
        }
        var service = serviceToken.Token;
        var incoming = accessor.HttpContext?.Request.Headers.Authorization.ToString();
        headers.Add("authorization", string.IsNullOrEmpty(incoming) ? $"Bearer {service}" : incoming);
        headers.Add(CallAuthenticator.ServiceHeader, service);
        return new ClientInterceptorContext<TRequest, TResponse>(context.Method, context.Host, context.Options.WithHeaders(headers));
    }
}
