using Google.Protobuf;
using GrpcImages.Client;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Common.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.ServiceDefaults.Validation;

namespace GrpcImages.Testing;

/// <summary>
/// Images with bytes a test chooses, made as an import makes them (through the internal content and
/// image-control services, as a service of the cluster): content written to the region's store, a
/// pending image for a task, completed with that content.
/// </summary>
public static class ContentImages
{
    public const int ChunkBytes = 4 * 1024 * 1024;

    /// <summary>Deterministic bytes: <paramref name="chunks"/> chunks of 4 MiB, each made from its seed (so two images can share chunks).</summary>
    public static byte[] Bytes(IReadOnlyList<int> chunkSeeds)
    {
        var bytes = new byte[chunkSeeds.Count * ChunkBytes];
        for (var i = 0; i < chunkSeeds.Count; i++)
        {
            Fill(chunkSeeds[i], bytes.AsSpan(i * ChunkBytes, ChunkBytes));
        }
        return bytes;
    }

    /// <summary>An Available image of the account whose system disk holds exactly <paramref name="bytes"/> (a multiple of 4 MiB).</summary>
    public static Task<Image> NewImageWithContentAsync(this TestCluster cluster, TestAccount account, string region, byte[] bytes, string? name = null,
        long sizeGib = 0) =>
        cluster.NewImageAsync(account, region, bytes.Length, Pieces(bytes), name, sizeGib);

    /// <summary>An Available image whose system disk holds the chunks made from <paramref name="chunkSeeds"/>, made one chunk at a time (any size, flat memory).</summary>
    public static Task<Image> NewImageWithChunksAsync(this TestCluster cluster, TestAccount account, string region, IReadOnlyList<int> chunkSeeds, string? name = null) =>
        cluster.NewImageAsync(account, region, (long)chunkSeeds.Count * ChunkBytes, Generated(chunkSeeds), name, 0);

    private static async Task<Image> NewImageAsync(this TestCluster cluster, TestAccount account, string region, long length, IEnumerable<ReadOnlyMemory<byte>> pieces,
        string? name, long sizeGib)
    {
        var token = cluster.ServiceToken("test");
        var content = cluster.Client<ContentService.ContentServiceClient>(token);
        var control = cluster.Client<ImageControlService.ImageControlServiceClient>(token);
        var taskId = ResourceIds.New('t', ResourceIds.OwnerTag(account.AccountId));

        using var write = content.WriteContent();
        await write.WriteOrRefusalAsync(new WriteContentRequest
        {
            Header = new WriteContentHeader { RegionId = region, SizeBytes = length, HolderId = taskId },
        });
        foreach (var piece in pieces)
        {
            await write.WriteOrRefusalAsync(new WriteContentRequest { Data = ByteString.CopyFrom(piece.Span) });
        }
        var manifest = (await write.CompleteOrRefusalAsync()).Content;

        sizeGib = Math.Max(sizeGib, Math.Max(20, (length + (1L << 30) - 1) >> 30));
        var image = (await control.CreatePendingImageAsync(new CreatePendingImageRequest
        {
            OwnerAccountId = account.AccountId,
            RegionId = region,
            ImageName = name ?? $"bytes-{Guid.NewGuid():N}"[..20],
            SourceKind = ImageSourceKind.Import,
            TaskId = taskId,
            OsType = OsType.Linux,
            OsName = "Test Linux",
            SizeGib = sizeGib,
            DiskDeviceMappings = { new DiskDeviceMapping { DiskType = DiskType.System, Device = "/dev/xvda", SizeGib = sizeGib, ContentBytes = length } },
        })).Image;
        // As a task does: the content is held for the image and its disk's snapshot before the catalog completes it.
        foreach (var holder in new[] { image.ImageId, ResourceIds.ImageSnapshot(image.ImageId, 0) })
        {
            await content.RetainContentAsync(new RetainContentRequest { RegionId = region, ManifestId = manifest.ManifestId, HolderId = holder });
        }
        await control.CompletePendingAsync(new CompletePendingRequest
        {
            ResourceId = image.ImageId,
            TaskId = taskId,
            Disks = { new DiskContent { DiskType = DiskType.System, Device = "/dev/xvda", SizeGib = sizeGib, ManifestId = manifest.ManifestId, ContentBytes = length } },
        });
        await content.ReleaseContentAsync(new ReleaseContentRequest { RegionId = region, ManifestId = manifest.ManifestId, HolderId = taskId });
        return (await cluster.Client<ImageService.ImageServiceClient>(account.Token).GetImageAsync(new GetImageRequest { RegionId = region, ImageId = image.ImageId })).Image;
    }

    private static IEnumerable<ReadOnlyMemory<byte>> Pieces(byte[] bytes)
    {
        for (var offset = 0; offset < bytes.Length; offset += ChunkBytes)
        {
            yield return bytes.AsMemory(offset, Math.Min(ChunkBytes, bytes.Length - offset));
        }
    }

    private static IEnumerable<ReadOnlyMemory<byte>> Generated(IReadOnlyList<int> chunkSeeds)
    {
        var chunk = new byte[ChunkBytes];
        foreach (var seed in chunkSeeds)
        {
            Fill(seed, chunk);
            yield return chunk;
        }
    }

    /// <summary>The bytes of one chunk made from its seed.</summary>
    public static void Fill(int seed, Span<byte> chunk) => new Random(seed).NextBytes(chunk);
}
