using System.Collections.Concurrent;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.Testing;
using static GrpcImages.ReliabilityTests.ReliabilitySteps;

namespace GrpcImages.ReliabilityTests;

/// <summary>
/// A region's copy queue while its running copies fail for a passing reason (R8): the transfer instance of
/// the source region is frozen (SIGSTOP) under five running copies with three more in line. The copies that
/// cannot go on show Waiting, keep their slots and their places, and go on when it thaws; at no moment do more
/// than five run; copies start in the order they were asked for; positions in line are distinct and only fall.
/// </summary>
public class CopyQueueFaultTests(ITestOutputHelper output)
{
    private const string Shanghai = "cn-shanghai";
    private const int Copies = 8;
    private const int Limit = 5;

    [Fact]
    public async Task R8_CopiesWhoseSourceFreezesWaitInTheirSlotsAndTheLineKeepsItsOrder()
    {
        var shanghaiData = ScratchDirectory.Create("gi-data-shanghai-");
        // The source region's transfer instance runs in a process of its own (to freeze), on a port chosen first
        // so that the catalog knows where it is before it starts and it knows where the catalog is.
        var sourcePort = FreePort();
        await using var cluster = await TestCluster.StartAsync(new Dictionary<string, string?>
        {
            ["Regions:0:Id"] = Hangzhou, ["Regions:1:Id"] = Shanghai,
            ["Peers:PingDelay"] = "00:00:02", ["Peers:PingTimeout"] = "00:00:03",
            ["Transfer:MaxBytesPerSecondPerTask"] = (8L << 20).ToString(System.Globalization.CultureInfo.InvariantCulture),
            [$"Peers:TransferByRegion:{Hangzhou}"] = $"http://127.0.0.1:{sourcePort}",
        }, [ServiceKind.Kms, ServiceKind.Sharing], output: output);
        var destination = await cluster.StartReplicaAsync(ServiceKind.Transfer, new Dictionary<string, string?>
        {
            ["Transfer:Regions:0"] = Shanghai, ["Data:Directory"] = shanghaiData,
        });
        cluster.SetSetting($"Peers:TransferByRegion:{Shanghai}", $"http://127.0.0.1:{destination}");
        var catalogPort = await cluster.StartReplicaAsync(ServiceKind.Catalog);
        var source = await cluster.StartProcessAsync(ServiceKind.Transfer, new Dictionary<string, string?> { ["Transfer:Regions:0"] = Hangzhou }, port: sourcePort);
        cluster.UsePrimary(ServiceKind.Transfer, source.Port);
        await cluster.WaitUntilServingAsync(catalogPort);
        var account = await cluster.NewAccountAsync();
        var images = new List<Image>();
        for (var i = 0; i < Copies; i++)
        {
            images.Add(await cluster.NewImageWithChunksAsync(account, Hangzhou, Enumerable.Range(9000 + i * 20, 12).ToList())); // 48 MiB: 6 s at 8 MiB/s
        }
        var transfers = account.Client<TransferService.TransferServiceClient>();
        var catalog = account.Client<ImageService.ImageServiceClient>();

        var copies = new List<string>();
        foreach (var image in images)
        {
            copies.Add((await transfers.CopyImageAsync(new CopyImageRequest { RegionId = Hangzhou, ImageId = image.ImageId, DestinationRegionId = Shanghai })).ImageId);
        }
        var watch = new LineWatch(catalog, copies);
        using var sampling = new CancellationTokenSource();
        var sampler = watch.SampleAsync(sampling.Token);
        try
        {
            await watch.UntilAsync(s => s.Count(i => i.Status == ImageStatus.Creating) == Limit, "five copies running");
            source.Pause();
            try
            {
                // The running copies lose their source: each shows Waiting again (one that had already read every byte
                // may still finish), and none of the line starts in its place: nothing stays Creating.
                await watch.UntilAsync(s => s.All(i => i.Status is ImageStatus.Waiting or ImageStatus.Available) && s.Count(i => i.Status == ImageStatus.Waiting) > Copies - Limit,
                    "every copy that still needs its source Waiting while the source is frozen");
            }
            finally
            {
                source.Resume();
            }
            await watch.UntilAsync(s => s.All(i => i.Status == ImageStatus.Available), "every copy Available", seconds: 180);
        }
        finally
        {
            await sampling.CancelAsync();
            await sampler;
        }

        Assert.Empty(watch.Violations);
        var starts = copies.Select(id => watch.FirstCreating.GetValueOrDefault(id, long.MaxValue)).ToList();
        for (var i = 1; i < starts.Count; i++)
        {
            Assert.True(starts[i - 1] <= starts[i], $"copy {i} started before copy {i - 1}: {string.Join(", ", starts)}");
        }
        output.WriteLine($"{watch.Samples} samples, at most {watch.MostCreating} Creating");
        var violations = await Invariants.SettleAsync(cluster.RedisConfiguration);
        FaultSummary.Record("source transfer SIGSTOP under 5 running and 3 waiting copies", 1, violations.Count == 0 ? 1 : 0, violations.Count,
            $"{watch.Samples} samples, at most {watch.MostCreating} Creating, starts in order");
        Assert.Empty(violations);
        ScratchDirectory.Delete(shanghaiData);
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Samples the copies' images over and over and notes what must never be seen.</summary>
    private sealed class LineWatch(ImageService.ImageServiceClient catalog, IReadOnlyList<string> copies)
    {
        private readonly Dictionary<string, int> _lastPosition = [];
        private List<Image> _latest = [];

        public ConcurrentQueue<string> Violations { get; } = new();

        /// <summary>The sample number at which each copy was first seen Creating.</summary>
        public Dictionary<string, long> FirstCreating { get; } = [];

        public long Samples { get; private set; }

        public int MostCreating { get; private set; }

        public async Task SampleAsync(CancellationToken cancellationToken)
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                try
                {
                    var request = new ListImagesRequest { RegionId = Shanghai, OwnerAlias = ImageOwnerAlias.Self, PageSize = 100 };
                    request.Statuses.AddRange(Enum.GetValues<ImageStatus>().Where(s => s != ImageStatus.Unspecified));
                    var seen = (await catalog.ListImagesAsync(request, cancellationToken: CancellationToken.None)).Images.Where(i => copies.Contains(i.ImageId)).ToList();
                    Look(seen);
                    _latest = seen;
                }
                catch (Grpc.Core.RpcException)
                {
                    // A sample that failed shows nothing.
                }
                await Task.Delay(50, CancellationToken.None);
            }
        }

        public async Task UntilAsync(Func<IReadOnlyList<Image>, bool> condition, string what, int seconds = 90)
        {
            var deadline = DateTime.UtcNow.AddSeconds(seconds);
            while (!(_latest.Count == copies.Count && condition(_latest)))
            {
                Assert.True(DateTime.UtcNow < deadline, $"never saw {what}: {string.Join(", ", _latest.Select(i => $"{i.Status}/{i.QueuePosition}"))}");
                await Task.Delay(50);
            }
        }

        private void Look(IReadOnlyList<Image> seen)
        {
            Samples++;
            var creating = seen.Count(i => i.Status == ImageStatus.Creating);
            MostCreating = Math.Max(MostCreating, creating);
            if (creating > Limit)
            {
                Violations.Enqueue($"sample {Samples}: {creating} copies Creating, more than {Limit}");
            }
            foreach (var image in seen.Where(i => i.Status == ImageStatus.Creating))
            {
                FirstCreating.TryAdd(image.ImageId, Samples);
            }
            // In line: Waiting and never yet started (a started copy that waits again keeps its slot, not a place in line).
            var line = seen.Where(i => i.Status == ImageStatus.Waiting && !FirstCreating.ContainsKey(i.ImageId)).ToList();
            if (line.Count > 0 && line.Select(i => i.QueuePosition).Distinct().Count() != line.Count)
            {
                Violations.Enqueue($"sample {Samples}: positions collide: {string.Join(", ", line.Select(i => i.QueuePosition))}");
            }
            foreach (var image in line)
            {
                if (_lastPosition.TryGetValue(image.ImageId, out var last) && image.QueuePosition > last)
                {
                    Violations.Enqueue($"sample {Samples}: {image.ImageId} moved back in line from {last} to {image.QueuePosition}");
                }
                _lastPosition[image.ImageId] = image.QueuePosition;
            }
        }
    }
}
