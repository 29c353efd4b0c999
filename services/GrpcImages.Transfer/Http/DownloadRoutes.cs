using System.Globalization;
using GrpcImages.Transfer.Domain;
using GrpcImages.Transfer.Storage;
using Microsoft.Net.Http.Headers;

namespace GrpcImages.Transfer.Http;

/// <summary>
/// Serves signed download links on the plain HTTP/1.1 port (R29): GET and HEAD, one byte range
/// (206, or 416 when it lies outside), so `curl -O`, `curl -C -` and browsers work. No token: the
/// signature is the permission.
/// </summary>
public static class DownloadRoutes
{
    public static WebApplication MapDownloads(this WebApplication app)
    {
        app.MapMethods("/objects/{region}/{bucket}/{**name}", [HttpMethods.Get, HttpMethods.Head], DownloadAsync);
        return app;
    }

    private static async Task DownloadAsync(HttpContext context, string region, string bucket, string name, DownloadLinks links, DownloadEndpoint endpoint,
        ObjectIndex index, ObjectStore objects, TimeProvider time)
    {
        var response = context.Response;
        if (context.Connection.LocalPort != endpoint.Listen?.IPEndPoint?.Port)
        {
            response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }
        var query = context.Request.Query;
        if (!long.TryParse(query["expires"], NumberStyles.None, CultureInfo.InvariantCulture, out var expires)
            || query["signature"] is not [{ } signature]
            || !links.Verify(region, bucket, name, expires, signature, time.GetUtcNow()))
        {
            await PlainAsync(response, StatusCodes.Status403Forbidden, "The link is not valid or has expired.");
            return;
        }
        var (_, found) = await index.GetObjectAsync(region, bucket, name);
        if (found is null)
        {
            await PlainAsync(response, StatusCodes.Status404NotFound, "The object no longer exists.");
            return;
        }
        response.Headers.AcceptRanges = "bytes";
        response.Headers.ETag = $"\"{found.Sha256}\"";
        response.Headers.ContentDisposition = new ContentDispositionHeaderValue("attachment") { FileNameStar = name.Split('/')[^1] }.ToString();
        response.ContentType = found.ContentType.Length > 0 ? found.ContentType : "application/octet-stream";
        var (offset, length) = (0L, found.Size);
        if (RangeHeaderValue.TryParse(context.Request.Headers.Range.ToString(), out var range) && range.Unit == "bytes" && range.Ranges.Count == 1)
        {
            var asked = range.Ranges.First();
            (offset, var last) = (asked.From, asked.To) switch
            {
                ({ } from, { } to) => (from, Math.Min(to, found.Size - 1)),
                ({ } from, null) => (from, found.Size - 1),
                (null, { } suffix) => (Math.Max(0, found.Size - suffix), found.Size - 1),
                _ => (0, -1),
            };
            if (offset >= found.Size || last < offset)
            {
                response.Headers.ContentRange = $"bytes */{found.Size}";
                response.StatusCode = StatusCodes.Status416RangeNotSatisfiable;
                return;
            }
            length = last - offset + 1;
            response.StatusCode = StatusCodes.Status206PartialContent;
            response.Headers.ContentRange = $"bytes {offset}-{last}/{found.Size}";
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
}
