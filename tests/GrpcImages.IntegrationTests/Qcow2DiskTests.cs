using System.Buffers.Binary;
using System.Diagnostics;
using GrpcImages.ServiceDefaults.Errors;
using GrpcImages.Testing;
using GrpcImages.Transfer.Content;
using GrpcImages.Transfer.Formats;

namespace GrpcImages.IntegrationTests;

/// <summary>
/// QCOW2 files read in place (R25 imports without qemu-img): the same disk qemu-img reads, for every
/// layout qemu-img writes; compressed files left to qemu-img; and hostile tables refused before
/// anything outside the file, or more than the file holds, is read.
/// </summary>
public sealed class Qcow2DiskTests : IDisposable
{
    private const long Max = 1L << 40;
    private readonly string _directory = Directory.CreateTempSubdirectory("qcow2-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Theory]
    [InlineData("compat=0.10", "cluster_size=65536")] // version 2
    [InlineData("compat=1.1", "cluster_size=65536")]
    [InlineData("compat=1.1", "cluster_size=512")]
    [InlineData("compat=1.1", "cluster_size=2M")]
    public async Task ItReadsTheSameDiskAsQemuImg(string compat, string clusterSize)
    {
        var bytes = new byte[9 * 1024 * 1024 + 1536]; // ends inside a cluster of every size here
        new Random(5).NextBytes(bytes);
        Array.Clear(bytes, 4 * 1024 * 1024, 3 * 1024 * 1024); // a hole qemu-img leaves unallocated
        var path = DiskFiles.Make(_directory, bytes, "qcow2", compat, clusterSize);
        if (compat == "compat=1.1")
        {
            QemuIo(path, "write -z 1M 2M"); // zero-flagged clusters over allocated ones
        }
        var expected = await File.ReadAllBytesAsync(QemuRaw(path));

        using var handle = File.OpenHandle(path);
        var (disk, unsupported) = await Qcow2Disk.OpenAsync(new FileDiskReader(handle), Max, default);

        Assert.Equal("", unsupported);
        Assert.NotNull(disk);
        Assert.Equal(expected.LongLength, disk.Length);
        var whole = new byte[expected.Length];
        for (var offset = 0; offset < whole.Length; offset += Manifest.ChunkSize)
        {
            await disk.ReadAsync(offset, whole.AsMemory(offset, Math.Min(Manifest.ChunkSize, whole.Length - offset)), default);
        }
        Assert.Equal(expected, whole);
        foreach (var (offset, length) in new[] { (1000, 300_000), (expected.Length - 777, 777), (3 * 1024 * 1024 - 5, 10) })
        {
            var piece = new byte[length];
            await disk.ReadAsync(offset, piece, default);
            Assert.Equal(expected.AsSpan(offset, length).ToArray(), piece);
        }
        var past = new byte[100];
        past.AsSpan().Fill(0xAA);
        await disk.ReadAsync(expected.Length - 10, past, default);
        Assert.Equal(expected.AsSpan(expected.Length - 10).ToArray().Concat(new byte[90]), past); // zeros past the end
    }

    [Fact]
    public async Task ACompressedFileIsLeftToQemuImg()
    {
        var raw = Path.Combine(_directory, "plain.raw");
        await File.WriteAllBytesAsync(raw, Enumerable.Range(0, 2 << 20).Select(i => (byte)(i % 251 + 1)).ToArray()); // compresses (random bytes would stay uncompressed)
        var path = Path.Combine(_directory, "compressed.qcow2");
        DiskFiles.QemuImg(["convert", "-c", "-f", "raw", "-O", "qcow2", raw, path]);

        using var handle = File.OpenHandle(path);
        var (disk, unsupported) = await Qcow2Disk.OpenAsync(new FileDiskReader(handle), Max, default);

        Assert.Null(disk);
        Assert.Equal("compressed clusters", unsupported);
    }

    [Fact]
    public async Task HostileTablesAreRefusedAsMalformed()
    {
        var good = DiskFiles.Make(_directory, DiskFiles.RawBytes(1, seed: 2), "qcow2", "cluster_size=65536");
        var file = await File.ReadAllBytesAsync(good);
        var l1 = (int)BinaryPrimitives.ReadUInt64BigEndian(file.AsSpan(40));
        var l2 = (int)(BinaryPrimitives.ReadUInt64BigEndian(file.AsSpan(l1)) & 0x00FF_FFFF_FFFF_FE00);
        var data = BinaryPrimitives.ReadUInt64BigEndian(file.AsSpan(l2));

        // A data cluster past the file's end (where another file of the host might be, for a reader that followed it).
        await AssertMalformedAsync(file, f => BinaryPrimitives.WriteUInt64BigEndian(f.AsSpan(l2), (1UL << 63) | (ulong)f.LongLength + 65536UL), "outside the file");
        // A data cluster not aligned to a cluster.
        await AssertMalformedAsync(file, f => BinaryPrimitives.WriteUInt64BigEndian(f.AsSpan(l2), data + 512), "not aligned");
        // Reserved bits of an L1 entry.
        await AssertMalformedAsync(file, f => f[l1 + 7] |= 0x02, "reserved bits");
        // The L1 table placed past the end.
        await AssertMalformedAsync(file, f => BinaryPrimitives.WriteUInt64BigEndian(f.AsSpan(40), (ulong)f.Length * 2 / 65536 * 65536), "outside the file");
        // A 1 GiB cluster.
        await AssertMalformedAsync(file, f => BinaryPrimitives.WriteUInt32BigEndian(f.AsSpan(20), 30), "cluster size");
        // A virtual size over the largest disk.
        await AssertMalformedAsync(file, f => BinaryPrimitives.WriteUInt64BigEndian(f.AsSpan(24), (ulong)Max + 1), "larger than the largest disk");
        // Every cluster of a 512 MiB disk mapped to the one data cluster: reading it would cost far more than the file.
        await AssertMalformedAsync(file, f =>
        {
            BinaryPrimitives.WriteUInt64BigEndian(f.AsSpan(24), 512UL << 20);
            for (var k = 0; k < 8192; k++)
            {
                BinaryPrimitives.WriteUInt64BigEndian(f.AsSpan(l2 + k * 8), data);
            }
        }, "more data clusters than the file holds");
    }

    [Fact]
    public async Task DamagedFilesAreReadOrRefusedAsMalformedNeverAnythingElse()
    {
        var good = await File.ReadAllBytesAsync(DiskFiles.Make(_directory, DiskFiles.RawBytes(2, seed: 4), "qcow2", "cluster_size=4096"));
        var l1 = (int)BinaryPrimitives.ReadUInt64BigEndian(good.AsSpan(40));
        var l2 = (int)(BinaryPrimitives.ReadUInt64BigEndian(good.AsSpan(l1)) & 0x00FF_FFFF_FFFF_FE00);
        var random = new Random(11);
        var outcomes = new Dictionary<string, int>();
        for (var run = 0; run < 400; run++)
        {
            var file = (byte[])good.Clone();
            for (var hits = random.Next(1, 6); hits > 0; hits--)
            {
                // Bytes of the header, the L1 table or the first L2 table, where a reader is most easily led astray.
                var region = random.Next(3) switch { 0 => (0, 112), 1 => (l1, 64), _ => (l2, 4096) };
                file[region.Item1 + random.Next(region.Item2)] = (byte)random.Next(256);
            }
            var path = Path.Combine(_directory, "damaged.qcow2");
            await File.WriteAllBytesAsync(path, file);
            using var handle = File.OpenHandle(path);
            string outcome;
            try
            {
                var (disk, unsupported) = await Qcow2Disk.OpenAsync(new FileDiskReader(handle), Max, default);
                if (disk is not null)
                {
                    var chunk = new byte[Manifest.ChunkSize];
                    for (long offset = 0; offset < Math.Min(disk.Length, 64L << 20); offset += chunk.Length)
                    {
                        await disk.ReadAsync(offset, chunk, default);
                    }
                }
                outcome = disk is null ? $"left to qemu-img ({unsupported})" : "read";
            }
            catch (DomainException refused) when (refused.Reason == "InvalidImageFormat.Malformed")
            {
                outcome = "malformed";
            }
            outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
        }
        Assert.True(outcomes.GetValueOrDefault("malformed") > 0, string.Join(", ", outcomes));
        Assert.True(outcomes.GetValueOrDefault("read") > 0, string.Join(", ", outcomes));
    }

    private async Task AssertMalformedAsync(byte[] good, Action<byte[]> damage, string says)
    {
        var file = (byte[])good.Clone();
        damage(file);
        var path = Path.Combine(_directory, $"{Guid.NewGuid():N}.qcow2");
        await File.WriteAllBytesAsync(path, file);
        using var handle = File.OpenHandle(path);
        var refused = await Assert.ThrowsAsync<DomainException>(() => Qcow2Disk.OpenAsync(new FileDiskReader(handle), Max, default));
        Assert.Equal("InvalidImageFormat.Malformed", refused.Reason);
        Assert.Contains(says, refused.Message, StringComparison.Ordinal);
    }

    private string QemuRaw(string path)
    {
        var raw = Path.Combine(_directory, $"{Guid.NewGuid():N}.raw");
        DiskFiles.QemuImg(["convert", "-f", "qcow2", "-O", "raw", path, raw]);
        return raw;
    }

    private static void QemuIo(string path, string command)
    {
        using var process = Process.Start(new ProcessStartInfo("qemu-io", ["-f", "qcow2", "-c", command, path])
        {
            RedirectStandardOutput = true, RedirectStandardError = true,
        })!;
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, error);
    }
}
