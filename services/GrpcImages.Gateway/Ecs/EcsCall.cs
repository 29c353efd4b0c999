using System.Text.Json.Nodes;
using Grpc.Core;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Common.V1;
using GrpcImages.ServiceDefaults.Validation;

namespace GrpcImages.Gateway.Ecs;

/// <summary>One ECS request being served: its parameters, the identity and deadline its gRPC calls carry, and the cluster's clients.</summary>
public sealed class EcsCall(EcsParameters parameters, CallOptions options, ClusterClients clients)
{
    public EcsParameters Parameters { get; } = parameters;

    /// <summary>The AccessKey owner's token, the gateway's deadline and the HTTP request's cancellation.</summary>
    public CallOptions Options { get; } = options;

    public ClusterClients Clients { get; } = clients;

    public string Region => Parameters.Required("RegionId");

    /// <summary>Calls the cluster; its errors become the ECS API's.</summary>
    public async Task<T> Rpc<T>(Func<CallOptions, AsyncUnaryCall<T>> call)
    {
        // Every parameter is read before the first call: an unknown one is refused before anything changes.
        Parameters.RefuseUnread();
        try
        {
            return await call(Options);
        }
        catch (RpcException error)
        {
            throw EcsException.From(error);
        }
    }

    /// <summary>Tag.N.Key / Tag.N.Value.</summary>
    public IEnumerable<Tag> Tags() =>
        Parameters.Objects("Tag", "Key", "Value").Select(t => new Tag { Key = t("Key") ?? "", Value = t("Value") ?? "" });

    /// <summary>Encrypted / KMSKeyId as the cluster's encryption spec (null when neither is given).</summary>
    public EncryptionSpec? Encryption(string prefix = "")
    {
        var encrypted = Parameters.Flag(prefix + "Encrypted");
        var key = Parameters.Optional(prefix + "KMSKeyId");
        return encrypted || key is not null ? new EncryptionSpec { Encrypted = encrypted || key is not null, KmsKeyId = key ?? "" } : null;
    }

    /// <summary>
    /// A page by number over a list the cluster pages by token only (or filtered here): reads pages of 100
    /// from the start (at most <see cref="MaxScanned"/> items) to answer PageNumber, PageSize and TotalCount.
    /// Lists that skip and count in the service use <see cref="SkipPageAsync"/>.
    /// </summary>
    public async Task<(List<T> Page, int Total, int PageNumber, int PageSize)> PageAsync<T>(
        Func<string, Task<(IEnumerable<T> Items, string Next)>> read, int defaultSize = 10, int maxSize = 100)
    {
        var number = Parameters.Number("PageNumber", 1, 1, 100_000);
        var size = Parameters.Number("PageSize", defaultSize, 1, maxSize);
        var all = new List<T>();
        var token = "";
        do
        {
            var (items, next) = await read(token);
            all.AddRange(items);
            token = next;
        }
        while (token.Length > 0 && all.Count < MaxScanned);
        return (all.Skip((number - 1) * size).Take(size).ToList(), all.Count, number, size);
    }

    public const int MaxScanned = 10_000;

    /// <summary>
    /// A page by number over a list that skips and counts in the service (AIP-158 <c>skip</c> and
    /// <c>total_size</c>): <paramref name="read"/> (skip, page size, page token) is asked for the page itself,
    /// with skip = (PageNumber - 1) * PageSize, and TotalCount is the list's total. A short page with a token
    /// (the service's scan budget ran out) is continued from the token. A page past the most a list skips
    /// is empty.
    /// </summary>
    public async Task<(List<T> Page, int Total, int PageNumber, int PageSize)> SkipPageAsync<T>(
        Func<int, int, string, Task<(IEnumerable<T> Items, string Next, int Total)>> read, int defaultSize = 10, int maxSize = 100)
    {
        var number = Parameters.Number("PageNumber", 1, 1, 100_000);
        var size = Parameters.Number("PageSize", defaultSize, 1, maxSize);
        var skip = (long)(number - 1) * size;
        if (skip > Check.MaxSkip)
        {
            return ([], (await read(0, 1, "")).Total, number, size);
        }
        var (items, next, total) = await read((int)skip, size, "");
        var page = items.ToList();
        for (var more = 0; page.Count < size && next.Length > 0 && more < MaxContinuations; more++)
        {
            (items, next, _) = await read(0, size - page.Count, next);
            page.AddRange(items);
        }
        return (page, total, number, size);
    }

    /// <summary>How many times <see cref="SkipPageAsync"/> continues a short page before it answers with what it has.</summary>
    private const int MaxContinuations = 10;

    /// <summary>The region an instance is in: RegionId when given, else found by asking each region.</summary>
    public async Task<(string Region, Instance Instance)> FindInstanceAsync(string instanceId) =>
        await FindInRegionsAsync(async region => (await Clients.Instances.GetInstanceAsync(new GetInstanceRequest { RegionId = region, InstanceId = instanceId }, Options)).Instance,
            () => new EcsException(404, "InvalidInstanceId.NotFound", $"The instance {instanceId} does not exist."));

    /// <summary>
    /// For actions that name a resource without its region: the first region (RegionId when given, else each) where
    /// <paramref name="get"/> finds it. With RegionId, the cluster's own NOT_FOUND is the answer; asking every
    /// region, <paramref name="notFound"/> is.
    /// </summary>
    public async Task<(string Region, T Found)> FindInRegionsAsync<T>(Func<string, Task<T>> get, Func<EcsException> notFound)
    {
        var regions = await CandidateRegionsAsync();
        foreach (var region in regions)
        {
            try
            {
                return (region, await get(region));
            }
            catch (RpcException error) when (error.StatusCode == StatusCode.NotFound && regions.Count > 1)
            {
            }
            catch (RpcException error)
            {
                throw EcsException.From(error);
            }
        }
        throw notFound();
    }

    /// <summary>
    /// The instance a disk (system or data) belongs to and its region, for actions that name only a disk:
    /// found among the caller's instances in RegionId, or in each region (at most <see cref="MaxScanned"/> per region).
    /// </summary>
    public async Task<(string Region, Instance Instance)> FindDiskOwnerAsync(string diskId)
    {
        foreach (var region in await CandidateRegionsAsync())
        {
            var token = "";
            var scanned = 0;
            do
            {
                var list = await Rpc(o => Clients.Instances.ListInstancesAsync(new ListInstancesRequest { RegionId = region, PageSize = 100, PageToken = token }, o));
                if (list.Instances.FirstOrDefault(i => i.SystemDisk?.DiskId == diskId || i.DataDisks.Any(d => d.DiskId == diskId)) is { } owner)
                {
                    return (region, owner);
                }
                token = list.NextPageToken;
                scanned += list.Instances.Count;
            }
            while (token.Length > 0 && scanned < MaxScanned);
        }
        throw new EcsException(404, "InvalidDiskId.NotFound", $"The disk {diskId} does not exist.");
    }

    /// <summary>Where to look for a resource an action names without its region: RegionId when given, else every region.</summary>
    private async Task<List<string>> CandidateRegionsAsync()
    {
        Parameters.RefuseUnread(); // the lookups below are calls: every parameter is read by now
        return Parameters.Optional("RegionId") is { } given
            ? [given]
            : (await Rpc(o => Clients.Regions.ListRegionsAsync(new ListRegionsRequest(), o))).Regions.Select(r => r.RegionId).ToList();
    }

    public static JsonObject Ok() => [];
}
