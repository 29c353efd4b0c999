using Grpc.Core;
using GrpcImages.ServiceDefaults.Errors;

namespace GrpcImages.Transfer.Oss;

/// <summary>An OSS error: the HTTP status and the code OSS itself answers with, sent as its XML error body.</summary>
public sealed class OssException(int status, string code, string message) : Exception(message)
{
    public int Status { get; } = status;

    public string Code { get; } = code;

    /// <summary>Extra elements of the error body (OSS adds e.g. StringToSign, BucketName, Endpoint).</summary>
    public IReadOnlyList<(string Name, string Value)> Details { get; init; } = [];

    public static OssException AccessDenied(string message) => new(403, "AccessDenied", message);

    public static OssException InvalidArgument(string message) => new(400, "InvalidArgument", message);

    public static OssException NoSuchBucket(string bucket) =>
        new(404, "NoSuchBucket", "The specified bucket does not exist.") { Details = [("BucketName", bucket)] };

    /// <summary>
    /// What a broken rule of the services is in OSS's words: the domain's reasons are mapped to OSS's codes (the ones OSS clients
    /// recognise); a reason without its own entry falls back on the class of its gRPC code.
    /// </summary>
    public static OssException From(DomainException error) => From(error.Code, error.Reason, error.Message);

    public static OssException From(StatusCode code, string reason, string message) => reason switch
    {
        "InvalidBucketName.NotFound" => new(404, "NoSuchBucket", message),
        "InvalidOSSObject.NotFound" or "InvalidContent.NotFound" => new(404, "NoSuchKey", message),
        "NoSuchUpload" => new(404, "NoSuchUpload", message),
        "InvalidBucketName.AlreadyExists" => new(409, "BucketAlreadyExists", message),
        "BucketNotEmpty" => new(409, "BucketNotEmpty", message),
        "InvalidBucketName.Malformed" => new(400, "InvalidBucketName", message),
        "InvalidObjectName.Malformed" => new(400, "InvalidObjectName", message),
        "QuotaExceed.Bucket" => new(400, "TooManyBuckets", message),
        "TooManyUploads" => new(400, "TooManyUploads", message),
        "QuotaExceeded.Storage" => new(403, "QuotaExceeded", message),
        "EntityTooLarge" or "EntityTooSmall" or "InvalidPart" or "InvalidPartOrder" or "InvalidDigest" or "MalformedXML" or "IncompleteBody"
            or "InvalidArgument" => new(400, reason, message),
        "InvalidParameter" or "InvalidParameter.Ttl" => new(400, "InvalidArgument", message),
        "ContentBusy" or "ContentChanged" => new(503, "ServiceUnavailable", message),
        _ => code switch
        {
            StatusCode.InvalidArgument or StatusCode.OutOfRange => new(400, "InvalidArgument", message),
            StatusCode.NotFound => new(404, "NoSuchKey", message),
            StatusCode.PermissionDenied or StatusCode.Unauthenticated => new(403, "AccessDenied", message),
            StatusCode.AlreadyExists or StatusCode.FailedPrecondition or StatusCode.Aborted => new(409, "OperationConflict", message),
            StatusCode.ResourceExhausted => new(403, "QuotaExceeded", message),
            StatusCode.Unavailable or StatusCode.DeadlineExceeded => new(503, "ServiceUnavailable", message),
            _ => new(500, "InternalError", "We encountered an internal error. Please try again."),
        },
    };
}
