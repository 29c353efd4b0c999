using System.Diagnostics.Metrics;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace GrpcImages.ServiceDefaults.Errors;

/// <summary>
/// The one place where exceptions become gRPC statuses: domain errors carry ErrorInfo
/// (and BadRequest), peers' statuses pass through, anything else is INTERNAL without its text.
/// </summary>
public sealed partial class ErrorInterceptor(ILogger<ErrorInterceptor> logger, IMeterFactory meters) : Interceptor
{
    public const string MeterName = "GrpcImages.Rpc";

    private readonly Counter<long> _errors = meters.Create(MeterName).CreateCounter<long>("grpcimages.rpc.errors", "{error}",
        "Calls that failed, by method, gRPC code and rule code");

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context);
        }
        catch (Exception ex) when (ex is not RpcException || IsBarePeerFailure(ex))
        {
            throw Map(ex, context);
        }
    }

    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context,
        ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(requestStream, context);
        }
        catch (Exception ex) when (ex is not RpcException || IsBarePeerFailure(ex))
        {
            throw Map(ex, context);
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(request, responseStream, context);
        }
        catch (Exception ex) when (ex is not RpcException || IsBarePeerFailure(ex))
        {
            throw Map(ex, context);
        }
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(requestStream, responseStream, context);
        }
        catch (Exception ex) when (ex is not RpcException || IsBarePeerFailure(ex))
        {
            throw Map(ex, context);
        }
    }

    private RpcException Map(Exception ex, ServerCallContext context)
    {
        var mapped = Translate(ex, context);
        _errors.Add(1, new KeyValuePair<string, object?>("rpc.method", context.Method),
            new KeyValuePair<string, object?>("rpc.grpc.status_code", (int)mapped.StatusCode),
            new KeyValuePair<string, object?>("error.reason", (ex as DomainException)?.Reason ?? mapped.StatusCode.ToString()));
        return mapped;
    }

    private RpcException Translate(Exception ex, ServerCallContext context)
    {
        switch (ex)
        {
            case DomainException domain:
                LogRefused(context.Method, domain.Reason);
                return domain.ToRpcException();
            case RpcException peer:
                LogPeerUnavailable(context.Method, peer.StatusCode, peer.Status.Detail);
                return Fault.Unavailable("ServiceUnavailable", "A service this call needs is unavailable; retry later.").ToRpcException();
            case RedisConnectionException or RedisTimeoutException:
                LogRedisUnavailable(ex, context.Method);
                return Fault.Unavailable("ServiceUnavailable", "The state store is unavailable; retry later.").ToRpcException();
            case OperationCanceledException when context.CancellationToken.IsCancellationRequested:
                return context.Deadline <= DateTime.UtcNow
                    ? new RpcException(new Status(StatusCode.DeadlineExceeded, "Deadline exceeded."))
                    : new RpcException(new Status(StatusCode.Cancelled, "The call was cancelled."));
            default:
                LogUnexpected(ex, context.Method);
                return new DomainException(StatusCode.Internal, "InternalError",
                    "The request failed because of an internal error.").ToRpcException();
        }
    }

    /// <summary>
    /// A peer call that failed in transport (refused, or dropped when the peer stopped answering pings)
    /// rather than with the peer's own status, which carries ErrorInfo and passes through as it is.
    /// </summary>
    private static bool IsBarePeerFailure(Exception ex) => ex is RpcException rpc && Peers.PeerFailure.IsTransport(rpc);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Method} failed: a peer is unavailable ({Code}: {Detail})")]
    private partial void LogPeerUnavailable(string method, StatusCode code, string detail);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Method} refused: {Reason}")]
    private partial void LogRefused(string method, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Method} failed: Redis unavailable")]
    private partial void LogRedisUnavailable(Exception exception, string method);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Method} failed unexpectedly")]
    private partial void LogUnexpected(Exception exception, string method);
}
