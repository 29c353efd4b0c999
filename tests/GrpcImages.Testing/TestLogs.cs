using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace GrpcImages.Testing;

/// <summary>
/// Where the services of a test cluster log: every line goes to the outputs of the tests attached
/// now (xUnit shows a test's output when it fails), and the last lines are kept for tests that read
/// them. A line names its service: "[catalog] Warning GrpcImages.Catalog...: message".
/// </summary>
public sealed class TestLogs
{
    private const int Kept = 5000;
    private readonly ConcurrentDictionary<ITestOutputHelper, byte> _outputs = new();
    private readonly ConcurrentQueue<string> _recent = new();

    /// <summary>Sends the cluster's log lines to a test's output until the returned handle is disposed.</summary>
    public IDisposable Attach(ITestOutputHelper output)
    {
        _outputs[output] = 0;
        return new Detach(() => _outputs.TryRemove(output, out _));
    }

    /// <summary>The lines logged lately (at most the last 5000).</summary>
    public IReadOnlyList<string> Recent => _recent.ToArray();

    public void Write(string line)
    {
        _recent.Enqueue(line);
        while (_recent.Count > Kept && _recent.TryDequeue(out _))
        {
        }
        foreach (var output in _outputs.Keys)
        {
            try
            {
                output.WriteLine(line);
            }
            catch (InvalidOperationException)
            {
                // The test ended meanwhile.
                _outputs.TryRemove(output, out _);
            }
        }
    }

    /// <summary>A logger provider for one in-process service.</summary>
    public ILoggerProvider Provider(string service) => new SinkProvider(this, service);

    private sealed class Detach(Action action) : IDisposable
    {
        public void Dispose() => action();
    }

    private sealed class SinkProvider(TestLogs logs, string service) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new SinkLogger(logs, service, categoryName);

        public void Dispose()
        {
        }
    }

    private sealed class SinkLogger(TestLogs logs, string service, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var line = $"{DateTime.UtcNow:HH:mm:ss.fff} [{service}] {logLevel} {category}: {formatter(state, exception)}";
            logs.Write(exception is null ? line : $"{line}\n{exception}");
        }
    }
}
