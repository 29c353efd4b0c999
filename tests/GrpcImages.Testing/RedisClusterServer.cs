using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace GrpcImages.Testing;

/// <summary>
/// A real 3-node Redis Cluster (three redis-server processes joined by redis-cli --cluster create),
/// to prove that every multi-key step uses one hash tag.
/// </summary>
public sealed class RedisClusterServer : IAsyncDisposable
{
    private readonly List<Process> _nodes;

    private RedisClusterServer(List<Process> nodes, IReadOnlyList<int> ports, string directory)
    {
        _nodes = nodes;
        Ports = ports;
        Directory = directory;
    }

    public IReadOnlyList<int> Ports { get; }

    public string Directory { get; }

    /// <summary>The StackExchange.Redis connection string naming every node.</summary>
    public string ConnectionString => string.Join(',', Ports.Select(p => $"127.0.0.1:{p}"));

    public static async Task<RedisClusterServer> StartAsync()
    {
        var directory = ScratchDirectory.Create("gi-redis-cluster-");
        var ports = ClusterPorts(3);
        var nodes = new List<Process>();
        foreach (var port in ports)
        {
            var start = new ProcessStartInfo("redis-server") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var argument in new[] { "--port", port.ToString(), "--bind", "127.0.0.1", "--dir", directory, "--save", "", "--appendonly", "no",
                         "--cluster-enabled", "yes", "--cluster-config-file", $"nodes-{port}.conf", "--cluster-node-timeout", "5000", "--daemonize", "no" })
            {
                start.ArgumentList.Add(argument);
            }
            var process = Process.Start(start)!;
            ScratchDirectory.Adopt(directory, process.Id);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            nodes.Add(process);
        }
        var cluster = new RedisClusterServer(nodes, ports, directory);
        try
        {
            foreach (var port in ports)
            {
                await WaitForAsync(() => Cli(port, "ping") == "PONG");
            }
            var create = new ProcessStartInfo("redis-cli") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var argument in ((string[])["--cluster", "create"]).Concat(ports.Select(p => $"127.0.0.1:{p}")).Concat(["--cluster-replicas", "0", "--cluster-yes"]))
            {
                create.ArgumentList.Add(argument);
            }
            using (var process = Process.Start(create)!)
            {
                var output = await process.StandardOutput.ReadToEndAsync();
                await process.WaitForExitAsync();
                if (process.ExitCode != 0)
                {
                    throw new InvalidOperationException($"redis-cli --cluster create failed: {output}");
                }
            }
            foreach (var port in ports)
            {
                await WaitForAsync(() => Cli(port, "cluster", "info").Contains("cluster_state:ok"));
            }
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    public ValueTask DisposeAsync()
    {
        foreach (var node in _nodes.Where(n => !n.HasExited))
        {
            node.Kill(entireProcessTree: true);
            node.WaitForExit(5000);
        }
        ScratchDirectory.Delete(Directory);
        return ValueTask.CompletedTask;
    }

    /// <summary>Ports p below 30000 whose cluster bus port p + 10000 is free too.</summary>
    private static List<int> ClusterPorts(int count)
    {
        var ports = new List<int>();
        for (var port = 21000 + Random.Shared.Next(0, 8000); ports.Count < count; port++)
        {
            if (IsFree(port) && IsFree(port + 10000))
            {
                ports.Add(port);
            }
        }
        return ports;
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
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

    private static async Task WaitForAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("The Redis cluster did not come up.");
            }
            await Task.Delay(100);
        }
    }
}
