using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using GrpcImages.Catalog;
using GrpcImages.Contracts.Common.V1;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.Kms;
using GrpcImages.ServiceDefaults.Hosting;
using GrpcImages.Sharing;
using GrpcImages.Transfer;
using GrpcImages.Transfer.Objects;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace GrpcImages.Testing;

/// <summary>How the test cluster's Redis is deployed.</summary>
public enum RedisTopology
{
    Standalone,
    Cluster,
    Sentinel,
}

public enum ServiceKind
{
    Kms,
    Catalog,
    Transfer,
    Sharing,
}

/// <summary>
/// The whole cluster for a test: a real redis-server and the four services in-process on real
/// loopback ports, wired to each other, so every call goes through the real gRPC pipeline,
/// interceptors, tokens and Redis.
/// </summary>
public sealed class TestCluster : IAsyncDisposable
{
    public const string OperatorName = "admin";
    public const string OperatorCredential = "test-operator-credential";

    private readonly List<WebApplication> _apps = [];
    private readonly List<ServiceProcess> _processes = [];
    private readonly Dictionary<int, WebApplication> _byPort = [];
    private readonly Dictionary<ServiceKind, int> _ports = [];
    private readonly ConcurrentDictionary<int, GrpcChannel> _channels = new();
    private readonly LiveSettings _settings;
    private readonly Action<ServiceKind, IServiceCollection>? _overrideServices;
    private readonly IDisposable? _attached;
    private string? _operatorToken;

    private TestCluster(RedisServer? redis, RedisClusterServer? redisCluster, RedisSentinelServer? sentinel, string dataDirectory,
        IDictionary<string, string?> settings, Action<ServiceKind, IServiceCollection>? overrideServices, ITestOutputHelper? output)
    {
        _redis = redis;
        RedisCluster = redisCluster;
        RedisSentinel = sentinel;
        DataDirectory = dataDirectory;
        _settings = new LiveSettings(settings);
        _overrideServices = overrideServices;
        _attached = output is null ? null : Logs.Attach(output);
    }

    /// <summary>Every service's log lines (sent to the outputs of attached tests).</summary>
    public TestLogs Logs { get; } = new();

    private readonly RedisServer? _redis;

    /// <summary>The single redis-server (not set when the cluster runs on a Redis Cluster).</summary>
    public RedisServer Redis => _redis ?? throw new InvalidOperationException("This test cluster runs on a Redis Cluster.");

    /// <summary>The Redis Cluster, when the test asked for one.</summary>
    public RedisClusterServer? RedisCluster { get; }

    /// <summary>Redis behind Sentinel, when the test asked for it.</summary>
    public RedisSentinelServer? RedisSentinel { get; }

    /// <summary>What the services were given as Redis:Configuration.</summary>
    public string RedisConfiguration => _settings.Get("Redis:Configuration")!;

    /// <summary>The data directory of the transfer service (blob and object stores).</summary>
    public string DataDirectory { get; }

    /// <summary>The cluster's token signing key (base64), for tests that forge or expire tokens.</summary>
    public string SigningKey => _settings.Get("Identity:SigningKey")!;

    public int Port(ServiceKind service) => _ports[service];

    /// <summary>The OSS endpoint of the transfer service's primary replica (its plain HTTP port, the kernel's pick), e.g. http://127.0.0.1:41235/.</summary>
    public Uri OssEndpoint => new($"http://127.0.0.1:{Services(ServiceKind.Transfer).GetRequiredService<GrpcImages.Transfer.Oss.OssPorts>().Http?.IPEndPoint?.Port
        ?? throw new InvalidOperationException("The OSS port is not bound.")}/");

    /// <summary>The OSS endpoint's HTTPS port (the kernel's pick) when the cluster was given a certificate (ObjectStore:OssCertificateFile).</summary>
    public int OssHttpsPort => Services(ServiceKind.Transfer).GetRequiredService<GrpcImages.Transfer.Oss.OssPorts>().Https?.IPEndPoint?.Port
        ?? throw new InvalidOperationException("The OSS HTTPS port is not bound: no certificate was configured.");

    /// <summary>The services of a service's in-process primary replica, for tests that drive its domain directly.</summary>
    public IServiceProvider Services(ServiceKind service) => _byPort[_ports[service]].Services;

    /// <summary>The meter factory of a service's in-process primary replica: its meters carry it as their scope.</summary>
    public System.Diagnostics.Metrics.IMeterFactory MeterFactory(ServiceKind service) =>
        Services(service).GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();

    /// <summary>A token of a cluster service, for tests that call internal RPCs as another service would.</summary>
    public string ServiceToken(string service = "test") =>
        new ServiceDefaults.Identity.TokenService(
                Microsoft.Extensions.Options.Options.Create(new ServiceDefaults.Identity.IdentityOptions { SigningKey = SigningKey }), TimeProvider.System)
            .Issue(ServiceDefaults.Identity.Caller.Service(service), TimeSpan.FromHours(1), out _);

    /// <summary>An image's disks with their manifests, asked as a service of the cluster would.</summary>
    public async Task<IReadOnlyList<Contracts.Catalog.V1.DiskContent>> DisksOfAsync(string region, string imageId) =>
        (await Client<Contracts.Catalog.V1.ImageControlService.ImageControlServiceClient>(ServiceToken())
            .GetImageContentAsync(new Contracts.Catalog.V1.GetImageContentRequest { RegionId = region, ImageId = imageId })).Disks;

    /// <summary>A manifest's plaintext bytes through the content layer (all of it when <paramref name="length"/> is 0).</summary>
    public async Task<byte[]> ReadContentAsync(string region, string manifestId, long offset = 0, long length = 0)
    {
        using var call = Client<Contracts.Transfer.V1.ContentService.ContentServiceClient>(ServiceToken())
            .ReadContent(new Contracts.Transfer.V1.ReadContentRequest { RegionId = region, ManifestId = manifestId, Offset = offset, Length = length });
        var bytes = new MemoryStream();
        while (await call.ResponseStream.MoveNext(CancellationToken.None))
        {
            call.ResponseStream.Current.Data.WriteTo(bytes);
        }
        return bytes.ToArray();
    }

    /// <summary>The distinct names of a manifest's stored chunks in position order (ListContentChunks, page by page).</summary>
    public async Task<IReadOnlyList<string>> ChunkIdsAsync(string region, Contracts.Transfer.V1.ContentInfo content)
    {
        var client = Client<Contracts.Transfer.V1.ContentService.ContentServiceClient>(ServiceToken());
        var names = new List<string>();
        var token = "";
        do
        {
            var page = await client.ListContentChunksAsync(new Contracts.Transfer.V1.ListContentChunksRequest { RegionId = region, ManifestId = content.ManifestId, PageToken = token });
            names.AddRange(page.Chunks.Select(c => c.Name));
            token = page.NextPageToken;
        }
        while (token.Length > 0);
        return names.Distinct().ToList();
    }

    /// <summary>Where the transfer service keeps a blob of a region (tests look at the disk directly).</summary>
    public string BlobPath(string region, string name) =>
        name.StartsWith("m:", StringComparison.Ordinal)
            ? Path.Combine(DataDirectory, "blobs", region, "manifests", name[2..])
            : Path.Combine(DataDirectory, "blobs", region, "chunks", name[..2], name);

    /// <summary>
    /// Starts Redis and the four services. <paramref name="settings"/> add to or override every
    /// service's configuration; <paramref name="overrideServices"/> replaces services of a host after it
    /// registered its own; with <paramref name="output"/>, the services' logs go to the test's output.
    /// </summary>
    public static async Task<TestCluster> StartAsync(IDictionary<string, string?>? settings = null, IReadOnlyCollection<ServiceKind>? services = null,
        RedisTopology topology = RedisTopology.Standalone, Action<ServiceKind, IServiceCollection>? overrideServices = null, ITestOutputHelper? output = null)
    {
        services ??= Enum.GetValues<ServiceKind>();
        // A test that brings its own Redis names it in Redis:Configuration.
        var own = settings?.ContainsKey("Redis:Configuration") == true;
        var redis = topology == RedisTopology.Standalone && !own ? await RedisServer.StartAsync() : null;
        var cluster3 = topology == RedisTopology.Cluster ? await RedisClusterServer.StartAsync() : null;
        var sentinel = topology == RedisTopology.Sentinel ? await RedisSentinelServer.StartAsync() : null;
        var dataDirectory = ScratchDirectory.Create("gi-data-");
        var merged = new Dictionary<string, string?>
        {
            // The services' 1 s command timeout is for production; two cores shared with a build in
            // another test can stall Redis replies longer than that, so test clusters allow 5 s.
            ["Redis:Configuration"] = (redis?.ConnectionString ?? cluster3?.ConnectionString ?? sentinel?.ConnectionString) + ",syncTimeout=5000,asyncTimeout=5000",
            ["Identity:SigningKey"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
            ["Kms:RootKey"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
            ["Operator:Name"] = OperatorName,
            ["Operator:Credential"] = OperatorCredential,
            ["Data:Directory"] = dataDirectory,
            ["ObjectStore:HttpPort"] = "0",
            ["ObjectStore:OssPort"] = "0",
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:GrpcImages"] = "Information",
            // Readiness probes before seeding is done are expected failures, not news.
            ["Logging:LogLevel:Microsoft.Extensions.Diagnostics.HealthChecks"] = "Critical",
            ["Blobs:GcGraceSeconds"] = "0",
            // Snapshots at 100 GiB/s: making an image of a 120 GiB instance takes about a second (R1).
            ["Catalog:SnapshotBytesPerSecond"] = (100L << 30).ToString(CultureInfo.InvariantCulture),
            ["Catalog:ProgressIntervalMilliseconds"] = "100",
            // Recipient indexes are repaired half a second after a grant change whose request died.
            ["Quotas:OutboxGuardMilliseconds"] = "500",
            ["Logging:Console:FormatterName"] = "simple",
            // Peers are pinged after 2 s of silence and given 3 s in production; in-process clusters share two
            // cores with builds in other tests, so they give a peer longer before calling it away.
            ["Peers:PingDelay"] = "00:00:05",
            ["Peers:PingTimeout"] = "00:00:10",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            merged[key] = value;
        }

        var cluster = new TestCluster(redis, cluster3, sentinel, dataDirectory, merged, overrideServices, output);
        try
        {
            // In dependency order: each service's peers listen before it starts (the catalog seeds through transfer at once).
            var order = new[] { ServiceKind.Kms, ServiceKind.Sharing, ServiceKind.Transfer, ServiceKind.Catalog }.Where(services.Contains).ToList();
            foreach (var service in order)
            {
                await cluster.StartServiceAsync(service, port: 0, primary: true);
            }
            foreach (var service in order)
            {
                await cluster.WaitUntilServingAsync(cluster._ports[service]);
            }
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
        return cluster;
    }

    /// <summary>
    /// Starts one more replica of a service in this process, sharing the cluster's Redis and data; returns
    /// its port. The first replica of a service the cluster was started without is the one peers reach.
    /// </summary>
    public async Task<int> StartReplicaAsync(ServiceKind service, IDictionary<string, string?>? overrides = null)
    {
        bool primary;
        lock (_ports)
        {
            primary = !_ports.ContainsKey(service);
            if (primary)
            {
                _ports[service] = 0; // claimed: a replica starting beside this one is not primary
            }
        }
        return (await StartServiceAsync(service, port: 0, primary, overrides)).ListeningPort();
    }

    /// <summary>
    /// Starts a replica of a service in a process of its own (for real kills and freezes), with the
    /// cluster's configuration and <paramref name="overrides"/>. With <paramref name="primary"/>, peers
    /// reach the service there (for a service the cluster was started without).
    /// </summary>
    public async Task<ServiceProcess> StartProcessAsync(ServiceKind service, IDictionary<string, string?>? overrides = null, bool primary = false, int port = 0)
    {
        var settings = _settings.Snapshot();
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }
        var process = await ServiceProcess.StartAsync(service, settings, Logs, port);
        _processes.Add(process);
        if (primary)
        {
            _ports[service] = process.Port;
            _settings.Set($"Peers:{service}", $"http://127.0.0.1:{process.Port}");
        }
        await WaitUntilServingAsync(process.Port);
        return process;
    }

    /// <summary>Changes a setting every service of the cluster reads (e.g. where a region's transfer instance is).</summary>
    public void SetSetting(string key, string? value) => _settings.Set(key, value);

    /// <summary>Makes the replica on <paramref name="port"/> the one clients and peers reach (after its predecessor was killed).</summary>
    public void UsePrimary(ServiceKind service, int port)
    {
        _ports[service] = port;
        _settings.Set($"Peers:{service}", $"http://127.0.0.1:{port}");
    }

    /// <summary>Waits until a service's readiness (gRPC health "") says SERVING: for the catalog, once its regions are seeded.</summary>
    public async Task WaitUntilServingAsync(int port, TimeSpan? timeout = null)
    {
        var health = new Grpc.Health.V1.Health.HealthClient(Channel(port));
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            try
            {
                var status = (await health.CheckAsync(new Grpc.Health.V1.HealthCheckRequest())).Status;
                if (status == Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving)
                {
                    return;
                }
            }
            catch (RpcException) when (DateTime.UtcNow < deadline)
            {
            }
            if (DateTime.UtcNow >= deadline)
            {
                throw new TimeoutException($"The service on port {port} did not become ready.");
            }
            await Task.Delay(50);
        }
    }

    /// <summary>Stops a service (tests of what happens while a peer is down).</summary>
    public async Task StopAsync(ServiceKind service)
    {
        var app = _byPort[_ports[service]];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await app.StopAsync(timeout.Token);
        await app.DisposeAsync();
        _apps.Remove(app);
        _byPort.Remove(_ports[service]);
    }

    /// <summary>Starts a stopped service again on its port and waits until it is ready.</summary>
    public async Task RestartAsync(ServiceKind service)
    {
        await StartServiceAsync(service, _ports[service], primary: true);
        await WaitUntilServingAsync(_ports[service]);
    }

    public GrpcChannel Channel(ServiceKind service) => Channel(_ports[service]);

    public GrpcChannel Channel(int port) =>
        _channels.GetOrAdd(port, p => GrpcChannel.ForAddress($"http://127.0.0.1:{p}", new GrpcChannelOptions
        {
            MaxReceiveMessageSize = 16 * 1024 * 1024,
        }));

    /// <summary>A call invoker of a service that sends <paramref name="token"/> as the bearer token (none when null).</summary>
    public CallInvoker Invoker(ServiceKind service, string? token) => Invoker(_ports[service], token);

    public CallInvoker Invoker(int port, string? token) => Authorized(Channel(port), token);

    /// <summary>A call invoker of <paramref name="channel"/> (the cluster's, or a test's own) that sends <paramref name="token"/> as the bearer token.</summary>
    public static CallInvoker Authorized(GrpcChannel channel, string? token)
    {
        var invoker = channel.CreateCallInvoker();
        return token is null ? invoker : invoker.Intercept(headers =>
        {
            headers.Add("authorization", $"Bearer {token}");
            return headers;
        });
    }

    /// <summary>A typed client of the service its namespace belongs to.</summary>
    public T Client<T>(string? token) where T : ClientBase<T> =>
        (T)Activator.CreateInstance(typeof(T), Invoker(ServiceOf<T>(), token))!;

    public async Task<string> OperatorTokenAsync()
    {
        if (_operatorToken is null)
        {
            var response = await Client<AccountService.AccountServiceClient>(null).IssueTokenAsync(new IssueTokenRequest
            {
                OperatorName = OperatorName,
                OperatorCredential = OperatorCredential,
            });
            _operatorToken = response.Token;
        }
        return _operatorToken;
    }

    /// <summary>Creates an account (with a random id) and returns it with a root token.</summary>
    public async Task<TestAccount> NewAccountAsync(Site site = Site.Cn, string organizationId = "")
    {
        var accounts = Client<AccountService.AccountServiceClient>(await OperatorTokenAsync());
        var account = (await accounts.CreateAccountAsync(new CreateAccountRequest
        {
            Site = site,
            DisplayName = "test account",
            OrganizationId = organizationId,
        })).Account;
        var token = (await accounts.IssueTokenAsync(new IssueTokenRequest { AccountId = account.AccountId })).Token;
        return new TestAccount(this, account.AccountId, site, token);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var process in _processes)
        {
            await process.DisposeAsync();
        }
        foreach (var app in Enumerable.Reverse(_apps))
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await app.StopAsync(timeout.Token);
                await app.DisposeAsync();
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
            }
        }
        foreach (var channel in _channels.Values)
        {
            channel.Dispose();
        }
        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }
        if (RedisCluster is not null)
        {
            await RedisCluster.DisposeAsync();
        }
        if (RedisSentinel is not null)
        {
            await RedisSentinel.DisposeAsync();
        }
        ScratchDirectory.Delete(DataDirectory);
        _attached?.Dispose();
    }

    public static ServiceKind ServiceOf<T>()
    {
        var ns = typeof(T).Namespace ?? "";
        return ns switch
        {
            _ when ns.EndsWith(".Kms.V1", StringComparison.Ordinal) => ServiceKind.Kms,
            _ when ns.EndsWith(".Catalog.V1", StringComparison.Ordinal) => ServiceKind.Catalog,
            _ when ns.EndsWith(".Transfer.V1", StringComparison.Ordinal) => ServiceKind.Transfer,
            _ when ns.EndsWith(".Sharing.V1", StringComparison.Ordinal) => ServiceKind.Sharing,
            _ => throw new ArgumentException($"{typeof(T)} is not a client of a GrpcImages service."),
        };
    }

    private async Task<WebApplication> StartServiceAsync(ServiceKind service, int port, bool primary, IDictionary<string, string?>? overrides = null)
    {
        var local = new Dictionary<string, string?> { ["Service:Port"] = port.ToString(CultureInfo.InvariantCulture) };
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            local[key] = value;
        }
        void Configure(WebApplicationBuilder builder)
        {
            // The cluster's settings are live: peers' addresses are filled in as peers start.
            ((IConfigurationBuilder)builder.Configuration).Add(_settings);
            builder.Configuration.AddInMemoryCollection(local);
            builder.Logging.ClearProviders();
            builder.Logging.AddProvider(Logs.Provider(service.ToString().ToLowerInvariant()));
        }
        void Override(IServiceCollection services) => _overrideServices?.Invoke(service, services);
        var app = service switch
        {
            ServiceKind.Kms => KmsHost.Build([], Configure, Override),
            ServiceKind.Catalog => CatalogHost.Build([], Configure, Override),
            ServiceKind.Transfer => TransferHost.Build([], Configure, Override),
            _ => SharingHost.Build([], Configure, Override),
        };
        await app.StartAsync();
        var bound = app.ListeningPort();
        _apps.Add(app);
        _byPort[bound] = app;
        if (primary)
        {
            _ports[service] = bound;
            _settings.Set($"Peers:{service}", $"http://127.0.0.1:{bound}");
        }
        return app;
    }

    /// <summary>
    /// Starts the ECS gateway in this process against the cluster (its ECS port and gRPC port the
    /// kernel's picks); returns the ECS endpoint, e.g. http://127.0.0.1:41234/. Stopped with the cluster.
    /// </summary>
    public async Task<Uri> StartGatewayAsync()
    {
        var app = GrpcImages.Gateway.GatewayHost.Build([], builder =>
        {
            ((IConfigurationBuilder)builder.Configuration).Add(_settings);
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Service:Port"] = "0", ["Gateway:HttpPort"] = "0" });
            builder.Logging.ClearProviders();
            builder.Logging.AddProvider(Logs.Provider("gateway"));
        });
        await app.StartAsync();
        _apps.Add(app);
        var port = app.Services.GetRequiredService<GrpcImages.Gateway.HttpEndpoint>().Listen?.IPEndPoint?.Port
            ?? throw new InvalidOperationException("The gateway's ECS port is not bound.");
        return new Uri($"http://127.0.0.1:{port}/");
    }

    /// <summary>Configuration every service of the cluster shares, one provider instance, so a change (a peer's address) reaches all.</summary>
    private sealed class LiveSettings(IDictionary<string, string?> initial) : ConfigurationProvider, IConfigurationSource
    {
        private readonly object _gate = new();

        public override void Load()
        {
            lock (_gate)
            {
                if (Data.Count == 0)
                {
                    foreach (var (key, value) in initial)
                    {
                        Data[key] = value;
                    }
                }
            }
        }

        public IConfigurationProvider Build(IConfigurationBuilder builder) => this;

        public string? Get(string key)
        {
            Load();
            return TryGet(key, out var value) ? value : null;
        }

        public new void Set(string key, string? value)
        {
            Load();
            lock (_gate)
            {
                base.Set(key, value);
            }
        }

        public Dictionary<string, string?> Snapshot()
        {
            Load();
            lock (_gate)
            {
                return new Dictionary<string, string?>(Data, StringComparer.OrdinalIgnoreCase);
            }
        }
    }
}

/// <summary>An account made for a test, with its root token.</summary>
public sealed record TestAccount(TestCluster Cluster, string AccountId, Site Site, string Token)
{
    public T Client<T>() where T : ClientBase<T> => Cluster.Client<T>(Token);
}
