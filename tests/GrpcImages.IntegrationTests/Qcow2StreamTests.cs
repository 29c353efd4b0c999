using System.Text.Json.Nodes;
using GrpcImages.Testing;
using GrpcImages.Transfer.Content;
using GrpcImages.Transfer.Formats;

namespace GrpcImages.IntegrationTests;

/// <summary>The streamed QCOW2 export read back by qemu-img: a clean qcow2 of the exact size holding the same bytes, and our own reader agrees (R29).</summary>
public class Qcow2StreamTests
{
    [Theory]
    [InlineData(5L * 1024 * 1024 + 1234)] // the disk ends inside a cluster
    [InlineData(12L * 1024 * 1024)]
    [InlineData(512L)]
    [InlineData(1100L * 1024 * 1024)] // three L2 tables, the middle one unused
    public async Task QemuImgReadsTheStreamedQcow2AsTheDisk(long size)
    {
        var chunk = Manifest.ChunkSize;
        var chunks = Manifest.ChunkCount(size);
        // Chunk 1 and chunks 128-255 (the second L2 table's whole span) are stored-as-nothing zero chunks.
        bool Stored(int c) => c < chunks && c != 1 && c is < 128 or >= 256;
        byte[] ChunkBytes(int c)
        {
            var bytes = new byte[(int)Math.Min(chunk, size - (long)c * chunk)];
            if (Stored(c))
            {
                new Random(c).NextBytes(bytes);
            }
            return bytes;
        }
        var path = Path.Combine(Path.GetTempPath(), $"{Guid.NewGuid():N}.qcow2");
        try
        {
            long written = 0;
            await using (var file = File.Create(path))
            {
                await foreach (var piece in Qcow2Stream.WriteAsync(size, Stored, (c, buffer) => { ChunkBytes(c).CopyTo(buffer); return Task.CompletedTask; }))
                {
                    await file.WriteAsync(piece);
                    written += piece.Length;
                }
            }
            Assert.Equal(Qcow2Stream.Length(size, Stored), written);

            DiskFiles.QemuImg(["check", "-f", "qcow2", path]); // fails the test on any error or leak
            var info = JsonNode.Parse(DiskFiles.QemuImg(["info", "-f", "qcow2", "--output=json", path]))!;
            Assert.Equal((size + 511) / 512 * 512, info["virtual-size"]!.GetValue<long>()); // whole sectors, as qemu-img sees a raw file too
            var raw = path + ".raw";
            DiskFiles.QemuImg(["convert", "-f", "qcow2", "-O", "raw", path, raw]);
            try
            {
                using var rawFile = File.OpenHandle(raw);
                using var qcow2File = File.OpenHandle(path);
                var (ours, _) = await Qcow2Disk.OpenAsync(new FileDiskReader(qcow2File), 1L << 40, default);
                Assert.NotNull(ours);
                var fromQemu = new byte[chunk];
                var fromOurs = new byte[chunk];
                for (var c = 0; c < chunks; c++)
                {
                    var expected = ChunkBytes(c);
                    var got = fromQemu.AsMemory(0, expected.Length);
                    await RandomAccess.ReadAsync(rawFile, got, (long)c * chunk);
                    Assert.True(expected.AsSpan().SequenceEqual(got.Span), $"chunk {c} differs as qemu-img reads it");
                    await ours.ReadAsync((long)c * chunk, fromOurs.AsMemory(0, expected.Length), default);
                    Assert.True(expected.AsSpan().SequenceEqual(fromOurs.AsSpan(0, expected.Length)), $"chunk {c} differs as our reader reads it");
                }
            }
            finally
            {
                File.Delete(raw);
            }
        }
        finally
        {
            File.Delete(path);
        }
    }
}
