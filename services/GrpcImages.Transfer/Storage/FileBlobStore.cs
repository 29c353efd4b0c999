using GrpcImages.ServiceDefaults.Hosting;

namespace GrpcImages.Transfer.Storage;

/// <summary>
/// Blobs under "Data:Directory": &lt;dir&gt;/blobs/&lt;region&gt;/chunks/&lt;first two hex&gt;/&lt;sha256&gt; and
/// &lt;dir&gt;/blobs/&lt;region&gt;/manifests/&lt;id&gt;. Writes go to a temporary file renamed into place.
/// </summary>
public sealed class FileBlobStore : IBlobStore
{
    private readonly string _root;
    private readonly Regions _regions;

    public FileBlobStore(IConfiguration configuration, Regions regions)
    {
        var data = configuration["Data:Directory"]
            ?? throw new InvalidOperationException("Set Data:Directory to where the transfer service keeps its blobs.");
        _root = Path.Combine(Path.GetFullPath(data), "blobs");
        _regions = regions;
    }

    /// <summary>Where a blob lives on disk (tests look at the disk directly).</summary>
    public string PathOf(string region, string name)
    {
        if (!_regions.Exists(region))
        {
            throw new ArgumentException($"Unknown region '{region}'.", nameof(region));
        }
        var manifest = name.StartsWith("m:", StringComparison.Ordinal);
        var id = manifest ? name[2..] : name;
        if (id.Length != 64 || !id.All(char.IsAsciiHexDigitLower))
        {
            throw new ArgumentException($"'{name}' is not a blob name.", nameof(name));
        }
        return manifest
            ? Path.Combine(_root, region, "manifests", id)
            : Path.Combine(_root, region, "chunks", id[..2], id);
    }

    public bool Exists(string region, string name) => File.Exists(PathOf(region, name));

    public async ValueTask<bool> WriteAsync(string region, string name, ReadOnlyMemory<byte> data, bool force, CancellationToken cancellationToken)
    {
        var path = PathOf(region, name);
        if (!force && File.Exists(path))
        {
            return false;
        }
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = $"{path}.{Guid.NewGuid():N}.tmp";
        try
        {
            await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 0, FileOptions.Asynchronous))
            {
                await file.WriteAsync(data, cancellationToken);
                await file.FlushAsync(cancellationToken);
            }
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            File.Delete(temp);
        }
        return true;
    }

    public async ValueTask<int> ReadAsync(string region, string name, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        await using var file = new FileStream(PathOf(region, name), FileMode.Open, FileAccess.Read, FileShare.Read, 0, FileOptions.Asynchronous);
        var total = 0;
        int read;
        while ((read = await file.ReadAsync(buffer[total..], cancellationToken)) > 0)
        {
            total += read;
        }
        return total;
    }

    public async ValueTask<byte[]> ReadAllAsync(string region, string name, CancellationToken cancellationToken) =>
        await File.ReadAllBytesAsync(PathOf(region, name), cancellationToken);

    public long Delete(string region, string name)
    {
        var file = new FileInfo(PathOf(region, name));
        if (!file.Exists)
        {
            return 0;
        }
        var length = file.Length;
        file.Delete();
        return length;
    }
}
