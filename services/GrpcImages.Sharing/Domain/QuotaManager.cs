using Google.Protobuf.WellKnownTypes;
using GrpcImages.Contracts.Sharing.V1;
using GrpcImages.ServiceDefaults.Errors;
using GrpcImages.ServiceDefaults.Hosting;
using GrpcImages.ServiceDefaults.Identity;
using GrpcImages.ServiceDefaults.Storage;
using GrpcImages.ServiceDefaults.Validation;
using GrpcImages.Sharing.Storage;
using Microsoft.Extensions.Options;

namespace GrpcImages.Sharing.Domain;

/// <summary>
/// Quotas (R3, R14, R15) and requests to raise them: the shared-images quota is raised at once up
/// to the self-service ceiling; other raises wait for an operator (the "ticket").
/// </summary>
public sealed partial class QuotaManager(QuotaStore store, Regions regions, IOptions<SharingOptions> options, TimeProvider time, ILogger<QuotaManager> logger)
{
    public const int MaxLimit = 100_000;
    private const string SelfService = "self-service";
    private readonly SharingOptions _defaults = options.Value;

    public async Task<IReadOnlyList<Quota>> GetAsync(Caller caller, GetQuotasRequest request)
    {
        var account = request.AccountId.Length > 0 && (caller.IsOperator || caller.IsClusterService)
            ? Check.AccountId(request.AccountId, "account_id")
            : caller.RequireAccount();
        var region = request.RegionId.Length > 0 ? regions.Require(request.RegionId) : "";
        var limits = await store.LimitsAsync(account);
        var (images, shared, most) = await store.UsageAsync(account, region);
        var quotas = new List<Quota>();
        if (region.Length > 0)
        {
            quotas.Add(new Quota { Kind = QuotaKind.Images, RegionId = region, Limit = Limit(limits, QuotaKind.Images, region), Usage = images });
        }
        quotas.Add(new Quota
        {
            Kind = QuotaKind.SharedImages,
            Limit = Limit(limits, QuotaKind.SharedImages, ""),
            Usage = shared,
            SelfServiceCeiling = _defaults.SharedImagesSelfServiceCeiling,
        });
        quotas.Add(new Quota { Kind = QuotaKind.AccountsPerImage, Limit = Limit(limits, QuotaKind.AccountsPerImage, ""), Usage = most });
        return quotas;
    }

    public async Task<QuotaRequest> RequestIncreaseAsync(Caller caller, RequestQuotaIncreaseRequest request)
    {
        var account = caller.RequireAccount();
        var region = request.Kind == QuotaKind.Images ? regions.Require(request.RegionId) : "";
        if (request.Kind is not (QuotaKind.Images or QuotaKind.SharedImages or QuotaKind.AccountsPerImage))
        {
            throw Fault.InvalidArgument("InvalidParameter.QuotaKind", "kind", "Name the quota to raise.");
        }
        if (request.Reason.Length > 256)
        {
            throw Fault.InvalidArgument("InvalidParameter.Reason", "reason", "A reason is at most 256 characters.");
        }
        var token = ClientToken.Of(request, request.ClientToken);
        if (token.Resolve(await store.FindClientTokenAsync(account, token)) is { } prior)
        {
            return await RequireRequestAsync(prior);
        }
        var current = Limit(await store.LimitsAsync(account), request.Kind, region);
        if (request.DesiredLimit <= current || request.DesiredLimit > MaxLimit)
        {
            throw Fault.InvalidArgument("InvalidParameter.DesiredLimit", "desired_limit",
                $"Ask for more than the current limit of {current} and at most {MaxLimit}.");
        }

        var quotaRequest = new QuotaRequest
        {
            RequestId = ResourceIds.New('q', ResourceIds.OwnerTag(account)),
            AccountId = account,
            Kind = request.Kind,
            RegionId = region,
            DesiredLimit = request.DesiredLimit,
            Reason = request.Reason,
            State = QuotaRequestState.Pending,
            CreateTime = Timestamp.FromDateTimeOffset(time.GetUtcNow()),
        };
        var (created, stored) = await store.CreateRequestAsync(quotaRequest, token);
        if (created == CreateStatus.TokenUsed)
        {
            return await RequireRequestAsync(ClientTokens.ResolveStored(stored, token.Fingerprint));
        }
        // R14: an account raises its own shared-images quota up to the ceiling without a ticket.
        if (request.Kind == QuotaKind.SharedImages && request.DesiredLimit <= _defaults.SharedImagesSelfServiceCeiling)
        {
            return await DecideAsync(quotaRequest.RequestId, QuotaRequestState.Approved, SelfService, "Within the self-service ceiling.");
        }
        return quotaRequest;
    }

    public async Task<(IReadOnlyList<QuotaRequest> Requests, string NextPageToken)> ListRequestsAsync(Caller caller, ListQuotaRequestsRequest request)
    {
        var size = Check.PageSize(request.PageSize);
        var account = caller.IsOperator ? null : caller.RequireAccount();
        var (page, next) = await store.ListRequestsAsync(account, request.State, PageToken.Decode(request.PageToken), size);
        return (page, PageToken.Encode(next));
    }

    public Task<QuotaRequest> ApproveAsync(Caller caller, string requestId, string comment)
    {
        caller.RequireOperator();
        return DecideAsync(requestId, QuotaRequestState.Approved, caller.Actor, comment);
    }

    public Task<QuotaRequest> RejectAsync(Caller caller, string requestId, string comment)
    {
        caller.RequireOperator();
        return DecideAsync(requestId, QuotaRequestState.Rejected, caller.Actor, comment);
    }

    /// <summary>Internal: one unit of the custom-image quota for a holder (R3), atomically. Idempotent per holder.</summary>
    public async Task<Quota> ReserveAsync(ReserveQuotaRequest request)
    {
        var (account, region) = ImageQuota(request.AccountId, request.Kind, request.RegionId);
        var (granted, used, limit) = await store.ReserveAsync(account, region, Holder(request.HolderId), LimitField(QuotaKind.Images, region), _defaults.Images);
        return granted
            ? new Quota { Kind = QuotaKind.Images, RegionId = region, Limit = limit, Usage = used }
            : throw SharingErrors.ImagesQuota(limit, region);
    }

    public async Task<bool> ReleaseAsync(ReleaseQuotaRequest request)
    {
        var (account, region) = ImageQuota(request.AccountId, request.Kind, request.RegionId);
        return await store.ReleaseAsync(account, region, Holder(request.HolderId));
    }

    private async Task<QuotaRequest> DecideAsync(string requestId, QuotaRequestState state, string decidedBy, string comment)
    {
        if (comment.Length > 256)
        {
            throw Fault.InvalidArgument("InvalidParameter.Comment", "comment", "A comment is at most 256 characters.");
        }
        return await ConflictRetry.RunAsync<QuotaRequest>(async () =>
        {
            var found = ResourceIds.IsValid(requestId, 'q') ? await store.GetRequestAsync(requestId) : null;
            if (found is not { } stored)
            {
                throw SharingErrors.RequestNotFound(requestId);
            }
            if (stored.Request.State != QuotaRequestState.Pending)
            {
                throw Fault.FailedPrecondition("IncorrectQuotaRequestStatus", $"The request is already {stored.Request.State}.");
            }
            var decided = stored.Request.Clone();
            decided.State = state;
            decided.DecidedBy = decidedBy;
            decided.Comment = comment;
            decided.DecideTime = Timestamp.FromDateTimeOffset(time.GetUtcNow());
            var field = state == QuotaRequestState.Approved ? LimitField(decided.Kind, decided.RegionId) : "";
            if (!await store.DecideAsync(stored.Stored, decided, field, decided.DesiredLimit))
            {
                return Attempt<QuotaRequest>.Again;
            }
            LogDecided(requestId, decided.AccountId, state, decidedBy);
            return decided;
        });
    }

    private async Task<QuotaRequest> RequireRequestAsync(string requestId) =>
        (await store.GetRequestAsync(requestId))?.Request ?? throw SharingErrors.RequestNotFound(requestId);

    private (string Account, string Region) ImageQuota(string account, QuotaKind kind, string region)
    {
        if (kind != QuotaKind.Images)
        {
            throw Fault.InvalidArgument("InvalidParameter.QuotaKind", "kind", "Only the custom-image quota is reserved by holders.");
        }
        return (Check.AccountId(account, "account_id"), regions.Require(region));
    }

    private static string Holder(string holder) =>
        holder.Length is > 0 and <= 64 ? holder : throw Fault.InvalidArgument("InvalidParameter", "holder_id", "A holder id is 1-64 characters.");

    private int Limit(IReadOnlyDictionary<string, int> limits, QuotaKind kind, string region) =>
        limits.TryGetValue(LimitField(kind, region), out var raised) ? raised : kind switch
        {
            QuotaKind.Images => _defaults.Images,
            QuotaKind.SharedImages => _defaults.SharedImages,
            _ => _defaults.AccountsPerImage,
        };

    private static string LimitField(QuotaKind kind, string region) => kind switch
    {
        QuotaKind.Images => $"images:{region}",
        QuotaKind.SharedImages => "shared_images",
        _ => "accounts_per_image",
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "Quota request {RequestId} of {Account} {State} by {DecidedBy}")]
    private partial void LogDecided(string requestId, string account, QuotaRequestState state, string decidedBy);
}
