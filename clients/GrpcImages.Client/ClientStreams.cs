using Grpc.Core;

namespace GrpcImages.Client;

/// <summary>
/// Uploads over client-streaming calls that report why the server ended them. A server that refuses an upload early
/// (a bad name, a full quota) answers and resets the stream; a write racing that reset fails with a bare CANCELLED
/// while the call's own status holds the refusal, so that status is thrown instead.
/// </summary>
public static class ClientStreams
{
    // The reset and the answer arrive together; this only bounds a wait for an answer that is not coming.
    private static readonly TimeSpan AnswerWait = TimeSpan.FromSeconds(10);

    /// <summary>Writes <paramref name="message"/>; throws the server's status if it has already ended the call.</summary>
    public static async Task WriteOrRefusalAsync<TRequest, TResponse>(this AsyncClientStreamingCall<TRequest, TResponse> call, TRequest message,
        CancellationToken cancellationToken = default)
    {
        try
        {
            await call.RequestStream.WriteAsync(message, cancellationToken);
        }
        catch (Exception e) when (IsEndedByServer(e, cancellationToken))
        {
            await ThrowAnswerAsync(call);
            throw;
        }
    }

    /// <summary>Ends the request stream and returns the response, or throws the server's status.</summary>
    public static async Task<TResponse> CompleteOrRefusalAsync<TRequest, TResponse>(this AsyncClientStreamingCall<TRequest, TResponse> call)
    {
        try
        {
            await call.RequestStream.CompleteAsync();
        }
        catch (Exception e) when (IsEndedByServer(e, CancellationToken.None))
        {
            await ThrowAnswerAsync(call);
            throw;
        }
        return await call.ResponseAsync;
    }

    // What a write meets when the server has ended the call: the reset (CANCELLED), the connection closed under it
    // (UNAVAILABLE, or the HTTP exception itself), a write after the end.
    private static bool IsEndedByServer(Exception e, CancellationToken cancellationToken) =>
        !cancellationToken.IsCancellationRequested &&
        e is RpcException { StatusCode: StatusCode.Cancelled or StatusCode.Unavailable } or IOException or HttpRequestException or InvalidOperationException;

    /// <summary>Throws the call's status when the server has answered (returns when it answered OK or not in time).</summary>
    private static async Task ThrowAnswerAsync<TRequest, TResponse>(AsyncClientStreamingCall<TRequest, TResponse> call)
    {
        try
        {
            await call.ResponseAsync.WaitAsync(AnswerWait);
        }
        catch (TimeoutException)
        {
        }
    }
}
