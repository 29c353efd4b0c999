using Grpc.Core;
using GrpcImages.Catalog.Storage;
using GrpcImages.Contracts.Sharing.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.ServiceDefaults.Peers;
using GrpcImages.ServiceDefaults.Work;

namespace GrpcImages.Catalog.Domain;

/// <summary>
/// Gives back content holds and image-quota units (R3, R34). Each release is written to the
/// "releases" queue before it is tried, and tried outside the caller's call (whose deadline may have
/// passed): one that fails, or whose process dies, is retried by the queue until it succeeds, so
/// nothing stays held for ever. Releases are idempotent.
/// </summary>
public sealed partial class Releases(WorkQueues queues, RegionPeers<ContentService.ContentServiceClient> transfers, QuotaService.QuotaServiceClient quotas,
    ILogger<Releases> logger) : IWorkHandler
{
    /// <summary>How long a recorded release waits before the queue tries it, when the first try never reported back.</summary>
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan FirstRetry = TimeSpan.FromSeconds(1);

    private WorkQueue Queue => queues.Get(CatalogQueues.Releases);

    public async Task ReleaseContentAsync(string region, IEnumerable<(string ManifestId, string Holder)> holds)
    {
        foreach (var (manifestId, holder) in holds)
        {
            await ReleaseAsync($"content|{region}|{manifestId}|{holder}");
        }
    }

    /// <summary>Releases everything each holder holds; with <paramref name="final"/>, the holders can never hold again (ids given up for good).</summary>
    public async Task ReleaseHoldersAsync(string region, IEnumerable<string> holders, bool final = false)
    {
        foreach (var holder in holders)
        {
            await ReleaseAsync(final ? $"holder|{region}|{holder}|final" : $"holder|{region}|{holder}");
        }
    }

    public Task ReleaseQuotaAsync(string account, string region, string holder) => ReleaseAsync($"quota|{account}|{region}|{holder}");

    public async Task<WorkOutcome> HandleAsync(WorkLease lease, CancellationToken cancellationToken)
    {
        await CallAsync(lease.Id, cancellationToken);
        LogReleasedLater(lease.Id);
        return WorkOutcome.Done;
    }

    private async Task ReleaseAsync(string release)
    {
        await Queue.EnqueueAsync(release, release, Guard);
        try
        {
            await Detached.RunAsync(() => CallAsync(release, CancellationToken.None));
            await Queue.RemoveAsync(release, onlyIfWaiting: true);
        }
        catch (RpcException ex) when (ex.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.Cancelled or StatusCode.Internal)
        {
            LogDeferred(ex, release);
            await Queue.EnqueueAsync(release, release, FirstRetry);
        }
    }

    private async Task CallAsync(string release, CancellationToken cancellationToken)
    {
        var parts = release.Split('|');
        var deadline = DateTime.UtcNow.AddSeconds(10);
        switch (parts[0])
        {
            case "content":
                await transfers.In(parts[1]).ReleaseContentAsync(new ReleaseContentRequest { RegionId = parts[1], ManifestId = parts[2], HolderId = parts[3] },
                    deadline: deadline, cancellationToken: cancellationToken);
                break;
            case "holder":
                await transfers.In(parts[1]).ReleaseHolderAsync(new ReleaseHolderRequest { RegionId = parts[1], HolderId = parts[2], Final = parts is [_, _, _, "final"] },
                    deadline: deadline, cancellationToken: cancellationToken);
                break;
            case "quota":
                await quotas.ReleaseQuotaAsync(new ReleaseQuotaRequest { AccountId = parts[1], Kind = QuotaKind.Images, RegionId = parts[2], HolderId = parts[3] },
                    deadline: deadline, cancellationToken: cancellationToken);
                break;
            default:
                throw new InvalidOperationException($"Unknown release '{release}'.");
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not do {Release} now; the releases queue retries it")]
    private partial void LogDeferred(Exception exception, string release);

    [LoggerMessage(Level = LogLevel.Information, Message = "Did {Release} after a retry")]
    private partial void LogReleasedLater(string release);
}
