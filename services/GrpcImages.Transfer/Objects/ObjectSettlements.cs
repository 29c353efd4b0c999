using GrpcImages.ServiceDefaults.Work;
using GrpcImages.Transfer.Content;
using GrpcImages.Transfer.Storage;

namespace GrpcImages.Transfer.Objects;

/// <summary>
/// Releases the content an object no longer points at. Each write or delete queues its settlement
/// (delayed) before it changes anything and settles at once when it is done; the queued one finishes
/// the job when the request died midway, and settling twice changes nothing.
/// </summary>
public sealed class ObjectSettlements(WorkQueues queues, ObjectIndex index, UploadIndex uploads, ContentLibrary library) : IWorkHandler
{
    public const string Queue = "objects";

    /// <summary>How long a settlement waits for its request to finish before a worker does it.</summary>
    public static readonly TimeSpan Guard = TimeSpan.FromMinutes(2);

    public static string QueueName(string region) => $"{Queue}:{region}";

    public Task QueueAsync(string region, ObjectSettlement settlement) =>
        queues.Get(QueueName(region)).EnqueueAsync(settlement.Id, $"{region}\n{settlement.Serialize()}", Guard);

    /// <summary>Releases each of the settlement's holders the object (or the upload's parts) does not point at now.</summary>
    public async Task SettleAsync(string region, ObjectSettlement settlement)
    {
        HashSet<string> current;
        if (settlement.UploadId.Length > 0)
        {
            var open = await uploads.GetAsync(region, settlement.Bucket, settlement.UploadId);
            current = open is { } upload ? upload.Parts.Values.Select(p => p.Holder).ToHashSet(StringComparer.Ordinal) : [];
        }
        else
        {
            var (_, found) = await index.GetObjectAsync(region, settlement.Bucket, settlement.Name);
            current = found is null ? [] : [found.Holder];
        }
        foreach (var holder in settlement.Holders.Where(h => h.Length > 0 && !current.Contains(h)))
        {
            await library.ReleaseHolderAsync(region, holder);
        }
        await queues.Get(QueueName(region)).RemoveAsync(settlement.Id, onlyIfWaiting: true);
    }

    public async Task<WorkOutcome> HandleAsync(WorkLease lease, CancellationToken cancellationToken)
    {
        var parts = lease.Payload.Split('\n', 2);
        await SettleAsync(parts[0], ObjectSettlement.Parse(parts[1]));
        return WorkOutcome.Done;
    }
}
