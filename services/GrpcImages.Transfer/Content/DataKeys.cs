using System.Collections.Concurrent;
using System.Security.Cryptography;
using Google.Protobuf;
using GrpcImages.Contracts.Kms.V1;

namespace GrpcImages.Transfer.Content;

/// <summary>
/// Data keys from kms: new ones for content being sealed, and the opening of stored (wrapped) ones.
/// Opened keys stay in memory for a few minutes so that reading content does not ask kms per chunk.
/// </summary>
public sealed class DataKeys(KeyService.KeyServiceClient kms, TimeProvider time)
{
    private static readonly TimeSpan Keep = TimeSpan.FromMinutes(5);
    private readonly ConcurrentDictionary<string, (byte[] Key, DateTimeOffset Until)> _opened = new(StringComparer.Ordinal);

    /// <summary>A new data key sealed by the account's KMS key in the region (which must be usable now, R23).</summary>
    public async Task<(byte[] Plaintext, ManifestEncryption Encryption)> NewAsync(string account, string region, string kmsKeyId, CancellationToken cancellationToken)
    {
        var response = await kms.GenerateDataKeyAsync(new GenerateDataKeyRequest { AccountId = account, RegionId = region, KeyId = kmsKeyId },
            cancellationToken: cancellationToken);
        return (response.Plaintext.ToByteArray(), new ManifestEncryption(account, response.KeyId, response.CiphertextBlob.ToByteArray()));
    }

    public async Task<byte[]> OpenAsync(ManifestEncryption encryption, string region, CancellationToken cancellationToken)
    {
        var cacheKey = $"{region}|{encryption.AccountId}|{Convert.ToBase64String(SHA256.HashData(encryption.WrappedKey))}";
        if (_opened.TryGetValue(cacheKey, out var hit) && hit.Until > time.GetUtcNow())
        {
            return hit.Key;
        }
        var response = await kms.DecryptDataKeyAsync(new DecryptDataKeyRequest
        {
            AccountId = encryption.AccountId,
            RegionId = region,
            CiphertextBlob = ByteString.CopyFrom(encryption.WrappedKey),
        }, cancellationToken: cancellationToken);
        var key = response.Plaintext.ToByteArray();
        if (_opened.Count > 10_000)
        {
            _opened.Clear();
        }
        _opened[cacheKey] = (key, time.GetUtcNow() + Keep);
        return key;
    }
}
