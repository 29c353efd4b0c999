using Google.Protobuf.WellKnownTypes;
using GrpcImages.Catalog.Storage;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Common.V1;
using GrpcImages.ServiceDefaults.Errors;
using GrpcImages.ServiceDefaults.Hosting;
using GrpcImages.ServiceDefaults.Identity;
using GrpcImages.ServiceDefaults.Storage;
using GrpcImages.ServiceDefaults.Validation;

namespace GrpcImages.Catalog.Domain;

/// <summary>
/// SSH key pairs (issue 21): made here (the private key returned once, never kept) or imported, named uniquely per
/// account and region, attached to Linux instances only, deleted only once no instance has them.
/// </summary>
public sealed class KeyPairManager(KeyPairStore store, InstanceStore instances, OwnedResources owned, Regions regions, TimeProvider time)
{
    public const int MaxNamesPerCall = 100;
    public const int MaxInstancesPerCall = 50;

    public async Task<CreateKeyPairResponse> CreateAsync(Caller caller, CreateKeyPairRequest request)
    {
        var account = caller.RequireAccount();
        var region = regions.Require(request.RegionId);
        Name(request.KeyPairName);
        var (privateKey, publicKey) = SshKeys.NewRsaPair();
        var pair = await SaveAsync(account, region, request.KeyPairName, publicKey);
        return new CreateKeyPairResponse { KeyPair = pair, PrivateKeyBody = privateKey };
    }

    public async Task<KeyPair> ImportAsync(Caller caller, ImportKeyPairRequest request)
    {
        var account = caller.RequireAccount();
        var region = regions.Require(request.RegionId);
        Name(request.KeyPairName);
        var (line, _) = SshKeys.Parse(request.PublicKeyBody);
        return await SaveAsync(account, region, request.KeyPairName, line);
    }

    public async Task<ListKeyPairsResponse> ListAsync(Caller caller, ListKeyPairsRequest request)
    {
        var account = caller.RequireAccount();
        var region = regions.Require(request.RegionId);
        if (request.KeyPairNames.Count > MaxNamesPerCall)
        {
            throw Fault.InvalidArgument("InvalidKeyPairNames.ValueNotSupported", "key_pair_names", $"At most {MaxNamesPerCall} names.");
        }
        var all = (await store.ListAsync(account, region))
            .Where(p => (request.KeyPairNames.Count == 0 || request.KeyPairNames.Any(n => NameMatches(p.KeyPairName, n))) &&
                        (request.KeyPairFingerPrint.Length == 0 || p.KeyPairFingerPrint == request.KeyPairFingerPrint))
            .ToList();
        var (items, next, total) = BoundedPages.Page(all, request.PageSize, request.PageToken);
        return new ListKeyPairsResponse { KeyPairs = { items }, NextPageToken = next, TotalSize = total };
    }

    /// <summary>Deletes the named pairs, all or none (InvalidParameter.KeypairAlreadyAttachedInstance when one is attached).</summary>
    public async Task<IReadOnlyList<string>> DeleteAsync(Caller caller, DeleteKeyPairsRequest request)
    {
        var account = caller.RequireAccount();
        var region = regions.Require(request.RegionId);
        if (request.KeyPairNames.Count is 0 or > MaxNamesPerCall)
        {
            throw Fault.InvalidArgument("InvalidKeyPairNames.ValueNotSupported", "key_pair_names", $"Give 1 to {MaxNamesPerCall} names.");
        }
        var names = request.KeyPairNames.Distinct(StringComparer.Ordinal).ToList();
        names.ForEach(Name);
        var existing = (await store.GetManyAsync(account, region, names)).OfType<Versioned<KeyPair>>().Select(p => p.Value.KeyPairName).ToList();
        if (existing.Count == 0)
        {
            return [];
        }
        var (result, attached) = await store.DeleteAsync(account, region, existing);
        return result == KeyPairDeleteResult.Deleted ? existing : throw NetworkErrors.KeyPairAttached(attached);
    }

    /// <summary>Attaches a pair to Linux instances of the caller, all or none; a pair an instance had is replaced.</summary>
    public async Task<KeyPair> AttachAsync(Caller caller, AttachKeyPairRequest request)
    {
        var account = caller.RequireAccount();
        var region = regions.Require(request.RegionId);
        Name(request.KeyPairName);
        var instanceIds = InstanceIds(request.InstanceIds);
        await ConflictRetry.RunAsync<bool>(async () =>
        {
            _ = await store.GetAsync(account, region, request.KeyPairName) ?? throw NetworkErrors.KeyPairNotFound(request.KeyPairName);
            var changes = new List<(StoredInstance, Instance)>();
            foreach (var id in instanceIds)
            {
                var stored = await owned.RequireInstanceAsync(account, region, id);
                if (stored.Instance.OsType == OsType.Windows)
                {
                    throw NetworkErrors.WindowsInstance(id);
                }
                var updated = stored.Instance.Clone();
                updated.KeyPairName = request.KeyPairName;
                updated.UpdateTime = Timestamp.FromDateTimeOffset(time.GetUtcNow());
                changes.Add((stored, updated));
            }
            return await instances.SaveKeyPairChangeAsync(changes, CatalogKeys.KeyPair(account, region, request.KeyPairName)) ? true : Attempt<bool>.Again;
        });
        return (await store.GetAsync(account, region, request.KeyPairName))?.Value ?? throw NetworkErrors.KeyPairNotFound(request.KeyPairName);
    }

    /// <summary>Detaches a pair from instances of the caller that have it, all or none; the others are left as they are.</summary>
    public async Task<DetachKeyPairResponse> DetachAsync(Caller caller, DetachKeyPairRequest request)
    {
        var account = caller.RequireAccount();
        var region = regions.Require(request.RegionId);
        Name(request.KeyPairName);
        var instanceIds = InstanceIds(request.InstanceIds);
        var detached = await ConflictRetry.RunAsync<List<string>>(async () =>
        {
            _ = await store.GetAsync(account, region, request.KeyPairName) ?? throw NetworkErrors.KeyPairNotFound(request.KeyPairName);
            var changes = new List<(StoredInstance, Instance)>();
            foreach (var id in instanceIds)
            {
                var stored = await owned.RequireInstanceAsync(account, region, id);
                if (stored.Instance.KeyPairName != request.KeyPairName)
                {
                    continue;
                }
                var updated = stored.Instance.Clone();
                updated.KeyPairName = "";
                updated.UpdateTime = Timestamp.FromDateTimeOffset(time.GetUtcNow());
                changes.Add((stored, updated));
            }
            if (changes.Count == 0 || await instances.SaveKeyPairChangeAsync(changes, null))
            {
                return changes.Select(c => c.Item2.InstanceId).ToList();
            }
            return Attempt<List<string>>.Again;
        });
        var pair = (await store.GetAsync(account, region, request.KeyPairName))?.Value ?? throw NetworkErrors.KeyPairNotFound(request.KeyPairName);
        return new DetachKeyPairResponse { KeyPair = pair, DetachedInstanceIds = { detached } };
    }

    /// <summary>A pair of the account in the region, or InvalidKeyPairName.NotFound.</summary>
    public async Task<KeyPair> RequireAsync(string account, string region, string name)
    {
        Name(name);
        return (await store.GetAsync(account, region, name))?.Value ?? throw NetworkErrors.KeyPairNotFound(name);
    }

    private async Task<KeyPair> SaveAsync(string account, string region, string name, string publicKey)
    {
        var pair = new KeyPair
        {
            KeyPairName = name,
            RegionId = region,
            OwnerAccountId = account,
            PublicKey = publicKey,
            KeyPairFingerPrint = SshKeys.Fingerprint(SshKeys.Parse(publicKey).Blob),
            CreateTime = Timestamp.FromDateTimeOffset(time.GetUtcNow()),
        };
        var (result, _) = await store.CreateAsync(pair);
        return result switch
        {
            CreateResult.Created => pair,
            CreateResult.DuplicateName => throw NetworkErrors.KeyPairExists(name),
            CreateResult.QuotaExceeded => throw Fault.ResourceExhausted("QuotaExceed.KeyPair", $"An account has at most {KeyPairStore.MaxKeyPairs} key pairs per region."),
            _ => throw NetworkErrors.Conflict(),
        };
    }

    private static List<string> InstanceIds(Google.Protobuf.Collections.RepeatedField<string> ids)
    {
        if (ids.Count is 0 or > MaxInstancesPerCall)
        {
            throw Fault.InvalidArgument("InvalidInstanceIds.ValueNotSupported", "instance_ids", $"Give 1 to {MaxInstancesPerCall} instances.");
        }
        return ids.Distinct(StringComparer.Ordinal).ToList();
    }

    private static bool NameMatches(string name, string filter) =>
        filter.EndsWith('*') ? name.StartsWith(filter[..^1], StringComparison.Ordinal) : name == filter;

    private static void Name(string name) => Check.Name(name, "key_pair_name", "InvalidKeyPairName.Malformed");
}
