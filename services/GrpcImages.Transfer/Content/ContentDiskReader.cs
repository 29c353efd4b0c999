using GrpcImages.Transfer.Formats;

namespace GrpcImages.Transfer.Content;

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
