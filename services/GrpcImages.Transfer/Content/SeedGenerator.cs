using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace GrpcImages.Transfer.Content;

/// <summary>
/// The platform's deterministic disk content for a label: a readable header, then bytes from
/// SHA-256 in counter mode keyed by the label (different per label, the same every time),
/// then zeros up to the disk's size.
/// </summary>
public static class SeedGenerator
{
    public static string Header(string label, long sizeBytes) =>
        $"GRPCIMAGES SEED DISK\nlabel: {label}\nsize: {sizeBytes}\n";

    /// <summary>Fills <paramref name="chunk"/> with the content at <paramref name="offset"/>.</summary>
    public static void Fill(string label, long sizeBytes, long dataBytes, long offset, Span<byte> chunk)
    {
        chunk.Clear();
        var end = Math.Min(offset + chunk.Length, dataBytes);
        if (end <= offset)
        {
            return;
        }
        var key = SHA256.HashData(Encoding.UTF8.GetBytes(label));
        Span<byte> block = stackalloc byte[40];
        key.CopyTo(block);
        Span<byte> hash = stackalloc byte[32];
        for (var position = offset - offset % 32; position < end; position += 32)
        {
            BinaryPrimitives.WriteInt64LittleEndian(block[32..], position / 32);
            SHA256.HashData(block, hash);
            var from = Math.Max(position, offset);
            var to = Math.Min(position + 32, end);
            hash[(int)(from - position)..(int)(to - position)].CopyTo(chunk[(int)(from - offset)..]);
        }
        if (offset == 0)
        {
            var header = Encoding.ASCII.GetBytes(Header(label, sizeBytes));
            header.AsSpan(0, (int)Math.Min(header.Length, end)).CopyTo(chunk);
        }
    }
}
