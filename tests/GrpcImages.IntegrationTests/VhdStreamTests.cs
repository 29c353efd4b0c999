using System.Text.Json.Nodes;
using GrpcImages.Testing;
using GrpcImages.Transfer.Content;
using GrpcImages.Transfer.Formats;

namespace GrpcImages.IntegrationTests;

/// <summary>The streamed VHD export read back by qemu-img: a vpc image of the exact size holding the same bytes (R29).</summary>
public class VhdStreamTests
{
    [Theory]
    [InlineData(5L * 1024 * 1024 + 1234)] // the disk ends inside a block
    [InlineData(12L * 1024 * 1024)]
    [InlineData(512L)]
    public async Task QemuImgReadsTheStreamedVhdAsTheDisk(long size)
    {
        // Chunk 0 and 2 hold bytes, chunk 1 is a stored-as-nothing zero chunk.
        var disk = new byte[size];
        new Random(7).NextBytes(disk);
        var chunk = Manifest.ChunkSize;
        if (size > chunk)
        {
            Array.Clear(disk, chunk, (int)Math.Min(chunk, size - chunk));
        }
        bool Stored(int c) => (long)c * chunk < size && c != 1;
        var path = Path.Combine(Path.GetTempPath(), $"{Guid.NewGuid():N}.vhd");
        try
        {
            long written = 0;
            await using (var file = File.Create(path))
            {
                await foreach (var piece in VhdStream.WriteAsync(size, Stored,
                                   (c, buffer) => { disk.AsMemory(c * chunk, buffer.Length).CopyTo(buffer); return Task.CompletedTask; },
                                   DateTimeOffset.UtcNow, Guid.NewGuid()))
                {
                    await file.WriteAsync(piece);
                    written += piece.Length;
                }
            }
            Assert.Equal(VhdStream.Length(size, Stored), written);

            var info = JsonNode.Parse(DiskFiles.QemuImg(["info", "-f", "vpc", "--output=json", path]))!;
            var sectors = (size + 511) / 512 * 512; // whole sectors, as qemu-img sees a raw file too
            Assert.Equal(sectors, info["virtual-size"]!.GetValue<long>());
            var raw = path + ".raw";
            DiskFiles.QemuImg(["convert", "-f", "vpc", "-O", "raw", path, raw]);
            try
            {
                var expected = new byte[sectors];
                disk.CopyTo(expected, 0);
                Assert.Equal(expected, await File.ReadAllBytesAsync(raw));
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
