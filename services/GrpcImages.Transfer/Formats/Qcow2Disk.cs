using System.Buffers;
using System.Buffers.Binary;
using GrpcImages.Transfer.Domain;

namespace GrpcImages.Transfer.Formats;

/// <summary>
/// The disk a QCOW2 file holds (QEMU's docs/interop/qcow2.txt), read in place through its L1 and L2
/// tables: what an import needs of qemu-img convert, without a scratch file. Only the common form is
/// read here (uncompressed clusters, no encryption, no extended L2 entries); <see cref="OpenAsync"/>
/// answers null for anything else, and the caller leaves that file to qemu-img. The file is untrusted:
/// every table and cluster it names must lie inside it, aligned, with reserved bits clear, and the
/// clusters it maps may not add up to more than the file holds, so reading the disk costs at most
/// reading the file (plus zeros).
/// </summary>
public sealed class Qcow2Disk : IDiskReader
{
    private const uint Magic = 0x514649fb;
    private const int MinClusterBits = 9;
    private const int MaxClusterBits = 21;
    private const long MaxL1Bytes = 32L << 20; // qemu's own bound
    private const ulong OffsetMask = 0x00FF_FFFF_FFFF_FE00; // bits 9-55
    private const ulong Copied = 1UL << 63;
    private const ulong CompressedFlag = 1UL << 62;
    private const ulong ZeroFlag = 1;
    private const ulong L1Reserved = ~(OffsetMask | Copied);
    private const ulong L2Reserved = ~(OffsetMask | Copied | CompressedFlag | ZeroFlag);
    private const ulong DirtyBit = 1; // refcounts may be stale: the tables this reads are not

    private readonly IDiskReader _file;
    private readonly int _clusterBits;
    private readonly int _l2Bits;
    private readonly ulong[] _l1;
    private readonly uint _version;

    private Qcow2Disk(IDiskReader file, uint version, int clusterBits, long size, ulong[] l1)
    {
        _file = file;
        _version = version;
        _clusterBits = clusterBits;
        _l2Bits = clusterBits - 3;
        Length = size;
        _l1 = l1;
    }

    /// <summary>The virtual size.</summary>
    public long Length { get; }

    private int ClusterSize => 1 << _clusterBits;

    /// <summary>
    /// Reads and checks the header and every table; null when the file uses what only qemu-img reads
    /// (the reason in <paramref name="unsupported"/>). Throws InvalidImageFormat.Malformed for a file
    /// whose structure is broken or points outside itself.
    /// </summary>
    public static async Task<(Qcow2Disk? Disk, string Unsupported)> OpenAsync(IDiskReader file, long maxSize, CancellationToken cancellationToken)
    {
        var header = new byte[112];
        await file.ReadAsync(0, header, cancellationToken);
        if (BinaryPrimitives.ReadUInt32BigEndian(header) != Magic)
        {
            throw DiskFormats.Malformed("The file is not QCOW2.");
        }
        var version = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(4));
        var clusterBits = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(20));
        var size = BinaryPrimitives.ReadUInt64BigEndian(header.AsSpan(24));
        var cryptMethod = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(32));
        var l1Size = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(36));
        var l1Offset = BinaryPrimitives.ReadUInt64BigEndian(header.AsSpan(40));
        if (version is not (2 or 3))
        {
            throw DiskFormats.Malformed($"QCOW2 version {version} is not supported.");
        }
        if (clusterBits is < MinClusterBits or > MaxClusterBits)
        {
            throw DiskFormats.Malformed($"The QCOW2 cluster size 2^{clusterBits} is outside 512 bytes to 2 MiB.");
        }
        if (size > (ulong)maxSize)
        {
            throw DiskFormats.Malformed($"The QCOW2 disk's virtual size ({size} bytes) is larger than the largest disk ({maxSize} bytes).");
        }
        if (cryptMethod != 0)
        {
            return (null, "encrypted");
        }
        if (version == 3)
        {
            var incompatible = BinaryPrimitives.ReadUInt64BigEndian(header.AsSpan(72));
            var headerLength = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(100));
            if ((incompatible & ~DirtyBit) != 0 || headerLength < 104)
            {
                return (null, $"incompatible features 0x{incompatible:x}");
            }
        }

        var bits = (int)clusterBits;
        var clusterSize = 1L << bits;
        var perTable = clusterSize << (bits - 3); // guest bytes one L2 table maps
        var needed = (long)((size + (ulong)perTable - 1) / (ulong)perTable);
        if (l1Size < needed)
        {
            throw DiskFormats.Malformed("The QCOW2 L1 table is too small for the disk's virtual size.");
        }
        if (needed * 8 > MaxL1Bytes)
        {
            throw DiskFormats.Malformed("The QCOW2 L1 table is larger than 32 MiB.");
        }
        RequireInside(file, l1Offset, needed * 8, clusterSize, "L1 table");
        var l1Bytes = new byte[needed * 8];
        await file.ReadAsync((long)l1Offset, l1Bytes, cancellationToken);
        var l1 = new ulong[needed];
        for (var i = 0; i < l1.Length; i++)
        {
            l1[i] = BinaryPrimitives.ReadUInt64BigEndian(l1Bytes.AsSpan(i * 8));
        }

        var disk = new Qcow2Disk(file, version, bits, (long)size, l1);
        return await disk.CheckTablesAsync(cancellationToken) ? (disk, "") : (null, "compressed clusters");
    }

    /// <summary>Checks every L2 entry that maps the disk; false when a cluster is compressed.</summary>
    private async Task<bool> CheckTablesAsync(CancellationToken cancellationToken)
    {
        var clusters = (Length + ClusterSize - 1) >> _clusterBits;
        var table = ArrayPool<byte>.Shared.Rent(ClusterSize);
        try
        {
            long tables = 0;
            long mapped = 0;
            for (var i = 0; i < _l1.Length; i++)
            {
                var entry = _l1[i];
                if ((entry & L1Reserved) != 0)
                {
                    throw DiskFormats.Malformed($"QCOW2 L1 entry {i} has reserved bits set.");
                }
                var l2Offset = entry & OffsetMask;
                if (l2Offset == 0)
                {
                    continue;
                }
                RequireInside(_file, l2Offset, ClusterSize, ClusterSize, $"L2 table {i}");
                if (++tables * ClusterSize > _file.Length)
                {
                    throw DiskFormats.Malformed("The QCOW2 L1 table names more L2 tables than the file holds.");
                }
                var count = (int)Math.Min(1L << _l2Bits, clusters - ((long)i << _l2Bits));
                await _file.ReadAsync((long)l2Offset, table.AsMemory(0, count * 8), cancellationToken);
                for (var k = 0; k < count; k++)
                {
                    var l2 = BinaryPrimitives.ReadUInt64BigEndian(table.AsSpan(k * 8));
                    if ((l2 & CompressedFlag) != 0)
                    {
                        return false;
                    }
                    if (HostOffset(l2) != 0 && ++mapped * ClusterSize > _file.Length + ClusterSize)
                    {
                        throw DiskFormats.Malformed("The QCOW2 tables map more data clusters than the file holds.");
                    }
                }
            }
            return true;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(table);
        }
    }

    /// <summary>Where a guest cluster's data starts in the file, or 0 when it reads as zeros.</summary>
    private ulong HostOffset(ulong l2)
    {
        if ((l2 & (L2Reserved | CompressedFlag)) != 0)
        {
            throw DiskFormats.Malformed("A QCOW2 L2 entry has reserved bits set.");
        }
        if ((l2 & ZeroFlag) != 0)
        {
            return _version >= 3 ? 0UL : throw DiskFormats.Malformed("A QCOW2 version 2 file has a zero cluster (only version 3 has them).");
        }
        var offset = l2 & OffsetMask;
        if (offset != 0)
        {
            // The cluster's end may pass the file's (it reads as zeros there, as in qemu); its start may not.
            RequireInside(_file, offset, 1, ClusterSize, "data cluster");
        }
        return offset;
    }

    private static void RequireInside(IDiskReader file, ulong offset, long length, long alignment, string what)
    {
        if (offset % (ulong)alignment != 0 || offset > (ulong)file.Length || (ulong)length > (ulong)file.Length - offset)
        {
            throw DiskFormats.Malformed($"QCOW2 {what} lies outside the file or is not aligned to a cluster.");
        }
    }

    public async ValueTask<bool> ReadAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (offset >= Length)
        {
            buffer.Span.Clear();
            return false;
        }
        if (offset + buffer.Length > Length)
        {
            buffer.Span[(int)(Length - offset)..].Clear();
            buffer = buffer[..(int)(Length - offset)];
        }
        var any = false;
        var done = 0;
        var entries = ArrayPool<byte>.Shared.Rent((buffer.Length >> _clusterBits) * 8 + 16);
        try
        {
            while (done < buffer.Length)
            {
                // The clusters of this read that one L2 table maps.
                var first = (offset + done) >> _clusterBits;
                var last = (offset + buffer.Length - 1) >> _clusterBits;
                var table = first >> _l2Bits;
                last = Math.Min(last, ((table + 1) << _l2Bits) - 1);
                var count = (int)(last - first + 1);
                var l2Offset = _l1[table] & OffsetMask;
                if (l2Offset != 0)
                {
                    var index = first & ((1L << _l2Bits) - 1);
                    await _file.ReadAsync((long)l2Offset + index * 8, entries.AsMemory(0, count * 8), cancellationToken);
                }
                else
                {
                    entries.AsSpan(0, count * 8).Clear();
                }

                // Clusters next to each other in the file are read at once.
                long runHost = 0;
                int runStart = 0, runLength = 0;
                for (var k = 0; k < count; k++)
                {
                    var within = (int)((offset + done) & (ClusterSize - 1));
                    var n = Math.Min(buffer.Length - done, ClusterSize - within);
                    var host = HostOffset(BinaryPrimitives.ReadUInt64BigEndian(entries.AsSpan(k * 8)));
                    if (host == 0)
                    {
                        any |= await ReadRunAsync(runHost, buffer.Slice(runStart, runLength), cancellationToken);
                        runLength = 0;
                        buffer.Span.Slice(done, n).Clear();
                    }
                    else if (runLength > 0 && runHost + runLength == (long)host + within)
                    {
                        runLength += n;
                    }
                    else
                    {
                        any |= await ReadRunAsync(runHost, buffer.Slice(runStart, runLength), cancellationToken);
                        (runHost, runStart, runLength) = ((long)host + within, done, n);
                    }
                    done += n;
                }
                any |= await ReadRunAsync(runHost, buffer.Slice(runStart, runLength), cancellationToken);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(entries);
        }
        return any;
    }

    private async ValueTask<bool> ReadRunAsync(long host, Memory<byte> run, CancellationToken cancellationToken)
    {
        if (run.Length == 0)
        {
            return false;
        }
        await _file.ReadAsync(host, run, cancellationToken);
        return true;
    }
}
