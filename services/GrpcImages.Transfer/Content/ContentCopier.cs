using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Threading.Channels;
using Grpc.Core;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.ServiceDefaults.Errors;
using GrpcImages.ServiceDefaults.Peers;
using GrpcImages.Transfer.Storage;
using Microsoft.Extensions.Options;

namespace GrpcImages.Transfer.Content;

/// <summary>A copy of one manifest: from where, to where, sealed how (null: plaintext), in which write session, for which holder.</summary>
public sealed record CopyOrder(string SourceRegion, string ManifestId, string DestinationRegion, ManifestEncryption? Sealing, byte[]? DataKey,
    string SessionId, string Holder);

/// <summary>How far a copy has come: bytes moved or found in place, and of those the ones the destination had already (deduplicated).</summary>
public readonly record struct CopyProgress(long BytesDone, long BytesSkipped, long BytesTotal);

/// <summary>
/// Copies a manifest into a region this instance serves (R5, R8, R11, R20): from this instance's own
/// store when it serves the source region too, else pulled over gRPC from the transfer instance that
/// does. Plaintext chunks the destination already stores are not sent again (deduplication), and a
/// copy resumed after a crash skips what its write session recorded. Every chunk received is checked
/// against its SHA-256 before it is stored; sealed content is opened at the source and sealed again
/// with the destination's data key. Chunks flow through a small bounded pipeline: reading, checking
/// and writing overlap, and memory stays flat whatever the size.
/// </summary>
public sealed class ContentCopier(IBlobStores stores, ContentIndex index, ContentLibrary library, RegionPeers<ContentService.ContentServiceClient> transfers,
    RegionPeers<ChunkPullClient> pulls,
    IOptions<TransferOptions> options)
{
    /// <summary>Chunks listed (and pulled) per round.</summary>
    private const int Page = 256;

    /// <summary>Chunks buffered between the reader and the writers (16 MiB).</summary>
    private const int InFlight = 4;

    private const int Writers = 4;

    public async Task<ContentInfo> CopyAsync(CopyOrder order, Func<CopyProgress, Task> progress, CancellationToken cancellationToken)
    {
        var source = await SourceAsync(order.SourceRegion, order.ManifestId, cancellationToken);
        if (source.Sealed && order.Sealing is null)
        {
            throw Fault.FailedPrecondition("OperationDeined.EncryptedSnapshot", "Encrypted content cannot be copied to plaintext.");
        }
        var reseal = source.Sealed || order.Sealing is not null;
        using var cipher = order.DataKey is null ? null : new ChunkCipher(order.DataKey);
        await using var session = await WriteSession.OpenAsync(stores.InRegion(order.DestinationRegion), index, source.SizeBytes, cipher, order.SessionId);
        var resumed = session.Stored;
        var total = source.StoredBytes;
        var done = resumed.Keys.Sum(i => (long)ChunkLength(source.SizeBytes, i));
        long skipped = 0;
        var throttle = new Throttle(options.Value.MaxBytesPerSecondPerTask);

        var channel = Channel.CreateBounded<Piece>(new BoundedChannelOptions(InFlight) { SingleReader = false, SingleWriter = true });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var writers = Enumerable.Range(0, Writers).Select(_ => Task.Run(async () =>
        {
            try
            {
                await foreach (var piece in channel.Reader.ReadAllAsync(stop.Token))
                {
                    using (piece)
                    {
                        if (!piece.Verified && !await ChunkThreads.RunAsync(() => string.Equals(Convert.ToHexStringLower(SHA256.HashData(piece.Data.Span)), piece.Sha256,
                                StringComparison.Ordinal), stop.Token))
                        {
                            throw new InvalidDataException($"Chunk {piece.Index} of {order.ManifestId} arrived damaged (its SHA-256 differs).");
                        }
                        if (reseal)
                        {
                            await session.AddAsync(piece.Index, piece.Data, stop.Token);
                        }
                        else if (piece.From is { } from)
                        {
                            await session.CopyStoredAsync(piece.Index, piece.Sha256, from, stop.Token);
                        }
                        else
                        {
                            await session.AddStoredAsync(piece.Index, piece.Sha256, piece.Data, stop.Token);
                        }
                        var now = Interlocked.Add(ref done, piece.Length);
                        await throttle.WaitAsync(piece.Length, stop.Token);
                        await progress(new CopyProgress(now, Interlocked.Read(ref skipped), total));
                    }
                }
            }
            catch
            {
                await stop.CancelAsync(); // the reader stops too
                throw;
            }
        }, CancellationToken.None)).ToList();

        try
        {
            await foreach (var page in source.PagesAsync(Page, stop.Token))
            {
                var remaining = page.Where(c => !resumed.ContainsKey(c.Index)).ToList();
                if (!reseal && remaining.Count > 0)
                {
                    var missing = (await session.AddExistingAsync(remaining.Select(c => (c.Index, c.Name)).ToList(), stop.Token)).ToHashSet();
                    var found = remaining.Count - missing.Count;
                    if (found > 0)
                    {
                        var bytes = remaining.Where(c => !missing.Contains((c.Index, c.Name))).Sum(c => (long)ChunkLength(source.SizeBytes, c.Index));
                        Interlocked.Add(ref skipped, bytes);
                        await progress(new CopyProgress(Interlocked.Add(ref done, bytes), Interlocked.Read(ref skipped), total));
                    }
                    remaining = remaining.Where(c => missing.Contains((c.Index, c.Name))).ToList();
                }
                await foreach (var piece in source.PullAsync(remaining.Select(c => c.Index).ToList(), reseal, stop.Token))
                {
                    await channel.Writer.WriteAsync(piece, stop.Token);
                }
            }
            channel.Writer.Complete();
            await Task.WhenAll(writers);
        }
        catch (Exception ex)
        {
            channel.Writer.TryComplete();
            await stop.CancelAsync();
            var failures = new List<Exception>();
            foreach (var writer in writers)
            {
                try
                {
                    await writer;
                }
                catch (Exception failure) when (failure is not OperationCanceledException)
                {
                    failures.Add(failure);
                }
                catch (OperationCanceledException)
                {
                }
            }
            try
            {
                await session.FlushAsync();
            }
            catch (Exception flush) when (ServiceDefaults.Redis.RedisFailures.IsUnavailable(flush))
            {
                // Unrecorded chunks are only copied again.
            }
            session.Keep(); // a retry resumes from what was recorded
            // A writer's own failure says why; the reader's cancellation is only its echo.
            if (failures.Count > 0 && ex is OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failures[0]);
            }
            throw;
        }
        var committed = await session.CommitAsync(source.SizeBytes, order.Sealing, order.Holder, cancellationToken);
        return library.Committed(order.DestinationRegion, committed);
    }

    private static int ChunkLength(long size, int index) => (int)Math.Min(Manifest.ChunkSize, size - (long)index * Manifest.ChunkSize);

    private async Task<Source> SourceAsync(string region, string manifestId, CancellationToken cancellationToken)
    {
        if (stores.Serves(region))
        {
            var (manifest, _) = await library.LoadLiveAsync(region, manifestId, cancellationToken);
            return new LocalSource(library, stores.InRegion(region), manifest);
        }
        var client = transfers.In(region);
        var info = (await client.GetContentInfoAsync(new GetContentInfoRequest { RegionId = region, ManifestId = manifestId }, cancellationToken: cancellationToken)).Content;
        return new RemoteSource(client, pulls.In(region), region, info);
    }

    /// <summary>
    /// A chunk on its way: its position, bytes (as stored, or plaintext), their SHA-256, whether they need
    /// checking (bytes received from another instance do; our own store's do not, and sealed chunks open
    /// only when whole), and the buffer to give back. A chunk kept as stored between two of this
    /// instance's stores carries no bytes, only the store to copy it from (the copy stays in the kernel).
    /// </summary>
    private sealed class Piece(int index, int length, ReadOnlyMemory<byte> data, string sha256, bool verified, IDisposable? owner = null, IBlobStore? from = null)
        : IDisposable
    {
        public int Index => index;

        public ReadOnlyMemory<byte> Data => data;

        public int Length => length;

        public IBlobStore? From => from;

        public string Sha256 => sha256;

        public bool Verified => verified;

        public void Dispose() => owner?.Dispose();
    }

    private abstract class Source(long sizeBytes, long storedBytes, bool sealedContent)
    {
        public long SizeBytes => sizeBytes;

        public long StoredBytes => storedBytes;

        public bool Sealed => sealedContent;

        public abstract IAsyncEnumerable<IReadOnlyList<ChunkRef>> PagesAsync(int pageSize, CancellationToken cancellationToken);

        public abstract IAsyncEnumerable<Piece> PullAsync(IReadOnlyList<int> positions, bool plaintext, CancellationToken cancellationToken);
    }

    /// <summary>The source region's store is this instance's own: chunks are read from it directly.</summary>
    private sealed class LocalSource(ContentLibrary library, IBlobStore store, Manifest manifest)
        : Source(manifest.SizeBytes, manifest.StoredBytes, manifest.Encryption is not null)
    {
        public override async IAsyncEnumerable<IReadOnlyList<ChunkRef>> PagesAsync(int pageSize, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            for (var i = 0; i < manifest.Stored.Count; i += pageSize)
            {
                yield return manifest.Stored.Skip(i).Take(pageSize).ToList();
            }
            await Task.CompletedTask;
        }

        public override async IAsyncEnumerable<Piece> PullAsync(IReadOnlyList<int> positions, bool plaintext, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            if (!plaintext)
            {
                // Our own store's bytes are named by their SHA-256 as stored.
                foreach (var position in positions)
                {
                    yield return new Piece(position, manifest.ChunkLength(position), default, Convert.ToHexStringLower(manifest.HashAt(position)!), verified: true, from: store);
                }
                yield break;
            }
            using var cipher = await library.CipherAsync(manifest, store.Region, cancellationToken);
            // A few chunks are read ahead at once: one read at a time leaves the disk idle between them.
            var reading = new Queue<Task<PooledChunk>>();
            try
            {
                foreach (var position in positions)
                {
                    reading.Enqueue(ReadAsync(cipher, position, cancellationToken));
                    if (reading.Count == ReadAhead)
                    {
                        yield return Ready(await reading.Dequeue());
                    }
                }
                while (reading.Count > 0)
                {
                    yield return Ready(await reading.Dequeue());
                }
            }
            finally
            {
                foreach (var pending in reading)
                {
                    // Reads started after the one that ended the copy: their buffers go back; their own errors say nothing new.
                    await pending.ContinueWith(static read =>
                    {
                        if (read.IsCompletedSuccessfully)
                        {
                            read.Result.Dispose();
                        }
                    }, TaskScheduler.Default);
                }
            }
        }

        private const int ReadAhead = 4;

        // A sealed chunk opened is checked by its cipher; plaintext is not named.
        private static Piece Ready(PooledChunk chunk) => new(chunk.Index, chunk.Data.Length, chunk.Data, "", verified: true, chunk);

        private async Task<PooledChunk> ReadAsync(ChunkCipher? cipher, int position, CancellationToken cancellationToken)
        {
            var chunk = new PooledChunk(position, ChunkBuffers.Shared.Rent(), manifest.ChunkLength(position), "");
            try
            {
                await library.ReadChunkAsync(store.Region, manifest.HashAt(position)!, position, cipher, chunk.Writable, cancellationToken);
                return chunk;
            }
            catch
            {
                chunk.Dispose();
                throw;
            }
        }
    }

    /// <summary>The source region is another instance's: chunks come over a PullChunks stream.</summary>
    private sealed class RemoteSource(ContentService.ContentServiceClient client, ChunkPullClient pull, string region, ContentInfo info)
        : Source(info.SizeBytes, info.StoredBytes, info.Encryption is not null)
    {
        public override async IAsyncEnumerable<IReadOnlyList<ChunkRef>> PagesAsync(int pageSize, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            var token = "";
            do
            {
                var page = await client.ListContentChunksAsync(new ListContentChunksRequest
                {
                    RegionId = region, ManifestId = info.ManifestId, PageSize = pageSize, PageToken = token,
                }, cancellationToken: cancellationToken);
                yield return page.Chunks.Select(c => new ChunkRef(c.Index, Convert.FromHexString(c.Name))).ToList();
                token = page.NextPageToken;
            }
            while (token.Length > 0);
        }

        public override async IAsyncEnumerable<Piece> PullAsync(IReadOnlyList<int> positions, bool plaintext, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            if (positions.Count == 0)
            {
                yield break;
            }
            var request = new PullChunksRequest { RegionId = region, ManifestId = info.ManifestId, Plaintext = plaintext };
            request.Indexes.AddRange(positions);
            using var call = pull.PullChunks(request, cancellationToken);
            while (await call.ResponseStream.MoveNext(cancellationToken))
            {
                var chunk = call.ResponseStream.Current;
                yield return new Piece(chunk.Index, chunk.Data.Length, chunk.Data, chunk.Sha256, verified: false, chunk);
            }
        }
    }
}
