using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.Transfer.Formats;
using GrpcImages.Transfer.Storage;
using Microsoft.Extensions.Options;

namespace GrpcImages.Transfer.Content;

/// <summary>
/// Disks stored as content and content written to local files (imports and exports): a disk (a raw
/// file, an object, the disk inside a QCOW2) stored through a resumable write session, several chunks
/// hashed and written at once, zero chunks stored as nothing; and content written out as a sparse raw
/// file for qemu-img. Memory stays a few chunks whatever the size.
/// </summary>
public sealed class ContentFiles(IBlobStores stores, ContentIndex index, ContentLibrary library, IOptions<TransferOptions> options)
{
    private const int Writers = 8;

    /// <summary>
    /// Stores a disk as content of <paramref name="sizeBytes"/> (zeros past the disk's end) under
    /// <paramref name="holder"/>, in the session <paramref name="sessionId"/> (positions it already
    /// stored are skipped: a resumed import does not redo them).
    /// </summary>
    public async Task<ContentInfo> StoreAsync(string region, IDiskReader disk, long sizeBytes, string holder, string sessionId, Func<long, Task> progress,
        CancellationToken cancellationToken)
    {
        ContentLibrary.CheckSize(sizeBytes);
        await using var session = await WriteSession.OpenAsync(stores.InRegion(region), index, sizeBytes, cipher: null, sessionId);
        var chunks = (int)((Math.Min(disk.Length, sizeBytes) + Manifest.ChunkSize - 1) / Manifest.ChunkSize);
        var done = session.Stored;
        var throttle = new Throttle(options.Value.MaxBytesPerSecondPerTask);
        var next = -1;
        long stored = 0;
        try
        {
            await Task.WhenAll(Enumerable.Range(0, Writers).Select(_ => Task.Run(async () =>
            {
                var buffer = ChunkBuffers.Shared.Rent();
                try
                {
                    int position;
                    while ((position = Interlocked.Increment(ref next)) < chunks)
                    {
                        var length = (int)Math.Min(Manifest.ChunkSize, sizeBytes - (long)position * Manifest.ChunkSize);
                        var chunk = buffer.AsMemory(0, length);
                        if (!done.ContainsKey(position) && await disk.ReadAsync((long)position * Manifest.ChunkSize, chunk, cancellationToken))
                        {
                            await throttle.WaitAsync(length, cancellationToken);
                            await session.AddAsync(position, chunk, cancellationToken);
                        }
                        await progress(Interlocked.Add(ref stored, length));
                    }
                }
                finally
                {
                    ChunkBuffers.Shared.Return(buffer);
                }
            }, cancellationToken)));
        }
        catch
        {
            await session.FlushAsync();
            session.Keep(); // a retry resumes from what was recorded
            throw;
        }
        return library.Committed(region, await session.CommitAsync(sizeBytes, null, holder, cancellationToken));
    }

    /// <summary>Writes content's plaintext to a new sparse file of <paramref name="length"/> bytes (zero chunks stay holes), several chunks at once.</summary>
    public async Task WriteFileAsync(string region, string manifestId, string path, long length, Func<long, Task> progress, CancellationToken cancellationToken)
    {
        var (manifest, _) = await library.LoadLiveAsync(region, manifestId, cancellationToken);
        using var cipher = await library.CipherAsync(manifest, region, cancellationToken);
        using var file = File.OpenHandle(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, FileOptions.Asynchronous);
        RandomAccess.SetLength(file, length);
        var chunks = (int)Math.Min(manifest.Count, (length + Manifest.ChunkSize - 1) / Manifest.ChunkSize);
        var next = -1;
        long written = 0;
        await Task.WhenAll(Enumerable.Range(0, Writers).Select(_ => Task.Run(async () =>
        {
            var buffer = ChunkBuffers.Shared.Rent();
            try
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < chunks)
                {
                    var offset = (long)i * Manifest.ChunkSize;
                    if (manifest.HashAt(i) is { } hash)
                    {
                        var chunk = buffer.AsMemory(0, manifest.ChunkLength(i));
                        await library.ReadChunkAsync(region, hash, i, cipher, chunk, cancellationToken);
                        await RandomAccess.WriteAsync(file, chunk[..(int)Math.Min(chunk.Length, length - offset)], offset, cancellationToken);
                    }
                    await progress(Math.Min(length, Interlocked.Add(ref written, Manifest.ChunkSize)));
                }
            }
            finally
            {
                ChunkBuffers.Shared.Return(buffer);
            }
        }, cancellationToken)));
    }
}
