using Microsoft.Win32.SafeHandles;

namespace GrpcImages.Transfer.Content;

/// <summary>Bytes read at any offset: a file, an object's content, or the disk a QCOW2 file holds. Safe to read from several tasks at once.</summary>
public interface IDiskReader
{
    long Length { get; }

    /// <summary>
    /// Fills <paramref name="buffer"/> with the bytes at <paramref name="offset"/> (zeros past the end);
    /// false when they are known to be all zeros without being read.
    /// </summary>
    ValueTask<bool> ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken);
}

/// <summary>A local file (a fetched source, qemu-img's output).</summary>
public sealed class FileDiskReader(SafeFileHandle file) : IDiskReader
{
    public long Length { get; } = RandomAccess.GetLength(file);

    public async ValueTask<bool> ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var total = 0;
        int read;
        while (total < buffer.Length && (read = await RandomAccess.ReadAsync(file, buffer[total..], offset + total, cancellationToken)) > 0)
        {
            total += read;
        }
        buffer.Span[total..].Clear();
        return true;
    }
}

/// <summary>
/// Content of the store read at any offset (an object's bytes, without copying them to a file first):
/// plaintext chunks are read as ranges of their blobs; a zero chunk is known to be zeros unread; a
/// sealed chunk is opened whole.
/// </summary>
public sealed class ContentDiskReader(ContentLibrary library, string region, Manifest manifest, ChunkCipher? cipher) : IDiskReader
{
    public long Length => manifest.SizeBytes;

    public Manifest Manifest => manifest;

    public async ValueTask<bool> ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var any = false;
        while (buffer.Length > 0)
        {
            if (offset >= manifest.SizeBytes)
            {
                buffer.Span.Clear();
                break;
            }
            var position = (int)(offset / Manifest.ChunkSize);
            var within = (int)(offset % Manifest.ChunkSize);
            var piece = buffer[..Math.Min(buffer.Length, manifest.ChunkLength(position) - within)];
            if (manifest.HashAt(position) is not { } hash)
            {
                piece.Span.Clear();
            }
            else
            {
                await library.ReadChunkRangeAsync(region, hash, position, manifest.ChunkLength(position), cipher, within, piece, cancellationToken);
                any = true;
            }
            offset += piece.Length;
            buffer = buffer[piece.Length..];
        }
        return any;
    }
}
