using System.Buffers;
using System.Security.Cryptography;
using Google.Protobuf;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.Transfer.Content;

namespace GrpcImages.Domain.Tests;

/// <summary>The content layer's formats checked without a blob store: manifests, sealed chunks, seeded bytes.</summary>
public class ContentRuleTests
{
    private static byte[] Hash(byte seed) => SHA256.HashData([seed]);

    [Fact]
    public void AManifestReadsBackAsWrittenAndEqualContentHasAnEqualId()
    {
        var size = 3L * Manifest.ChunkSize + 1000;
        var chunks = new[] { new ChunkRef(0, Hash(1)), new ChunkRef(3, Hash(2)) };
        var manifest = new Manifest(size, chunks, new ManifestEncryption("1234567890123456", "key", [1, 2, 3]));

        var parsed = Manifest.Parse(manifest.Bytes);

        Assert.Equal(manifest.Id, parsed.Id);
        Assert.Equal(size, parsed.SizeBytes);
        Assert.Equal(4, parsed.Count);
        Assert.Equal(1000, parsed.ChunkLength(3));
        Assert.Null(parsed.HashAt(1)); // a zero chunk is not stored
        Assert.Equal(Hash(2), parsed.HashAt(3));
        Assert.Equal("key", parsed.Encryption!.KmsKeyId);
        Assert.Equal(new Manifest(size, chunks, null).Digest(), manifest.Digest()); // the digest ignores sealing
        Assert.NotEqual(manifest.Id, new Manifest(size, chunks, null).Id);
    }

    [Fact]
    public void AManifestRefusesChunksOutOfOrderOrOutsideTheContent()
    {
        Assert.Throws<ArgumentException>(() => new Manifest(Manifest.ChunkSize, [new ChunkRef(1, Hash(1))], null));
        Assert.Throws<ArgumentException>(() => new Manifest(4L * Manifest.ChunkSize, [new ChunkRef(2, Hash(1)), new ChunkRef(1, Hash(2))], null));
        Assert.Throws<InvalidDataException>(() => Manifest.Parse("not a manifest at all"u8));
    }

    [Fact]
    public void R23_ASealedChunkOpensOnlyWithItsKeyAtItsPosition()
    {
        var key = RandomNumberGenerator.GetBytes(32);
        using var cipher = new ChunkCipher(key);
        var plaintext = RandomNumberGenerator.GetBytes(4096);
        var sealedChunk = cipher.Seal(plaintext, 7);
        var opened = new byte[plaintext.Length];

        cipher.Open(sealedChunk, 7, opened);
        Assert.Equal(plaintext, opened);
        Assert.Equal(-1, sealedChunk.AsSpan().IndexOf(plaintext.AsSpan(0, 64)));
        Assert.ThrowsAny<CryptographicException>(() => cipher.Open(sealedChunk, 8, opened)); // moved to another place
        using var other = new ChunkCipher(RandomNumberGenerator.GetBytes(32));
        Assert.ThrowsAny<CryptographicException>(() => other.Open(sealedChunk, 7, opened));
    }

    [Fact]
    public void SeededContentIsTheSameEveryTimeAndDiffersByLabel()
    {
        var first = new byte[8192];
        var again = new byte[8192];
        var other = new byte[8192];
        SeedGenerator.Fill("ubuntu", 1L << 30, 1L << 20, 0, first);
        SeedGenerator.Fill("ubuntu", 1L << 30, 1L << 20, 0, again);
        SeedGenerator.Fill("debian", 1L << 30, 1L << 20, 0, other);

        Assert.Equal(first, again);
        Assert.NotEqual(first, other);
        Assert.StartsWith("GRPCIMAGES SEED DISK", System.Text.Encoding.ASCII.GetString(first));
        var beyondData = new byte[4096];
        SeedGenerator.Fill("ubuntu", 1L << 30, 1L << 20, 2L << 20, beyondData);
        Assert.All(beyondData, b => Assert.Equal(0, b));
    }

    [Fact]
    public void APulledChunkReadIntoAPooledBufferEqualsWhatTheGeneratedCodeReads()
    {
        var bytes = RandomNumberGenerator.GetBytes(100_000);
        var wire = new PullChunksResponse { Index = 7, Data = ByteString.CopyFrom(bytes), Sha256 = Convert.ToHexStringLower(SHA256.HashData(bytes)) }.ToByteArray();
        // Split in pieces, as it arrives from the network.
        var first = new Segment(wire.AsMemory(0, 5));
        var last = first.Append(wire.AsMemory(5, 40_000)).Append(wire.AsMemory(40_005));

        using var chunk = ChunkPullClient.Parse(new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length));

        var expected = PullChunksResponse.Parser.ParseFrom(wire);
        Assert.Equal(expected.Index, chunk.Index);
        Assert.Equal(expected.Sha256, chunk.Sha256);
        Assert.Equal(bytes, chunk.Data.ToArray());
    }

    [Fact]
    public void APulledChunkCutShortIsRefused()
    {
        var wire = new PullChunksResponse { Index = 1, Data = ByteString.CopyFrom(new byte[1000]), Sha256 = "ab" }.ToByteArray();

        Assert.Throws<InvalidDataException>(() => ChunkPullClient.Parse(new ReadOnlySequence<byte>(wire.AsMemory(0, 500))));
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory) => Memory = memory;

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory) { RunningIndex = RunningIndex + Memory.Length };
            Next = next;
            return next;
        }
    }

    [Fact]
    public void TheLargestBlobWrittenPastThePageCacheIsASealedChunk() =>
        Assert.Equal(Manifest.ChunkSize + ChunkCipher.Overhead, GrpcImages.Transfer.Storage.DirectWrites.MaxLength);
}
