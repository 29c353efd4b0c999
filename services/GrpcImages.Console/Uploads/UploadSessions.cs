using System.Collections.Concurrent;
using System.Security.Cryptography;
using Google.Protobuf;
using Grpc.Core;
using GrpcImages.Client;
using GrpcImages.Contracts.Transfer.V1;
using Microsoft.Extensions.Options;

namespace GrpcImages.Console.Uploads;

/// <summary>
/// A file a browser uploads into a bucket, in pieces: one PutObject stream to the object store stays open while the
/// pieces arrive, and the console counts what it has passed on, so a browser whose connection dropped asks how much
/// arrived and sends the rest. Memory stays flat (each piece is passed on as it is read). An upload left without a
/// piece for <see cref="ConsoleOptions.UploadIdleTimeout"/> is given up: its stream is cancelled and no object is made.
/// </summary>
public sealed partial class UploadSessions(GrpcImagesChannels channels, IOptions<ConsoleOptions> options, TimeProvider time, ILogger<UploadSessions> logger)
    : BackgroundService
{
    /// <summary>Uploads one principal may have open at once.</summary>
    public const int MaxOpenPerPrincipal = 4;

    private const int MessageBytes = 1024 * 1024;

    private readonly ConcurrentDictionary<string, Upload> _uploads = new(StringComparer.Ordinal);

    /// <summary>Opens an upload as the principal with <paramref name="token"/>; throws the object store's refusal (a bad name, another account's bucket).</summary>
    public async Task<Upload> StartAsync(string principal, string token, string region, string bucket, string name, long size)
    {
        if (_uploads.Values.Count(u => u.Principal == principal) >= MaxOpenPerPrincipal)
        {
            throw new UploadRefusedException("Too many uploads are open; finish or cancel one first.");
        }
        var call = channels.CreateClient(new StaticTokenProvider(token)).Objects.PutObject();
        await call.WriteOrRefusalAsync(new PutObjectRequest
        {
            Header = new PutObjectHeader { RegionId = region, Bucket = bucket, Name = name, SizeBytes = size, ContentType = "application/octet-stream" },
        });
        var upload = new Upload(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)), principal, size, call, time.GetUtcNow());
        _uploads[upload.Id] = upload;
        return upload;
    }

    /// <summary>The principal's upload, or null (another's upload is nobody's business).</summary>
    public Upload? Find(string id, string principal) => _uploads.TryGetValue(id, out var upload) && upload.Principal == principal ? upload : null;

    /// <summary>Passes a piece on from <paramref name="offset"/> (which must be where the upload stands); returns how much has arrived.</summary>
    public async Task<long> WriteAsync(Upload upload, long offset, Stream body, CancellationToken cancellationToken)
    {
        await upload.Gate.WaitAsync(cancellationToken);
        try
        {
            if (offset != upload.Received || upload.Error is not null)
            {
                return upload.Received;
            }
            var buffer = new byte[MessageBytes];
            int read;
            while ((read = await ReadAsync(body, buffer, cancellationToken)) > 0)
            {
                if (upload.Received + read > upload.Size)
                {
                    throw new UploadRefusedException("More bytes arrived than the upload's size.");
                }
                await upload.Call.WriteOrRefusalAsync(new PutObjectRequest { Data = ByteString.CopyFrom(buffer, 0, read) }, CancellationToken.None);
                upload.Received += read;
                upload.Touched = time.GetUtcNow();
            }
            return upload.Received;
        }
        catch (RpcException refused)
        {
            upload.Error = refused is GrpcImagesException known && known.Reason.Length > 0 ? $"{known.Reason}: {refused.Status.Detail}" : refused.Status.Detail;
            await EndAsync(upload);
            throw new UploadRefusedException(upload.Error);
        }
        finally
        {
            upload.Gate.Release();
        }
    }

    /// <summary>Ends the upload's stream: the object is made, or the store's refusal is thrown.</summary>
    public async Task<ObjectInfo> CompleteAsync(Upload upload)
    {
        await upload.Gate.WaitAsync();
        try
        {
            if (upload.Received != upload.Size)
            {
                throw new UploadRefusedException($"{upload.Received} of {upload.Size} bytes arrived.");
            }
            return (await upload.Call.CompleteOrRefusalAsync()).Object;
        }
        catch (RpcException refused)
        {
            throw new UploadRefusedException(refused is GrpcImagesException known && known.Reason.Length > 0 ? $"{known.Reason}: {refused.Status.Detail}" : refused.Status.Detail);
        }
        finally
        {
            _uploads.TryRemove(upload.Id, out _);
            upload.Call.Dispose();
            upload.Gate.Release();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(30), time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            foreach (var upload in _uploads.Values.Where(u => time.GetUtcNow() - u.Touched > options.Value.UploadIdleTimeout).ToList())
            {
                LogGivenUp(upload.Id, upload.Received, upload.Size);
                await EndAsync(upload);
            }
        }
    }

    private Task EndAsync(Upload upload)
    {
        if (_uploads.TryRemove(upload.Id, out _))
        {
            upload.Call.Dispose(); // cancels the stream: the object store makes no object and holds nothing
        }
        return Task.CompletedTask;
    }

    private static async Task<int> ReadAsync(Stream body, byte[] buffer, CancellationToken cancellationToken)
    {
        var total = 0;
        int read;
        while (total < buffer.Length && (read = await body.ReadAsync(buffer.AsMemory(total), cancellationToken)) > 0)
        {
            total += read;
        }
        return total;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Upload {UploadId} was given up after {Received} of {Size} bytes: no piece came for too long")]
    private partial void LogGivenUp(string uploadId, long received, long size);
}

/// <summary>An open upload: whose it is, how large, how much has been passed on, and its stream to the object store.</summary>
public sealed class Upload(string id, string principal, long size, AsyncClientStreamingCall<PutObjectRequest, PutObjectResponse> call, DateTimeOffset started)
{
    public string Id => id;

    public string Principal => principal;

    public long Size => size;

    public long Received { get; set; }

    public string? Error { get; set; }

    public DateTimeOffset Touched { get; set; } = started;

    internal AsyncClientStreamingCall<PutObjectRequest, PutObjectResponse> Call => call;

    internal SemaphoreSlim Gate { get; } = new(1, 1);
}

/// <summary>Why an upload cannot go on (shown to the person as it is).</summary>
public sealed class UploadRefusedException(string message) : Exception(message);
