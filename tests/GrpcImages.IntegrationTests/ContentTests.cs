using System.Security.Cryptography;
using Google.Protobuf;
using Grpc.Core;
using GrpcImages.Client;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.Testing;

namespace GrpcImages.IntegrationTests;

/// <summary>The content layer (transfer's ContentService): chunks, manifests, holders and collection (R34).</summary>
public class ContentTests(ClusterFixture fixture, ITestOutputHelper output) : ClusterTest(fixture, output)
{
    private const string Region = "cn-shanghai";
    private const int MiB = 1024 * 1024;
    private ContentService.ContentServiceClient Content => Cluster.Client<ContentService.ContentServiceClient>(Cluster.ServiceToken());

    private static string Holder() => $"test:{Guid.NewGuid():N}";

    private async Task<ContentInfo> WriteAsync(byte[] data, long size, string holder)
    {
        using var call = Content.WriteContent();
        await call.WriteOrRefusalAsync(new WriteContentRequest { Header = new WriteContentHeader { RegionId = Region, SizeBytes = size, HolderId = holder } });
        for (var offset = 0; offset < data.Length; offset += MiB)
        {
            await call.WriteOrRefusalAsync(new WriteContentRequest { Data = ByteString.CopyFrom(data, offset, Math.Min(MiB, data.Length - offset)) });
        }
        return (await call.CompleteOrRefusalAsync()).Content;
    }

    private Task<byte[]> ReadAsync(string manifestId, long offset = 0, long length = 0) => Cluster.ReadContentAsync(Region, manifestId, offset, length);

    [Fact]
    public async Task WrittenBytesComeBackAndZeroChunksAreNotStored()
    {
        var data = RandomNumberGenerator.GetBytes(9 * MiB);
        var info = await WriteAsync(data, 24 * MiB, Holder());

        Assert.Equal(6, info.ChunkCount);
        Assert.Equal(3, (await Cluster.ChunkIdsAsync(Region, info)).Count); // 9 MiB of data in 4 MiB chunks; the rest is zeros
        Assert.Equal(12 * MiB, info.StoredBytes);
        Assert.All((await Cluster.ChunkIdsAsync(Region, info)), id => Assert.True(File.Exists(Cluster.BlobPath(Region, id))));
        var back = await ReadAsync(info.ManifestId);
        Assert.Equal(24 * MiB, back.Length);
        Assert.Equal(data, back[..data.Length]);
        Assert.True(back.AsSpan(data.Length).IndexOfAnyExcept((byte)0) < 0);
        Assert.Equal(data.AsSpan(5 * MiB + 7, 1000).ToArray(), await ReadAsync(info.ManifestId, 5 * MiB + 7, 1000));
    }

    [Fact]
    public async Task EqualContentIsStoredOnceAndHeldByEachHolder()
    {
        var label = $"test-{Guid.NewGuid():N}";
        var first = (await Content.SeedContentAsync(new SeedContentRequest { RegionId = Region, Label = label, SizeBytes = 8 * MiB, DataBytes = 5 * MiB, HolderId = Holder() })).Content;
        var second = (await Content.SeedContentAsync(new SeedContentRequest { RegionId = Region, Label = label, SizeBytes = 8 * MiB, DataBytes = 5 * MiB, HolderId = Holder() })).Content;
        var other = (await Content.SeedContentAsync(new SeedContentRequest { RegionId = Region, Label = label + "x", SizeBytes = 8 * MiB, DataBytes = 5 * MiB, HolderId = Holder() })).Content;

        Assert.Equal(first.ManifestId, second.ManifestId);
        Assert.Equal(2, second.HolderCount);
        Assert.Empty((await Cluster.ChunkIdsAsync(Region, first)).Intersect((await Cluster.ChunkIdsAsync(Region, other)))); // another label, other bytes
        Assert.StartsWith($"GRPCIMAGES SEED DISK\nlabel: {label}\n", System.Text.Encoding.ASCII.GetString(await ReadAsync(first.ManifestId, 0, 128)));
    }

    [Fact]
    public async Task AHolderReleasedForGoodCannotHoldAgainWhileOneReleasedPlainlyCan()
    {
        var keeper = Holder();
        var manifest = (await Content.SeedContentAsync(new SeedContentRequest
        {
            RegionId = Region, Label = $"test-{Guid.NewGuid():N}", SizeBytes = 8 * MiB, DataBytes = 4 * MiB, HolderId = keeper,
        })).Content.ManifestId;
        Task<RetainContentResponse> Retain(string holder) => Content.RetainContentAsync(new RetainContentRequest { RegionId = Region, ManifestId = manifest, HolderId = holder }).ResponseAsync;
        Task Release(string holder, bool final) => Content.ReleaseHolderAsync(new ReleaseHolderRequest { RegionId = Region, HolderId = holder, Final = final }).ResponseAsync;
        var (plain, gone) = (Holder(), Holder());

        // A create given up for good releases its ids finally: a retain of one that arrives later is taken back.
        Assert.Equal(2, (await Retain(gone)).HolderCount);
        await Release(gone, final: true);
        await RpcAssert.FailsAsync(StatusCode.Aborted, "HolderReleased", () => Retain(gone));
        Assert.Equal(1, (await Content.GetContentInfoAsync(new GetContentInfoRequest { RegionId = Region, ManifestId = manifest })).Content.HolderCount);

        // A plain release (a task's holds once the catalog has them) leaves the holder free to hold again.
        await Retain(plain);
        await Release(plain, final: false);
        Assert.Equal(2, (await Retain(plain)).HolderCount);
    }

    [Fact]
    public async Task APatchSharesEveryChunkItDoesNotTouch()
    {
        var data = RandomNumberGenerator.GetBytes(12 * MiB);
        var source = await WriteAsync(data, 12 * MiB, Holder());
        var identity = "instance-id: i-test\n"u8.ToArray();

        var patched = (await Content.PatchContentAsync(new PatchContentRequest
        {
            RegionId = Region, ManifestId = source.ManifestId, Offset = 4 * MiB + 100, Data = ByteString.CopyFrom(identity), HolderId = Holder(),
        })).Content;

        Assert.NotEqual(source.ManifestId, patched.ManifestId);
        Assert.Equal((await Cluster.ChunkIdsAsync(Region, source))[0], (await Cluster.ChunkIdsAsync(Region, patched))[0]);
        Assert.Equal((await Cluster.ChunkIdsAsync(Region, source))[2], (await Cluster.ChunkIdsAsync(Region, patched))[2]);
        Assert.NotEqual((await Cluster.ChunkIdsAsync(Region, source))[1], (await Cluster.ChunkIdsAsync(Region, patched))[1]);
        var expected = (byte[])data.Clone();
        identity.CopyTo(expected, 4 * MiB + 100);
        Assert.Equal(expected, await ReadAsync(patched.ManifestId));
        Assert.Equal(data, await ReadAsync(source.ManifestId)); // the source is unchanged
    }

    [Fact]
    public async Task ChunksNoManifestReferencesAreCollectedAndSharedOnesStay() // R34
    {
        var data = RandomNumberGenerator.GetBytes(8 * MiB);
        var sourceHolder = Holder();
        var source = await WriteAsync(data, 8 * MiB, sourceHolder);
        var patchHolder = Holder();
        var patched = (await Content.PatchContentAsync(new PatchContentRequest
        {
            RegionId = Region, ManifestId = source.ManifestId, Offset = 0, Data = ByteString.CopyFromUtf8("hello"), HolderId = patchHolder,
        })).Content;
        var unique = (await Cluster.ChunkIdsAsync(Region, patched)).Except((await Cluster.ChunkIdsAsync(Region, source))).Single();
        var shared = (await Cluster.ChunkIdsAsync(Region, patched)).Intersect((await Cluster.ChunkIdsAsync(Region, source))).Single();

        var released = await Content.ReleaseContentAsync(new ReleaseContentRequest { RegionId = Region, ManifestId = patched.ManifestId, HolderId = patchHolder });
        await Content.CollectGarbageAsync(new CollectGarbageRequest { RegionId = Region });

        Assert.True(released.ManifestDeleted);
        Assert.False(File.Exists(Cluster.BlobPath(Region, unique)));
        Assert.False(File.Exists(Cluster.BlobPath(Region, "m:" + patched.ManifestId)));
        Assert.True(File.Exists(Cluster.BlobPath(Region, shared)));
        Assert.Equal(data, await ReadAsync(source.ManifestId));
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidContent.NotFound", () =>
            Content.GetContentInfoAsync(new GetContentInfoRequest { RegionId = Region, ManifestId = patched.ManifestId }));

        // Releasing the same holder again changes nothing.
        await Content.ReleaseContentAsync(new ReleaseContentRequest { RegionId = Region, ManifestId = source.ManifestId, HolderId = patchHolder });
        Assert.Equal(1, (await Content.GetContentInfoAsync(new GetContentInfoRequest { RegionId = Region, ManifestId = source.ManifestId })).Content.HolderCount);
    }

    [Fact]
    public async Task CollectionWhileTheSameContentIsWrittenAgainLosesNothing() // R34: safe while other work runs
    {
        var data = RandomNumberGenerator.GetBytes(8 * MiB);
        var live = new List<ContentInfo>();
        for (var round = 0; round < 8; round++)
        {
            var holder = Holder();
            var written = await WriteAsync(data, 8 * MiB, holder);
            var release = Content.ReleaseContentAsync(new ReleaseContentRequest { RegionId = Region, ManifestId = written.ManifestId, HolderId = holder }).ResponseAsync;
            var collect = Content.CollectGarbageAsync(new CollectGarbageRequest { RegionId = Region }).ResponseAsync;
            var again = WriteAsync(data, 8 * MiB, Holder());
            await Task.WhenAll(release, collect, again);
            live.Add(await again);
            await Content.CollectGarbageAsync(new CollectGarbageRequest { RegionId = Region });
        }

        foreach (var content in live)
        {
            Assert.All((await Cluster.ChunkIdsAsync(Region, content)), id => Assert.True(File.Exists(Cluster.BlobPath(Region, id)), $"chunk {id} is gone"));
            Assert.Equal(data, await ReadAsync(content.ManifestId));
        }
    }

    [Fact]
    public async Task UnknownContentAndBadInputAreRefused()
    {
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidContent.NotFound", () =>
            Content.RetainContentAsync(new RetainContentRequest { RegionId = Region, ManifestId = new string('a', 64), HolderId = "h" }));
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidRegionId.Malformed", () =>
            Content.CreateBlankContentAsync(new CreateBlankContentRequest { RegionId = "mars-1", SizeBytes = MiB, HolderId = "h" }));
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidParameter", () =>
            Content.CreateBlankContentAsync(new CreateBlankContentRequest { RegionId = Region, SizeBytes = 0, HolderId = "h" }));
    }
}
