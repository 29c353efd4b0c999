using System.Buffers;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.ServiceDefaults.Errors;
using GrpcImages.ServiceDefaults.Validation;
using GrpcImages.Transfer.Storage;

namespace GrpcImages.Transfer.Content;

/// <summary>The content layer's operations on the blob stores of the regions this instance serves (R23, R34).</summary>
public sealed partial class ContentLibrary(IBlobStores stores, ContentIndex index, DataKeys dataKeys, ContentMetrics metrics, ILogger<ContentLibrary> logger)
{
    public const long MaxSizeBytes = 32L * 1024 * 1024 * 1024 * 1024; // 32 TiB, the largest data disk
    public const int MaxHolderLength = 128;

    /// <summary>How many chunks of one stream are hashed and written at once.</summary>
    private const int ParallelWrites = 6;

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
            await using var session = await WriteSession.OpenAsync(stores.InRegion(region), index, sizeBytes);
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
        await using var session = await WriteSession.OpenAsync(stores.InRegion(region), index, sizeBytes);
        return Committed(region, await session.CommitAsync(sizeBytes, sealing, holder, cancellationToken));
    }

    /// <summary>Stores a stream of bytes, padded with zeros up to <paramref name="sizeBytes"/>.</summary>
    public async Task<ContentInfo> WriteAsync(string region, long sizeBytes, string holder, ContentEncryption? encryption,
        IAsyncEnumerable<ReadOnlyMemory<byte>> data, CancellationToken cancellationToken)
    {
        CheckSize(sizeBytes);
        var (key, sealing) = encryption is null ? (null, null) : await dataKeys.NewAsync(encryption.AccountId, region, encryption.KmsKeyId, cancellationToken);
        using var cipher = key is null ? null : new ChunkCipher(key);
        await using var session = await WriteSession.OpenAsync(stores.InRegion(region), index, sizeBytes, cipher);
        // Chunks are hashed (sealed) and written while the next ones arrive.
        var writing = new Queue<(Task Stored, byte[] Buffer)>();
        try
        {
            await foreach (var chunk in Chunker.ChunksAsync(data, sizeBytes, cancellationToken))
            {
                if (writing.Count == ParallelWrites)
                {
                    await NextAsync();
                }
                writing.Enqueue((session.AddAsync(chunk.Position, chunk.Bytes, cancellationToken), chunk.Buffer));
            }
            while (writing.Count > 0)
            {
                await NextAsync();
            }
        }
        finally
        {
            foreach (var (stored, buffer) in writing)
            {
                await stored.ContinueWith(_ => ChunkBuffers.Shared.Return(buffer), TaskScheduler.Default);
            }
        }
        return Committed(region, await session.CommitAsync(sizeBytes, sealing, holder, cancellationToken));

        async Task NextAsync()
        {
            var (stored, buffer) = writing.Peek();
            try
            {
                await stored;
            }
            finally
            {
                writing.Dequeue();
                ChunkBuffers.Shared.Return(buffer);
            }
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
            await using var session = await WriteSession.OpenAsync(stores.InRegion(region), index, size, cipher);
            // The source's last chunk is rewritten when it was short and the content grows.
            var lastSource = source.Count - 1;
            var rewriteLast = source.ChunkLength(Math.Max(lastSource, 0)) != target.ChunkLength(Math.Max(lastSource, 0)) && source.HashAt(lastSource) is not null;
            var touched = Enumerable.Range(first, Math.Max(0, last - first + 1)).Concat(rewriteLast ? [lastSource] : []).ToHashSet();
            await ShareAsync(session, source.Stored.Where(c => !touched.Contains(c.Index)).Select(c => (c.Index, c.Name)).ToList(), cancellationToken);
            foreach (var i in touched.Order())
            {
                var existing = source.HashAt(i);
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
    /// Re-writes content of this instance's region under another encryption and/or into another region it
    /// serves: plaintext is sealed, sealed content is re-sealed with a new data key; encryption is never
    /// removed (R21, R23). Plaintext chunks the destination has already are shared, not written again.
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
            await using var session = await WriteSession.OpenAsync(stores.InRegion(destinationRegion), index, size, cipher);
            var growsLast = new Manifest(size, [], null).ChunkLength(source.Count - 1) != source.ChunkLength(source.Count - 1);
            var plain = cipher is null && sourceCipher is null;
            var shared = plain ? source.Stored.Where(c => !(growsLast && c.Index == source.Count - 1)).Select(c => (c.Index, c.Name)).ToList() : [];
            var missing = destinationRegion == region ? await ShareAsync(session, shared, cancellationToken) : await session.AddExistingAsync(shared, cancellationToken);
            var rewrite = plain ? missing.Select(m => m.Index).Concat(growsLast && source.HashAt(source.Count - 1) is not null ? [source.Count - 1] : []).ToHashSet()
                : source.Stored.Select(c => c.Index).ToHashSet();
            foreach (var chunk in source.Stored.Where(c => rewrite.Contains(c.Index)))
            {
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

    /// <summary>
    /// Content made of contents of the region one after another (a multipart upload's parts), committed under <paramref name="holder"/>.
    /// When every piece but the last is a whole number of chunks, the new manifest lists the pieces' chunks at their new positions and
    /// no byte is read or written again; otherwise the pieces' bytes are streamed into new chunks. A piece of 0 bytes has no manifest.
    /// </summary>
    public async Task<ContentInfo> ComposeAsync(string region, IReadOnlyList<(string ManifestId, long Size)> pieces, string holder, CancellationToken cancellationToken)
    {
        var size = pieces.Sum(p => p.Size);
        CheckSize(size);
        if (pieces.SkipLast(1).Any(p => p.Size % Manifest.ChunkSize != 0))
        {
            return await WriteAsync(region, size, holder, null, ConcatenatedAsync(region, pieces, cancellationToken), cancellationToken);
        }
        await using var session = await WriteSession.OpenAsync(stores.InRegion(region), index, size);
        long offset = 0;
        foreach (var (manifestId, pieceSize) in pieces)
        {
            if (manifestId.Length > 0)
            {
                var (manifest, _) = await LoadLiveAsync(region, manifestId, cancellationToken);
                if (manifest.Encryption is not null || manifest.SizeBytes != pieceSize)
                {
                    throw new InvalidDataException($"Content {manifestId} is sealed or not {pieceSize} bytes long; it cannot be a piece.");
                }
                var first = (int)(offset / Manifest.ChunkSize);
                foreach (var batch in manifest.Stored.Chunk(1024))
                {
                    if ((await session.AddExistingAsync(batch.Select(c => (first + c.Index, c.Name)).ToList(), cancellationToken)).Count > 0)
                    {
                        throw Fault.Aborted("ContentChanged", "A part's content was released while the object was assembled; retry.");
                    }
                }
            }
            offset += pieceSize;
        }
        return Committed(region, await session.CommitAsync(size, null, holder, cancellationToken));
    }

    private async IAsyncEnumerable<ReadOnlyMemory<byte>> ConcatenatedAsync(string region, IReadOnlyList<(string ManifestId, long Size)> pieces,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        foreach (var (manifestId, _) in pieces.Where(p => p.ManifestId.Length > 0))
        {
            await foreach (var piece in ReadAsync(region, manifestId, 0, 0, cancellationToken))
            {
                yield return piece;
            }
        }
    }

    public async Task<int> RetainAsync(string region, string manifestId, string holder)
    {
        CheckHolder(holder);
        stores.InRegion(region);
        var count = IsManifestId(manifestId) ? await index.RetainAsync(region, manifestId, holder) : -1;
        return count switch
        {
            >= 0 => count,
            ContentIndex.HolderGone => throw Fault.Aborted("HolderReleased", $"{holder} was released for good (its create was given up); it cannot hold content."),
            _ => throw ContentNotFound(manifestId),
        };
    }

    /// <summary>Removes a holder; the last one out drops the manifest's references to its chunks (R34). Releasing what is not held succeeds.</summary>
    public async Task<(int Left, bool Deleted)> ReleaseAsync(string region, string manifestId, string holder)
    {
        CheckHolder(holder);
        stores.InRegion(region);
        if (!IsManifestId(manifestId))
        {
            return (0, false);
        }
        var (left, dropped) = await index.ReleaseAsync(region, manifestId, holder);
        if (dropped)
        {
            LogReleased(manifestId, region);
        }
        return (left, dropped);
    }

    /// <summary>Drops a write session that will not be committed (its pins go; chunks only it held become collectable).</summary>
    public Task AbortSessionAsync(string region, string session) => index.AbortSessionAsync(region, session);

    /// <summary>
    /// Removes a holder from every manifest it holds in the region; returns how many it held. A
    /// <paramref name="final"/> release also keeps the holder from holding again.
    /// </summary>
    public async Task<int> ReleaseHolderAsync(string region, string holder, bool final = false)
    {
        CheckHolder(holder);
        stores.InRegion(region);
        if (final)
        {
            await index.MarkGoneAsync(region, holder);
        }
        var manifests = await index.HeldByAsync(region, holder);
        foreach (var manifestId in manifests)
        {
            await index.ReleaseAsync(region, manifestId, holder);
        }
        return manifests.Count;
    }

    public async Task<ContentInfo> DescribeAsync(string region, string manifestId, CancellationToken cancellationToken)
    {
        var (manifest, holders) = await LoadLiveAsync(region, manifestId, cancellationToken);
        return Describe(region, manifest, holders);
    }

    /// <summary>A page of a manifest's stored chunks from position <paramref name="from"/>; the next position to ask for, or -1 at the end.</summary>
    public async Task<(IReadOnlyList<ChunkRef> Chunks, int Next)> ListChunksAsync(string region, string manifestId, int from, int pageSize, CancellationToken cancellationToken)
    {
        var (manifest, _) = await LoadLiveAsync(region, manifestId, cancellationToken);
        var page = manifest.Stored.Where(c => c.Index >= from).Take(pageSize + 1).ToList();
        return page.Count > pageSize ? (page[..pageSize], page[pageSize].Index) : (page, -1);
    }

    /// <summary>Chunks of a manifest at the positions asked: stored bytes as they are, or opened to plaintext.</summary>
    public async IAsyncEnumerable<(int Index, ReadOnlyMemory<byte> Data, string Sha256)> PullAsync(string region, string manifestId, IReadOnlyList<int> positions,
        bool plaintext, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var (manifest, _) = await LoadLiveAsync(region, manifestId, cancellationToken);
        using var cipher = plaintext ? await CipherAsync(manifest, region, cancellationToken) : null;
        var buffer = ArrayPool<byte>.Shared.Rent(Manifest.ChunkSize + ChunkCipher.Overhead);
        try
        {
            foreach (var position in positions)
            {
                if (position < 0 || position >= manifest.Count || manifest.HashAt(position) is not { } hash)
                {
                    continue;
                }
                if (plaintext)
                {
                    var chunk = buffer.AsMemory(0, manifest.ChunkLength(position));
                    await ReadChunkAsync(region, hash, position, cipher, chunk, cancellationToken);
                    yield return (position, chunk, Convert.ToHexStringLower(SHA256.HashData(chunk.Span)));
                }
                else
                {
                    // Stored bytes are named by their SHA-256 already; the receiver checks them against it.
                    var name = Convert.ToHexStringLower(hash);
                    var read = await stores.InRegion(region).ReadAsync(name, 0, buffer, cancellationToken);
                    yield return (position, buffer.AsMemory(0, read), name);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>The pieces <see cref="ReadAsync"/> yields unless asked otherwise: 1 MiB, under gRPC's default message size.</summary>
    public const int DefaultPieceBytes = 1024 * 1024;

    /// <summary>
    /// The content's plaintext bytes from <paramref name="offset"/>, in pieces of at most <paramref name="pieceBytes"/> (at most a chunk),
    /// each valid until the next is asked for. The next chunk is read while the pieces of this one are consumed (two buffers), so
    /// a reader that sends them on (an HTTP body, a stream) does not wait for the disk between chunks.
    /// </summary>
    public async IAsyncEnumerable<ReadOnlyMemory<byte>> ReadAsync(string region, string manifestId, long offset, long length,
        [EnumeratorCancellation] CancellationToken cancellationToken, int pieceBytes = DefaultPieceBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pieceBytes, 1);
        var (manifest, _) = await LoadLiveAsync(region, manifestId, cancellationToken);
        if (offset < 0 || length < 0 || offset > manifest.SizeBytes)
        {
            throw Fault.InvalidArgument("InvalidParameter", "offset", "The range must lie inside the content.");
        }
        var end = length == 0 ? manifest.SizeBytes : Math.Min(manifest.SizeBytes, offset + length);
        if (end <= offset)
        {
            yield break;
        }
        using var cipher = await CipherAsync(manifest, region, cancellationToken);
        var first = (int)(offset / Manifest.ChunkSize);
        var last = (int)((end - 1) / Manifest.ChunkSize);
        byte[][] buffers = last > first
            ? [ArrayPool<byte>.Shared.Rent(Manifest.ChunkSize), ArrayPool<byte>.Shared.Rent(Manifest.ChunkSize)]
            : [ArrayPool<byte>.Shared.Rent(Manifest.ChunkSize)];
        Memory<byte> BufferOf(int i) => buffers[i % buffers.Length].AsMemory(0, manifest.ChunkLength(i));
        Task? pending = ReadChunkAsync(region, manifest.HashAt(first), first, cipher, BufferOf(first), cancellationToken);
        try
        {
            for (var i = first; i <= last; i++)
            {
                await pending!;
                pending = i < last ? ReadChunkAsync(region, manifest.HashAt(i + 1), i + 1, cipher, BufferOf(i + 1), cancellationToken) : null;
                var chunk = BufferOf(i);
                var chunkStart = (long)i * Manifest.ChunkSize;
                var from = (int)(Math.Max(offset, chunkStart) - chunkStart);
                var to = (int)(Math.Min(end, chunkStart + chunk.Length) - chunkStart);
                for (var p = from; p < to; p += pieceBytes)
                {
                    yield return chunk[p..Math.Min(to, p + pieceBytes)];
                }
            }
        }
        finally
        {
            if (pending is not null)
            {
                // A reader that stopped early: the read ahead still writes into its buffer, which goes back to the pool only once it is done.
                await Task.WhenAny(pending);
                _ = pending.Exception;
            }
            foreach (var buffer in buffers)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    /// <summary>A live manifest with its holder count (NotFound when it is not live).</summary>
    public async Task<(Manifest Manifest, int Holders)> LoadLiveAsync(string region, string manifestId, CancellationToken cancellationToken)
    {
        var store = stores.InRegion(region);
        var record = IsManifestId(manifestId) ? await index.GetAsync(region, manifestId) : null;
        return record is { State: ManifestState.Live }
            ? (Manifest.Parse(await store.ReadAllAsync($"m:{manifestId}", cancellationToken)), record.Holders)
            : throw ContentNotFound(manifestId);
    }

    /// <summary>Reads chunk <paramref name="position"/>'s plaintext (zeros for a zero chunk), opening it when sealed.</summary>
    public async Task ReadChunkAsync(string region, byte[]? hash, int position, ChunkCipher? cipher, Memory<byte> plaintext, CancellationToken cancellationToken)
    {
        if (hash is null)
        {
            plaintext.Span.Clear();
            return;
        }
        var name = Convert.ToHexStringLower(hash);
        var store = stores.InRegion(region);
        if (cipher is null)
        {
            var read = await store.ReadAsync(name, 0, plaintext, cancellationToken);
            if (read != plaintext.Length)
            {
                throw new InvalidDataException($"Chunk {name} in {region} has {read} bytes, expected {plaintext.Length}.");
            }
            return;
        }
        var sealedChunk = ArrayPool<byte>.Shared.Rent(plaintext.Length + ChunkCipher.Overhead);
        try
        {
            var read = await store.ReadAsync(name, 0, sealedChunk.AsMemory(0, plaintext.Length + ChunkCipher.Overhead), cancellationToken);
            await ChunkThreads.RunAsync(() => cipher.Open(sealedChunk.AsSpan(0, read), position, plaintext.Span), cancellationToken);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(sealedChunk);
        }
    }

    /// <summary>Reads <paramref name="plaintext"/>.Length bytes of chunk <paramref name="position"/>'s plaintext from <paramref name="offset"/> in it: a range of a plain blob, or the whole chunk opened when it is sealed.</summary>
    public async Task ReadChunkRangeAsync(string region, byte[] hash, int position, int chunkLength, ChunkCipher? cipher, int offset, Memory<byte> plaintext,
        CancellationToken cancellationToken)
    {
        if (cipher is not null)
        {
            var whole = ArrayPool<byte>.Shared.Rent(Manifest.ChunkSize);
            try
            {
                await ReadChunkAsync(region, hash, position, cipher, whole.AsMemory(0, chunkLength), cancellationToken);
                whole.AsMemory(offset, plaintext.Length).CopyTo(plaintext);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(whole);
            }
            return;
        }
        var name = Convert.ToHexStringLower(hash);
        var read = await stores.InRegion(region).ReadAsync(name, offset, plaintext, cancellationToken);
        if (read != plaintext.Length)
        {
            throw new InvalidDataException($"Chunk {name} in {region} ends before {offset + plaintext.Length} bytes.");
        }
    }

    /// <summary>Reads a chunk's stored bytes (sealed as stored) into <paramref name="buffer"/>; returns their length.</summary>
    public async Task<ChunkCipher?> CipherAsync(Manifest manifest, string region, CancellationToken cancellationToken) =>
        manifest.Encryption is null ? null : new ChunkCipher(await dataKeys.OpenAsync(manifest.Encryption, region, cancellationToken));

    public ContentInfo Committed(string region, (Manifest Manifest, int Holders) committed)
    {
        metrics.Committed(region, committed.Manifest);
        return Describe(region, committed.Manifest, committed.Holders);
    }

    public static bool IsManifestId(string manifestId) => manifestId.Length == 64 && manifestId.All(char.IsAsciiHexDigitLower);

    /// <summary>Shares chunks of a live manifest of the same region; they must still be there (else the source changed under the copy).</summary>
    private static async Task<IReadOnlyList<(int Index, string Name)>> ShareAsync(WriteSession session, IReadOnlyList<(int Index, string Name)> chunks,
        CancellationToken cancellationToken)
    {
        if ((await session.AddExistingAsync(chunks, cancellationToken)).Count > 0)
        {
            throw Fault.Aborted("ContentChanged", "The source content was released while it was being copied; retry.");
        }
        return [];
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
            StoredChunkCount = manifest.Stored.Count,
            HolderCount = holders,
            Digest = manifest.Digest(),
        };
        if (manifest.Encryption is not null)
        {
            info.Encryption = new ContentEncryption { AccountId = manifest.Encryption.AccountId, KmsKeyId = manifest.Encryption.KmsKeyId };
        }
        return info;
    }

    public static void CheckSize(long sizeBytes)
    {
        if (sizeBytes <= 0 || sizeBytes > MaxSizeBytes)
        {
            throw Fault.InvalidArgument("InvalidParameter", "size_bytes", "The size must be more than 0 and at most 32 TiB.");
        }
    }

    private static void CheckHolder(string holder)
    {
        if (holder.Length is 0 or > MaxHolderLength)
        {
            throw Fault.InvalidArgument("InvalidParameter", "holder_id", $"A holder id is 1-{MaxHolderLength} characters.");
        }
    }

    private static DomainException ContentNotFound(string manifestId) =>
        Fault.NotFound("InvalidContent.NotFound", $"No content {Check.Echo(manifestId)} in this region.");

    [LoggerMessage(Level = LogLevel.Debug, Message = "Released manifest {ManifestId} in {Region}")]
    private partial void LogReleased(string manifestId, string region);
}
