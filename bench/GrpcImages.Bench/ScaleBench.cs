using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using GrpcImages.Catalog.Storage;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.ServiceDefaults.Storage;
using GrpcImages.ServiceDefaults.Validation;
using GrpcImages.ServiceDefaults.Work;
using GrpcImages.Sharing.Storage;
using GrpcImages.Testing;
using StackExchange.Redis;

namespace GrpcImages.Bench;

/// <summary>
/// Costs as the catalog grows (issue 24). The cluster runs as deployed (ApiBench); Redis is filled
/// directly through the services' own stores and scripts (ImageStore's create script, ShareStore's
/// grant script and outbox, WorkQueue), pipelined, because a million creates through the API would
/// take hours here. At each step (10^3, 10^5, 10^6 images in one region; the measured account holds
/// min(N, 5x10^4), the rest belong to accounts of 1,000) it measures Redis memory per image, GetImage
/// and ListImages through h2load, a recipient's list of shared images, the copy queue's claim, and
/// the deletion of the account's images through the API.
/// </summary>
public static class ScaleBench
{
    private const string Region = ApiBench.Region; // the region of the bench cluster
    private const int OwnerMax = 50_000;
    private const int FillerSize = 1_000;
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>One figure at each step.</summary>
    private sealed record Figure(string Name, string Unit, List<double> Values, List<string> Sizes);

    public static async Task<int> RunAsync(string[] args)
    {
        var sizes = (args.SkipWhile(a => a != "--sizes").Skip(1).FirstOrDefault() ?? "1000,100000,1000000")
            .Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        var seconds = BenchTools.Option(args, "--seconds", 4);
        var callers = (int)BenchTools.Option(args, "--callers", 16);
        if (!H2Load.Available)
        {
            Console.Error.WriteLine("h2load is missing: scripts/bench.sh installs it (nghttp2-client).");
            return 1;
        }
        var (cluster, _) = await ApiBench.StartBenchClusterAsync();
        await using var _c = cluster;
        var owner = await cluster.NewAccountAsync();
        var recipient = await cluster.NewAccountAsync();
        var template = await TemplateImageAsync(owner);
        await using var mux = await ConnectionMultiplexer.ConnectAsync(cluster.RedisConfiguration + ",allowAdmin=true,syncTimeout=60000,asyncTimeout=60000");
        var db = mux.GetDatabase();
        var server = mux.GetServers()[0];
        var images = new ImageStore(db);
        var catalog = $"http://127.0.0.1:{cluster.Port(ServiceKind.Catalog)}";
        var imagesApi = owner.Client<ImageService.ImageServiceClient>();

        // The floor of the same run (the machine is shared, so absolute figures move): ApiBench's bare gRPC + one Redis GET.
        var (baselineProcess, baseline) = await ApiBench.StartBaselineAsync(cluster, template);
        using var _b = baselineProcess;

        var figures = new List<Figure>();
        void Add(string name, string unit, string size, double value)
        {
            var figure = figures.FirstOrDefault(f => f.Name == name);
            if (figure is null)
            {
                figures.Add(figure = new Figure(name, unit, [], []));
            }
            figure.Values.Add(value);
            figure.Sizes.Add(size);
            Console.WriteLine($"  {name} [{size}]: {value:F1} {unit}");
        }

        var fillers = 0L; // images of the filler accounts so far
        var step = 0;
        foreach (var total in sizes)
        {
            step++;
            var ownerCount = Math.Min(total, OwnerMax);
            var shared = Math.Min(10_000, (int)Math.Pow(10, step + 1)); // 10^2, 10^3, 10^4
            var waiting = shared; // copies waiting in the queue, likewise
            Console.WriteLine($"== {total:N0} images in {Region}, {ownerCount:N0} of them the measured account's; {shared:N0} shared with the recipient; {waiting:N0} copies waiting");

            // (a) memory: used_memory over the images this step adds (the account's were deleted at the last step's end).
            var before = UsedMemory(server);
            var clock = Stopwatch.StartNew();
            var ownerIds = await FillAsync(images, template, owner.AccountId, ownerCount, $"s{step}");
            var added = ownerCount;
            while (fillers + ownerCount < total)
            {
                var n = (int)Math.Min(FillerSize, total - ownerCount - fillers);
                await FillAsync(images, template, $"filler-{fillers / FillerSize:D6}", n, "f");
                fillers += n;
                added += n;
            }
            var after = UsedMemory(server);
            Console.WriteLine($"  filled {added:N0} images in {clock.Elapsed.TotalSeconds:F1} s");
            var size = $"{total:0.#e0}";
            Add("Redis used_memory per image (INFO delta / images added)", "B", size, (after - before) / (double)added);
            await MemoryBreakdownAsync(db, owner.AccountId, ownerIds, size, Add);

            // (b) GetImage and ListImages through h2load at the real catalog.
            var own = ownerIds[ownerIds.Count / 2];
            Report(Add, "baseline GetImage (gRPC + one Redis GET)", size, H2Load.Run(baseline, "/grpcimages.catalog.v1.ImageService/GetImage", "",
                new GetImageRequest { RegionId = Region, ImageId = own }, callers, seconds, 1));
            var get = H2Load.Run(catalog, "/grpcimages.catalog.v1.ImageService/GetImage", owner.Token,
                new GetImageRequest { RegionId = Region, ImageId = own }, callers, seconds, 1);
            Report(Add, "GetImage (own)", $"{ownerCount:0.#e0} own", get);
            var first = new ListImagesRequest { RegionId = Region, OwnerAlias = ImageOwnerAlias.Self, PageSize = 50 };
            Report(Add, "ListImages, first page of 50", $"{ownerCount:0.#e0} own",
                H2Load.Run(catalog, "/grpcimages.catalog.v1.ImageService/ListImages", owner.Token, first, callers, seconds, 1));
            var deep = await DeepPageAsync(imagesApi, ownerCount / 2);
            Report(Add, "ListImages, page of 50 at the middle (page token)", $"{ownerCount:0.#e0} own",
                H2Load.Run(catalog, "/grpcimages.catalog.v1.ImageService/ListImages", owner.Token, deep, callers, seconds, 1));

            // (c) a recipient's ListImages of `others`.
            await ShareAsync(db, images, owner.AccountId, recipient.AccountId, ownerIds.Take(shared).ToList());
            var others = new ListImagesRequest { RegionId = Region, OwnerAlias = ImageOwnerAlias.Others, PageSize = 50 };
            var check = await recipient.Client<ImageService.ImageServiceClient>().ListImagesAsync(others);
            Console.WriteLine($"  the recipient sees {check.TotalSize} shared images, {check.Images.Count} on the first page");
            Report(Add, "ListImages of others, first page of 50", $"{shared:0.#e0} shared",
                H2Load.Run(catalog, "/grpcimages.catalog.v1.ImageService/ListImages", recipient.Token, others, Math.Min(callers, 4), seconds, 1));

            // (d) the copy queue's claim with `waiting` copies in line.
            var (claimP50, claimP99) = await ClaimAsync(mux, step, waiting);
            Add("copy queue claim p50", "µs", $"{waiting:0.#e0} waiting", claimP50);
            Add("copy queue claim p99", "µs", $"{waiting:0.#e0} waiting", claimP99);
            var (waitP50, waitP99) = await HandoffAsync(mux, step, waiting);
            Add("copy wait to be claimed once first in line p50", "µs", $"{waiting:0.#e0} waiting", waitP50);
            Add("copy wait to be claimed once first in line p99", "µs", $"{waiting:0.#e0} waiting", waitP99);

            // (e) one collector pass over 10^4, 10^5, 10^6 chunk references, a tenth of them garbage.
            var chunks = shared * 100;
            if (step == 1)
            {
                await ScaleCollector.RunAsync(mux, "scale-bench-warm", 10_000); // JIT
                var warm = Path.Combine(Path.GetTempPath(), $"gi-scale-gc-{Environment.ProcessId}-warm");
                await ScaleCollector.RunAsync(mux, "scale-bench-files-warm", 10_000, warm);
                Directory.Delete(warm, recursive: true);
            }
            var (gcSeconds, gcCommands, collected) = await ScaleCollector.RunAsync(mux, $"scale-bench-{step}", chunks);
            Add("collector pass per garbage chunk", "µs", $"{chunks:0.#e0} chunks", gcSeconds * 1e6 / Math.Max(1, collected));
            Add("collector Redis commands per garbage chunk", "", $"{chunks:0.#e0} chunks", gcCommands / (double)Math.Max(1, collected));
            Console.WriteLine($"  collected {collected:N0} of {chunks:N0} chunks in {gcSeconds:F2} s, {gcCommands} Redis commands");
            var files = Path.Combine(Path.GetTempPath(), $"gi-scale-gc-{Environment.ProcessId}-{step}");
            try
            {
                var (fileSeconds, _, removed) = await ScaleCollector.RunAsync(mux, $"scale-bench-files-{step}", chunks, files);
                Add("collector pass per garbage chunk, files deleted", "µs", $"{chunks:0.#e0} chunks", fileSeconds * 1e6 / Math.Max(1, removed));
                Console.WriteLine($"  with files: collected {removed:N0} in {fileSeconds:F2} s; {Directory.EnumerateFiles(files, "*", SearchOption.AllDirectories).Count()} files left");
            }
            finally
            {
                if (Directory.Exists(files))
                {
                    Directory.Delete(files, recursive: true);
                }
            }
            // The orphan sweep over 10^3, 10^4, 10^5 live files (a tenth of the step's chunks): it lists the disk, so it grows
            // with the files by design (it runs once per OrphanSweepIntervalSeconds); per file it should not.
            var swept = chunks / 10;
            var sweepFiles = Path.Combine(Path.GetTempPath(), $"gi-scale-sweep-{Environment.ProcessId}-{step}");
            try
            {
                if (step == 1)
                {
                    await ScaleCollector.SweepAsync(mux, "scale-bench-sweep-warm", 1_000, sweepFiles + "-warm"); // JIT
                    Directory.Delete(sweepFiles + "-warm", recursive: true);
                }
                var (sweepSeconds, sweepCommands) = await ScaleCollector.SweepAsync(mux, $"scale-bench-sweep-{step}", swept, sweepFiles);
                Add("collector orphan sweep per file on disk", "µs", $"{swept:0.#e0} files", sweepSeconds * 1e6 / swept);
                Add("collector orphan sweep Redis commands per file", "", $"{swept:0.#e0} files", sweepCommands / (double)swept);
                Console.WriteLine($"  orphan sweep over {swept:N0} files in {sweepSeconds:F2} s, {sweepCommands} Redis commands");
            }
            finally
            {
                if (Directory.Exists(sweepFiles))
                {
                    Directory.Delete(sweepFiles, recursive: true);
                }
            }

            // (f) deleting the account's images through the API (64 at a time), which also empties it for the next step.
            var deleted = await DeleteAllAsync(imagesApi, ownerIds);
            Add("DeleteImage of all the account's images, per image", "µs", $"{ownerCount:0.#e0} own", deleted * 1e6 / ownerIds.Count);
        }

        PrintTable(figures);
        Directory.CreateDirectory("bench/results");
        var file = Path.Combine("bench/results", $"scale-{DateTime.UtcNow:yyyyMMddTHHmmss}.json");
        await File.WriteAllTextAsync(file, JsonSerializer.Serialize(new { cores = Environment.ProcessorCount, callers, seconds, figures }, Indented));
        Console.WriteLine($"Results in {file}");
        return 0;
    }

    /// <summary>An image made through the API from a snapshot, as every filled image is (only its id, name and time differ).</summary>
    private static async Task<Image> TemplateImageAsync(TestAccount owner)
    {
        var instance = (await owner.Client<InstanceService.InstanceServiceClient>().CreateInstanceAsync(
            new CreateInstanceRequest { RegionId = Region, ImageId = "ubuntu_22_04_x64_20G_alibase_20240101.vhd" })).Instance;
        var snapshots = owner.Client<SnapshotService.SnapshotServiceClient>();
        var snapshot = (await snapshots.CreateSnapshotAsync(new CreateSnapshotRequest { RegionId = Region, DiskId = instance.SystemDisk.DiskId })).Snapshot;
        while ((await snapshots.GetSnapshotAsync(new GetSnapshotRequest { RegionId = Region, SnapshotId = snapshot.SnapshotId })).Snapshot.Status != SnapshotStatus.Accomplished)
        {
            await Task.Delay(50);
        }
        var api = owner.Client<ImageService.ImageServiceClient>();
        var made = (await api.CreateImageAsync(new CreateImageRequest
        {
            RegionId = Region,
            ImageName = "scale-template",
            ImageFamily = "scale",
            Description = "an image of the scale bench",
            DiskDeviceMappings = { new DiskDeviceMappingSpec { SnapshotId = snapshot.SnapshotId } },
        })).Image;
        while (true)
        {
            var image = (await api.GetImageAsync(new GetImageRequest { RegionId = Region, ImageId = made.ImageId })).Image;
            if (image.Status == ImageStatus.Available)
            {
                await api.DeleteImageAsync(new DeleteImageRequest { RegionId = Region, ImageId = made.ImageId });
                image.OwnerAlias = ImageOwnerAlias.Unspecified;
                image.Usage = ImageUsage.Unspecified;
                return image;
            }
            await Task.Delay(50);
        }
    }

    /// <summary>Creates <paramref name="count"/> images of an owner with the catalog's own create script, 2,000 in flight.</summary>
    private static async Task<List<string>> FillAsync(ImageStore store, Image template, string owner, int count, string names)
    {
        var tag = ResourceIds.OwnerTag(owner);
        var ids = new List<string>(count);
        var inFlight = new List<Task<(CreateResult, string)>>();
        var start = DateTimeOffset.UtcNow.AddDays(-1);
        for (var i = 0; i < count; i++)
        {
            var image = template.Clone();
            image.ImageId = ResourceIds.New('m', tag);
            image.ImageName = $"{names}-{i:D7}";
            image.OwnerAccountId = owner;
            image.CreateTime = Timestamp.FromDateTimeOffset(start.AddMilliseconds(i));
            ids.Add(image.ImageId);
            inFlight.Add(store.CreateImageAsync(image, owner, [], new ClientToken("", "")));
            if (inFlight.Count == 2000)
            {
                Created(await Task.WhenAll(inFlight));
                inFlight.Clear();
            }
        }
        Created(await Task.WhenAll(inFlight));
        return ids;

        static void Created((CreateResult Result, string)[] results)
        {
            foreach (var (result, _) in results.Where(r => r.Result != CreateResult.Created).Take(1))
            {
                throw new InvalidOperationException($"A filled image was not created: {result}");
            }
        }
    }

    /// <summary>What one image's keys take: its record hash, its entries in the owner's index and names, and the record's parts.</summary>
    private static async Task MemoryBreakdownAsync(IDatabase db, string owner, List<string> ids, string size, Action<string, string, string, double> add)
    {
        var sample = Enumerable.Range(0, 100).Select(i => ids[i * ids.Count / 100]).ToList();
        double hash = 0, record = 0, key = 0;
        foreach (var id in sample)
        {
            var k = CatalogKeys.Image(Region, id);
            hash += (long)await db.ExecuteAsync("MEMORY", "USAGE", k, "SAMPLES", "0");
            record += (long)await db.HashStringLengthAsync(k, "d");
            key += k.Length;
        }
        var index = CatalogKeys.Images(owner, Region);
        var names = CatalogKeys.Names(owner, Region);
        var indexBytes = (long)await db.ExecuteAsync("MEMORY", "USAGE", index, "SAMPLES", "0");
        var namesBytes = (long)await db.ExecuteAsync("MEMORY", "USAGE", names, "SAMPLES", "0");
        // A record longer than hash-max-listpack-value (64 by default) makes the hash a hashtable: an entry and two strings per field.
        Console.WriteLine($"  img encoding: {await db.ExecuteAsync("OBJECT", "ENCODING", CatalogKeys.Image(Region, sample[0]))}, " +
                          $"hash-max-listpack-value {((RedisResult[])(await db.ExecuteAsync("CONFIG", "GET", "hash-max-listpack-value"))!)[1]}");
        add("  img: hash (MEMORY USAGE)", "B", size, hash / sample.Count);
        add("    of which the stored Image protobuf (field d)", "B", size, record / sample.Count);
        add("    of which the key name", "B", size, key / sample.Count);
        add("  imgs: owner's index (zset), per entry", "B", size, indexBytes / (double)ids.Count);
        add("  names: owner's names (hash), per entry", "B", size, namesBytes / (double)ids.Count);
    }

    private static long UsedMemory(IServer server) =>
        long.Parse(server.Info("memory").SelectMany(g => g).First(p => p.Key == "used_memory").Value, CultureInfo.InvariantCulture);

    private static void Report(Action<string, string, string, double> add, string name, string size, LoadGenerator.Result result)
    {
        add($"{name} p50", "ms", size, result.P50Micros / 1000);
        add($"{name} p99", "ms", size, result.P99Micros / 1000);
        add($"{name} calls/s", "/s", size, result.CallsPerSecond);
        if (result.Errors > 0)
        {
            Console.WriteLine($"  ({result.Errors} errors)");
        }
    }

    /// <summary>A request for the page of 50 after <paramref name="depth"/> of the account's images, by page token as a client paging through would hold it.</summary>
    private static async Task<ListImagesRequest> DeepPageAsync(ImageService.ImageServiceClient api, int depth)
    {
        var token = "";
        while (depth > 0)
        {
            var skip = Math.Min(Check.MaxSkip, depth - 1);
            var page = await api.ListImagesAsync(new ListImagesRequest { RegionId = Region, OwnerAlias = ImageOwnerAlias.Self, PageSize = 1, Skip = skip, PageToken = token });
            token = page.NextPageToken;
            depth -= skip + 1;
        }
        return new ListImagesRequest { RegionId = Region, OwnerAlias = ImageOwnerAlias.Self, PageSize = 50, PageToken = token };
    }

    /// <summary>Shares images with the recipient through the sharing service's own grant script, then applies its outbox (the recipient's index).</summary>
    private static async Task ShareAsync(IDatabase db, ImageStore images, string owner, string recipient, List<string> ids)
    {
        await db.KeyDeleteAsync(SharingKeys.Received(recipient, Region)); // what the last step's deletes left to the outbox
        var shares = new ShareStore(db);
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        // Each share a millisecond apart, as shares made one by one are: the recipient's list pages by (time, member) and
        // finds at most 164 shares of one millisecond after a page boundary (MergedPageAsync reads limit + 64 from the position's time).
        var at = 0;
        foreach (var chunk in ids.Chunk(1000))
        {
            var changes = await Task.WhenAll(chunk.Select(id => shares.ModifyAsync(owner, id, Region, now + at++, 100, 1_000_000, owner, [recipient], [], [], [], "")));
            if (changes.FirstOrDefault(c => c.Result != ShareResult.Changed) is { } refused)
            {
                throw new InvalidOperationException($"A share was refused: {refused.Result}");
            }
            // As the sharing service's outbox does, the catalog records each change too (what the recipient's count reads).
            await shares.DrainOutboxAsync(owner, entries => images.RecordShareChangesAsync(entries.Select(e => new Contracts.Catalog.V1.ShareChange
            {
                ImageId = e.ImageId, OwnerAccountId = e.Owner, RegionId = e.Region, RecipientAccountId = e.Recipient, Granted = e.Grant,
            })));
        }
        Console.WriteLine($"  the recipient's index holds {await db.SortedSetLengthAsync(SharingKeys.Received(recipient, Region)):N0} shares, the owner's outbox {await db.ListLengthAsync(SharingKeys.Outbox(owner))}");
    }

    /// <summary>Claim (and complete) 300 copies from a copy queue with <paramref name="waiting"/> in line; p50 and p99 of the claim in µs.</summary>
    private static async Task<(double P50, double P99)> ClaimAsync(IConnectionMultiplexer mux, int step, int waiting)
    {
        // A region no transfer process serves, so only this bench claims; the keys are a copy queue's (gi:xfer:{q:copy:<region>}:*).
        var queue = new WorkQueue(mux, "gi:xfer:", $"copy:scale-bench-{step}", new WorkQueueOptions { Limit = 5 });
        const int Claims = 300;
        var tag = ResourceIds.OwnerTag("scale-bench");
        var enqueues = Enumerable.Range(0, waiting + Claims).Select(_ => ResourceIds.New('t', tag)).Select(id => queue.EnqueueAsync(id, id)).ToList();
        await Task.WhenAll(enqueues);
        var times = new List<double>();
        for (var i = 0; i < Claims; i++)
        {
            var clock = Stopwatch.StartNew();
            var (lease, _) = await queue.ClaimAsync("scale-bench");
            times.Add(clock.Elapsed.TotalMicroseconds);
            await queue.CompleteAsync(lease ?? throw new InvalidOperationException("Nothing to claim."));
        }
        times.Sort();
        return (times[Claims / 2], times[Claims * 99 / 100]);
    }

    /// <summary>
    /// How long a copy first in line waits for the slot another frees, with <paramref name="waiting"/> behind it: the
    /// services' own runner (WorkQueueRunner) on a queue of one slot, from the end of one item's handler to the start of
    /// the next's (the completion, the announcement, the wake and the claim); p50 and p99 over 300 items, in µs.
    /// </summary>
    private static async Task<(double P50, double P99)> HandoffAsync(IConnectionMultiplexer mux, int step, int waiting)
    {
        const int Items = 300;
        var queue = new WorkQueue(mux, "gi:xfer:", $"copy:scale-bench-handoff-{step}", new WorkQueueOptions { Limit = 1, MaxInFlight = 1 });
        var tag = ResourceIds.OwnerTag("scale-bench");
        await Task.WhenAll(Enumerable.Range(0, waiting + Items).Select(_ => ResourceIds.New('t', tag)).Select(id => queue.EnqueueAsync(id, id)));
        var handler = new TimingHandler(Items);
        using var runner = new WorkQueueRunner(queue, handler, mux, "scale-bench", Microsoft.Extensions.Logging.Abstractions.NullLogger<WorkQueueRunner>.Instance);
        await runner.StartAsync(CancellationToken.None);
        await handler.Finished.Task.WaitAsync(TimeSpan.FromMinutes(5));
        await runner.StopAsync(CancellationToken.None);
        var gaps = handler.Gaps();
        return (gaps[gaps.Count / 2], gaps[gaps.Count * 99 / 100]);
    }

    /// <summary>Notes when each item's handling starts; the handling itself is done at once.</summary>
    private sealed class TimingHandler(int items) : IWorkHandler
    {
        private readonly List<long> _starts = [];

        public TaskCompletionSource Finished { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<WorkOutcome> HandleAsync(WorkLease lease, CancellationToken cancellationToken)
        {
            lock (_starts)
            {
                _starts.Add(Stopwatch.GetTimestamp());
                if (_starts.Count == items)
                {
                    Finished.TrySetResult();
                }
            }
            return Task.FromResult(WorkOutcome.Done);
        }

        /// <summary>From one item's start to the next one's, sorted, in µs.</summary>
        public List<double> Gaps()
        {
            lock (_starts)
            {
                return _starts.Zip(_starts.Skip(1), (a, b) => Stopwatch.GetElapsedTime(a, b).TotalMicroseconds).Order().ToList();
            }
        }
    }

    /// <summary>Deletes every image in <paramref name="ids"/> through the API, 64 calls at a time; seconds taken.</summary>
    private static async Task<double> DeleteAllAsync(ImageService.ImageServiceClient api, List<string> ids)
    {
        var clock = Stopwatch.StartNew();
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, 64).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < ids.Count)
            {
                await api.DeleteImageAsync(new DeleteImageRequest { RegionId = Region, ImageId = ids[i], Force = true });
            }
        }));
        return clock.Elapsed.TotalSeconds;
    }

    /// <summary>The table: each figure at each step, and its largest / smallest ratio (flat within 1.5x).</summary>
    private static void PrintTable(List<Figure> figures)
    {
        Console.WriteLine();
        Console.WriteLine("| figure | sizes | values | largest / smallest size |");
        Console.WriteLine("|---|---|---|---|");
        foreach (var f in figures)
        {
            var ratio = f.Values[^1] / f.Values[0];
            var flat = f.Unit == "/s" ? ratio >= 1 / 1.5 : ratio <= 1.5;
            Console.WriteLine($"| {f.Name} ({f.Unit}) | {string.Join(" / ", f.Sizes)} | {string.Join(" / ", f.Values.Select(Format))} | {ratio:F2}x{(flat ? "" : " **grows**")} |");
        }

        static string Format(double v) => v >= 100 ? v.ToString("N0", CultureInfo.InvariantCulture) : v.ToString(v >= 1 ? "0.##" : "0.####", CultureInfo.InvariantCulture);
    }
}
