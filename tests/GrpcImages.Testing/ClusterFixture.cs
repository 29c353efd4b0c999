using Xunit;

namespace GrpcImages.Testing;

/// <summary>
/// One cluster shared by every test class of an assembly that uses this fixture: tests stay
/// independent by working in accounts of their own. It stops when the test process exits.
/// </summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    private static readonly Lazy<Task<TestCluster>> Shared = new(StartSharedAsync);

    public TestCluster Cluster { get; private set; } = null!;

    public async Task InitializeAsync() => Cluster = await Shared.Value;

    public Task DisposeAsync() => Task.CompletedTask;

    private static async Task<TestCluster> StartSharedAsync()
    {
        var cluster = await TestCluster.StartAsync(SharedSettings);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => cluster.DisposeAsync().AsTask().GetAwaiter().GetResult();
        return cluster;
    }

    /// <summary>Settings of the shared cluster, chosen so that long operations take a moment, not minutes.</summary>
    public static readonly IDictionary<string, string?> SharedSettings = new Dictionary<string, string?>();
}
