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
            await ReleaseAsync(new ContentRelease(region, manifestId, holder));
        }
    }

    /// <summary>Releases everything each holder holds; with <paramref name="final"/>, the holders can never hold again (ids given up for good).</summary>
    public async Task ReleaseHoldersAsync(string region, IEnumerable<string> holders, bool final = false)
    {
        foreach (var holder in holders)
        {
            await ReleaseAsync(new HolderRelease(region, holder, final));
        }
    }

    public Task ReleaseQuotaAsync(string account, string region, string holder) => ReleaseAsync(new QuotaRelease(account, region, holder));

    public async Task<WorkOutcome> HandleAsync(WorkLease lease, CancellationToken cancellationToken)
    {
        await CallAsync(Release.Parse(lease.Id), cancellationToken);
        LogReleasedLater(lease.Id);
        return WorkOutcome.Done;
    }

    private async Task ReleaseAsync(Release release)
    {
        var item = release.Format(); // the item is its own id: one release is queued once
        await Queue.EnqueueAsync(item, item, Guard);
        try
        {
            await Detached.RunAsync(() => CallAsync(release, CancellationToken.None));
            await Queue.RemoveAsync(item, onlyIfWaiting: true);
        }
        catch (RpcException ex) when (ex.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.Cancelled or StatusCode.Internal)
        {
            LogDeferred(ex, item);
            await Queue.EnqueueAsync(item, item, FirstRetry);
        }
    }

    private async Task CallAsync(Release release, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        switch (release)
        {
            case ContentRelease c:
                await transfers.In(c.Region).ReleaseContentAsync(new ReleaseContentRequest { RegionId = c.Region, ManifestId = c.ManifestId, HolderId = c.Holder },
                    deadline: deadline, cancellationToken: cancellationToken);
                break;
            case HolderRelease h:
                await transfers.In(h.Region).ReleaseHolderAsync(new ReleaseHolderRequest { RegionId = h.Region, HolderId = h.Holder, Final = h.Final },
                    deadline: deadline, cancellationToken: cancellationToken);
                break;
            case QuotaRelease q:
                await quotas.ReleaseQuotaAsync(new ReleaseQuotaRequest { AccountId = q.Account, Kind = QuotaKind.Images, RegionId = q.Region, HolderId = q.Holder },
                    deadline: deadline, cancellationToken: cancellationToken);
                break;
            default:
                throw new InvalidOperationException($"A release of no known kind: {release}.");
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not do {Release} now; the releases queue retries it")]
    private partial void LogDeferred(Exception exception, string release);

    [LoggerMessage(Level = LogLevel.Information, Message = "Did {Release} after a retry")]
    private partial void LogReleasedLater(string release);
}

/// <summary>
/// One thing the releases queue gives back, as its item: "content|&lt;region&gt;|&lt;manifest&gt;|&lt;holder&gt;",
/// "holder|&lt;region&gt;|&lt;holder&gt;[|final]" or "quota|&lt;account&gt;|&lt;region&gt;|&lt;holder&gt;".
/// </summary>
public abstract record Release
{
    public abstract string Format();

    /// <summary>The release an item names; an item of no known shape is a bug and throws (the queue keeps it for a fixed replica).</summary>
    public static Release Parse(string item)
    {
        var parts = item.Split('|');
        return parts switch
        {
            ["content", var region, var manifestId, var holder] => new ContentRelease(region, manifestId, holder),
            ["holder", var region, var holder] => new HolderRelease(region, holder, false),
            ["holder", var region, var holder, "final"] => new HolderRelease(region, holder, true),
            ["quota", var account, var region, var holder] => new QuotaRelease(account, region, holder),
            _ => throw new FormatException($"Unknown release '{item}'."),
        };
    }
}

/// <summary>A holder's hold on a manifest's content (R34).</summary>
public sealed record ContentRelease(string Region, string ManifestId, string Holder) : Release
{
    public override string Format() => $"content|{Region}|{ManifestId}|{Holder}";
}

/// <summary>Everything a holder holds; <see cref="Final"/>: the holder can never hold again.</summary>
public sealed record HolderRelease(string Region, string Holder, bool Final) : Release
{
    public override string Format() => Final ? $"holder|{Region}|{Holder}|final" : $"holder|{Region}|{Holder}";
}

/// <summary>One unit of an account's image quota in a region (R3).</summary>
public sealed record QuotaRelease(string Account, string Region, string Holder) : Release
{
    public override string Format() => $"quota|{Account}|{Region}|{Holder}";
}
