using System.Diagnostics;

namespace GrpcImages.Testing;

/// <summary>
/// Redis behind Sentinel: a master, a replica of it, and one sentinel watching them (quorum 1, a
/// second to notice a dead master), for tests of the "host:port,serviceName=..." connection and of
/// failover.
/// </summary>
public sealed class RedisSentinelServer : IAsyncDisposable
{
    public const string ServiceName = "mymaster";

    private readonly Process _sentinel;

    private RedisSentinelServer(RedisServer master, RedisServer replica, Process sentinel, int port, string directory)
    {
        Master = master;
        Replica = replica;
        _sentinel = sentinel;
        SentinelPort = port;
        Directory = directory;
    }

    public RedisServer Master { get; }

    public RedisServer Replica { get; }

    public int SentinelPort { get; }

    public string Directory { get; }

    /// <summary>The StackExchange.Redis connection string: the sentinel and the service it watches.</summary>
    public string ConnectionString => $"127.0.0.1:{SentinelPort},serviceName={ServiceName}";

    public static async Task<RedisSentinelServer> StartAsync()
    {
        var master = await RedisServer.StartAsync();
        var replica = await RedisServer.StartAsync("--replicaof", "127.0.0.1", master.Port.ToString());
        var directory = ScratchDirectory.Create("gi-sentinel-");
        var port = RedisServer.FreePort();
        var config = Path.Combine(directory, "sentinel.conf");
        await File.WriteAllTextAsync(config, $"""
            port {port}
            bind 127.0.0.1
            dir {directory}
            sentinel monitor {ServiceName} 127.0.0.1 {master.Port} 1
            sentinel down-after-milliseconds {ServiceName} 1000
            sentinel failover-timeout {ServiceName} 3000

            """);
        var start = new ProcessStartInfo("redis-server") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { config, "--sentinel", "--daemonize", "no" })
        {
            start.ArgumentList.Add(argument);
        }
        var sentinel = Process.Start(start)!;
        ScratchDirectory.Adopt(directory, sentinel.Id);
        sentinel.BeginOutputReadLine();
        sentinel.BeginErrorReadLine();
        var server = new RedisSentinelServer(master, replica, sentinel, port, directory);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!Cli(port, "sentinel", "replicas", ServiceName).Contains(replica.Port.ToString()))
        {
            if (DateTime.UtcNow > deadline)
            {
                await server.DisposeAsync();
                throw new TimeoutException("Sentinel did not see the master and its replica.");
            }
            await Task.Delay(200);
        }
        return server;
    }

    /// <summary>The port Sentinel names as the master now.</summary>
    public string CurrentMaster() => Cli(SentinelPort, "sentinel", "get-master-addr-by-name", ServiceName).Split('\n').Last().Trim();

    /// <summary>Waits until the replica has every write of the master (so a failover loses nothing).</summary>
    public void WaitForReplica() => Cli(Master.Port, "wait", "1", "5000");

    public async ValueTask DisposeAsync()
    {
        if (!_sentinel.HasExited)
        {
            _sentinel.Kill(entireProcessTree: true);
            _sentinel.WaitForExit(5000);
        }
        await Master.DisposeAsync();
        await Replica.DisposeAsync();
        ScratchDirectory.Delete(Directory);
    }

    private static string Cli(int port, params string[] command)
    {
        var start = new ProcessStartInfo("redis-cli") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "-p", port.ToString() }.Concat(command))
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return output.Trim();
    }
}
