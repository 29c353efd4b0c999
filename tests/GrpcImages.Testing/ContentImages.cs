using Google.Protobuf;
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
    public static async Task<Image> NewImageWithContentAsync(this TestCluster cluster, TestAccount account, string region, byte[] bytes, string? name = null,
        long sizeGib = 0)
    {
        var token = cluster.ServiceToken("test");
        var content = cluster.Client<ContentService.ContentServiceClient>(token);
        var control = cluster.Client<ImageControlService.ImageControlServiceClient>(token);
        var taskId = ResourceIds.New('t', ResourceIds.OwnerTag(account.AccountId));

        using var write = content.WriteContent();
        await write.RequestStream.WriteAsync(new WriteContentRequest
        {
            Header = new WriteContentHeader { RegionId = region, SizeBytes = bytes.Length, HolderId = taskId },
        });
        for (var offset = 0; offset < bytes.Length; offset += ChunkBytes)
        {
            await write.RequestStream.WriteAsync(new WriteContentRequest { Data = ByteString.CopyFrom(bytes, offset, Math.Min(ChunkBytes, bytes.Length - offset)) });
        }
        await write.RequestStream.CompleteAsync();
        var manifest = (await write).Content;

        sizeGib = Math.Max(sizeGib, Math.Max(20, (bytes.Length + (1L << 30) - 1) >> 30));
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
            DiskDeviceMappings = { new DiskDeviceMapping { DiskType = DiskType.System, Device = "/dev/xvda", SizeGib = sizeGib, ContentBytes = bytes.Length } },
        })).Image;
        await control.CompletePendingAsync(new CompletePendingRequest
        {
            ResourceId = image.ImageId,
            TaskId = taskId,
            Disks = { new DiskContent { DiskType = DiskType.System, Device = "/dev/xvda", SizeGib = sizeGib, ManifestId = manifest.ManifestId, ContentBytes = bytes.Length } },
        });
        await content.ReleaseContentAsync(new ReleaseContentRequest { RegionId = region, ManifestId = manifest.ManifestId, HolderId = taskId });
        return (await cluster.Client<ImageService.ImageServiceClient>(account.Token).GetImageAsync(new GetImageRequest { RegionId = region, ImageId = image.ImageId })).Image;
    }

    private static void Fill(int seed, Span<byte> chunk) => new Random(seed).NextBytes(chunk);
}
