using System.Diagnostics;

namespace GrpcImages.Transfer.Content;

/// <summary>Keeps a task under a bandwidth cap (none when the cap is 0).</summary>
public sealed class Throttle(long bytesPerSecond)
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private long _bytes;

    public async Task WaitAsync(int bytes, CancellationToken cancellationToken)
    {
        if (bytesPerSecond <= 0)
        {
            return;
        }
        var due = TimeSpan.FromSeconds((double)Interlocked.Add(ref _bytes, bytes) / bytesPerSecond) - _clock.Elapsed;
        if (due > TimeSpan.Zero)
        {
            await Task.Delay(due, cancellationToken);
        }
    }
}
