using System.Security.Cryptography;
using GrpcImages.ServiceDefaults.Errors;
using GrpcImages.Transfer.Storage;

namespace GrpcImages.Transfer.Content;

/// <summary>
/// Builds one manifest in a region: pins every chunk it uses before relying on it (then writes the
/// chunk unless the store has it), records each stored position in Redis as it goes (the session's
/// checkpoint, so a writer that died is continued by another with the same session id), and commits
/// the manifest with a holder. A session that is neither committed nor kept is aborted when disposed;
/// if its process dies, its pins are dropped when it expires. Chunks may be added from several tasks at once.
/// </summary>
public sealed class WriteSession : IAsyncDisposable
{
    /// <summary>How many times a chunk is pinned again while the collector keeps deleting it before the write gives up.</summary>
    private const int MaxPinAttempts = 50;

    private static readonly TimeSpan BusyPause = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan RenewEvery = TimeSpan.FromSeconds(30);

    /// <summary>Stored positions are recorded (the checkpoint) in batches of this many: a writer that dies redoes at most these.</summary>
    private const int RecordBatch = 8;

    private readonly IBlobStore _blobs;
    private readonly ContentIndex _index;
    private readonly ChunkCipher? _cipher;
    private readonly SortedDictionary<int, string> _chunks;
    private readonly HashSet<string> _pinned = new(StringComparer.Ordinal);
    private readonly List<(int Index, string Name)> _unrecorded = [];
    private readonly Lock _gate = new();
    private DateTimeOffset _renewed = DateTimeOffset.UtcNow;
    private bool _ended;

    private WriteSession(IBlobStore blobs, ContentIndex index, ChunkCipher? cipher, string id, IReadOnlyDictionary<int, string> recorded)
    {
        _blobs = blobs;
        _index = index;
        _cipher = cipher;
        Id = id;
        _chunks = new SortedDictionary<int, string>(recorded.ToDictionary(c => c.Key, c => c.Value));
    }

    /// <summary>The session's id: a writer that resumes another's work opens the same id.</summary>
    public string Id { get; }

    /// <summary>The positions stored so far (after a resume, the dead writer's too), with their chunk names.</summary>
    public IReadOnlyDictionary<int, string> Stored
    {
        get
        {
            lock (_gate)
            {
                return new Dictionary<int, string>(_chunks);
            }
        }
    }

    /// <summary>Opens a new session, or reopens <paramref name="sessionId"/> where its last writer stopped.</summary>
    public static async Task<WriteSession> OpenAsync(IBlobStore blobs, ContentIndex index, long sizeBytes, ChunkCipher? cipher = null, string? sessionId = null)
    {
        var id = sessionId ?? Guid.NewGuid().ToString("N");
        var recorded = await index.OpenSessionAsync(blobs.Region, id, sizeBytes);
        return new WriteSession(blobs, index, cipher, id, recorded);
    }

    /// <summary>
    /// Puts new plaintext at chunk position <paramref name="index"/>: sealed first when the session
    /// encrypts; an all-zero chunk stores nothing.
    /// </summary>
    public async Task AddAsync(int index, ReadOnlyMemory<byte> plaintext, CancellationToken cancellationToken)
    {
        if (plaintext.Span.IndexOfAnyExcept((byte)0) < 0)
        {
            lock (_gate)
            {
                _chunks.Remove(index);
            }
            return;
        }
        var cipher = _cipher;
        var buffer = cipher is null ? null : ChunkBuffers.Shared.Rent();
        try
        {
            var (data, name) = await ChunkThreads.RunAsync(() =>
            {
                ReadOnlyMemory<byte> stored = cipher is null ? plaintext : buffer.AsMemory(0, cipher.Seal(plaintext.Span, index, buffer));
                return (stored, Convert.ToHexStringLower(SHA256.HashData(stored.Span)));
            }, cancellationToken);
            await AddStoredAsync(index, name, data, cancellationToken);
        }
        finally
        {
            if (buffer is not null)
            {
                ChunkBuffers.Shared.Return(buffer);
            }
        }
    }

    /// <summary>Puts stored bytes (sealed as this content is, or plaintext) whose name the caller has checked at a position.</summary>
    public async Task AddStoredAsync(int index, string name, ReadOnlyMemory<byte> stored, CancellationToken cancellationToken)
    {
        await PinOneAsync(name, cancellationToken);
        await _blobs.WriteAsync(name, stored, force: false, cancellationToken);
        await RecordAsync([(index, name)], batched: true, cancellationToken);
    }

    /// <summary>Puts a chunk kept as stored in another store of this instance at a position (copied within the kernel where the stores allow).</summary>
    public async Task CopyStoredAsync(int index, string name, IBlobStore from, CancellationToken cancellationToken)
    {
        await PinOneAsync(name, cancellationToken);
        await _blobs.CopyFromAsync(from, name, cancellationToken);
        await RecordAsync([(index, name)], batched: true, cancellationToken);
    }

    private async Task PinOneAsync(string name, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_pinned.Contains(name))
            {
                return;
            }
        }
        for (var attempt = 0; ; attempt++)
        {
            var result = (await _index.PinAsync(_blobs.Region, Id, [name]))[0];
            if (result == PinResult.Pinned)
            {
                lock (_gate)
                {
                    _pinned.Add(name);
                }
                return;
            }
            if (attempt >= MaxPinAttempts)
            {
                throw Fault.Aborted("ContentBusy", "The blob store is busy collecting the same content; retry.");
            }
            await Task.Delay(BusyPause, cancellationToken);
        }
    }

    /// <summary>
    /// Puts chunks the region already stores (another manifest's), by name, at their positions. Returns
    /// those that turned out not to be there: the caller supplies their bytes with <see cref="AddStoredAsync"/>.
    /// </summary>
    public async Task<IReadOnlyList<(int Index, string Name)>> AddExistingAsync(IReadOnlyList<(int Index, string Name)> chunks, CancellationToken cancellationToken)
    {
        if (chunks.Count == 0)
        {
            return [];
        }
        var names = chunks.Select(c => c.Name).Distinct().ToList();
        var results = await _index.PinAsync(_blobs.Region, Id, names);
        var busy = names.Where((_, i) => results[i] == PinResult.Busy).ToHashSet(StringComparer.Ordinal);
        lock (_gate)
        {
            _pinned.UnionWith(names.Where(n => !busy.Contains(n)));
        }
        var exists = await _blobs.ExistAsync(names, cancellationToken);
        var missing = names.Where((n, i) => !exists[i] || busy.Contains(n)).ToHashSet(StringComparer.Ordinal);
        var present = chunks.Where(c => !missing.Contains(c.Name)).ToList();
        await RecordAsync(present, batched: false, cancellationToken);
        return chunks.Where(c => missing.Contains(c.Name)).ToList();
    }

    /// <summary>Writes the manifest, pins it and commits it with a holder; returns it with its holder count.</summary>
    public async Task<(Manifest Manifest, int Holders)> CommitAsync(long sizeBytes, ManifestEncryption? encryption, string holder, CancellationToken cancellationToken)
    {
        await RecordAsync([], batched: false, cancellationToken);
        List<ChunkRef> chunks;
        lock (_gate)
        {
            chunks = _chunks.Select(c => new ChunkRef(c.Key, Convert.FromHexString(c.Value))).ToList();
        }
        var manifest = new Manifest(sizeBytes, chunks, encryption);
        await AddStoredAsync(-1, manifest.BlobName, manifest.Bytes, cancellationToken);
        var fields = new List<KeyValuePair<string, string>>
        {
            new("size", manifest.SizeBytes.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            new("stored", manifest.StoredBytes.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            new("chunks", manifest.Count.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            new("storedchunks", manifest.Stored.Count.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            new("digest", manifest.Digest()),
        };
        if (encryption is not null)
        {
            fields.Add(new("account", encryption.AccountId));
            fields.Add(new("key", encryption.KmsKeyId));
        }
        var holders = await _index.CommitAsync(_blobs.Region, Id, manifest.Id, holder, fields);
        _ended = true;
        return (manifest, holders);
    }

    /// <summary>Leaves the session as it is for a writer that resumes it (its pins stay until it expires).</summary>
    public void Keep() => _ended = true;

    /// <summary>Records what is stored but not yet recorded (before leaving the session to a writer that resumes it).</summary>
    public Task FlushAsync() => RecordAsync([], batched: false, CancellationToken.None);

    public async ValueTask DisposeAsync()
    {
        if (!_ended)
        {
            _ended = true;
            await _index.AbortSessionAsync(_blobs.Region, Id);
        }
    }

    /// <summary>Records stored positions (now, or once a batch is full) and renews the session now and then.</summary>
    private async Task RecordAsync(IReadOnlyList<(int Index, string Name)> chunks, bool batched, CancellationToken cancellationToken)
    {
        List<(int, string)> due;
        bool renew;
        lock (_gate)
        {
            foreach (var (index, name) in chunks.Where(c => c.Index >= 0))
            {
                _chunks[index] = name;
                _unrecorded.Add((index, name));
            }
            due = !batched || _unrecorded.Count >= RecordBatch ? [.. _unrecorded] : [];
            if (due.Count > 0)
            {
                _unrecorded.Clear();
            }
            renew = DateTimeOffset.UtcNow - _renewed > RenewEvery;
            if (renew)
            {
                _renewed = DateTimeOffset.UtcNow;
            }
        }
        await _index.RecordChunksAsync(_blobs.Region, Id, due);
        if (renew)
        {
            await _index.RenewSessionAsync(_blobs.Region, Id);
        }
        cancellationToken.ThrowIfCancellationRequested();
    }
}
