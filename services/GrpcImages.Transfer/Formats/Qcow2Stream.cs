using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace GrpcImages.Transfer.Formats;

/// <summary>
/// A QCOW2 (version 3, 64 KiB clusters, 16-bit refcounts) written front to back from content, with no
/// scratch file and no qemu-img: header, refcount table and blocks, L1 table, the L2 tables that map
/// anything, then the data clusters of every stored chunk in disk order. Everything but the data is
/// known up front from the manifest (zero chunks are stored as nothing, so their clusters stay
/// unallocated), so each table is written once, already final, and every cluster has refcount 1.
/// </summary>
public static class Qcow2Stream
{
    private const int ClusterBits = 16;
    private const int ClusterSize = 1 << ClusterBits;
    private const int PerChunk = DiskChunks.Size / ClusterSize;
    private const long L2Span = (long)ClusterSize * (ClusterSize / 8); // guest bytes one L2 table maps
    private const int ChunksPerTable = (int)(L2Span / DiskChunks.Size);
    private const int RefcountsPerBlock = ClusterSize / 2;
    private const ulong Copied = 1UL << 63; // refcount 1: written in place

    /// <summary>Where everything goes, in clusters.</summary>
    private sealed record Layout(long Size, long GuestClusters, bool[] TableUsed, int L1Clusters, int RefTableClusters, int RefBlocks, long Total)
    {
        public long RefBlocksAt => 1 + RefTableClusters;

        public long L1At => RefBlocksAt + RefBlocks;

        public long L2At => L1At + L1Clusters;

        public long DataAt => L2At + TableUsed.Count(u => u);
    }

    /// <summary>The file's length for <paramref name="size"/> bytes of disk whose chunk <c>i</c> is stored when <paramref name="stored"/>(i).</summary>
    public static long Length(long size, Func<int, bool> stored) => Plan(size, stored).Total * ClusterSize;

    private static Layout Plan(long size, Func<int, bool> stored)
    {
        var guestClusters = (size + ClusterSize - 1) / ClusterSize;
        var chunks = DiskChunks.Count(size);
        var tables = (int)Math.Max(1, (size + L2Span - 1) / L2Span);
        var used = new bool[tables];
        long data = 0;
        for (var c = 0; c < chunks; c++)
        {
            if (stored(c))
            {
                used[c / ChunksPerTable] = true;
                data += Math.Min(PerChunk, guestClusters - (long)c * PerChunk);
            }
        }
        var l1Clusters = (tables * 8 + ClusterSize - 1) / ClusterSize;
        var fixedPart = 1 + l1Clusters + used.Count(u => u) + data;
        int refBlocks = 0, refTable = 0;
        while (true) // the refcounts count their own clusters: grow until they cover everything
        {
            var total = fixedPart + refBlocks + refTable;
            var blocks = (int)((total + RefcountsPerBlock - 1) / RefcountsPerBlock);
            var table = (blocks * 8 + ClusterSize - 1) / ClusterSize;
            if (blocks == refBlocks && table == refTable)
            {
                return new Layout(size, guestClusters, used, l1Clusters, refTable, refBlocks, total);
            }
            (refBlocks, refTable) = (blocks, table);
        }
    }

    /// <summary>
    /// The QCOW2 of a disk of <paramref name="size"/> bytes whose 4 MiB chunk <c>i</c> is stored when
    /// <paramref name="stored"/>(i) and read by <paramref name="readChunk"/> (into a buffer of its length).
    /// Each piece is valid until the next is asked for.
    /// </summary>
    public static async IAsyncEnumerable<ReadOnlyMemory<byte>> WriteAsync(long size, Func<int, bool> stored, Func<int, Memory<byte>, Task> readChunk,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var layout = Plan(size, stored);
        var cluster = new byte[ClusterSize];

        // Header (the rest of its cluster is zeros: no header extensions).
        BinaryPrimitives.WriteUInt32BigEndian(cluster, 0x514649fb);
        BinaryPrimitives.WriteUInt32BigEndian(cluster.AsSpan(4), 3);
        BinaryPrimitives.WriteUInt32BigEndian(cluster.AsSpan(20), ClusterBits);
        BinaryPrimitives.WriteUInt64BigEndian(cluster.AsSpan(24), (ulong)((size + 511) / 512 * 512)); // whole sectors: qemu cuts a partial one off
        BinaryPrimitives.WriteUInt32BigEndian(cluster.AsSpan(36), (uint)layout.TableUsed.Length);
        BinaryPrimitives.WriteUInt64BigEndian(cluster.AsSpan(40), (ulong)(layout.L1At * ClusterSize));
        BinaryPrimitives.WriteUInt64BigEndian(cluster.AsSpan(48), ClusterSize); // the refcount table is cluster 1
        BinaryPrimitives.WriteUInt32BigEndian(cluster.AsSpan(56), (uint)layout.RefTableClusters);
        BinaryPrimitives.WriteUInt32BigEndian(cluster.AsSpan(96), 4); // 16-bit refcounts
        BinaryPrimitives.WriteUInt32BigEndian(cluster.AsSpan(100), 104); // header length
        yield return cluster;

        // Refcount table, then blocks: every cluster of the file is used once.
        for (var t = 0; t < layout.RefTableClusters; t++)
        {
            cluster.AsSpan().Clear();
            for (var e = 0; e < ClusterSize / 8 && t * (ClusterSize / 8) + e < layout.RefBlocks; e++)
            {
                BinaryPrimitives.WriteUInt64BigEndian(cluster.AsSpan(e * 8), (ulong)((layout.RefBlocksAt + t * (ClusterSize / 8) + e) * ClusterSize));
            }
            yield return cluster;
        }
        for (var b = 0; b < layout.RefBlocks; b++)
        {
            cluster.AsSpan().Clear();
            var counted = Math.Min(RefcountsPerBlock, layout.Total - (long)b * RefcountsPerBlock);
            for (var e = 0; e < counted; e++)
            {
                BinaryPrimitives.WriteUInt16BigEndian(cluster.AsSpan(e * 2), 1);
            }
            yield return cluster;
        }

        // L1: each used table's L2, in order.
        var l2 = layout.L2At;
        for (var t = 0; t < layout.L1Clusters; t++)
        {
            cluster.AsSpan().Clear();
            for (var e = 0; e < ClusterSize / 8 && t * (ClusterSize / 8) + e < layout.TableUsed.Length; e++)
            {
                if (layout.TableUsed[t * (ClusterSize / 8) + e])
                {
                    BinaryPrimitives.WriteUInt64BigEndian(cluster.AsSpan(e * 8), (ulong)(l2++ * ClusterSize) | Copied);
                }
            }
            yield return cluster;
        }

        // L2 tables: the data clusters follow in disk order.
        var data = layout.DataAt;
        for (var t = 0; t < layout.TableUsed.Length; t++)
        {
            if (!layout.TableUsed[t])
            {
                continue;
            }
            cluster.AsSpan().Clear();
            for (var c = t * ChunksPerTable; c < Math.Min((t + 1) * ChunksPerTable, DiskChunks.Count(size)); c++)
            {
                if (!stored(c))
                {
                    continue;
                }
                for (long g = (long)c * PerChunk; g < Math.Min((long)(c + 1) * PerChunk, layout.GuestClusters); g++)
                {
                    BinaryPrimitives.WriteUInt64BigEndian(cluster.AsSpan((int)(g - (long)t * (ClusterSize / 8)) * 8), (ulong)(data++ * ClusterSize) | Copied);
                }
            }
            yield return cluster;
        }

        // Data, whole clusters (past the disk's end the last one reads as zeros).
        var chunk = new byte[DiskChunks.Size];
        for (var c = 0; c < DiskChunks.Count(size); c++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!stored(c))
            {
                continue;
            }
            var length = (int)Math.Min(DiskChunks.Size, size - (long)c * DiskChunks.Size);
            await readChunk(c, chunk.AsMemory(0, length));
            var whole = (length + ClusterSize - 1) / ClusterSize * ClusterSize;
            chunk.AsSpan(length, whole - length).Clear();
            yield return chunk.AsMemory(0, whole);
        }
    }
}
