using System.Text.Json;
using System.Text.Json.Nodes;
using Grpc.Core;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.Gateway.Signatures;
using GrpcImages.ServiceDefaults.Peers;
using GrpcImages.ServiceDefaults.Redis;
using GrpcImages.ServiceDefaults.Validation;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;

namespace GrpcImages.Gateway.Ecs;

/// <summary>
/// Serves ECS API requests (RPC style: GET or POST "/", parameters in the query or a form body) as
/// the official SDKs send them: checks the signature (through kms, which keeps the secrets), the
/// timestamp and the nonce, then runs the action as the AccessKey's owner through the cluster's
/// gRPC services, forwarding the owner's identity and a deadline.
/// </summary>
public sealed partial class EcsEndpoint(ClusterClients clients, NonceGuard nonces, ServiceTokenSource serviceToken, TimeProvider time,
    IOptions<GatewayOptions> options, HttpEndpoint endpoint, ILogger<EcsEndpoint> logger)
{
    private const int MaxBodyBytes = 1024 * 1024;

    /// <summary>What kms checks a signature over at most (the schema's bound, sized to hold any request of <see cref="MaxBodyBytes"/>).</summary>
    private static readonly int MaxStringToSign =
        RequestShape.MaxLength(VerifySignatureRequest.Descriptor.FindFieldByNumber(VerifySignatureRequest.StringToSignFieldNumber));
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = false };

    public async Task HandleAsync(HttpContext http)
    {
        if (http.Connection.LocalPort != endpoint.Listen?.IPEndPoint?.Port)
        {
            http.Response.StatusCode = StatusCodes.Status404NotFound; // the gRPC port serves gRPC only
            return;
        }
        var requestId = Guid.NewGuid().ToString("D").ToUpperInvariant();
        int status;
        JsonObject body;
        try
        {
            var result = await ServeAsync(http);
            status = 200;
            body = new JsonObject { ["RequestId"] = requestId };
            foreach (var (name, value) in result.ToList())
            {
                result.Remove(name);
                body[name] = value;
            }
        }
        catch (EcsException error)
        {
            status = error.HttpStatus;
            body = ErrorBody(requestId, http, error.Code, error.Message);
            if (status >= 500)
            {
                LogServerError(error.Code, error.Message);
            }
        }
        catch (RpcException error)
        {
            var mapped = EcsException.From(error);
            status = mapped.HttpStatus;
            body = ErrorBody(requestId, http, mapped.Code, mapped.Message);
        }
        catch (Exception error) when (RedisFailures.IsUnavailable(error))
        {
            status = 503;
            body = ErrorBody(requestId, http, "ServiceUnavailable", "The request has failed due to a temporary failure of the server.");
        }
        http.Response.StatusCode = status;
        if (status == 503)
        {
            http.Response.Headers.RetryAfter = "2";
        }
        http.Response.ContentType = "application/json;charset=utf-8";
        http.Response.Headers["x-acs-request-id"] = requestId;
        await http.Response.WriteAsync(body.ToJsonString(Json), http.RequestAborted);
    }

    private async Task<JsonObject> ServeAsync(HttpContext http)
    {
        var request = http.Request;
        if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsPost(request.Method))
        {
            throw new EcsException(405, "UnsupportedHTTPMethod", "The ECS API is served with GET or POST.");
        }
        if (request.Path.Value is not ("/" or ""))
        {
            throw new EcsException(404, "InvalidAction.NotFound", "Specified api is not found, please check your url and method.");
        }
        var bytes = await ReadBodyAsync(request);
        var query = Pairs(QueryHelpers.ParseQuery(request.QueryString.Value));
        var form = request.ContentType?.StartsWith("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase) == true
            ? Pairs(QueryHelpers.ParseQuery(System.Text.Encoding.UTF8.GetString(bytes)))
            : [];
        IReadOnlyList<string> Header(string name) => request.Headers.TryGetValue(name, out var values) ? values.Select(v => v ?? "").ToList() : [];

        var signed = SignedRequest.Read(request.Method, "/", query, form, Header, bytes);
        if (signed.StringToSign.Length > MaxStringToSign)
        {
            throw new EcsException(413, "RequestEntityTooLarge", "The request is too large to be signed and checked here.");
        }
        if (signed.AccessKeyId.Length > 64)
        {
            throw EcsException.Signature("InvalidAccessKeyId.NotFound", "Specified access key is not found.");
        }
        if ((time.GetUtcNow() - signed.Timestamp).Duration() > NonceGuard.AllowedSkew)
        {
            throw EcsException.Signature("InvalidTimeStamp.Expired", "Specified time stamp or date value is expired (more than 15 minutes from the server's time).");
        }
        if (signed.Nonce.Length is 0 or > NonceGuard.MaxNonceLength)
        {
            throw EcsException.Signature("MissingSignatureNonce", $"The request needs a signature nonce of 1-{NonceGuard.MaxNonceLength} characters.");
        }
        var deadline = time.GetUtcNow().UtcDateTime + options.Value.Deadline;
        var verified = await clients.AccessKeys.VerifySignatureAsync(new VerifySignatureRequest
        {
            AccessKeyId = signed.AccessKeyId,
            Algorithm = signed.Algorithm,
            StringToSign = signed.StringToSign,
            Signature = signed.Signature,
        }, new CallOptions(new Metadata { { "authorization", $"Bearer {serviceToken.Token}" } }, deadline, http.RequestAborted));
        if (!await nonces.TakeAsync(signed.AccessKeyId, signed.Nonce))
        {
            throw EcsException.Signature("SignatureNonceUsed", "Specified signature nonce was used already.");
        }

        var parameters = new EcsParameters([.. query, .. form]);
        // What the signature covers names the action: the parameters in version 1.0, the x-acs-* headers in ACS3.
        var v1 = signed.Algorithm == SignatureAlgorithm.HmacSha1;
        var action = v1 ? parameters.Action : Header("x-acs-action") is [var named] ? named : "";
        var version = v1 ? parameters.Optional("Version") ?? "" : Header("x-acs-version") is [var v] ? v : "";
        if (version != ActionTable.Version)
        {
            throw EcsException.BadRequest("InvalidVersion", $"Specified parameter Version is not valid: the ECS API here is {ActionTable.Version}.");
        }
        if (!ActionTable.Actions.TryGetValue(action, out var handler))
        {
            throw new EcsException(404, "InvalidAction.NotFound", $"Specified api \"{Cut(action)}\" is not found, please check your url and method.");
        }
        if (parameters.Flag("DryRun"))
        {
            throw EcsException.BadRequest("DryRunOperation", "Request validation has been passed with DryRun flag set.");
        }
        var call = new EcsCall(parameters, new CallOptions(new Metadata { { "authorization", $"Bearer {verified.Token}" } }, deadline, http.RequestAborted), clients);
        var result = await handler(call);
        parameters.RefuseUnread();
        return result;
    }

    private static async Task<byte[]> ReadBodyAsync(HttpRequest request)
    {
        if (request.ContentLength > MaxBodyBytes)
        {
            throw new EcsException(413, "RequestEntityTooLarge", "The request body is at most 1 MiB.");
        }
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, request.HttpContext.RequestAborted)) > 0)
        {
            if (buffer.Length + read > MaxBodyBytes)
            {
                throw new EcsException(413, "RequestEntityTooLarge", "The request body is at most 1 MiB.");
            }
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }

    private static List<KeyValuePair<string, string>> Pairs(Dictionary<string, Microsoft.Extensions.Primitives.StringValues> values) =>
        values.SelectMany(p => p.Value.Select(v => new KeyValuePair<string, string>(p.Key, v ?? ""))).ToList();

    private static JsonObject ErrorBody(string requestId, HttpContext http, string code, string message) => new()
    {
        ["RequestId"] = requestId,
        ["HostId"] = http.Request.Host.Value ?? "",
        ["Code"] = code,
        ["Message"] = Cut(message),
        ["Recommend"] = $"https://api.aliyun.com/troubleshoot?q={Uri.EscapeDataString(code)}",
    };

    private static string Cut(string text) => text.Length <= 300 ? text : text[..300] + "...";

    [LoggerMessage(Level = LogLevel.Warning, Message = "ECS request failed on the server side: {Code}: {Message}")]
    private partial void LogServerError(string code, string message);
}
