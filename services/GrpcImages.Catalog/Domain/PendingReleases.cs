using StackExchange.Redis;

namespace GrpcImages.Catalog.Domain;

/// <summary>
/// Releases of content holds and quota units that failed (their service was unreachable) wait in
/// gi:cat:{jobs}:releases ("content|region|manifest|holder", "quota|account|region|holder") and are
/// retried until they succeed, so nothing stays held for ever.
/// </summary>
public sealed class PendingReleases(IDatabase redis)
{
    public const string Key = "gi:cat:{jobs}:releases";

    public Task AddContentAsync(string region, string manifestId, string holder) => redis.SetAddAsync(Key, $"content|{region}|{manifestId}|{holder}");

    public Task AddQuotaAsync(string account, string region, string holder) => redis.SetAddAsync(Key, $"quota|{account}|{region}|{holder}");

    public async Task<IReadOnlyList<string[]>> ListAsync() =>
        (await redis.SetRandomMembersAsync(Key, 100)).Select(v => ((string)v!).Split('|')).ToList();

    public Task RemoveAsync(string[] entry) => redis.SetRemoveAsync(Key, string.Join('|', entry));
}

/// <summary>Retries pending releases now and then.</summary>
public sealed class ReleaseRetrier(PendingReleases pending, ContentClient content, SharingClient sharing, ILogger<ReleaseRetrier> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(2));
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                foreach (var entry in await pending.ListAsync())
                {
                    var released = entry[0] == "content"
                        ? await content.TryReleaseAsync(entry[1], entry[2], entry[3])
                        : await sharing.TryReleaseImageAsync(entry[1], entry[2], entry[3]);
                    if (released)
                    {
                        await pending.RemoveAsync(entry);
                        logger.LogInformation("Released {Kind} held by {Holder} after a retry", entry[0], entry[3]);
                    }
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogWarning(ex, "Retrying pending releases failed; will retry");
            }
        }
    }
}
