using Google.Rpc;
using Grpc.Core;

namespace GrpcImages.ServiceDefaults.Errors;

/// <summary>Builds the exceptions domain code throws; the error interceptor maps them (ARCHITECTURE.md, "Errors").</summary>
public static class Fault
{
    public static DomainException InvalidArgument(string reason, string field, string message) =>
        new(StatusCode.InvalidArgument, reason, message,
            [new BadRequest.Types.FieldViolation { Field = field, Description = message }]);

    public static DomainException NotFound(string reason, string message) =>
        new(StatusCode.NotFound, reason, message);

    public static DomainException AlreadyExists(string reason, string message) =>
        new(StatusCode.AlreadyExists, reason, message);

    public static DomainException FailedPrecondition(string reason, string message) =>
        new(StatusCode.FailedPrecondition, reason, message);

    public static DomainException ResourceExhausted(string reason, string message) =>
        new(StatusCode.ResourceExhausted, reason, message);

    public static DomainException PermissionDenied(string reason, string message) =>
        new(StatusCode.PermissionDenied, reason, message);

    public static DomainException Unauthenticated(string reason, string message) =>
        new(StatusCode.Unauthenticated, reason, message);

    public static DomainException Aborted(string reason, string message) =>
        new(StatusCode.Aborted, reason, message);

    public static DomainException Unavailable(string reason, string message) =>
        new(StatusCode.Unavailable, reason, message);

    /// <summary>R35: the same client token came with a different request.</summary>
    public static DomainException IdempotenceMismatch() =>
        new(StatusCode.InvalidArgument, "IdempotenceParamNotMatch",
            "The client token was used before with a different request.",
            [new BadRequest.Types.FieldViolation { Field = "client_token", Description = "used with another request" }]);
}
