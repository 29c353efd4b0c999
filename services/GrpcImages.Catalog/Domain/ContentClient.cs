using Google.Protobuf;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.ServiceDefaults.Peers;

namespace GrpcImages.Catalog.Domain;

/// <summary>The transfer service's content layer as the catalog uses it: every disk, snapshot and image holds its bytes by name.</summary>
public sealed class ContentClient(RegionPeers<ContentService.ContentServiceClient> transfers, Releases releases)
{
    public const long GiB = 1L << 30;

    public async Task<ContentInfo> SeedAsync(string region, string label, long sizeBytes, long dataBytes, string holder, CancellationToken cancellationToken) =>
        (await transfers.In(region).SeedContentAsync(new SeedContentRequest
        {
            RegionId = region, Label = label, SizeBytes = sizeBytes, DataBytes = dataBytes, HolderId = holder,
        }, cancellationToken: cancellationToken)).Content;

    public async Task<string> BlankAsync(string region, long sizeGib, string holder, ContentEncryption? encryption) =>
        (await transfers.In(region).CreateBlankContentAsync(new CreateBlankContentRequest
        {
            RegionId = region, SizeBytes = sizeGib * GiB, HolderId = holder, Encryption = encryption,
        })).Content.ManifestId;

    /// <summary>The content re-sealed under <paramref name="encryption"/> (R20, R23), grown to <paramref name="sizeGib"/>.</summary>
    public async Task<string> TransformAsync(string region, string manifestId, long sizeGib, ContentEncryption? encryption, string holder) =>
        (await transfers.In(region).TransformContentAsync(new TransformContentRequest
        {
            RegionId = region, ManifestId = manifestId, SizeBytes = sizeGib * GiB, Encryption = encryption, HolderId = holder,
        })).Content.ManifestId;

    /// <summary>
    /// Content for a new disk or snapshot from <paramref name="manifestId"/>: the same sealed chunks
    /// when the encryption does not change, else re-sealed; then <paramref name="data"/> is written at
    /// <paramref name="offset"/> (none when empty). Holds the result for <paramref name="holder"/>.
    /// </summary>
    public async Task<string> DeriveAsync(string region, string manifestId, bool reseal, ContentEncryption? encryption, long sizeGib,
        long offset, ReadOnlyMemory<byte> data, string holder)
    {
        if (!reseal)
        {
            return await PatchAsync(region, manifestId, sizeGib, offset, data, holder);
        }
        if (data.IsEmpty)
        {
            return await TransformAsync(region, manifestId, sizeGib, encryption, holder);
        }
        var step = $"{holder}:reseal";
        var resealed = await TransformAsync(region, manifestId, sizeGib, encryption, step);
        try
        {
            return await PatchAsync(region, resealed, sizeGib, offset, data, holder);
        }
        finally
        {
            await ReleaseAsync(region, [(resealed, step)]);
        }
    }

    /// <summary>A copy of <paramref name="manifestId"/> grown to <paramref name="sizeGib"/>, with <paramref name="data"/> written at <paramref name="offset"/>.</summary>
    public async Task<string> PatchAsync(string region, string manifestId, long sizeGib, long offset, ReadOnlyMemory<byte> data, string holder) =>
        (await transfers.In(region).PatchContentAsync(new PatchContentRequest
        {
            RegionId = region,
            ManifestId = manifestId,
            SizeBytes = sizeGib * GiB,
            Offset = offset,
            Data = ByteString.CopyFrom(data.Span),
            HolderId = holder,
        })).Content.ManifestId;

    public Task RetainAsync(string region, string manifestId, string holder) =>
        transfers.In(region).RetainContentAsync(new RetainContentRequest { RegionId = region, ManifestId = manifestId, HolderId = holder }).ResponseAsync;

    /// <summary>Releases holds without failing the caller: the releases queue retries one that cannot be released now.</summary>
    public Task ReleaseAsync(string region, IEnumerable<(string ManifestId, string Holder)> holds) => releases.ReleaseContentAsync(region, holds);

    /// <summary>Releases everything the holders hold in the region (for resources that end without knowing what they held).</summary>
    public Task ReleaseHoldersAsync(string region, IEnumerable<string> holders) => releases.ReleaseHoldersAsync(region, holders);
}
