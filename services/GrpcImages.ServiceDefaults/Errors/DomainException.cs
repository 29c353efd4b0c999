using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;

namespace GrpcImages.ServiceDefaults.Errors;

/// <summary>A broken rule: a canonical gRPC code plus the rule's Alibaba error code (the reason).</summary>
public sealed class DomainException(
    StatusCode code,
    string reason,
    string message,
    IReadOnlyList<BadRequest.Types.FieldViolation>? violations = null) : Exception(message)
{
    public const string ErrorDomain = "grpcimages";

    public StatusCode Code { get; } = code;

    /// <summary>The error code of ../shared/spec/RULES.md, e.g. "InvalidImageId.NotFound".</summary>
    public string Reason { get; } = reason;

    public IReadOnlyList<BadRequest.Types.FieldViolation> Violations { get; } = violations ?? [];

    public Google.Rpc.Status ToStatus()
    {
        var status = new Google.Rpc.Status { Code = (int)Code, Message = Message };
        status.Details.Add(Any.Pack(new ErrorInfo { Reason = Reason, Domain = ErrorDomain }));
        if (Violations.Count > 0)
        {
            var badRequest = new BadRequest();
            badRequest.FieldViolations.AddRange(Violations);
            status.Details.Add(Any.Pack(badRequest));
        }
        return status;
    }

    public RpcException ToRpcException() => ToStatus().ToRpcException();
}
