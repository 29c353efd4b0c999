using StackExchange.Redis;

namespace GrpcImages.ServiceDefaults.Storage;

/// <summary>Tells Domain code that the state store is away without naming the store's own types.</summary>
public static class StoreFailures
{
    /// <summary>Whether <paramref name="error"/> says Redis did not answer (refused, cut off, or too slow): worth trying again later.</summary>
    public static bool IsAway(Exception error) => error is RedisException or TimeoutException;
}
