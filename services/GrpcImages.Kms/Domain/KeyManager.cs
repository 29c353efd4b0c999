using System.Security.Cryptography;
using System.Text;
using Google.Protobuf.WellKnownTypes;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.Kms.Storage;
using GrpcImages.ServiceDefaults.Errors;
using GrpcImages.ServiceDefaults.Hosting;
using GrpcImages.ServiceDefaults.Identity;
using GrpcImages.ServiceDefaults.Storage;
using GrpcImages.ServiceDefaults.Validation;
using GrpcImages.ServiceDefaults.Work;
using Microsoft.Extensions.Options;

namespace GrpcImages.Kms.Domain;

/// <summary>
/// KMS keys (R20-R23): 256 random bits each, stored only sealed by the cluster's root key, never
/// logged or returned. Data keys are sealed by a key's material (envelope encryption).
/// </summary>
public sealed partial class KeyManager(KeyStore store, Roles roles, WorkQueues queues, Regions regions, IOptions<KmsOptions> options, TimeProvider time,
    ILogger<KeyManager> logger)
{
    public const string ServiceKeyAlias = "alias/acs/ecs";
    private static readonly byte[] BlobMagic = "GIDK1"u8.ToArray();
    private readonly byte[] _root = options.Value.LoadRootKey();

    public async Task EnableKmsAsync(Caller caller, string regionId)
    {
        var account = caller.RequireAccount();
        if (await store.EnableAsync(account, regions.Require(regionId)))
        {
            LogEnabled(account, regionId);
        }
    }

    public Task<bool> IsEnabledAsync(Caller caller, string regionId) => store.IsEnabledAsync(caller.RequireAccount(), regions.Require(regionId));

    public async Task<Key> CreateKeyAsync(Caller caller, CreateKeyRequest request)
    {
        var account = caller.RequireAccount();
        var region = regions.Require(request.RegionId);
        if (request.Description.Length > 256)
        {
            throw Fault.InvalidArgument("InvalidParameter.Description", "description", "A description is at most 256 characters.");
        }
        var token = ClientToken.Of(request, request.ClientToken);
        if (token.Resolve(await store.FindClientTokenAsync(account, token)) is { } prior)
        {
            return await RequireAsync(account, region, prior);
        }
        await RequireEnabledAsync(account, region);
        var (key, material) = NewKey(account, region, serviceKey: false, request.Description);
        var (status, detail) = await store.CreateAsync(key, material, token);
        return status == CreateStatus.Created ? key : await RequireAsync(account, region, ClientTokens.ResolveStored(detail, token.Fingerprint));
    }

    public async Task<Key> GetKeyAsync(Caller caller, string regionId, string keyId) =>
        await RequireAsync(caller.RequireAccount(), regions.Require(regionId), keyId);

    public async Task<(IReadOnlyList<Key> Keys, string NextPageToken)> ListKeysAsync(Caller caller, ListKeysRequest request)
    {
        var account = caller.RequireAccount();
        var (keys, next) = await store.ListAsync(account, regions.Require(request.RegionId), PageToken.Decode(request.PageToken), Check.PageSize(request.PageSize));
        return (keys.Select(k => k.Key).ToList(), PageToken.Encode(next));
    }

    public Task<Key> EnableKeyAsync(Caller caller, string regionId, string keyId) =>
        ChangeAsync(caller, regionId, keyId, key => key.State switch
        {
            KeyState.Enabled or KeyState.Disabled => KeyState.Enabled,
            _ => throw KmsErrors.UnexpectedState("A key pending deletion must have its deletion cancelled first."),
        });

    /// <summary>R23: a disabled key makes no new instances, images or copies; existing data stays readable.</summary>
    public Task<Key> DisableKeyAsync(Caller caller, string regionId, string keyId) =>
        ChangeAsync(caller, regionId, keyId, key => key.State switch
        {
            KeyState.Enabled or KeyState.Disabled => KeyState.Disabled,
            _ => throw KmsErrors.UnexpectedState("The key is pending deletion."),
        });

    public async Task<Key> ScheduleDeletionAsync(Caller caller, ScheduleKeyDeletionRequest request)
    {
        if (request.PendingWindowDays is < 7 or > 30)
        {
            throw Fault.InvalidArgument("InvalidParameter.PendingWindowInDays", "pending_window_days", "The pending window is 7-30 days.");
        }
        var when = time.GetUtcNow().AddDays(request.PendingWindowDays);
        var account = caller.RequireAccount();
        // Queued first: if this request dies before the key changes, the item finds a key that is not pending and does nothing.
        var item = new KeyDeletionItem(account, request.KeyId).Format();
        await Deletions.EnqueueAsync(item, item, when - time.GetUtcNow());
        return await ChangeAsync(caller, request.RegionId, request.KeyId, k => k.State == KeyState.PendingDeletion
            ? throw KmsErrors.UnexpectedState("The key is already pending deletion.")
            : KeyState.PendingDeletion, k => k.DeletionTime = Timestamp.FromDateTimeOffset(when));
    }

    public async Task<Key> CancelDeletionAsync(Caller caller, string regionId, string keyId)
    {
        var key = await ChangeAsync(caller, regionId, keyId, k => k.State == KeyState.PendingDeletion
            ? KeyState.Disabled
            : throw KmsErrors.UnexpectedState("The key is not pending deletion."), k => k.DeletionTime = null);
        await Deletions.RemoveAsync(new KeyDeletionItem(key.AccountId, key.KeyId).Format(), onlyIfWaiting: false);
        return key;
    }

    /// <summary>
    /// Internal (R21, R23): the key an account may use now in a region: KMS enabled there, the key
    /// the account's and Enabled; a CMK also needs AliyunECSDiskEncryptDefaultRole. An empty id is
    /// the default service key, made on first use (R20).
    /// </summary>
    public async Task<Key> CheckUsableAsync(string account, string regionId, string keyId)
    {
        Check.AccountId(account, "account_id");
        var region = regions.Require(regionId);
        await RequireEnabledAsync(account, region);
        if (keyId.Length == 0 || keyId == ServiceKeyAlias)
        {
            return await DefaultKeyAsync(account, region);
        }
        var key = await RequireAsync(account, region, keyId);
        if (key.State != KeyState.Enabled)
        {
            throw KmsErrors.KeyNotEnabled(key.KeyId, key.State == KeyState.Disabled ? "Disabled" : "PendingDeletion");
        }
        if (!key.ServiceKey && !await roles.HasAsync(account, ServiceRoles.DiskEncrypt))
        {
            throw KmsErrors.KeyUnauthorized(key.KeyId);
        }
        return key;
    }

    /// <summary>
    /// Internal: the encryption of a new resource (R20, R21). kms_key_id needs encrypted; an
    /// encrypted source stays encrypted (with its own key when it may be inherited, else a copy must
    /// ask for encryption); whichever key results must be usable now (R23).
    /// </summary>
    public async Task<ResolveEncryptionResponse> ResolveAsync(ResolveEncryptionRequest request)
    {
        if (request.KmsKeyId.Length > 0 && !request.Encrypted)
        {
            throw KmsErrors.EncryptedIllegal();
        }
        string keyId;
        if (request.Encrypted)
        {
            keyId = request.KmsKeyId;
        }
        else if (!request.SourceEncrypted)
        {
            return new ResolveEncryptionResponse();
        }
        else if (request.SourceKeyForeign)
        {
            throw KmsErrors.EncryptionRemoved();
        }
        else
        {
            keyId = request.SourceKmsKeyId;
        }
        var key = await CheckUsableAsync(request.AccountId, request.RegionId, keyId);
        return new ResolveEncryptionResponse { Encrypted = true, KmsKeyId = key.KeyId, ServiceKey = key.ServiceKey };
    }

    /// <summary>Internal: a new 256-bit data key, in plaintext and sealed by the (usable) key.</summary>
    public async Task<GenerateDataKeyResponse> GenerateDataKeyAsync(GenerateDataKeyRequest request)
    {
        var key = await CheckUsableAsync(request.AccountId, request.RegionId, request.KeyId);
        var material = await MaterialAsync(key);
        var dataKey = RandomNumberGenerator.GetBytes(32);
        var sealedKey = Sealing.Seal(material, dataKey, DataKeyContext(key));
        var id = Encoding.ASCII.GetBytes(key.KeyId);
        var blob = new byte[BlobMagic.Length + 1 + id.Length + sealedKey.Length];
        BlobMagic.CopyTo(blob, 0);
        blob[BlobMagic.Length] = (byte)id.Length;
        id.CopyTo(blob, BlobMagic.Length + 1);
        sealedKey.CopyTo(blob, BlobMagic.Length + 1 + id.Length);
        return new GenerateDataKeyResponse
        {
            KeyId = key.KeyId,
            Plaintext = Google.Protobuf.ByteString.CopyFrom(dataKey),
            CiphertextBlob = Google.Protobuf.ByteString.CopyFrom(blob),
        };
    }

    /// <summary>Internal: opens a data key. A disabled or pending key still opens existing data; a deleted one never does.</summary>
    public async Task<DecryptDataKeyResponse> DecryptDataKeyAsync(DecryptDataKeyRequest request)
    {
        Check.AccountId(request.AccountId, "account_id");
        var blob = request.CiphertextBlob.Memory;
        var header = BlobMagic.Length + 1;
        if (blob.Length < header + 1 || !blob.Span[..BlobMagic.Length].SequenceEqual(BlobMagic) || blob.Length < header + blob.Span[BlobMagic.Length])
        {
            throw Fault.InvalidArgument("InvalidParameter.CiphertextBlob", "ciphertext_blob", "Not a data key of this cluster.");
        }
        var idLength = blob.Span[BlobMagic.Length];
        var keyId = Encoding.ASCII.GetString(blob.Span.Slice(header, idLength));
        var key = await RequireAsync(request.AccountId, regions.Require(request.RegionId), keyId);
        var material = await MaterialAsync(key);
        var plaintext = Sealing.Open(material, blob.Span[(header + idLength)..], DataKeyContext(key))
            ?? throw Fault.InvalidArgument("InvalidParameter.CiphertextBlob", "ciphertext_blob", "The data key does not open with its key.");
        return new DecryptDataKeyResponse { KeyId = key.KeyId, Plaintext = Google.Protobuf.ByteString.CopyFrom(plaintext) };
    }

    /// <summary>
    /// Deletes a key whose pending window has passed (an item of the key-deletions queue); what it
    /// sealed is unreadable from then on. A key no longer pending is left alone.
    /// </summary>
    public async Task<TimeSpan?> DeleteIfDueAsync(string account, string keyId)
    {
        var stored = await store.GetAsync(account, keyId);
        if (stored is not { Key.State: KeyState.PendingDeletion })
        {
            return null;
        }
        var left = stored.Key.DeletionTime.ToDateTimeOffset() - time.GetUtcNow();
        if (left > TimeSpan.Zero)
        {
            return left;
        }
        await store.DeleteAsync(stored.Key);
        LogDeleted(keyId, account);
        return null;
    }

    private WorkQueue Deletions => queues.Get(KeyDeletions.Queue);

    private async Task<Key> DefaultKeyAsync(string account, string region)
    {
        if (await store.DefaultKeyIdAsync(account, region) is { } existing)
        {
            return await RequireAsync(account, region, existing);
        }
        var (key, material) = NewKey(account, region, serviceKey: true, "Default key of the ECS service");
        var (status, winner) = await store.CreateAsync(key, material, ClientToken.None);
        return status == CreateStatus.Created ? key : await RequireAsync(account, region, winner);
    }

    private (Key Key, byte[] SealedMaterial) NewKey(string account, string region, bool serviceKey, string description)
    {
        var key = new Key
        {
            KeyId = Guid.NewGuid().ToString(),
            AccountId = account,
            RegionId = region,
            State = KeyState.Enabled,
            Description = description,
            ServiceKey = serviceKey,
            CreateTime = Timestamp.FromDateTimeOffset(time.GetUtcNow()),
        };
        if (serviceKey)
        {
            key.Aliases.Add(ServiceKeyAlias);
        }
        var material = RandomNumberGenerator.GetBytes(32);
        var sealedMaterial = Sealing.Seal(_root, material, MaterialContext(key));
        CryptographicOperations.ZeroMemory(material);
        return (key, sealedMaterial);
    }

    private async Task<byte[]> MaterialAsync(Key key)
    {
        var stored = await store.GetAsync(key.AccountId, key.KeyId);
        if (stored is not { SealedMaterial.Length: > 0 })
        {
            throw KmsErrors.KeyNotFound(key.KeyId);
        }
        return Sealing.Open(_root, stored.SealedMaterial, MaterialContext(key))
            ?? throw new CryptographicException($"Key {key.KeyId} does not open with the root key.");
    }

    private async Task<Key> ChangeAsync(Caller caller, string regionId, string keyId, Func<Key, KeyState> next, Action<Key>? also = null)
    {
        var account = caller.RequireAccount();
        var region = regions.Require(regionId);
        return await ConflictRetry.RunAsync<Key>(async () =>
        {
            var stored = await RequireStoredAsync(account, region, keyId);
            if (stored.Key.ServiceKey)
            {
                throw KmsErrors.UnexpectedState("The default service key cannot be disabled or deleted.");
            }
            var key = stored.Key.Clone();
            key.State = next(key);
            also?.Invoke(key);
            return await store.SaveAsync(stored, key) ? key : Attempt<Key>.Again;
        });
    }

    private async Task<Key> RequireAsync(string account, string region, string keyId) => (await RequireStoredAsync(account, region, keyId)).Key;

    private async Task<StoredKey> RequireStoredAsync(string account, string region, string keyId)
    {
        if (keyId == ServiceKeyAlias)
        {
            keyId = await store.DefaultKeyIdAsync(account, region) ?? throw KmsErrors.KeyNotFound(keyId);
        }
        var stored = Guid.TryParse(keyId, out _) ? await store.GetAsync(account, keyId) : null;
        return stored is not null && stored.Key.RegionId == region ? stored : throw KmsErrors.KeyNotFound(keyId);
    }

    private async Task RequireEnabledAsync(string account, string region)
    {
        if (!await store.IsEnabledAsync(account, region))
        {
            throw KmsErrors.KmsNotEnabled(region);
        }
    }

    private static string MaterialContext(Key key) => $"gi-kms-material|{key.AccountId}|{key.RegionId}|{key.KeyId}";

    private static string DataKeyContext(Key key) => $"gi-kms-datakey|{key.AccountId}|{key.RegionId}|{key.KeyId}";

    [LoggerMessage(Level = LogLevel.Information, Message = "KMS enabled for {Account} in {Region}")]
    private partial void LogEnabled(string account, string region);

    [LoggerMessage(Level = LogLevel.Information, Message = "Deleted KMS key {KeyId} of {Account}")]
    private partial void LogDeleted(string keyId, string account);
}
