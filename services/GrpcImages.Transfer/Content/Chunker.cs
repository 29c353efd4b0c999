using System.Buffers;
using System.Runtime.CompilerServices;
using GrpcImages.ServiceDefaults.Errors;

namespace GrpcImages.Transfer.Content;

/// <summary>Cuts a stream of byte pieces into the content's 4 MiB chunks.</summary>
public static class Chunker
{
    /// <summary>
    /// The chunks of a stream of <paramref name="sizeBytes"/> at most, in position order from 0 (the last
    /// one padded with zeros up to the size; positions after the stream ends are zero chunks and not
    /// yielded). Each chunk is valid until the next is asked for: one buffer serves them all.
    /// </summary>
    public static async IAsyncEnumerable<ReadOnlyMemory<byte>> ChunksAsync(IAsyncEnumerable<ReadOnlyMemory<byte>> pieces, long sizeBytes,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(Manifest.ChunkSize);
        try
        {
            long total = 0;
            var filled = 0;
            var position = 0;
            await foreach (var piece in pieces.WithCancellation(cancellationToken))
            {
                var remaining = piece;
                while (remaining.Length > 0)
                {
                    if (total + remaining.Length > sizeBytes)
                    {
                        throw Fault.InvalidArgument("InvalidParameter", "size_bytes", "The stream is longer than size_bytes.");
                    }
                    var take = Math.Min(remaining.Length, Manifest.ChunkSize - filled);
                    remaining[..take].CopyTo(buffer.AsMemory(filled));
                    filled += take;
                    total += take;
                    remaining = remaining[take..];
                    if (filled == Manifest.ChunkSize)
                    {
                        yield return buffer.AsMemory(0, filled);
                        position++;
                        filled = 0;
                    }
                }
            }
            if (filled > 0)
            {
                var length = (int)Math.Min(Manifest.ChunkSize, sizeBytes - (long)position * Manifest.ChunkSize);
                buffer.AsSpan(filled, length - filled).Clear();
                yield return buffer.AsMemory(0, length);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
