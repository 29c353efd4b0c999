using Microsoft.Win32.SafeHandles;

namespace GrpcImages.Transfer.Formats;

/// <summary>
/// Disks are read and written in chunks of 4 MiB: the unit in which the writers below are told which
/// parts of a disk hold data, and the content store's chunk (<c>Manifest.ChunkSize</c> is this).
/// </summary>
public static class DiskChunks
{
    public const int Size = 4 * 1024 * 1024;

    /// <summary>How many chunks a disk of <paramref name="sizeBytes"/> has (the last may be short).</summary>
    public static int Count(long sizeBytes) => checked((int)((sizeBytes + Size - 1) / Size));
}

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
