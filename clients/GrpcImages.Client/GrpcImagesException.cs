using Google.Rpc;
using Grpc.Core;

namespace GrpcImages.Client;

/// <summary>
/// What a GrpcImages call failed with: the gRPC status, the rule's code (ErrorInfo reason, e.g.
/// "QuotaExceed.Image"), the fields a bad request got wrong, and whether calling again is safe.
/// </summary>
public sealed class GrpcImagesException : RpcException
{
    public GrpcImagesException(RpcException inner, bool retrySafe)
        : base(inner.Status, inner.Trailers, inner.Message)
    {
        var status = inner.GetRpcStatus();
        Reason = status?.GetDetail<ErrorInfo>()?.Reason ?? "";
        FieldViolations = status?.GetDetail<BadRequest>()?.FieldViolations.Select(v => new FieldViolation(v.Field, v.Description)).ToList() ?? [];
        IsRetrySafe = retrySafe;
    }

    /// <summary>The rule's error code ("" when the failure carries none, e.g. a transport error).</summary>
    public string Reason { get; }

    public IReadOnlyList<FieldViolation> FieldViolations { get; }

    /// <summary>
    /// Whether the same call may be made again: the service was unavailable or the call ran out of
    /// time, and the call reads, or writes with a client token (so a second try cannot do it twice);
    /// or the change conflicted with another (ABORTED).
    /// </summary>
    public bool IsRetrySafe { get; }

    public override string ToString() => $"{StatusCode} {Reason}: {Status.Detail}";
}

/// <summary>A field of a bad request and what is wrong with it.</summary>
public sealed record FieldViolation(string Field, string Description);
