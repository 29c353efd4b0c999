using GrpcImages.Sharing.Storage;
using GrpcImages.Testing;
using StackExchange.Redis;

namespace GrpcImages.IntegrationTests;

/// <summary>
/// The recipient's index read page by page on a real Redis, when many shares have one timestamp (images shared in a
/// burst, or by a script): every share comes exactly once. Pages used to end after about limit + 64 of them.
/// </summary>
public sealed class ShareIndexPageTests
{
    [Fact]
    public async Task R16_EveryShareOfOneMillisecondIsListedOnceAcrossPages()
    {
        await using var server = await RedisServer.StartAsync();
        await using var connection = await ConnectionMultiplexer.ConnectAsync(server.ConnectionString);
        var redis = connection.GetDatabase();
        const string recipient = "1000000000000001", region = "cn-hangzhou";
        var shared = Enumerable.Range(0, 1000).Select(i => new ReceivedMember("2000000000000002", $"m-{i:d20}").Format()).ToList();
        // One score for all of them, and a few later ones after.
        await redis.SortedSetAddAsync(SharingKeys.Received(recipient, region), shared.Select(m => new SortedSetEntry(m, 1_700_000_000_000)).ToArray());
        await redis.SortedSetAddAsync(SharingKeys.Received(recipient, region), "2000000000000002|m-later000000000000001", 1_700_000_000_001);

        var store = new ShareStore(redis);
        var listed = new List<string>();
        var position = "";
        do
        {
            var (page, next) = await store.ReceivedAsync(recipient, region, [], position, 100);
            listed.AddRange(page.Select(s => s.ImageId));
            position = next;
        }
        while (position.Length > 0);

        Assert.Equal(1001, listed.Count);
        Assert.Equal(listed.Count, listed.Distinct().Count());
        Assert.Equal("m-later000000000000001", listed[^1]);
    }
}
