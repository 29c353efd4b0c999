using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;

namespace GrpcImages.Transfer.Formats;

/// <summary>
/// A dynamic VHD (Microsoft's Virtual Hard Disk Image Format Specification 1.0) written front to back
/// from content, with no scratch file: footer copy, dynamic header, block allocation table, then for
/// each 2 MiB block of a stored chunk its sector bitmap and data, then the footer. Which blocks exist
/// is known up front from the manifest (zero chunks are stored as nothing, so they stay unallocated).
/// The footer names the creator "win " so readers take the exact current size rather than one rounded
/// to the CHS geometry (what qemu-img's force_size does), keeping the virtual size unchanged (R29).
/// </summary>
public static class VhdStream
{
    private const int BlockSize = 2 * 1024 * 1024;
    private const int Sector = 512;
    private const int BitmapBytes = BlockSize / Sector / 8; // one bit per sector: 512 bytes, one sector
    private const uint Unallocated = 0xFFFFFFFF;
    private static readonly DateTimeOffset Epoch = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>The file's length for <paramref name="size"/> bytes of disk whose chunk <c>i</c> is stored when <paramref name="stored"/>(i).</summary>
    public static long Length(long size, Func<int, bool> stored) =>
        Sector + 1024 + BatBytes(Blocks(size)) + Allocated(size, stored).LongCount(a => a) * (Sector + BlockSize) + Sector;

    private static bool[] Allocated(long size, Func<int, bool> stored) =>
        Enumerable.Range(0, Blocks(size)).Select(b => stored(b / (DiskChunks.Size / BlockSize))).ToArray();

    private static int Blocks(long size) => checked((int)((size + BlockSize - 1) / BlockSize));

    /// <summary>
    /// The VHD of a disk of <paramref name="size"/> bytes whose 4 MiB chunk <c>i</c> is stored when
    /// <paramref name="stored"/>(i) and read by <paramref name="readChunk"/> (into a buffer of its length).
    /// </summary>
    public static async IAsyncEnumerable<ReadOnlyMemory<byte>> WriteAsync(long size, Func<int, bool> stored, Func<int, Memory<byte>, Task> readChunk,
        DateTimeOffset now, Guid id, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var blocks = Blocks(size);
        var sectors = (size + Sector - 1) / Sector; // a VHD's size is whole sectors: a partial last one reads as zeros
        const int perChunk = DiskChunks.Size / BlockSize;
        var allocated = Allocated(size, stored);
        var footer = Footer(sectors * Sector, now, id);

        var head = new byte[Sector + 1024 + BatBytes(blocks)];
        footer.CopyTo(head, 0);
        DynamicHeader(blocks).CopyTo(head, Sector);
        var bat = head.AsSpan(Sector + 1024);
        bat.Fill(0xFF);
        long sector = head.Length / Sector;
        for (var b = 0; b < blocks; b++)
        {
            if (allocated[b])
            {
                BinaryPrimitives.WriteUInt32BigEndian(bat[(b * 4)..], checked((uint)sector));
                sector += (Sector + BlockSize) / Sector;
            }
        }
        yield return head;

        var bitmap = new byte[Sector];
        bitmap.AsSpan(0, BitmapBytes).Fill(0xFF);
        var chunk = new byte[DiskChunks.Size];
        for (var c = 0; c * perChunk < blocks; c++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!stored(c))
            {
                continue;
            }
            var length = (int)Math.Min(DiskChunks.Size, size - (long)c * DiskChunks.Size);
            chunk.AsSpan(length).Clear(); // past the disk's end the last block reads as zeros
            await readChunk(c, chunk.AsMemory(0, length));
            for (var b = c * perChunk; b < Math.Min(blocks, (c + 1) * perChunk); b++)
            {
                yield return bitmap;
                // A block is whole in the file even where the disk ends inside it.
                yield return chunk.AsMemory((b - c * perChunk) * BlockSize, BlockSize);
            }
        }
        yield return footer;
    }

    private static int BatBytes(int blocks) => (blocks * 4 + Sector - 1) / Sector * Sector;

    private static byte[] Footer(long size, DateTimeOffset now, Guid id)
    {
        var f = new byte[Sector];
        Encoding.ASCII.GetBytes("conectix").CopyTo(f, 0);
        BinaryPrimitives.WriteUInt32BigEndian(f.AsSpan(8), 2); // features: reserved bit always set
        BinaryPrimitives.WriteUInt32BigEndian(f.AsSpan(12), 0x00010000); // format version 1.0
        BinaryPrimitives.WriteUInt64BigEndian(f.AsSpan(16), Sector); // the dynamic header follows the footer copy
        BinaryPrimitives.WriteUInt32BigEndian(f.AsSpan(24), (uint)Math.Max(0, (now - Epoch).TotalSeconds));
        Encoding.ASCII.GetBytes("win ").CopyTo(f, 28); // exact current size, not CHS (see the class comment)
        BinaryPrimitives.WriteUInt32BigEndian(f.AsSpan(32), 0x00010000);
        Encoding.ASCII.GetBytes("Wi2k").CopyTo(f, 36);
        BinaryPrimitives.WriteUInt64BigEndian(f.AsSpan(40), (ulong)size);
        BinaryPrimitives.WriteUInt64BigEndian(f.AsSpan(48), (ulong)size);
        var (cylinders, heads, sectors) = Geometry(size);
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(56), cylinders);
        f[58] = heads;
        f[59] = sectors;
        BinaryPrimitives.WriteUInt32BigEndian(f.AsSpan(60), 3); // dynamic
        id.TryWriteBytes(f.AsSpan(68, 16), bigEndian: true, out _);
        BinaryPrimitives.WriteUInt32BigEndian(f.AsSpan(64), Checksum(f));
        return f;
    }

    private static byte[] DynamicHeader(int blocks)
    {
        var h = new byte[1024];
        Encoding.ASCII.GetBytes("cxsparse").CopyTo(h, 0);
        BinaryPrimitives.WriteUInt64BigEndian(h.AsSpan(8), ulong.MaxValue); // no further structure
        BinaryPrimitives.WriteUInt64BigEndian(h.AsSpan(16), Sector + 1024); // the table follows this header
        BinaryPrimitives.WriteUInt32BigEndian(h.AsSpan(24), 0x00010000);
        BinaryPrimitives.WriteUInt32BigEndian(h.AsSpan(28), (uint)blocks);
        BinaryPrimitives.WriteUInt32BigEndian(h.AsSpan(32), BlockSize);
        BinaryPrimitives.WriteUInt32BigEndian(h.AsSpan(36), Checksum(h));
        return h;
    }

    /// <summary>The specification's one's-complement sum of the bytes (the checksum field is zero while summing).</summary>
    private static uint Checksum(byte[] bytes)
    {
        uint sum = 0;
        foreach (var b in bytes)
        {
            sum += b;
        }
        return ~sum;
    }

    /// <summary>The specification's CHS geometry for a size (capped at 65535 x 16 x 255 sectors).</summary>
    public static (ushort Cylinders, byte Heads, byte Sectors) Geometry(long size)
    {
        var total = Math.Min(size / Sector, 65535L * 16 * 255);
        long perTrack, heads, cylinderTimesHeads;
        if (total >= 65535L * 16 * 63)
        {
            perTrack = 255;
            heads = 16;
            cylinderTimesHeads = total / perTrack;
        }
        else
        {
            perTrack = 17;
            cylinderTimesHeads = total / perTrack;
            heads = Math.Max(4, (cylinderTimesHeads + 1023) / 1024);
            if (cylinderTimesHeads >= heads * 1024 || heads > 16)
            {
                perTrack = 31;
                heads = 16;
                cylinderTimesHeads = total / perTrack;
            }
            if (cylinderTimesHeads >= heads * 1024)
            {
                perTrack = 63;
                heads = 16;
                cylinderTimesHeads = total / perTrack;
            }
        }
        return ((ushort)(cylinderTimesHeads / heads), (byte)heads, (byte)perTrack);
    }
}
