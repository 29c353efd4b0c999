using Grpc.Core;
using Grpc.Core.Interceptors;

namespace GrpcImages.Client;

/// <summary>
/// What every call of the library does: a client token for creates, the default deadline for
/// unary calls that name none, and failures as <see cref="GrpcImagesException"/>.
/// </summary>
internal sealed class ClientInterceptor(GrpcImagesClientOptions options) : Interceptor
{
    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(TRequest request,
        ClientInterceptorContext<TRequest, TResponse> context, AsyncUnaryCallContinuation<TRequest, TResponse> continuation)
    {
        Prepare(request);
        var call = continuation(request, WithDeadline(context));
        return new AsyncUnaryCall<TResponse>(Translate(call.ResponseAsync, context.Method), call.ResponseHeadersAsync, call.GetStatus, call.GetTrailers, call.Dispose);
    }

    public override TResponse BlockingUnaryCall<TRequest, TResponse>(TRequest request,
        ClientInterceptorContext<TRequest, TResponse> context, BlockingUnaryCallContinuation<TRequest, TResponse> continuation)
    {
        Prepare(request);
        try
        {
            return continuation(request, WithDeadline(context));
        }
        catch (RpcException ex) when (ex is not GrpcImagesException)
        {
            throw Wrap(ex, context.Method);
        }
    }

    public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(TRequest request,
        ClientInterceptorContext<TRequest, TResponse> context, AsyncServerStreamingCallContinuation<TRequest, TResponse> continuation)
    {
        var call = continuation(request, context);
        return new AsyncServerStreamingCall<TResponse>(new TranslatingReader<TResponse>(call.ResponseStream, context.Method),
            call.ResponseHeadersAsync, call.GetStatus, call.GetTrailers, call.Dispose);
    }

    public override AsyncClientStreamingCall<TRequest, TResponse> AsyncClientStreamingCall<TRequest, TResponse>(
        ClientInterceptorContext<TRequest, TResponse> context, AsyncClientStreamingCallContinuation<TRequest, TResponse> continuation)
    {
        var call = continuation(context);
        return new AsyncClientStreamingCall<TRequest, TResponse>(call.RequestStream, Translate(call.ResponseAsync, context.Method),
            call.ResponseHeadersAsync, call.GetStatus, call.GetTrailers, call.Dispose);
    }

    private void Prepare(object request)
    {
        if (options.GenerateClientTokens)
        {
            CallPolicy.FillClientToken(request);
        }
    }

    private ClientInterceptorContext<TRequest, TResponse> WithDeadline<TRequest, TResponse>(ClientInterceptorContext<TRequest, TResponse> context)
        where TRequest : class
        where TResponse : class =>
        context.Options.Deadline is null && options.DefaultDeadline is { } deadline
            ? new ClientInterceptorContext<TRequest, TResponse>(context.Method, context.Host, context.Options.WithDeadline(DateTime.UtcNow + deadline))
            : context;

    private static async Task<T> Translate<T>(Task<T> response, IMethod method)
    {
        try
        {
            return await response;
        }
        catch (RpcException ex) when (ex is not GrpcImagesException)
        {
            throw Wrap(ex, method);
        }
    }

    internal static GrpcImagesException Wrap(RpcException ex, IMethod method) =>
        new(ex, ex.StatusCode == StatusCode.Aborted ||
                (ex.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded && CallPolicy.IsRepeatable(method.FullName)));

    private sealed class TranslatingReader<T>(IAsyncStreamReader<T> inner, IMethod method) : IAsyncStreamReader<T>
    {
        public T Current => inner.Current;

        public async Task<bool> MoveNext(CancellationToken cancellationToken)
        {
            try
            {
                return await inner.MoveNext(cancellationToken);
            }
            catch (RpcException ex) when (ex is not GrpcImagesException)
            {
                throw Wrap(ex, method);
            }
        }
    }
}
