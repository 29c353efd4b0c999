using GrpcImages.ServiceDefaults.Work;

namespace GrpcImages.Kms.Domain;

/// <summary>Ends pending key deletions when their window has passed: items of the key-deletions queue (<see cref="KeyDeletionItem"/>), due at the window's end.</summary>
public sealed class KeyDeletions(KeyManager keys) : IWorkHandler
{
    public const string Queue = "key-deletions";

    public async Task<WorkOutcome> HandleAsync(WorkLease lease, CancellationToken cancellationToken)
    {
        var item = KeyDeletionItem.Parse(lease.Id);
        return await keys.DeleteIfDueAsync(item.Account, item.KeyId) is { } left ? WorkOutcome.Retry(left) : WorkOutcome.Done;
    }
}
