using GrpcImages.Client;
using GrpcImages.Console.Sessions;

namespace GrpcImages.Console.Uploads;

public static class UploadEndpoints
{
    /// <summary>Largest upload through the console (bigger files go to the object store with imgctl or an OSS client).</summary>
    public const long MaxUploadBytes = 64L << 30;

    private sealed record StartUpload(string Region, string Bucket, string Name, long Size);

    /// <summary>The browser's side of <see cref="UploadSessions"/>: start, send pieces, ask where it stands, complete. Signed-in sessions only.</summary>
    public static WebApplication MapUploadEndpoints(this WebApplication app)
    {
        var uploads = app.MapGroup("/uploads").RequireAuthorization();
        uploads.MapPost("", async (StartUpload start, HttpContext context, UploadSessions sessions) =>
        {
            if (SessionClaims.Read(context.User) is not { } session)
            {
                return Results.Unauthorized();
            }
            if (start.Size is <= 0 or > MaxUploadBytes || start.Region.Length is 0 or > 64 || start.Bucket.Length is 0 or > 63 || start.Name.Length is 0 or > 1023)
            {
                return Results.BadRequest($"An upload names a region, a bucket and an object, and is 1 byte to {MaxUploadBytes >> 30} GiB.");
            }
            try
            {
                var upload = await sessions.StartAsync(session.DisplayName, session.Token, start.Region, start.Bucket, start.Name, start.Size);
                return Results.Ok(new { id = upload.Id });
            }
            catch (Exception refused) when (refused is UploadRefusedException or GrpcImagesException)
            {
                return Results.BadRequest(refused is GrpcImagesException known ? $"{known.Reason}: {known.Status.Detail}" : refused.Message);
            }
        });
        uploads.MapPut("/{id}", async (string id, long offset, HttpContext context, UploadSessions sessions) =>
        {
            if (Find(id, context, sessions) is not { } upload)
            {
                return Results.NotFound();
            }
            if (offset != upload.Received)
            {
                return Results.Conflict(new { received = upload.Received });
            }
            try
            {
                return Results.Ok(new { received = await sessions.WriteAsync(upload, offset, context.Request.Body, context.RequestAborted) });
            }
            catch (UploadRefusedException refused)
            {
                return Results.BadRequest(refused.Message);
            }
        });
        uploads.MapGet("/{id}", (string id, HttpContext context, UploadSessions sessions) =>
            Find(id, context, sessions) is { } upload ? Results.Ok(new { received = upload.Received, size = upload.Size, error = upload.Error }) : Results.NotFound());
        uploads.MapPost("/{id}/complete", async (string id, HttpContext context, UploadSessions sessions) =>
        {
            if (Find(id, context, sessions) is not { } upload)
            {
                return Results.NotFound();
            }
            try
            {
                var made = await sessions.CompleteAsync(upload);
                return Results.Ok(new { bucket = made.Bucket, name = made.Name, size = made.SizeBytes, sha256 = made.Sha256 });
            }
            catch (UploadRefusedException refused)
            {
                return Results.BadRequest(refused.Message);
            }
        });
        return app;
    }

    private static Upload? Find(string id, HttpContext context, UploadSessions sessions) =>
        SessionClaims.Read(context.User) is { } session ? sessions.Find(id, session.DisplayName) : null;
}
