using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace GrpcImages.Testing;

/// <summary>A real redis-server on a free loopback port with its own temporary directory, stopped by its PID.</summary>
public sealed class RedisServer : IAsyncDisposable
{
    private readonly Process _process;

    private RedisServer(Process process, int port, string directory)
    {
        _process = process;
        Port = port;
        Directory = directory;
    }

    public int Port { get; }

    public string Directory { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public string ConnectionString => $"127.0.0.1:{Port}";

    public static Task<RedisServer> StartAsync(params string[] extraArguments) => StartOnPortAsync(FreePort(), extraArguments);

    /// <summary>A server on a given port: a Redis that comes back where it was, after <see cref="Stop"/>.</summary>
    public static async Task<RedisServer> StartOnPortAsync(int port, params string[] extraArguments)
    {
        var directory = ScratchDirectory.Create("gi-redis-");
        var start = new ProcessStartInfo("redis-server")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in (string[])["--port", port.ToString(), "--bind", "127.0.0.1", "--dir", directory,
                     "--save", "", "--appendonly", "no", "--daemonize", "no", .. extraArguments])
        {
            start.ArgumentList.Add(argument);
        }
        var process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start; install it (apt-get install redis-server).");
        ScratchDirectory.Adopt(directory, process.Id);
        process.OutputDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new RedisServer(process, port, directory);
        await server.WaitUntilReadyAsync();
        return server;
    }

    /// <summary>A port nobody listens on now (the kernel's pick for an ephemeral bind).</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        Stop();
        await Task.CompletedTask;
        ScratchDirectory.Delete(Directory);
    }

    /// <summary>Kills the server (tests of what happens when Redis goes away).</summary>
    public void Stop()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }
    }

    private async Task WaitUntilReadyAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"redis-server exited with code {_process.ExitCode}.");
            }
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, Port);
                var stream = client.GetStream();
                await stream.WriteAsync("PING\r\n"u8.ToArray());
                var buffer = new byte[16];
                var read = await stream.ReadAsync(buffer);
                if (Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal))
                {
                    return;
                }
            }
            catch (SocketException)
            {
            }
            await Task.Delay(50);
        }
        throw new TimeoutException("redis-server did not answer PING within 15 seconds.");
    }
}
