using GrpcImages.Testing;

namespace GrpcImages.IntegrationTests;

/// <summary>Test runs clean up after runs that could not: their directories, and the redis-server left in one.</summary>
public class ScratchDirectoryTests
{
    [Fact]
    public async Task ADirectoryOfAnExitedRunGoesWithTheRedisItStartedWhileALiveRunsStays()
    {
        var root = Directory.CreateTempSubdirectory("scratch-root-").FullName;
        try
        {
            await using var redis = await RedisServer.StartAsync();
            var left = Directory.CreateDirectory(Path.Combine(root, "gi-data-left")).FullName;
            File.WriteAllText(Path.Combine(left, ".gi-owner"), $"{int.MaxValue - 1} 1\n"); // a maker no longer running
            ScratchDirectory.Adopt(left, redis.Pid);
            var live = Directory.CreateDirectory(Path.Combine(root, "gi-data-live")).FullName;
            File.WriteAllText(Path.Combine(live, ".gi-owner"), $"{ScratchDirectory.Identity(Environment.ProcessId)}\n");
            var unmarked = Directory.CreateDirectory(Path.Combine(root, "gi-data-unmarked")).FullName;

            Assert.Equal(1, ScratchDirectory.Sweep(root));

            Assert.False(Directory.Exists(left));
            Assert.True(Directory.Exists(live));
            Assert.True(Directory.Exists(unmarked));
            Assert.True(redis.HasExited); // the redis-server named in the left directory was stopped (Sweep waits for it)
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
