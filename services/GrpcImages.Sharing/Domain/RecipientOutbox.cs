using GrpcImages.ServiceDefaults.Work;
using GrpcImages.Sharing.Storage;
using Microsoft.Extensions.Options;

namespace GrpcImages.Sharing.Domain;

/// <summary>
/// Keeps recipients' indexes in step with an owner's grants (R19). A grant change appends its
/// recipient-index changes to the owner's outbox in the same script as the grant; the request then
/// applies them at once. Before the grant, the owner is queued in the "outbox" queue with a short
/// delay, so if the request dies in between, a replica applies the changes shortly after. Applying
/// is idempotent; an owner queued while its outbox is being applied is applied once more.
/// </summary>
public sealed class RecipientOutbox(WorkQueues queues, ShareStore store, IOptions<SharingOptions> options) : IWorkHandler
{
    public const string Queue = "outbox";

    /// <summary>Records that the owner's grants are about to change.</summary>
    public Task ExpectAsync(string owner) =>
        queues.Get(Queue).EnqueueAsync(owner, owner, TimeSpan.FromMilliseconds(options.Value.OutboxGuardMilliseconds), runAgain: true);

    /// <summary>Applies the owner's pending recipient-index changes now.</summary>
    public Task DrainAsync(string owner) => store.DrainOutboxAsync(owner);

    public async Task<WorkOutcome> HandleAsync(WorkLease lease, CancellationToken cancellationToken)
    {
        await store.DrainOutboxAsync(lease.Id);
        return WorkOutcome.Done;
    }
}
