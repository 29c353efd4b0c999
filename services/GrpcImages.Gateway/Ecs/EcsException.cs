using Google.Rpc;
using Grpc.Core;

namespace GrpcImages.Gateway.Ecs;

/// <summary>
/// An error as the ECS API returns it: an HTTP status for its class and a body
/// {RequestId, HostId, Code, Message, Recommend}. The SDKs raise it with <see cref="Code"/> as the
/// exception's code.
/// </summary>
public sealed class EcsException(int httpStatus, string code, string message) : Exception(message)
{
    public int HttpStatus { get; } = httpStatus;

    public string Code { get; } = code;

    public static EcsException BadRequest(string code, string message) => new(400, code, message);

    public static EcsException MissingParameter(string name) =>
        new(400, $"MissingParameter", $"The input parameter \"{name}\" that is mandatory for processing this request is not supplied.");

    public static EcsException InvalidParameter(string name, string why) => new(400, "InvalidParameter", $"The specified parameter \"{name}\" is not valid: {why}");

    /// <summary>Authentication failures: a bad signature or a used nonce is 400, an unknown key 404, a disabled one 400, as the real API.</summary>
    public static EcsException Signature(string code, string message) => new(code == "InvalidAccessKeyId.NotFound" ? 404 : 400, code, message);

    /// <summary>A gRPC error of the cluster, with the rule's code from its ErrorInfo and the status class's HTTP status.</summary>
    public static EcsException From(RpcException error)
    {
        if (GrpcImages.ServiceDefaults.Peers.PeerFailure.IsTransport(error))
        {
            return new EcsException(503, "ServiceUnavailable", "The request has failed due to a temporary failure of the server.");
        }
        var reason = error.GetRpcStatus()?.GetDetail<ErrorInfo>()?.Reason;
        var code = string.IsNullOrEmpty(reason) ? Fallback(error.StatusCode) : reason;
        var message = error.Status.Detail.Length > 0 ? error.Status.Detail : code;
        return new EcsException(Http(error.StatusCode, code), code, message);
    }

    private static int Http(StatusCode status, string code) => status switch
    {
        StatusCode.InvalidArgument or StatusCode.FailedPrecondition or StatusCode.OutOfRange or StatusCode.AlreadyExists => 400,
        StatusCode.Unauthenticated => code.StartsWith("InvalidAccessKeyId.NotFound", StringComparison.Ordinal) ? 404 : 400,
        StatusCode.PermissionDenied => code.StartsWith("InvalidAccessKeyId", StringComparison.Ordinal) ? 400 : 403,
        StatusCode.NotFound => 404,
        StatusCode.ResourceExhausted => code.StartsWith("Throttling", StringComparison.Ordinal) ? 400 : 403,
        StatusCode.Aborted => 409,
        StatusCode.Unavailable => 503,
        StatusCode.DeadlineExceeded => 504,
        StatusCode.Unimplemented => 501,
        _ => 500,
    };

    private static string Fallback(StatusCode status) => status switch
    {
        StatusCode.Unavailable => "ServiceUnavailable",
        StatusCode.DeadlineExceeded => "RequestTimeout",
        StatusCode.Unimplemented => "UnsupportedOperation",
        _ => "InternalError",
    };
}
