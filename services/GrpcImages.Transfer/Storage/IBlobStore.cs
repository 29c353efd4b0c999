namespace GrpcImages.Transfer.Storage;

/// <summary>A blob as listed: its name and when it was last written.</summary>
public readonly record struct BlobEntry(string Name, long Length, DateTimeOffset Written);

/// <summary>
/// One region's bytes: chunks named by the lowercase hex SHA-256 of what is stored, and manifests
/// named "m:&lt;id&gt;". Writes are atomic and durable before they return (a reader never sees a part
/// of a blob). The filesystem store is the default; an S3-compatible store can replace it.
/// </summary>
public interface IBlobStore
{
    string Region { get; }

    ValueTask<bool> ExistsAsync(string name, CancellationToken cancellationToken);

    /// <summary>Which of the blobs exist, in the order asked.</summary>
    Task<IReadOnlyList<bool>> ExistAsync(IReadOnlyList<string> names, CancellationToken cancellationToken);

    /// <summary>Writes a blob unless it is there already (or <paramref name="force"/>); true when it wrote.</summary>
    ValueTask<bool> WriteAsync(string name, ReadOnlyMemory<byte> data, bool force, CancellationToken cancellationToken);

    /// <summary>
    /// Copies a blob from another store unless it is here already; true when it wrote. Stores that can
    /// copy without the bytes passing through the process (two directories on one machine) do.
    /// </summary>
    ValueTask<bool> CopyFromAsync(IBlobStore source, string name, CancellationToken cancellationToken);

    /// <summary>Reads up to <paramref name="buffer"/>'s length from <paramref name="offset"/>; returns the bytes read. A missing blob is <see cref="BlobMissingException"/>.</summary>
    ValueTask<int> ReadAsync(string name, long offset, Memory<byte> buffer, CancellationToken cancellationToken);

    ValueTask<byte[]> ReadAllAsync(string name, CancellationToken cancellationToken);

    /// <summary>Deletes a blob; returns the bytes freed (0 when it was not there).</summary>
    ValueTask<long> DeleteAsync(string name, CancellationToken cancellationToken);

    /// <summary>Every blob of the region (chunks and manifests), for collecting ones nothing ever referenced.</summary>
    IAsyncEnumerable<BlobEntry> ListAsync(CancellationToken cancellationToken);
}

/// <summary>A blob that is not in the store (collected, or never written): what a reader of it makes of that is the reader's to say.</summary>
public sealed class BlobMissingException(string region, string name, Exception inner)
    : IOException($"Blob {name} is not in the store of {region}.", inner)
{
    public string Name { get; } = name;
}

/// <summary>The blob stores of the regions this transfer instance serves.</summary>
public interface IBlobStores
{
    /// <summary>Whether this instance keeps the region's bytes.</summary>
    bool Serves(string region);

    /// <summary>The region's store; only for a region this instance serves.</summary>
    IBlobStore InRegion(string region);
}
