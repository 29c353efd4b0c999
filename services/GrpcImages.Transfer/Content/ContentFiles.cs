using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.Transfer.Storage;

namespace GrpcImages.Transfer.Content;

/// <summary>
/// Content to and from local files, for qemu-img's sake (imports and exports): a raw disk file stored
/// as content through a resumable write session (several chunks hashed and written at once, holes and
/// zero chunks stored as nothing), and content written out as a sparse raw file. Memory stays a few
/// chunks whatever the size.
/// </summary>
public sealed class ContentFiles(IBlobStores stores, ContentIndex index, ContentLibrary library)
{
    private const int Writers = 4;

    /// <summary>
    /// Stores the file as content of <paramref name="sizeBytes"/> (zeros past the file's end) under
    /// <paramref name="holder"/>, in the session <paramref name="sessionId"/> (positions it already
    /// stored are skipped: a resumed import does not redo them).
    /// </summary>
    public async Task<ContentInfo> StoreAsync(string region, string path, long sizeBytes, string holder, string sessionId, Func<long, Task> progress,
        CancellationToken cancellationToken)
    {
        ContentLibrary.CheckSize(sizeBytes);
        await using var session = await WriteSession.OpenAsync(stores.InRegion(region), index, sizeBytes, cipher: null, sessionId);
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.Asynchronous);
        var fileLength = RandomAccess.GetLength(file);
        var chunks = (int)((Math.Min(fileLength, sizeBytes) + Manifest.ChunkSize - 1) / Manifest.ChunkSize);
        var done = session.Stored;
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
                        if (!done.ContainsKey(position))
                        {
                            var chunk = buffer.AsMemory(0, length);
                            var read = await ReadAtAsync(file, chunk, (long)position * Manifest.ChunkSize, cancellationToken);
                            chunk.Span[read..].Clear(); // the file ends inside the chunk
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

    private static async Task<int> ReadAtAsync(Microsoft.Win32.SafeHandles.SafeFileHandle file, Memory<byte> buffer, long offset, CancellationToken cancellationToken)
    {
        var total = 0;
        int read;
        while (total < buffer.Length && (read = await RandomAccess.ReadAsync(file, buffer[total..], offset + total, cancellationToken)) > 0)
        {
            total += read;
        }
        return total;
    }
}
