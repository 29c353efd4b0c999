using System.Runtime.CompilerServices;
using GrpcImages.ServiceDefaults.Errors;

namespace GrpcImages.Transfer.Content;

/// <summary>A chunk cut from a stream: its position and bytes, in a buffer of <see cref="ChunkBuffers.Shared"/> its receiver gives back.</summary>
public readonly record struct CutChunk(int Position, byte[] Buffer, int Length)
{
    public ReadOnlyMemory<byte> Bytes => Buffer.AsMemory(0, Length);
}

/// <summary>Cuts a stream of byte pieces into the content's 4 MiB chunks.</summary>
public static class Chunker
{
    /// <summary>
    /// The chunks of a stream of <paramref name="sizeBytes"/> at most, in position order from 0 (the last
    /// one padded with zeros up to the size; positions after the stream ends are zero chunks and not
    /// yielded). Each chunk is the receiver's to return to <see cref="ChunkBuffers.Shared"/>, so several can be
    /// stored at once.
    /// </summary>
    public static async IAsyncEnumerable<CutChunk> ChunksAsync(IAsyncEnumerable<ReadOnlyMemory<byte>> pieces, long sizeBytes,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var buffer = ChunkBuffers.Shared.Rent();
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
                        var full = buffer;
                        buffer = ChunkBuffers.Shared.Rent();
                        yield return new CutChunk(position++, full, filled);
                        filled = 0;
                    }
                }
            }
            if (filled > 0)
            {
                var length = (int)Math.Min(Manifest.ChunkSize, sizeBytes - (long)position * Manifest.ChunkSize);
                buffer.AsSpan(filled, length - filled).Clear();
                var last = buffer;
                buffer = ChunkBuffers.Shared.Rent();
                yield return new CutChunk(position, last, length);
            }
        }
        finally
        {
            ChunkBuffers.Shared.Return(buffer);
        }
    }
}
