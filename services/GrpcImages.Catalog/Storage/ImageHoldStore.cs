using GrpcImages.Contracts.Catalog.V1;
using StackExchange.Redis;
using static GrpcImages.Catalog.Storage.Records;

namespace GrpcImages.Catalog.Storage;

/// <summary>What holding an image for a copy or export found (numbers the script returns).</summary>
public enum HoldResult
{
    Missing = 0,
    Held = 1,
    /// <summary>The image is not Available.</summary>
    WrongStatus = 2,
    /// <summary>Another copy of the image runs (R9).</summary>
    CopyConflict = 3,
    /// <summary>The task let the image go before: a hold that arrives after its release is refused.</summary>
    Released = 4,
}

/// <summary>
/// The tasks holding an image (keys in <see cref="CatalogKeys"/>): <c>holds:</c> (task -> kind), which
/// refuses deletes and a second copy of a source (R9, R33), and the marks of holds let go
/// (<c>unheld:</c>), which refuse the task's hold for good.
/// </summary>
public sealed class ImageHoldStore(IDatabase redis)
{
    /// <summary>How long a let-go hold stays refused: far longer than a request that could still carry it lives.</summary>
    public static readonly TimeSpan ReleasedHoldLifetime = TimeSpan.FromDays(1);

    // KEYS: image, holds, the task's release mark. ARGV: task, kind, the status that allows it. Returns HoldResult.
    private const string HoldScript = """
        if redis.call('EXISTS', KEYS[3]) == 1 then return 4 end
        local s = redis.call('HGET', KEYS[1], 's')
        if not s then return 0 end
        if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return 1 end
        if s ~= ARGV[3] then return 2 end
        if ARGV[2] == '1' then
          for _, kind in ipairs(redis.call('HVALS', KEYS[2])) do
            if kind == '1' then return 3 end
          end
        end
        redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
        return 1
        """;

    // KEYS: image's holds, the task's release mark. ARGV: task, mark ttl.
    private const string ReleaseHoldScript = """
        redis.call('HDEL', KEYS[1], ARGV[1])
        redis.call('SET', KEYS[2], 1, 'EX', ARGV[2])
        return 0
        """;

    /// <summary>Holds an Available image for a task (a second copy of a source is refused, R9).</summary>
    public async Task<HoldResult> HoldImageAsync(string region, string imageId, string taskId, ImageHoldKind kind) =>
        Map<HoldResult>(await redis.ScriptEvaluateAsync(HoldScript, [CatalogKeys.Image(region, imageId), CatalogKeys.Holds(imageId), CatalogKeys.Unheld(imageId, taskId)],
            [taskId, (int)kind, (int)ImageStatus.Available]));

    /// <summary>Lets a task's hold go, for good: a hold of the task that arrives later is refused (<see cref="HoldResult.Released"/>).</summary>
    public Task ReleaseHoldAsync(string imageId, string taskId) =>
        redis.ScriptEvaluateAsync(ReleaseHoldScript, [CatalogKeys.Holds(imageId), CatalogKeys.Unheld(imageId, taskId)], [taskId, (long)ReleasedHoldLifetime.TotalSeconds]);
}
