using StackExchange.Redis;

namespace GrpcImages.ServiceDefaults.Redis;

/// <summary>Failures that mean Redis did not answer, for code that must not name the client library's types.</summary>
public static class RedisFailures
{
    /// <summary>Whether <paramref name="exception"/> says Redis is away (down, frozen, unreachable, too slow) rather than a bug.</summary>
    public static bool IsUnavailable(Exception exception) => exception is RedisException or TimeoutException;
}
