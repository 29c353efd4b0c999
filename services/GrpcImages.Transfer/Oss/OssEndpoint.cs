using System.Security.Cryptography;
using System.Xml.Linq;
using Grpc.Core;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.ServiceDefaults.Errors;
using GrpcImages.ServiceDefaults.Hosting;
using GrpcImages.ServiceDefaults.Identity;
using GrpcImages.ServiceDefaults.Peers;
using GrpcImages.ServiceDefaults.Redis;
using GrpcImages.Transfer.Objects;
using GrpcImages.Transfer.Storage;
using Microsoft.Extensions.Options;

namespace GrpcImages.Transfer.Oss;

/// <summary>Where the OSS ports listen, once they do (the kernel's picks when configured as 0).</summary>
public sealed class OssPorts
{
    public Microsoft.AspNetCore.Server.Kestrel.Core.ListenOptions? Http { get; set; }

    public Microsoft.AspNetCore.Server.Kestrel.Core.ListenOptions? Https { get; set; }

    public bool Serves(int localPort) =>
        (Http?.IPEndPoint?.Port is { } http && http == localPort) || (Https?.IPEndPoint?.Port is { } https && https == localPort);
}

/// <summary>
/// The OSS-compatible endpoint (R24, R29): Alibaba's OSS clients (ali-oss, ossutil, Packer's alicloud-import through the Go SDK) put
/// and get the object store's buckets and objects over HTTP as they would OSS. Each request's signature is rebuilt here and checked by
/// kms (which keeps the secrets) like the ECS gateway's; kms answers with a token of the AccessKey's owner, validated like any
/// caller's, so the request acts as that owner and a RAM user needs the operation's oss:* action. Anonymous requests may only read
/// public-read buckets. Every answer that is not a success is OSS's XML error body with OSS's code and the x-oss-request-id header.
/// </summary>
public sealed partial class OssEndpoint(
    OssServices services,
    ObjectIndex index,
    PeerClient<AccessKeyService.AccessKeyServiceClient> accessKeys,
    ServiceTokenSource serviceToken,
    TokenService tokens,
    RamUserVersions ramVersions,
    IBlobStores stores,
    Regions regions,
    IOptions<ObjectStoreOptions> options,
    IOptions<TransferOptions> transfer,
    TimeProvider time,
    ILogger<OssEndpoint> logger)
{
    /// <summary>How far a signed request's time may be from the server's.</summary>
    public static readonly TimeSpan AllowedSkew = TimeSpan.FromMinutes(15);

    private static readonly TimeSpan KmsDeadline = TimeSpan.FromSeconds(10);

    private readonly string _defaultRegion = options.Value.OssDefaultRegion is { Length: > 0 } configured
        ? configured
        : transfer.Value.ServedRegions(regions) is [var first, ..] ? first : regions.All[0].Id;

    public async Task HandleAsync(HttpContext http)
    {
        var requestId = Convert.ToHexString(RandomNumberGenerator.GetBytes(12));
        var response = http.Response;
        response.Headers["x-oss-request-id"] = requestId;
        response.Headers.Server = "AliyunOSS";
        response.Headers.Date = time.GetUtcNow().ToString("r", System.Globalization.CultureInfo.InvariantCulture);
        Cors(http);
        OssException? error;
        try
        {
            await ServeAsync(http);
            return;
        }
        catch (OssException refused)
        {
            error = refused;
        }
        catch (DomainException broken)
        {
            error = OssException.From(broken);
        }
        catch (RpcException failed) when (failed.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded)
        {
            error = new OssException(503, "ServiceUnavailable", "Please reduce your request rate or try again later.");
        }
        catch (Exception away) when (RedisFailures.IsUnavailable(away))
        {
            error = new OssException(503, "ServiceUnavailable", "Please reduce your request rate or try again later.");
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            return;
        }
        catch (Exception unexpected) when (!response.HasStarted)
        {
            LogFailed(unexpected, http.Request.Method);
            error = new OssException(500, "InternalError", "We encountered an internal error. Please try again.");
        }
        if (response.HasStarted)
        {
            // The object's bytes had started: cut the response short, which every client reports as a broken transfer.
            LogCut(error.Code);
            http.Abort();
            return;
        }
        if (error.Status >= 500 && error.Status != 501)
        {
            LogServerError(error.Code, error.Message);
        }
        await WriteErrorAsync(http, requestId, error);
    }

    private async Task ServeAsync(HttpContext http)
    {
        var request = http.Request;
        if (HttpMethods.IsOptions(request.Method))
        {
            Preflight(http);
            return;
        }
        var address = OssAddress.Read(request, _defaultRegion);
        var signature = OssSignature.Read(request, address);
        if (signature is { Scope.Length: > 0 } && OssAddress.FromHost(request.Host.Host).Region is null && regions.Exists(signature.ScopeRegion))
        {
            address = address with { Region = signature.ScopeRegion }; // a host that names no region (an IP address): the V4 scope's
        }
        if (!regions.Exists(address.Region) || !stores.Serves(address.Region))
        {
            throw new OssException(403, "AccessDenied", $"The region {Cut(address.Region)} is not served at this endpoint.")
            {
                Details = [("Endpoint", $"oss-{Cut(address.Region)}.aliyuncs.com")],
            };
        }
        var operation = OssOperations.Find(request.Method.ToUpperInvariant(), address, request.Headers.ContainsKey("x-oss-copy-source"));
        if (address.Bucket.Length > 0)
        {
            try
            {
                ObjectStore.CheckBucketName(address.Bucket);
            }
            catch (DomainException)
            {
                throw new OssException(400, "InvalidBucketName", "The specified bucket is not valid.") { Details = [("BucketName", Cut(address.Bucket))] };
            }
        }
        if (address.Key.Length > 0)
        {
            ObjectStore.CheckObjectName(address.Key); // before the signature: a malformed name is InvalidObjectName whoever asks
        }
        var caller = signature is null ? null : await AuthenticateAsync(http, signature, address);
        if (caller is not null && !caller.Allows(operation.RamAction))
        {
            throw OssException.AccessDenied($"The RAM user is not allowed to perform {operation.RamAction}.");
        }
        BucketRecord? bucket = null;
        if (address.Bucket.Length > 0)
        {
            bucket = await index.GetBucketAsync(address.Region, address.Bucket);
            var owns = caller is { IsAccount: true } && bucket?.Owner == caller.AccountId;
            if (operation.Name == "PutBucket")
            {
                if (caller is null)
                {
                    throw OssException.AccessDenied("Creating a bucket needs a signed request.");
                }
            }
            else if (bucket is null)
            {
                throw OssException.NoSuchBucket(address.Bucket);
            }
            else if (!owns && !(operation.PublicRead && bucket.Acl == BucketAcl.PublicRead))
            {
                // Another account's bucket: refused before anything in it is looked at, so nothing of it is revealed.
                throw OssException.AccessDenied("You have no right to access this bucket.");
            }
        }
        else if (caller is null)
        {
            throw OssException.AccessDenied("Listing buckets needs a signed request.");
        }
        await operation.Run(new OssCall(http, address, caller, bucket, services, signature?.PayloadSha256));
    }

    /// <summary>Checks the signature through kms and returns the AccessKey owner's identity, as the services see any caller.</summary>
    private async Task<Caller> AuthenticateAsync(HttpContext http, OssSignature signature, OssAddress address)
    {
        var now = time.GetUtcNow();
        if (signature.SignedAt is { } signedAt && (now - signedAt).Duration() > AllowedSkew)
        {
            throw new OssException(403, "RequestTimeTooSkewed", "The difference between the request time and the current time is too large.")
            {
                Details = [("RequestTime", signedAt.ToString("r", System.Globalization.CultureInfo.InvariantCulture)),
                    ("ServerTime", now.ToString("r", System.Globalization.CultureInfo.InvariantCulture))],
            };
        }
        if (signature.Expires is { } expires && now > expires)
        {
            throw OssException.AccessDenied("Request has expired.");
        }
        if (signature.Expires is { } until && until - now > OssSignature.MaxPresignedLifetime + AllowedSkew && signature.Scope.Length > 0)
        {
            throw OssException.AccessDenied("A presigned URL lives at most 7 days.");
        }
        if (signature.Scope.Length > 0 && signature.ScopeRegion != address.Region)
        {
            throw OssException.InvalidArgument($"The credential's region {Cut(signature.ScopeRegion)} is not this endpoint's ({address.Region}).");
        }
        if (signature.AccessKeyId.Length is 0 or > 64)
        {
            throw new OssException(403, "InvalidAccessKeyId", "The OSS Access Key Id you provided does not exist in our records.");
        }
        if (signature.Signature.Length is 0 or > 128)
        {
            throw new OssException(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.");
        }
        VerifySignatureResponse verified;
        try
        {
            verified = await accessKeys.Client.VerifySignatureAsync(new VerifySignatureRequest
            {
                AccessKeyId = signature.AccessKeyId,
                Algorithm = signature.Algorithm,
                StringToSign = signature.StringToSign,
                Signature = signature.Signature,
                CredentialScope = signature.Scope,
            }, new CallOptions(new Metadata { { "authorization", $"Bearer {serviceToken.Token}" } }, now.UtcDateTime + KmsDeadline, http.RequestAborted));
        }
        catch (RpcException refused) when (refused.StatusCode is StatusCode.NotFound or StatusCode.PermissionDenied or StatusCode.Unauthenticated
            or StatusCode.InvalidArgument)
        {
            throw refused.StatusCode switch
            {
                StatusCode.NotFound => new OssException(403, "InvalidAccessKeyId", "The OSS Access Key Id you provided does not exist in our records."),
                StatusCode.PermissionDenied => new OssException(403, "InvalidAccessKeyId", "The OSS Access Key Id you provided is disabled."),
                StatusCode.Unauthenticated => new OssException(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.")
                {
                    Details = [("StringToSign", signature.StringToSign), ("SignatureProvided", signature.Signature), ("OSSAccessKeyId", signature.AccessKeyId)],
                },
                _ => OssException.InvalidArgument("The request's signature is malformed."),
            };
        }
        var caller = await tokens.ValidateAsync(verified.Token);
        await ramVersions.RequireCurrentAsync(caller);
        return caller;
    }

    private static async Task WriteErrorAsync(HttpContext http, string requestId, OssException error)
    {
        var response = http.Response;
        response.StatusCode = error.Status;
        if (error.Status == 503)
        {
            response.Headers.RetryAfter = "2";
        }
        response.Headers["x-oss-ec"] = error.Code;
        if (HttpMethods.IsHead(http.Request.Method))
        {
            return; // a HEAD answer has no body; OSS clients read the status and the request id
        }
        var body = OssXml.Serialize(new XElement("Error",
            new XElement("Code", error.Code),
            new XElement("Message", OssXml.Text(Cut(error.Message, 512))),
            new XElement("RequestId", requestId),
            new XElement("HostId", OssXml.Text(Cut(http.Request.Host.Value ?? "", 256))),
            error.Details.Select(d => new XElement(d.Name, OssXml.Text(Cut(d.Value, 8192))))));
        response.ContentType = "application/xml";
        response.ContentLength = body.Length;
        await response.Body.WriteAsync(body, http.RequestAborted);
    }

    /// <summary>
    /// CORS for browser uploads (the console's upload wizard): any origin, as the signature (not a cookie) is the permission; the
    /// headers a client reads (ETag, the request id) are exposed.
    /// </summary>
    private static void Cors(HttpContext http)
    {
        if (http.Request.Headers.Origin is [{ Length: > 0 and <= 512 } origin])
        {
            var headers = http.Response.Headers;
            headers.AccessControlAllowOrigin = origin;
            headers.AccessControlExposeHeaders = "ETag, x-oss-request-id, Content-MD5, x-oss-object-type";
            headers.Vary = "Origin";
        }
    }

    private static void Preflight(HttpContext http)
    {
        var request = http.Request;
        if (request.Headers.Origin.Count != 1 || request.Headers.AccessControlRequestMethod is not [{ } method]
            || method is not ("GET" or "PUT" or "POST" or "DELETE" or "HEAD"))
        {
            throw new OssException(403, "AccessForbidden", "CORSResponse: a preflight names its Origin and a method of GET, PUT, POST, DELETE or HEAD.");
        }
        var asked = request.Headers.AccessControlRequestHeaders.ToString();
        if (asked.Length > 4096 || asked.Any(char.IsControl))
        {
            throw new OssException(403, "AccessForbidden", "CORSResponse: the requested headers are too long.");
        }
        var headers = http.Response.Headers;
        headers.AccessControlAllowMethods = "GET, PUT, POST, DELETE, HEAD";
        if (asked.Length > 0)
        {
            headers.AccessControlAllowHeaders = asked;
        }
        headers.AccessControlMaxAge = "600";
        http.Response.StatusCode = 200;
    }

    private static string Cut(string text, int max = 64) => text.Length <= max ? text : text[..max] + "...";

    [LoggerMessage(Level = LogLevel.Error, Message = "An OSS {Method} request failed")]
    private partial void LogFailed(Exception error, string method);

    [LoggerMessage(Level = LogLevel.Warning, Message = "OSS request failed on the server side: {Code}: {Message}")]
    private partial void LogServerError(string code, string message);

    [LoggerMessage(Level = LogLevel.Information, Message = "An OSS response was cut short after its body had started: {Code}")]
    private partial void LogCut(string code);
}
