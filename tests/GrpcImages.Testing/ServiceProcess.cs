using System.Diagnostics;

namespace GrpcImages.Testing;

/// <summary>
/// A service of the cluster in a process of its own (dotnet &lt;Service&gt;.dll from the test's output),
/// so a test can kill it for real (SIGKILL) or freeze it (SIGSTOP) and thaw it (SIGCONT). It is
/// configured through environment variables, listens on a port the kernel picks, and its output goes
/// to the cluster's logs.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private readonly Process _process;

    private ServiceProcess(ServiceKind kind, Process process, int port)
    {
        Kind = kind;
        _process = process;
        Port = port;
    }

    public ServiceKind Kind { get; }

    public int Port { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public static async Task<ServiceProcess> StartAsync(ServiceKind kind, IReadOnlyDictionary<string, string?> settings, TestLogs logs, int port = 0)
    {
        var name = $"GrpcImages.{kind}";
        var portFile = Path.Combine(Path.GetTempPath(), $"gi-port-{Guid.NewGuid():N}");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, $"{name}.dll"));
        foreach (var (key, value) in settings)
        {
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }
        start.Environment["Service__Port"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        start.Environment["Service__PortFile"] = portFile;
        start.Environment["Logging__Console__FormatterName"] = "simple";
        start.Environment["DOTNET_gcServer"] = "0";
        var process = Process.Start(start) ?? throw new InvalidOperationException($"{name} did not start.");
        var label = $"{kind.ToString().ToLowerInvariant()} pid {process.Id}";
        process.OutputDataReceived += (_, e) => Forward(logs, label, e.Data);
        process.ErrorDataReceived += (_, e) => Forward(logs, label, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!File.Exists(portFile))
        {
            if (process.HasExited || DateTime.UtcNow > deadline)
            {
                process.Kill(entireProcessTree: true);
                throw new InvalidOperationException($"{name} did not start listening (see the test's output).");
            }
            await Task.Delay(50);
        }
        var bound = int.Parse(await File.ReadAllTextAsync(portFile), System.Globalization.CultureInfo.InvariantCulture);
        File.Delete(portFile);
        return new ServiceProcess(kind, process, bound);
    }

    /// <summary>kill -9: the process ends at once, finishing nothing.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }
    }

    /// <summary>SIGSTOP: the process stops running (and renewing its leases) until <see cref="Resume"/>.</summary>
    public void Pause() => Signal("STOP");

    /// <summary>SIGCONT: a paused process runs again, unaware that time passed.</summary>
    public void Resume() => Signal("CONT");

    public ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            Resume();
        }
        Kill();
        _process.Dispose();
        return ValueTask.CompletedTask;
    }

    private void Signal(string signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-s", signal, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture) } })!;
        kill.WaitForExit();
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"Could not send SIG{signal} to process {_process.Id}.");
        }
    }

    private static void Forward(TestLogs logs, string label, string? line)
    {
        if (!string.IsNullOrWhiteSpace(line))
        {
            logs.Write($"{DateTime.UtcNow:HH:mm:ss.fff} [{label}] {line}");
        }
    }
}
