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
        var status = new Google.Rpc.Status { Code = (int)Code, Message = Bounded(Message) };
        status.Details.Add(Any.Pack(new ErrorInfo { Reason = Reason, Domain = ErrorDomain }));
        if (Violations.Count > 0)
        {
            var badRequest = new BadRequest();
            badRequest.FieldViolations.AddRange(Violations.Select(v => new BadRequest.Types.FieldViolation { Field = Bounded(v.Field), Description = Bounded(v.Description) }));
            status.Details.Add(Any.Pack(badRequest));
        }
        return status;
    }

    public RpcException ToRpcException() => ToStatus().ToRpcException();

    /// <summary>
    /// Messages echo the caller's input (an id, a name); a huge one would make trailers no
    /// client accepts (HPACK limits), so what is echoed is cut.
    /// </summary>
    public const int MaxTextLength = 200;

    private static string Bounded(string text) => text.Length <= MaxTextLength ? text : string.Concat(text.AsSpan(0, MaxTextLength), "...");
}
