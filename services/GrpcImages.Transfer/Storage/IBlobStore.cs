namespace GrpcImages.Transfer.Storage;

/// <summary>
/// A region's bytes: chunks named by the lowercase hex SHA-256 of what is stored, and manifests
/// named "m:&lt;id&gt;". The filesystem store is the default; an S3-compatible store can replace it.
/// </summary>
public interface IBlobStore
{
    bool Exists(string region, string name);

    /// <summary>Writes a blob unless it is there already (or <paramref name="force"/>); true when it wrote. Writes are atomic.</summary>
    ValueTask<bool> WriteAsync(string region, string name, ReadOnlyMemory<byte> data, bool force, CancellationToken cancellationToken);

    /// <summary>Reads a whole blob into <paramref name="buffer"/>; returns its length.</summary>
    ValueTask<int> ReadAsync(string region, string name, Memory<byte> buffer, CancellationToken cancellationToken);

    ValueTask<byte[]> ReadAllAsync(string region, string name, CancellationToken cancellationToken);

    /// <summary>Deletes a blob; returns the bytes freed (0 when it was not there).</summary>
    long Delete(string region, string name);
}
