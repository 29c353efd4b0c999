using Grpc.Core;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.ServiceDefaults.Peers;
using GrpcImages.ServiceDefaults.Work;
using GrpcImages.Sharing.Storage;
using Microsoft.Extensions.Options;

namespace GrpcImages.Sharing.Domain;

/// <summary>
/// Keeps recipients' indexes in step with an owner's grants (R19). A grant change appends its
/// recipient-index changes to the owner's outbox in the same script as the grant; the request then
/// applies them at once. Before the grant, the owner is queued in the "outbox" queue with a short
/// delay, so if the request dies in between, a replica applies the changes shortly after. Applying
/// is idempotent; an owner queued while its outbox is being applied is applied once more. Grants and
/// revokes to accounts go to the catalog as well, which counts each recipient's shared images by
/// status from them (a ListImages of "others" then reads no share).
/// </summary>
public sealed partial class RecipientOutbox(WorkQueues queues, ShareStore store, PeerClient<ImageControlService.ImageControlServiceClient> catalog,
    IOptions<SharingOptions> options, ILogger<RecipientOutbox> logger) : IWorkHandler
{
    public const string Queue = "outbox";

    /// <summary>Records that the owner's grants are about to change.</summary>
    public Task ExpectAsync(string owner) =>
        queues.Get(Queue).EnqueueAsync(owner, owner, TimeSpan.FromMilliseconds(options.Value.OutboxGuardMilliseconds), runAgain: true);

    /// <summary>Applies the owner's pending recipient-index changes now.</summary>
    /// <summary>
    /// Applies the owner's pending recipient-index changes now. When the catalog cannot take them, the grant still
    /// stands and the recipients' indexes have it; the owner's queued item hands them on later (until then the
    /// recipients' counts disagree with their indexes, and their lists count by reading).
    /// </summary>
    public async Task DrainAsync(string owner)
    {
        try
        {
            await store.DrainOutboxAsync(owner, RecordInCatalogAsync);
        }
        catch (RpcException e)
        {
            LogCatalogBehind(owner, e.StatusCode);
        }
    }

    public async Task<WorkOutcome> HandleAsync(WorkLease lease, CancellationToken cancellationToken)
    {
        await store.DrainOutboxAsync(lease.Id, RecordInCatalogAsync);
        return WorkOutcome.Done;
    }

    private async Task RecordInCatalogAsync(IReadOnlyList<OutboxEntry> entries)
    {
        var request = new RecordShareChangesRequest();
        request.Changes.AddRange(entries.Where(e => !OrganizationPrincipal.IsPrincipal(e.Recipient)).Select(e => new Contracts.Catalog.V1.ShareChange
        {
            ImageId = e.ImageId,
            OwnerAccountId = e.Owner,
            RegionId = e.Region,
            RecipientAccountId = e.Recipient,
            Granted = e.Grant,
        }));
        if (request.Changes.Count > 0)
        {
            await catalog.Client.RecordShareChangesAsync(request);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The catalog did not take the share changes of {Owner} ({Status}); the outbox queue hands them on later.")]
    private partial void LogCatalogBehind(string owner, StatusCode status);
}
