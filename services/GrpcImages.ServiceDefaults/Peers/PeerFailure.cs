using System.Net.Sockets;
using Grpc.Core;

namespace GrpcImages.ServiceDefaults.Peers;

/// <summary>Tells a peer's own answer from a call that never got one (refused, reset, or dropped when the peer stopped answering pings).</summary>
public static class PeerFailure
{
    /// <summary>
    /// Whether the call failed on the way rather than with the peer's status: such a status carries no details
    /// (every status a service of the cluster sends does), and the client saw a transport error, which
    /// Grpc.Net.Client reports as UNAVAILABLE or, when the connection broke mid-call, as INTERNAL.
    /// </summary>
    public static bool IsTransport(RpcException error) =>
        error.StatusCode is StatusCode.Unavailable or StatusCode.Internal
        && error.Trailers.GetValueBytes("grpc-status-details-bin") is null
        && (error.StatusCode == StatusCode.Unavailable || HasTransportCause(error.Status.DebugException));

    private static bool HasTransportCause(Exception? error)
    {
        for (var current = error; current is not null; current = current.InnerException)
        {
            if (current is HttpRequestException or IOException or SocketException)
            {
                return true;
            }
        }
        return false;
    }
}
