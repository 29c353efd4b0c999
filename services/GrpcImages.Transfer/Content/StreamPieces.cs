using System.Runtime.CompilerServices;

namespace GrpcImages.Transfer.Content;

/// <summary>A stream read as pieces of 1 MiB (each full but the last), one buffer for all: each piece is valid until the next is asked for.</summary>
public static class StreamPieces
{
    public const int PieceSize = 1 << 20;

    public static async IAsyncEnumerable<ReadOnlyMemory<byte>> ReadAsync(Stream stream, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var buffer = new byte[PieceSize];
        while (true)
        {
            var filled = 0;
            int read;
            while (filled < buffer.Length && (read = await stream.ReadAsync(buffer.AsMemory(filled), cancellationToken)) > 0)
            {
                filled += read;
            }
            if (filled == 0)
            {
                yield break;
            }
            yield return buffer.AsMemory(0, filled);
        }
    }
}
