using System.Runtime.CompilerServices;
using GrpcImages.ServiceDefaults.Errors;
using GrpcImages.ServiceDefaults.Hosting;
using GrpcImages.ServiceDefaults.Validation;
using Microsoft.Extensions.Options;
using Microsoft.Win32.SafeHandles;

namespace GrpcImages.Transfer.Storage;

/// <summary>
/// Blob stores on the filesystem under "Data:Directory": &lt;dir&gt;/blobs/&lt;region&gt;/chunks/&lt;first two
/// hex&gt;/&lt;sha256&gt; and &lt;dir&gt;/blobs/&lt;region&gt;/manifests/&lt;id&gt;, for the regions in
/// "Transfer:Regions" (all regions when it is empty).
/// </summary>
public sealed class FileBlobStores : IBlobStores
{
    private readonly Dictionary<string, FileBlobStore> _stores;

    public FileBlobStores(IConfiguration configuration, Regions regions, IOptions<TransferOptions> options)
    {
        var data = configuration["Data:Directory"]
            ?? throw new InvalidOperationException("Set Data:Directory to where the transfer service keeps its blobs.");
        var root = Path.Combine(Path.GetFullPath(data), "blobs");
        _stores = options.Value.ServedRegions(regions).ToDictionary(r => r, r => new FileBlobStore(Path.Combine(root, r), r), StringComparer.Ordinal);
    }

    public bool Serves(string region) => _stores.ContainsKey(region);

    public IBlobStore InRegion(string region) =>
        _stores.TryGetValue(region, out var store)
            ? store
            : throw Fault.FailedPrecondition("InvalidRegionId.NotServedHere", $"This transfer instance does not keep the bytes of region {Check.Echo(region)}.");

    /// <summary>Where a blob lives on disk (tests look at the disk directly).</summary>
    public string PathOf(string region, string name) => ((FileBlobStore)InRegion(region)).PathOf(name);
}

/// <summary>
/// One region's blobs in a directory. Writes go to a temporary file (chunks past the page cache, <see cref="DirectWrites"/>), flushed to disk,
/// then renamed into place. Every call that touches a file runs on <see cref="ChunkThreads"/>.
/// </summary>
public sealed class FileBlobStore(string directory, string region) : IBlobStore
{
    private const string TempSuffix = ".tmp";

    public string Region => region;

    public string PathOf(string name)
    {
        var manifest = name.StartsWith("m:", StringComparison.Ordinal);
        var id = manifest ? name[2..] : name;
        if (id.Length != 64 || !id.All(char.IsAsciiHexDigitLower))
        {
            throw new ArgumentException($"'{name}' is not a blob name.", nameof(name));
        }
        return manifest ? Path.Combine(directory, "manifests", id) : Path.Combine(directory, "chunks", id[..2], id);
    }

    public ValueTask<bool> ExistsAsync(string name, CancellationToken cancellationToken) => ValueTask.FromResult(File.Exists(PathOf(name)));

    public async Task<IReadOnlyList<bool>> ExistAsync(IReadOnlyList<string> names, CancellationToken cancellationToken) =>
        await ChunkThreads.RunAsync<IReadOnlyList<bool>>(() => names.Select(n => File.Exists(PathOf(n))).ToList(), cancellationToken);

    public async ValueTask<bool> WriteAsync(string name, ReadOnlyMemory<byte> data, bool force, CancellationToken cancellationToken) =>
        await ChunkThreads.RunAsync(() => Write(name, data.Span, force), cancellationToken);

    private bool Write(string name, ReadOnlySpan<byte> data, bool force)
    {
        var path = PathOf(name);
        if (!force && File.Exists(path))
        {
            return false;
        }
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = $"{path}.{Guid.NewGuid():N}{TempSuffix}";
        try
        {
            if (!DirectWrites.TryWrite(temp, data))
            {
                using var file = File.OpenHandle(temp, FileMode.CreateNew, FileAccess.Write);
                RandomAccess.Write(file, data, 0);
                RandomAccess.FlushToDisk(file);
            }
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            File.Delete(temp);
        }
        return true;
    }

    public async ValueTask<bool> CopyFromAsync(IBlobStore source, string name, CancellationToken cancellationToken)
    {
        if (source is not FileBlobStore files)
        {
            return !await ExistsAsync(name, cancellationToken)
                && await WriteAsync(name, await source.ReadAllAsync(name, cancellationToken), force: false, cancellationToken);
        }
        return await ChunkThreads.RunAsync(() =>
        {
            var path = PathOf(name);
            if (File.Exists(path))
            {
                return false;
            }
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            var temp = $"{path}.{Guid.NewGuid():N}{TempSuffix}";
            try
            {
                File.Copy(files.PathOf(name), temp); // copy_file_range: the bytes stay in the kernel
                using (var handle = File.OpenHandle(temp, FileMode.Open, FileAccess.ReadWrite))
                {
                    RandomAccess.FlushToDisk(handle);
                }
                File.Move(temp, path, overwrite: true);
            }
            finally
            {
                File.Delete(temp);
            }
            return true;
        }, cancellationToken);
    }

    public async ValueTask<int> ReadAsync(string name, long offset, Memory<byte> buffer, CancellationToken cancellationToken) =>
        await ChunkThreads.RunAsync(() =>
        {
            using var file = Open(name);
            var total = 0;
            int read;
            while (total < buffer.Length && (read = RandomAccess.Read(file, buffer.Span[total..], offset + total)) > 0)
            {
                total += read;
            }
            return total;
        }, cancellationToken);

    public async ValueTask<byte[]> ReadAllAsync(string name, CancellationToken cancellationToken) =>
        await ChunkThreads.RunAsync(() =>
        {
            using var file = Open(name);
            var bytes = new byte[RandomAccess.GetLength(file)];
            var total = 0;
            int read;
            while (total < bytes.Length && (read = RandomAccess.Read(file, bytes.AsSpan(total), total)) > 0)
            {
                total += read;
            }
            return total == bytes.Length ? bytes : bytes[..total];
        }, cancellationToken);

    private SafeFileHandle Open(string name)
    {
        try
        {
            return File.OpenHandle(PathOf(name), FileMode.Open, FileAccess.Read, FileShare.Read);
        }
        catch (Exception error) when (error is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new BlobMissingException(Region, name, error);
        }
    }

    public async ValueTask<long> DeleteAsync(string name, CancellationToken cancellationToken) =>
        await ChunkThreads.RunAsync(() =>
        {
            var file = new FileInfo(PathOf(name));
            if (!file.Exists)
            {
                return 0L;
            }
            var length = file.Length;
            file.Delete();
            return length;
        }, cancellationToken);

    public async IAsyncEnumerable<BlobEntry> ListAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        foreach (var (folder, prefix) in new[] { ("chunks", ""), ("manifests", "m:") })
        {
            var path = Path.Combine(directory, folder);
            if (!Directory.Exists(path))
            {
                continue;
            }
            foreach (var file in new DirectoryInfo(path).EnumerateFiles("*", SearchOption.AllDirectories))
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (file.Name.Length == 64 && !file.Name.EndsWith(TempSuffix, StringComparison.Ordinal))
                {
                    yield return new BlobEntry(prefix + file.Name, file.Length, file.LastWriteTimeUtc);
                }
                else if (file.Name.EndsWith(TempSuffix, StringComparison.Ordinal) && file.LastWriteTimeUtc < DateTime.UtcNow.AddHours(-1))
                {
                    file.Delete(); // a writer died between writing and renaming it
                }
            }
            await Task.Yield();
        }
    }
}
