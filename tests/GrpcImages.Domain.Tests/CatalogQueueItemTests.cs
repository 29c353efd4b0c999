using GrpcImages.Catalog.Domain;

namespace GrpcImages.Domain.Tests;

/// <summary>The catalog's queue ids and payloads read back as what was written, including items queued by earlier versions.</summary>
public class CatalogQueueItemTests
{
    [Theory]
    [InlineData("img|m-0001aaaaaaaaaaaaaaaa", CreationKind.Image, "m-0001aaaaaaaaaaaaaaaa")]
    [InlineData("snap|s-0001aaaaaaaaaaaaaaaa", CreationKind.Snapshot, "s-0001aaaaaaaaaaaaaaaa")]
    [InlineData("inst|i-0001aaaaaaaaaaaaaaaa", CreationKind.Instance, "i-0001aaaaaaaaaaaaaaaa")]
    public void ACreationJobIdNamesItsKindAndResource(string id, CreationKind kind, string resourceId)
    {
        var job = CreationJob.TryParse(id);

        Assert.Equal(new CreationJob(kind, resourceId), job);
        Assert.Equal(id, job!.Value.Format());
    }

    [Theory]
    [InlineData("")]
    [InlineData("img|")]
    [InlineData("disk|d-1")]
    [InlineData("m-0001aaaaaaaaaaaaaaaa")]
    public void AnIdOfNoJobIsNone(string id) => Assert.Null(CreationJob.TryParse(id));

    [Fact]
    public void AClientTokenWithBarsSurvivesTheIntent()
    {
        var intent = new CreationIntent("1234567890123456", "cn-hangzhou", "a|b||c", "m-0001aaaaaaaaaaaaaaaa");

        Assert.Equal(intent, CreationIntent.TryParse(intent.Format()));
        Assert.Equal(intent with { ImageId = "" }, CreationIntent.TryParse((intent with { ImageId = "" }).Format()));
    }

    [Fact]
    public void AnIntentQueuedBeforeInstancesNamedTheirImageStillReads()
    {
        Assert.Equal(new CreationIntent("1234567890123456", "cn-hangzhou", "token", ""), CreationIntent.TryParse("intent|1234567890123456|cn-hangzhou|token"));
        Assert.Null(CreationIntent.TryParse("done"));
        Assert.Null(CreationIntent.TryParse("intent|1234567890123456"));
    }

    [Theory]
    [InlineData("content|cn-hangzhou|mf-1|s-0001aaaaaaaaaaaaaaaa")]
    [InlineData("holder|cn-hangzhou|d-0001aaaaaaaaaaaaaaaa:reseal")]
    [InlineData("holder|cn-hangzhou|m-0001aaaaaaaaaaaaaaaa|final")]
    [InlineData("quota|1234567890123456|cn-hangzhou|m-0001aaaaaaaaaaaaaaaa")]
    public void AReleaseItemReadsBackAsWritten(string item) => Assert.Equal(item, Release.Parse(item).Format());

    [Fact]
    public void AReleaseOfNoKnownShapeIsRefused()
    {
        Assert.Equal(new HolderRelease("cn-hangzhou", "m-1", true), Release.Parse("holder|cn-hangzhou|m-1|final"));
        Assert.Throws<FormatException>(() => Release.Parse("holder|cn-hangzhou|m-1|later"));
        Assert.Throws<FormatException>(() => Release.Parse("lease|cn-hangzhou|m-1"));
    }

    [Fact]
    public void ASeedItemNamesItsRegionAndVersion()
    {
        Assert.Equal(new SeedItem("cn-hangzhou", 3), SeedItem.Parse(new SeedItem("cn-hangzhou", 3).Format()));
        Assert.Equal("cn-hangzhou", SeedItem.Parse("cn-hangzhou").Region);
    }
}
