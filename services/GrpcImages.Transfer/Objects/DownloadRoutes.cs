using System.Globalization;
using GrpcImages.ServiceDefaults.Errors;
using GrpcImages.ServiceDefaults.Redis;
using GrpcImages.ServiceDefaults.Storage;
using GrpcImages.Transfer.Domain;
using GrpcImages.Transfer.Storage;
using Microsoft.Net.Http.Headers;

namespace GrpcImages.Transfer.Objects;

/// <summary>
/// Serves signed download links on the plain HTTP/1.1 port (R29): GET and HEAD, one byte range
/// (206, or 416 when it lies outside), so `curl -O`, `curl -C -` and browsers work. No token: the
/// signature is the permission.
/// </summary>
public static partial class DownloadRoutes
{
    /// <summary>What a client is told to wait before it tries again while the state store is away.</summary>
    public const int RetryAfterSeconds = 2;

    public static WebApplication MapDownloads(this WebApplication app)
    {
        app.MapMethods("/objects/{region}/{bucket}/{**name}", [HttpMethods.Get, HttpMethods.Head], DownloadAsync);
        return app;
    }

    private static async Task DownloadAsync(HttpContext context, string region, string bucket, string name, DownloadLinks links, DownloadEndpoint endpoint,
        ObjectIndex index, ObjectStore objects, TimeProvider time, ILogger<DownloadLinks> logger)
    {
        var response = context.Response;
        if (context.Connection.LocalPort != endpoint.Listen?.IPEndPoint?.Port)
        {
            response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }
        try
        {
            await ServeAsync(context, region, bucket, name, links, index, objects, time);
        }
        catch (Exception error) when (RedisFailures.IsUnavailable(error) && !response.HasStarted)
        {
            LogStoreAway(logger, error, region, bucket);
            response.Headers.RetryAfter = RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
            await PlainAsync(response, StatusCodes.Status503ServiceUnavailable, "The object store is unavailable for a moment; retry later.");
        }
        catch (DomainException gone) when (gone.Reason == "InvalidOSSObject.NotFound")
        {
            // The object was deleted or replaced mid-download and its content collected: the client gets a
            // response shorter than its Content-Length, which every HTTP client reports as cut short.
            LogEndedEarly(logger, region, bucket, name);
            if (response.HasStarted)
            {
                context.Abort();
                return;
            }
            response.Headers.Clear();
            await PlainAsync(response, StatusCodes.Status404NotFound, "The object was deleted or written again since the link was made.");
        }
    }

    private static async Task ServeAsync(HttpContext context, string region, string bucket, string name, DownloadLinks links, ObjectIndex index,
        ObjectStore objects, TimeProvider time)
    {
        var response = context.Response;
        var query = context.Request.Query;
        if (query["expires"] is not [{ } expiresText] || !long.TryParse(expiresText, NumberStyles.None, CultureInfo.InvariantCulture, out var expires)
            || query["v"] is not [{ } version] || query["signature"] is not [{ } signature]
            || expires < time.GetUtcNow().ToUnixTimeSeconds())
        {
            await PlainAsync(response, StatusCodes.Status403Forbidden, "The link is not valid or has expired.");
            return;
        }
        var (owner, found) = await index.GetObjectAsync(region, bucket, name);
        if (!links.Verify(region, bucket, name, owner?.Owner ?? "", version, expiresText, signature))
        {
            // Also a link whose bucket is gone, or now another account's: it names nothing that exists.
            await PlainAsync(response, StatusCodes.Status403Forbidden, "The link is not valid or has expired.");
            return;
        }
        if (found is null || found.Version != version)
        {
            await PlainAsync(response, StatusCodes.Status404NotFound, "The object was deleted or written again since the link was made.");
            return;
        }
        response.Headers.AcceptRanges = "bytes";
        response.Headers.ETag = $"\"{found.Sha256}\"";
        response.Headers.ContentDisposition = new ContentDispositionHeaderValue("attachment") { FileNameStar = name.Split('/')[^1] }.ToString();
        response.ContentType = found.ContentType.Length > 0 ? found.ContentType : "application/octet-stream";
        var (kind, offset, length) = ByteRanges.Resolve(context.Request.Headers.Range.ToString(), found.Size);
        if (kind == ByteRanges.Kind.Unsatisfiable)
        {
            response.Headers.ContentRange = ByteRanges.ContentRange(kind, offset, length, found.Size);
            response.StatusCode = StatusCodes.Status416RangeNotSatisfiable;
            return;
        }
        if (kind == ByteRanges.Kind.Partial)
        {
            response.StatusCode = StatusCodes.Status206PartialContent;
            response.Headers.ContentRange = ByteRanges.ContentRange(kind, offset, length, found.Size);
        }
        response.ContentLength = length;
        if (HttpMethods.IsHead(context.Request.Method) || length == 0)
        {
            return;
        }
        await foreach (var piece in objects.ReadAsync(found, offset, length, context.RequestAborted))
        {
            await response.Body.WriteAsync(piece, context.RequestAborted);
        }
    }

    private static async Task PlainAsync(HttpResponse response, int status, string message)
    {
        response.StatusCode = status;
        response.ContentType = "text/plain; charset=utf-8";
        await response.WriteAsync(message + "\n");
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A download from {Region}/{Bucket} was refused: Redis unavailable")]
    private static partial void LogStoreAway(ILogger logger, Exception error, string region, string bucket);

    [LoggerMessage(Level = LogLevel.Information, Message = "A download of {Region}/{Bucket}/{Name} ended early: the object was deleted or replaced while it was sent")]
    private static partial void LogEndedEarly(ILogger logger, string region, string bucket, string name);
}
