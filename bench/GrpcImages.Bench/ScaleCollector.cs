using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Security.Cryptography;
using GrpcImages.Transfer.Content;
using GrpcImages.Transfer.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using StackExchange.Redis.Profiling;

namespace GrpcImages.Bench;

/// <summary>
/// One pass of the transfer service's garbage collector over a region holding <c>chunks</c> chunk
/// references, a tenth of them at zero references past the grace period: the collector and the
/// content index are the service's own. The blob store is either a stand-in that deletes nothing (the
/// pass's Redis side alone) or the service's file store under <c>files</c>, holding a 4 KiB file for each
/// garbage chunk (the live chunks' files are left out: a regular pass never looks at them). The pass
/// measured is a regular one: the collector's first pass, which also lists the disk for files no
/// reference names (every OrphanSweepIntervalSeconds), runs before the region is filled.
/// </summary>
internal static class ScaleCollector
{
    private const int FileBytes = 4096;

    /// <summary>Fills the region's chunk shards, runs one pass; returns its seconds, the Redis commands it sent and the chunks it collected.</summary>
    public static async Task<(double Seconds, long Commands, int Collected)> RunAsync(IConnectionMultiplexer mux, string region, int chunks, string? files = null)
    {
        var db = mux.GetDatabase();
        var meters = new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>();
        IBlobStores stores = files is null ? new NoStores(region) : new OneStore(new FileBlobStore(files, region));
        var collector = new GarbageCollector(stores, new ContentIndex(db, TimeProvider.System),
            Options.Create(new BlobOptions { GcGraceSeconds = 60 }), new ContentMetrics(meters), TimeProvider.System, NullLogger<GarbageCollector>.Instance);
        await collector.CollectAsync(region, CancellationToken.None); // the first pass sweeps the (empty) disk
        var content = new byte[FileBytes];
        var old = DateTimeOffset.UtcNow.AddHours(-1).ToUnixTimeMilliseconds();
        var pending = new List<Task>();
        foreach (var batch in Enumerable.Range(0, chunks).Chunk(1000))
        {
            // Chunk names are the hex SHA-256 of their bytes, so they spread evenly over the 16 shards.
            var names = batch.Select(i => (Index: i, Name: Convert.ToHexStringLower(SHA256.HashData(BitConverter.GetBytes(i + (long)chunks << 32))))).ToList();
            foreach (var shard in names.GroupBy(n => Storage(n.Name)))
            {
                pending.Add(db.HashSetAsync(TransferKeys.Refs(region, shard.Key), shard.Select(n => new HashEntry(n.Name, n.Index % 10 == 0 ? 0 : 1)).ToArray()));
                var garbage = shard.Where(n => n.Index % 10 == 0).Select(n => new SortedSetEntry(n.Name, old)).ToArray();
                if (garbage.Length > 0)
                {
                    pending.Add(db.SortedSetAddAsync(TransferKeys.Gc(region, shard.Key), garbage));
                }
                if (files is not null)
                {
                    var store = (FileBlobStore)stores.InRegion(region);
                    foreach (var chunk in garbage)
                    {
                        var path = store.PathOf(chunk.Element.ToString());
                        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                        await File.WriteAllBytesAsync(path, content);
                    }
                }
            }
            if (pending.Count > 2000)
            {
                await Task.WhenAll(pending);
                pending.Clear();
            }
        }
        await Task.WhenAll(pending);

        return await TimedPassAsync(mux, collector, region);

        static char Storage(string name) => TransferKeys.ShardOf(name);
    }

    /// <summary>
    /// The collector's orphan sweep (its first pass, and then one every OrphanSweepIntervalSeconds) over a file store
    /// holding <paramref name="count"/> chunk files, all referenced and older than the grace period, so it lists them all
    /// and asks the index about each (one script per 500) and deletes none; the pass after it finds no garbage. Returns
    /// its seconds and Redis commands.
    /// </summary>
    public static async Task<(double Seconds, long Commands)> SweepAsync(IConnectionMultiplexer mux, string region, int count, string files)
    {
        var db = mux.GetDatabase();
        var meters = new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>();
        var store = new FileBlobStore(files, region);
        var content = new byte[FileBytes];
        var aged = DateTime.UtcNow.AddHours(-1);
        var pending = new List<Task>();
        foreach (var batch in Enumerable.Range(0, count).Chunk(1000))
        {
            var names = batch.Select(i => Convert.ToHexStringLower(SHA256.HashData(BitConverter.GetBytes(i + ((long)count << 33))))).ToList();
            foreach (var shard in names.GroupBy(TransferKeys.ShardOf))
            {
                pending.Add(db.HashSetAsync(TransferKeys.Refs(region, shard.Key), shard.Select(n => new HashEntry(n, 1)).ToArray()));
            }
            foreach (var name in names)
            {
                var path = store.PathOf(name);
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                await File.WriteAllBytesAsync(path, content);
                File.SetLastWriteTimeUtc(path, aged);
            }
        }
        await Task.WhenAll(pending);

        var collector = new GarbageCollector(new OneStore(store), new ContentIndex(db, TimeProvider.System),
            Options.Create(new BlobOptions { GcGraceSeconds = 60 }), new ContentMetrics(meters), TimeProvider.System, NullLogger<GarbageCollector>.Instance);
        var (seconds, commands, collected) = await TimedPassAsync(mux, collector, region);
        return collected == 0 ? (seconds, commands) : throw new InvalidOperationException($"The sweep deleted {collected} live chunks.");
    }

    /// <summary>One collector pass: its seconds, the Redis commands it sent (the client's profiler) and the chunks it collected.</summary>
    private static async Task<(double Seconds, long Commands, int Collected)> TimedPassAsync(IConnectionMultiplexer mux, GarbageCollector collector, string region)
    {
        var session = new ProfilingSession();
        mux.RegisterProfiler(() => session);
        var clock = Stopwatch.StartNew();
        var (collected, _) = await collector.CollectAsync(region, CancellationToken.None);
        var seconds = clock.Elapsed.TotalSeconds;
        mux.RegisterProfiler(() => null);
        return (seconds, session.FinishProfiling().Count(), collected);
    }

    /// <summary>One region's file store.</summary>
    private sealed class OneStore(FileBlobStore store) : IBlobStores
    {
        public bool Serves(string r) => r == store.Region;

        public IBlobStore InRegion(string r) => store;
    }

    /// <summary>A region's store that holds nothing: deletes return at once, the listing is empty.</summary>
    private sealed class NoStores(string region) : IBlobStores, IBlobStore
    {
        public string Region => region;

        public bool Serves(string r) => r == region;

        public IBlobStore InRegion(string r) => this;

        public ValueTask<long> DeleteAsync(string name, CancellationToken cancellationToken) => ValueTask.FromResult(0L);

        public async IAsyncEnumerable<BlobEntry> ListAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await Task.CompletedTask;
            yield break;
        }

        public ValueTask<bool> ExistsAsync(string name, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<IReadOnlyList<bool>> ExistAsync(IReadOnlyList<string> names, CancellationToken cancellationToken) => throw new NotSupportedException();

        public ValueTask<bool> WriteAsync(string name, ReadOnlyMemory<byte> data, bool force, CancellationToken cancellationToken) => throw new NotSupportedException();

        public ValueTask<bool> CopyFromAsync(IBlobStore source, string name, CancellationToken cancellationToken) => throw new NotSupportedException();

        public ValueTask<int> ReadAsync(string name, long offset, Memory<byte> buffer, CancellationToken cancellationToken) => throw new NotSupportedException();

        public ValueTask<byte[]> ReadAllAsync(string name, CancellationToken cancellationToken) => throw new NotSupportedException();
    }
}
