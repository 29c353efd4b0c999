using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace GrpcImages.Console.Sessions;

/// <summary>
/// Failed sign-ins per client address and minute, on this replica: past the limit, an address's tries are refused
/// before kms is asked (kms also counts failures per AccessKey pair across the cluster).
/// </summary>
public sealed class SignInThrottle(IOptions<ConsoleOptions> options, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, (long Minute, int Failures)> _failures = new(StringComparer.Ordinal);

    public bool IsBlocked(string address) =>
        _failures.TryGetValue(address, out var seen) && seen.Minute == Minute && seen.Failures >= options.Value.SignInFailuresPerMinute;

    public void Failed(string address)
    {
        var minute = Minute;
        _failures.AddOrUpdate(address, (minute, 1), (_, seen) => seen.Minute == minute ? (minute, seen.Failures + 1) : (minute, 1));
        if (_failures.Count > 10_000)
        {
            foreach (var stale in _failures.Where(f => f.Value.Minute != minute).Select(f => f.Key).ToList())
            {
                _failures.TryRemove(stale, out _);
            }
        }
    }

    private long Minute => time.GetUtcNow().ToUnixTimeSeconds() / 60;
}
