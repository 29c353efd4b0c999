using System.Security.Cryptography;
using GrpcImages.ServiceDefaults.Errors;
using GrpcImages.Transfer.Storage;

namespace GrpcImages.Transfer.Content;

/// <summary>
/// Builds one manifest: stores its new chunks, pins every chunk it uses (new or shared with
/// another manifest) so the collector leaves them alone, and commits the manifest with a holder.
/// A session that is not committed drops its pins when disposed (or, if its process dies,
/// when it expires).
/// </summary>
public sealed class WriteSession(string region, IBlobStore blobs, ContentIndex index, ChunkCipher? cipher = null) : IAsyncDisposable
{
    private const int PinBatch = 256;

    /// <summary>How many times a chunk is written again while the collector keeps deleting it before the write gives up.</summary>
    private const int MaxPinAttempts = 50;

    private static readonly TimeSpan BusyPause = TimeSpan.FromMilliseconds(20);

    private readonly string _id = Guid.NewGuid().ToString("N");
    private readonly List<ChunkRef> _chunks = [];
    private readonly HashSet<string> _pinned = new(StringComparer.Ordinal);
    private readonly List<string> _pendingShared = [];
    private bool _committed;

    /// <summary>
    /// Puts new plaintext at chunk position <paramref name="index"/> (positions ascend): sealed first
    /// when the session encrypts; an all-zero chunk stores nothing.
    /// </summary>
    public async Task AddAsync(int index, ReadOnlyMemory<byte> plaintext, CancellationToken cancellationToken)
    {
        if (plaintext.Span.IndexOfAnyExcept((byte)0) < 0)
        {
            return;
        }
        var data = cipher is null ? plaintext : cipher.Seal(plaintext.Span, index);
        var hash = SHA256.HashData(data.Span);
        var name = Convert.ToHexStringLower(hash);
        _chunks.Add(new ChunkRef(index, hash));
        if (!_pinned.Contains(name))
        {
            await StoreAndPinAsync(name, data, cancellationToken);
        }
    }

    /// <summary>Puts a chunk another live manifest already stores at position <paramref name="index"/>.</summary>
    public async Task AddSharedAsync(int index, byte[] hash, CancellationToken cancellationToken)
    {
        _chunks.Add(new ChunkRef(index, hash));
        var name = Convert.ToHexStringLower(hash);
        if (_pinned.Add(name))
        {
            _pendingShared.Add(name);
            if (_pendingShared.Count >= PinBatch)
            {
                await FlushSharedAsync(cancellationToken);
            }
        }
    }

    /// <summary>Writes the manifest, pins it and commits it with a holder; returns it with its holder count.</summary>
    public async Task<(Manifest Manifest, int Holders)> CommitAsync(long sizeBytes, ManifestEncryption? encryption, string holder, CancellationToken cancellationToken)
    {
        await FlushSharedAsync(cancellationToken);
        var manifest = new Manifest(sizeBytes, _chunks, encryption);
        await StoreAndPinAsync(manifest.BlobName, manifest.Bytes, cancellationToken);
        var fields = new List<KeyValuePair<string, string>>
        {
            new("size", manifest.SizeBytes.ToString()),
            new("digest", manifest.Digest()),
        };
        if (encryption is not null)
        {
            fields.Add(new("account", encryption.AccountId));
            fields.Add(new("key", encryption.KmsKeyId));
        }
        var holders = await index.CommitAsync(region, _id, manifest.Id, holder, fields);
        _committed = true;
        return (manifest, holders);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_committed && _pinned.Count > 0)
        {
            await index.AbortAsync(region, _id);
        }
    }

    private async Task StoreAndPinAsync(string name, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        var wrote = await blobs.WriteAsync(region, name, data, force: false, cancellationToken);
        for (var attempt = 0; ; attempt++)
        {
            var result = (await index.PinAsync(region, _id, [(name, wrote)]))[0];
            if (result == PinResult.Pinned)
            {
                _pinned.Add(name);
                return;
            }
            if (attempt >= MaxPinAttempts)
            {
                throw Fault.Aborted("ContentBusy", "The blob store is busy collecting the same content; retry.");
            }
            if (result == PinResult.Busy)
            {
                await Task.Delay(BusyPause, cancellationToken);
            }
            wrote = await blobs.WriteAsync(region, name, data, force: true, cancellationToken);
        }
    }

    private async Task FlushSharedAsync(CancellationToken cancellationToken)
    {
        if (_pendingShared.Count == 0)
        {
            return;
        }
        var results = await index.PinAsync(region, _id, _pendingShared.Select(n => (n, false)).ToList());
        if (results.Any(r => r != PinResult.Pinned))
        {
            // The source manifest lost its last holder meanwhile: its bytes may be going.
            throw Fault.Aborted("ContentChanged", "The source content was released while it was being copied; retry.");
        }
        _pendingShared.Clear();
        cancellationToken.ThrowIfCancellationRequested();
    }
}
