using GrpcImages.Transfer.Content;
using GrpcImages.Transfer.Storage;

namespace GrpcImages.IntegrationTests;

/// <summary>Chunks written past the page cache read back as written, whatever their length (sealed chunks and the last chunk of an object are not whole pages).</summary>
public sealed class DirectWritesTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("direct-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Theory]
    [InlineData(DirectWrites.MinLength)]
    [InlineData(DirectWrites.MinLength + 3)]
    [InlineData(Manifest.ChunkSize)]
    [InlineData(Manifest.ChunkSize + ChunkCipher.Overhead)]
    public async Task AChunkReadsBackAsWrittenWithItsOwnLength(int length)
    {
        var data = new byte[length];
        new Random(length).NextBytes(data);
        var path = Path.Combine(_directory, $"{length}");

        var direct = DirectWrites.TryWrite(path, data);

        Assert.True(direct || !OperatingSystem.IsLinux(), "this Linux host's filesystem took no O_DIRECT write");
        Assert.Equal(data, await File.ReadAllBytesAsync(path));
        if (direct)
        {
            Assert.Throws<IOException>(() => DirectWrites.TryWrite(path, data)); // a new file only, never over one
        }
    }

    [Fact]
    public void SmallBlobsAreLeftToThePageCache()
    {
        var path = Path.Combine(_directory, "small");
        Assert.False(DirectWrites.TryWrite(path, new byte[DirectWrites.MinLength - 1]));
        Assert.False(File.Exists(path));
    }
}
