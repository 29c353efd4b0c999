using Xunit;

namespace GrpcImages.Testing;

/// <summary>
/// One cluster shared by every test class of an assembly that uses this fixture: tests stay
/// independent by working in accounts of their own. It stops when the test process exits.
/// </summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    private static readonly Lazy<Task<(TestCluster, FileServer)>> Shared = new(StartSharedAsync);

    public TestCluster Cluster { get; private set; } = null!;

    /// <summary>An HTTP server for import sources, one the shared cluster's imports may read from (Import:AllowedEndpoints).</summary>
    public FileServer Files { get; private set; } = null!;

    public async Task InitializeAsync() => (Cluster, Files) = await Shared.Value;

    public Task DisposeAsync() => Task.CompletedTask;

    private static async Task<(TestCluster, FileServer)> StartSharedAsync()
    {
        var files = await FileServer.StartAsync();
        var cluster = await TestCluster.StartAsync(new Dictionary<string, string?>(SharedSettings) { ["Import:AllowedEndpoints:0"] = files.Endpoint });
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            cluster.DisposeAsync().AsTask().GetAwaiter().GetResult();
            files.DisposeAsync().AsTask().GetAwaiter().GetResult();
        };
        return (cluster, files);
    }

    /// <summary>Settings of the shared cluster, chosen so that long operations take a moment, not minutes.</summary>
    public static readonly IDictionary<string, string?> SharedSettings = new Dictionary<string, string?>();
}

/// <summary>
/// A test class on the shared cluster: while each of its tests runs, the services' logs go to the
/// test's output, which xUnit shows when the test fails.
/// </summary>
public abstract class ClusterTest : IClassFixture<ClusterFixture>, IDisposable
{
    private readonly IDisposable _logs;

    protected ClusterTest(ClusterFixture fixture, Xunit.Abstractions.ITestOutputHelper output)
    {
        Cluster = fixture.Cluster;
        Output = output;
        _logs = fixture.Cluster.Logs.Attach(output);
    }

    protected TestCluster Cluster { get; }

    /// <summary>Where a test's own clusters should log (pass it to TestCluster.StartAsync).</summary>
    protected Xunit.Abstractions.ITestOutputHelper Output { get; }

    public void Dispose()
    {
        _logs.Dispose();
        GC.SuppressFinalize(this);
    }
}
