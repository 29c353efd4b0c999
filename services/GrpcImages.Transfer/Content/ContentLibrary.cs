using System.Buffers;
using System.Runtime.CompilerServices;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.ServiceDefaults.Errors;
using GrpcImages.Transfer.Storage;

namespace GrpcImages.Transfer.Content;

/// <summary>The content layer's operations on a region's blob store (R23, R34).</summary>
public sealed partial class ContentLibrary(IBlobStore blobs, ContentIndex index, DataKeys dataKeys, ContentMetrics metrics, ILogger<ContentLibrary> logger)
{
    public const long MaxSizeBytes = 32L * 1024 * 1024 * 1024 * 1024; // 32 TiB, the largest data disk

    public async Task<ContentInfo> SeedAsync(string region, string label, long sizeBytes, long dataBytes, string holder, CancellationToken cancellationToken)
    {
        CheckSize(sizeBytes);
        if (label.Length == 0 || dataBytes < 0 || dataBytes > sizeBytes)
        {
            throw Fault.InvalidArgument("InvalidParameter", "data_bytes", "A seed needs a label and at most size_bytes of data.");
        }
        var buffer = ArrayPool<byte>.Shared.Rent(Manifest.ChunkSize);
        try
        {
            await using var session = new WriteSession(region, blobs, index);
            for (var i = 0; (long)i * Manifest.ChunkSize < dataBytes; i++)
            {
                var offset = (long)i * Manifest.ChunkSize;
                var length = (int)Math.Min(Manifest.ChunkSize, sizeBytes - offset);
                SeedGenerator.Fill(label, sizeBytes, dataBytes, offset, buffer.AsSpan(0, length));
                await session.AddAsync(i, buffer.AsMemory(0, length), cancellationToken);
            }
            return Committed(region, await session.CommitAsync(sizeBytes, null, holder, cancellationToken));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>A blank disk; sealed content gets its data key now, so every chunk written later is sealed with it.</summary>
    public async Task<ContentInfo> CreateBlankAsync(string region, long sizeBytes, string holder, ContentEncryption? encryption, CancellationToken cancellationToken)
    {
        CheckSize(sizeBytes);
        var sealing = encryption is null ? null : (await dataKeys.NewAsync(encryption.AccountId, region, encryption.KmsKeyId, cancellationToken)).Encryption;
        await using var session = new WriteSession(region, blobs, index);
        return Committed(region, await session.CommitAsync(sizeBytes, sealing, holder, cancellationToken));
    }

    /// <summary>Stores a stream of bytes, padded with zeros up to <paramref name="sizeBytes"/>.</summary>
    public async Task<ContentInfo> WriteAsync(string region, long sizeBytes, string holder, ContentEncryption? encryption,
        IAsyncEnumerable<ReadOnlyMemory<byte>> data, CancellationToken cancellationToken)
    {
        CheckSize(sizeBytes);
        var (key, sealing) = encryption is null ? (null, null) : await dataKeys.NewAsync(encryption.AccountId, region, encryption.KmsKeyId, cancellationToken);
        using var cipher = key is null ? null : new ChunkCipher(key);
        var buffer = ArrayPool<byte>.Shared.Rent(Manifest.ChunkSize);
        try
        {
            await using var session = new WriteSession(region, blobs, index, cipher);
            long total = 0;
            var filled = 0;
            var position = 0;
            await foreach (var piece in data.WithCancellation(cancellationToken))
            {
                var remaining = piece;
                while (remaining.Length > 0)
                {
                    if (total + remaining.Length > sizeBytes)
                    {
                        throw Fault.InvalidArgument("InvalidParameter", "size_bytes", "The stream is longer than size_bytes.");
                    }
                    var take = Math.Min(remaining.Length, Manifest.ChunkSize - filled);
                    remaining[..take].CopyTo(buffer.AsMemory(filled));
                    filled += take;
                    total += take;
                    remaining = remaining[take..];
                    if (filled == Manifest.ChunkSize)
                    {
                        await session.AddAsync(position++, buffer.AsMemory(0, filled), cancellationToken);
                        filled = 0;
                    }
                }
            }
            if (filled > 0)
            {
                var length = (int)Math.Min(Manifest.ChunkSize, sizeBytes - (long)position * Manifest.ChunkSize);
                buffer.AsSpan(filled, length - filled).Clear();
                await session.AddAsync(position, buffer.AsMemory(0, length), cancellationToken);
            }
            return Committed(region, await session.CommitAsync(sizeBytes, sealing, holder, cancellationToken));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Copy-on-write: a new manifest with <paramref name="data"/> written at <paramref name="offset"/>.</summary>
    public async Task<ContentInfo> PatchAsync(string region, string manifestId, long offset, ReadOnlyMemory<byte> data, long sizeBytes,
        string holder, CancellationToken cancellationToken)
    {
        var (source, _) = await LoadLiveAsync(region, manifestId, cancellationToken);
        var size = sizeBytes == 0 ? source.SizeBytes : sizeBytes;
        if (size < source.SizeBytes || size % Manifest.ChunkSize != 0 && size != source.SizeBytes)
        {
            throw Fault.InvalidArgument("InvalidParameter", "size_bytes", "The new size is a multiple of 4 MiB and at least the source's.");
        }
        CheckSize(size);
        if (offset < 0 || data.Length > Manifest.ChunkSize || offset + data.Length > size)
        {
            throw Fault.InvalidArgument("InvalidParameter", "offset", "The write is at most 4 MiB long and ends inside the content.");
        }
        var first = (int)(offset / Manifest.ChunkSize);
        var last = data.Length == 0 ? first - 1 : (int)((offset + data.Length - 1) / Manifest.ChunkSize);
        var target = new Manifest(size, [], null);
        // Sealed content keeps its data key: the new manifest shares sealed chunks with the source.
        using var cipher = await CipherAsync(source, region, cancellationToken);
        var buffer = ArrayPool<byte>.Shared.Rent(Manifest.ChunkSize);
        try
        {
            await using var session = new WriteSession(region, blobs, index, cipher);
            // The source's last chunk is rewritten when it was short and the content grows.
            var lastSource = source.Count - 1;
            var rewriteLast = source.ChunkLength(Math.Max(lastSource, 0)) != target.ChunkLength(Math.Max(lastSource, 0)) && source.HashAt(lastSource) is not null;
            var touched = Enumerable.Range(first, Math.Max(0, last - first + 1))
                .Concat(rewriteLast ? [lastSource] : [])
                .ToHashSet();
            var positions = source.Stored.Select(c => c.Index).Concat(touched).Distinct().Order();
            foreach (var i in positions)
            {
                var existing = source.HashAt(i);
                if (!touched.Contains(i))
                {
                    await session.AddSharedAsync(i, existing!, cancellationToken);
                    continue;
                }
                var length = target.ChunkLength(i);
                var chunk = buffer.AsMemory(0, length);
                chunk.Span.Clear();
                if (existing is not null)
                {
                    await ReadChunkAsync(region, existing, i, cipher, chunk[..source.ChunkLength(i)], cancellationToken);
                }
                var chunkStart = (long)i * Manifest.ChunkSize;
                var from = Math.Max(offset, chunkStart);
                var to = Math.Min(offset + data.Length, chunkStart + length);
                if (to > from)
                {
                    data.Slice((int)(from - offset), (int)(to - from)).CopyTo(chunk[(int)(from - chunkStart)..]);
                }
                await session.AddAsync(i, chunk, cancellationToken);
            }
            return Committed(region, await session.CommitAsync(size, source.Encryption, holder, cancellationToken));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Re-writes content under another encryption and/or into another region: plaintext is sealed,
    /// sealed content is re-sealed with a new data key; encryption is never removed (R21, R23).
    /// Chunks the destination already has are not written again.
    /// </summary>
    public async Task<ContentInfo> TransformAsync(string region, string manifestId, string destinationRegion, ContentEncryption? encryption,
        long sizeBytes, string holder, CancellationToken cancellationToken)
    {
        var (source, _) = await LoadLiveAsync(region, manifestId, cancellationToken);
        var size = sizeBytes == 0 ? source.SizeBytes : sizeBytes;
        if (size < source.SizeBytes || (size != source.SizeBytes && size % Manifest.ChunkSize != 0))
        {
            throw Fault.InvalidArgument("InvalidParameter", "size_bytes", "The new size is a multiple of 4 MiB and at least the source's.");
        }
        CheckSize(size);
        if (encryption is null && source.Encryption is not null)
        {
            throw Fault.FailedPrecondition("OperationDeined.EncryptedSnapshot", "Encrypted content cannot be made plaintext.");
        }
        using var sourceCipher = await CipherAsync(source, region, cancellationToken);
        var (key, sealing) = encryption is null ? (null, null) : await dataKeys.NewAsync(encryption.AccountId, destinationRegion, encryption.KmsKeyId, cancellationToken);
        using var cipher = key is null ? null : new ChunkCipher(key);
        var buffer = ArrayPool<byte>.Shared.Rent(Manifest.ChunkSize);
        try
        {
            await using var session = new WriteSession(destinationRegion, blobs, index, cipher);
            var growsLast = new Manifest(size, [], null).ChunkLength(source.Count - 1) != source.ChunkLength(source.Count - 1);
            foreach (var chunk in source.Stored)
            {
                if (cipher is null && sourceCipher is null && destinationRegion == region && !(growsLast && chunk.Index == source.Count - 1))
                {
                    await session.AddSharedAsync(chunk.Index, chunk.Hash, cancellationToken);
                    continue;
                }
                var length = (int)Math.Min(Manifest.ChunkSize, size - (long)chunk.Index * Manifest.ChunkSize);
                var plaintext = buffer.AsMemory(0, length);
                plaintext.Span.Clear();
                await ReadChunkAsync(region, chunk.Hash, chunk.Index, sourceCipher, plaintext[..source.ChunkLength(chunk.Index)], cancellationToken);
                await session.AddAsync(chunk.Index, plaintext, cancellationToken);
            }
            return Committed(destinationRegion, await session.CommitAsync(size, sealing, holder, cancellationToken));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public async Task<int> RetainAsync(string region, string manifestId, string holder)
    {
        CheckHolder(holder);
        var count = await index.RetainAsync(region, manifestId, holder);
        return count >= 0 ? count : throw ContentNotFound(manifestId);
    }

    /// <summary>Removes a holder; the last one out drops the manifest's references to its chunks (R34).</summary>
    public async Task<(int Left, bool Deleted)> ReleaseAsync(string region, string manifestId, string holder, CancellationToken cancellationToken)
    {
        CheckHolder(holder);
        var (left, dying) = await index.ReleaseAsync(region, manifestId, holder);
        if (dying is null)
        {
            return (Math.Max(left, 0), false);
        }
        await DropAsync(region, dying, cancellationToken);
        return (0, true);
    }

    public async Task<ContentInfo> DescribeAsync(string region, string manifestId, CancellationToken cancellationToken)
    {
        var (manifest, holders) = await LoadLiveAsync(region, manifestId, cancellationToken);
        return Describe(region, manifest, holders);
    }

    /// <summary>The content's plaintext bytes from <paramref name="offset"/>, in pieces of at most 1 MiB.</summary>
    public async IAsyncEnumerable<ReadOnlyMemory<byte>> ReadAsync(string region, string manifestId, long offset, long length,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        const int Piece = 1024 * 1024;
        var (manifest, _) = await LoadLiveAsync(region, manifestId, cancellationToken);
        if (offset < 0 || length < 0 || offset > manifest.SizeBytes)
        {
            throw Fault.InvalidArgument("InvalidParameter", "offset", "The range must lie inside the content.");
        }
        var end = length == 0 ? manifest.SizeBytes : Math.Min(manifest.SizeBytes, offset + length);
        using var cipher = await CipherAsync(manifest, region, cancellationToken);
        var buffer = ArrayPool<byte>.Shared.Rent(Manifest.ChunkSize);
        try
        {
            for (var i = (int)(offset / Manifest.ChunkSize); (long)i * Manifest.ChunkSize < end; i++)
            {
                var chunkStart = (long)i * Manifest.ChunkSize;
                var chunk = buffer.AsMemory(0, manifest.ChunkLength(i));
                await ReadChunkAsync(region, manifest.HashAt(i), i, cipher, chunk, cancellationToken);
                var from = (int)(Math.Max(offset, chunkStart) - chunkStart);
                var to = (int)(Math.Min(end, chunkStart + chunk.Length) - chunkStart);
                for (var p = from; p < to; p += Piece)
                {
                    yield return chunk[p..Math.Min(to, p + Piece)].ToArray();
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Finishes dropping a dying manifest: its chunks' and its own references go.</summary>
    internal async Task DropAsync(string region, string dyingKey, CancellationToken cancellationToken)
    {
        var manifestId = ContentIndex.ManifestIdOfDyingKey(dyingKey);
        var manifest = Manifest.Parse(await blobs.ReadAllAsync(region, $"m:{manifestId}", cancellationToken));
        await index.DropReferencesAsync(region, dyingKey, [.. manifest.DistinctChunkNames(), manifest.BlobName]);
        LogReleased(manifestId, region);
    }

    /// <summary>A live manifest with its holder count (NotFound when it is not live).</summary>
    internal async Task<(Manifest Manifest, int Holders)> LoadLiveAsync(string region, string manifestId, CancellationToken cancellationToken)
    {
        var holders = manifestId.Length == 64 && manifestId.All(char.IsAsciiHexDigitLower) ? await index.HoldersAsync(region, manifestId) : null;
        return holders is { } count
            ? (Manifest.Parse(await blobs.ReadAllAsync(region, $"m:{manifestId}", cancellationToken)), count)
            : throw ContentNotFound(manifestId);
    }

    /// <summary>Reads chunk <paramref name="position"/>'s plaintext (zeros for a zero chunk), opening it when sealed.</summary>
    private async Task ReadChunkAsync(string region, byte[]? hash, int position, ChunkCipher? cipher, Memory<byte> plaintext, CancellationToken cancellationToken)
    {
        if (hash is null)
        {
            plaintext.Span.Clear();
            return;
        }
        var name = Convert.ToHexStringLower(hash);
        if (cipher is null)
        {
            var read = await blobs.ReadAsync(region, name, plaintext, cancellationToken);
            if (read != plaintext.Length)
            {
                throw new InvalidDataException($"Chunk {name} in {region} has {read} bytes, expected {plaintext.Length}.");
            }
            return;
        }
        var sealedChunk = ArrayPool<byte>.Shared.Rent(plaintext.Length + ChunkCipher.Overhead);
        try
        {
            var read = await blobs.ReadAsync(region, name, sealedChunk.AsMemory(0, plaintext.Length + ChunkCipher.Overhead), cancellationToken);
            cipher.Open(sealedChunk.AsSpan(0, read), position, plaintext.Span);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(sealedChunk);
        }
    }

    private async Task<ChunkCipher?> CipherAsync(Manifest manifest, string region, CancellationToken cancellationToken) =>
        manifest.Encryption is null ? null : new ChunkCipher(await dataKeys.OpenAsync(manifest.Encryption, region, cancellationToken));

    private ContentInfo Committed(string region, (Manifest Manifest, int Holders) committed)
    {
        metrics.Committed(region, committed.Manifest);
        return Describe(region, committed.Manifest, committed.Holders);
    }

    private static ContentInfo Describe(string region, Manifest manifest, int holders)
    {
        var info = new ContentInfo
        {
            ManifestId = manifest.Id,
            RegionId = region,
            SizeBytes = manifest.SizeBytes,
            StoredBytes = manifest.StoredBytes,
            ChunkCount = manifest.Count,
            HolderCount = holders,
            Digest = manifest.Digest(),
        };
        info.ChunkIds.AddRange(manifest.DistinctChunkNames());
        if (manifest.Encryption is not null)
        {
            info.Encryption = new ContentEncryption { AccountId = manifest.Encryption.AccountId, KmsKeyId = manifest.Encryption.KmsKeyId };
        }
        return info;
    }

    private static void CheckSize(long sizeBytes)
    {
        if (sizeBytes <= 0 || sizeBytes > MaxSizeBytes)
        {
            throw Fault.InvalidArgument("InvalidParameter", "size_bytes", "The size must be more than 0 and at most 32 TiB.");
        }
    }

    private static void CheckHolder(string holder)
    {
        if (holder.Length is 0 or > 128)
        {
            throw Fault.InvalidArgument("InvalidParameter", "holder_id", "A holder id is 1-128 characters.");
        }
    }

    private static DomainException ContentNotFound(string manifestId) =>
        Fault.NotFound("InvalidContent.NotFound", $"No content {manifestId} in this region.");

    [LoggerMessage(Level = LogLevel.Debug, Message = "Released manifest {ManifestId} in {Region}")]
    private partial void LogReleased(string manifestId, string region);
}
