using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Testing;
using static GrpcImages.IntegrationTests.CatalogSteps;

namespace GrpcImages.IntegrationTests;

/// <summary>AIP-158 on instances and snapshots: skip passes items in Redis, total_size says how many there are.</summary>
public class ListSkipTests(ClusterFixture fixture, ITestOutputHelper output) : ClusterTest(fixture, output)
{
    [Fact]
    public async Task SkipPassesInstancesAndTotalSizeCountsThem()
    {
        var account = await Cluster.NewAccountAsync();
        for (var i = 0; i < 5; i++)
        {
            await account.NewInstanceAsync();
        }
        var all = (await account.Instances().ListInstancesAsync(new ListInstancesRequest { RegionId = Hangzhou, PageSize = 100 })).Instances.Select(i => i.InstanceId).ToList();
        Assert.Equal(5, all.Count);

        foreach (var skip in new[] { 0, 1, 3, 4, 5, 9 })
        {
            var page = await account.Instances().ListInstancesAsync(new ListInstancesRequest { RegionId = Hangzhou, PageSize = 2, Skip = skip });
            Assert.Equal(all.Skip(skip).Take(2), page.Instances.Select(i => i.InstanceId));
            Assert.Equal(5, page.TotalSize);
            Assert.Equal(skip + 2 < 5, page.NextPageToken.Length > 0);
        }
        var first = await account.Instances().ListInstancesAsync(new ListInstancesRequest { RegionId = Hangzhou, PageSize = 2, Skip = 1 });
        var next = await account.Instances().ListInstancesAsync(new ListInstancesRequest { RegionId = Hangzhou, PageSize = 2, PageToken = first.NextPageToken, Skip = 1 });
        Assert.Equal(all.Skip(4), next.Instances.Select(i => i.InstanceId));
    }

    [Fact]
    public async Task SkipPassesSnapshotsAndTotalSizeCountsThem()
    {
        var account = await Cluster.NewAccountAsync();
        var instance = await account.NewInstanceAsync(Ubuntu, Hangzhou, 0, 20, 20);
        foreach (var disk in new[] { instance.SystemDisk }.Concat(instance.DataDisks))
        {
            await account.SnapshotOfAsync(disk.DiskId);
        }
        var all = (await account.Snapshots().ListSnapshotsAsync(new ListSnapshotsRequest { RegionId = Hangzhou, PageSize = 100 })).Snapshots.Select(s => s.SnapshotId).ToList();
        Assert.Equal(3, all.Count);

        var page = await account.Snapshots().ListSnapshotsAsync(new ListSnapshotsRequest { RegionId = Hangzhou, PageSize = 1, Skip = 1 });
        Assert.Equal([all[1]], page.Snapshots.Select(s => s.SnapshotId));
        Assert.Equal(3, page.TotalSize);
        var rest = await account.Snapshots().ListSnapshotsAsync(new ListSnapshotsRequest { RegionId = Hangzhou, PageSize = 5, PageToken = page.NextPageToken });
        Assert.Equal([all[2]], rest.Snapshots.Select(s => s.SnapshotId));
        Assert.Empty(rest.NextPageToken);
        Assert.Empty((await account.Snapshots().ListSnapshotsAsync(new ListSnapshotsRequest { RegionId = Hangzhou, Skip = 3 })).Snapshots);
    }
}
