using Grpc.Core;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Common.V1;
using GrpcImages.Testing;
using static GrpcImages.IntegrationTests.CatalogSteps;
using static GrpcImages.IntegrationTests.NetworkSteps;

namespace GrpcImages.IntegrationTests;

/// <summary>
/// Tags on images, snapshots and instances (issue 21): added, replaced, removed and listed, images listed by tag; a call
/// changes every resource it names or none, another account's resource is NOT_FOUND, at most 20 tags a resource.
/// </summary>
public class TagTests(ClusterFixture fixture, ITestOutputHelper output) : ClusterTest(fixture, output)
{
    private static TagResourcesRequest TagRequest(TaggedResourceType type, IEnumerable<string> ids, params Tag[] tags) =>
        new() { RegionId = Hangzhou, ResourceType = type, ResourceIds = { ids }, Tags = { tags } };

    private static async Task<List<(string Id, string Key, string Value)>> ListedAsync(TestAccount account, ListTagResourcesRequest request) =>
        (await account.Tags().ListTagResourcesAsync(request)).TagResources.Select(t => (t.ResourceId, t.TagKey, t.TagValue)).ToList();

    [Fact]
    public async Task TagsAreAddedReplacedListedAndRemovedOnEachKindOfResource()
    {
        var account = await Cluster.NewAccountAsync();
        var instance = await account.NewInstanceAsync();
        var image = await account.NewImageAsync(instance.InstanceId);
        var snapshotId = image.DiskDeviceMappings[0].SnapshotId;

        await account.Tags().TagResourcesAsync(TagRequest(TaggedResourceType.Image, [image.ImageId], Tag("team", "web"), Tag("stage", "build")));
        await account.Tags().TagResourcesAsync(TagRequest(TaggedResourceType.Image, [image.ImageId], Tag("stage", "release"))); // a key it has: the value changes
        await account.Tags().TagResourcesAsync(TagRequest(TaggedResourceType.Snapshot, [snapshotId], Tag("team", "web")));
        await account.Tags().TagResourcesAsync(TagRequest(TaggedResourceType.Instance, [instance.InstanceId], Tag("team", "db"), Tag("empty")));

        Assert.Equal([(image.ImageId, "team", "web"), (image.ImageId, "stage", "release")], await ListedAsync(account, new ListTagResourcesRequest
        {
            RegionId = Hangzhou, ResourceType = TaggedResourceType.Image, ResourceIds = { image.ImageId },
        }));
        Assert.Equal([Tag("team", "web"), Tag("stage", "release")], (await account.GetImageAsync(image.ImageId)).Tags);
        Assert.Equal([Tag("team", "db"), Tag("empty")], (await account.GetInstanceAsync(instance.InstanceId)).Tags);
        var snapshot = (await account.Snapshots().GetSnapshotAsync(new GetSnapshotRequest { RegionId = Hangzhou, SnapshotId = snapshotId })).Snapshot;
        Assert.Equal([Tag("team", "web")], snapshot.Tags);

        // Every resource of a type with the tags asked for: a tag without a value matches any value of its key.
        Assert.Equal([(instance.InstanceId, "team", "db"), (instance.InstanceId, "empty", "")], await ListedAsync(account, new ListTagResourcesRequest
        {
            RegionId = Hangzhou, ResourceType = TaggedResourceType.Instance, Tags = { Tag("team") },
        }));
        Assert.Empty(await ListedAsync(account, new ListTagResourcesRequest
        {
            RegionId = Hangzhou, ResourceType = TaggedResourceType.Instance, Tags = { Tag("team", "web") },
        }));

        await account.Tags().UntagResourcesAsync(new UntagResourcesRequest
        {
            RegionId = Hangzhou, ResourceType = TaggedResourceType.Image, ResourceIds = { image.ImageId }, TagKeys = { "stage", "never-there" },
        });
        Assert.Equal([Tag("team", "web")], (await account.GetImageAsync(image.ImageId)).Tags);
        await account.Tags().UntagResourcesAsync(new UntagResourcesRequest
        {
            RegionId = Hangzhou, ResourceType = TaggedResourceType.Instance, ResourceIds = { instance.InstanceId }, All = true,
        });
        Assert.Empty((await account.GetInstanceAsync(instance.InstanceId)).Tags);
    }

    [Fact]
    public async Task ImagesAreListedByTag()
    {
        var account = await Cluster.NewAccountAsync();
        var instance = await account.NewInstanceAsync();
        var web = await account.NewImageAsync(instance.InstanceId);
        var db = await account.NewImageAsync(instance.InstanceId);
        var plain = await account.NewImageAsync(instance.InstanceId);
        await account.Tags().TagResourcesAsync(TagRequest(TaggedResourceType.Image, [web.ImageId], Tag("team", "web"), Tag("os", "linux")));
        await account.Tags().TagResourcesAsync(TagRequest(TaggedResourceType.Image, [db.ImageId], Tag("team", "db")));
        async Task<List<string>> Listed(params Tag[] tags) => (await account.Images().ListImagesAsync(new ListImagesRequest
        {
            RegionId = Hangzhou, OwnerAlias = ImageOwnerAlias.Self, Tags = { tags },
        })).Images.Select(i => i.ImageId).ToList();

        Assert.Equal([web.ImageId], await Listed(Tag("team", "web")));
        Assert.Equal([db.ImageId, web.ImageId], await Listed(Tag("team")));
        Assert.Equal([web.ImageId], await Listed(Tag("team"), Tag("os", "linux")));
        Assert.Empty(await Listed(Tag("team", "we"))); // a whole value, not a prefix
        Assert.Empty(await Listed(Tag("tea")));
        Assert.Equal([plain.ImageId, db.ImageId, web.ImageId], await Listed());
        // Public images carry no tags: a tag filter over every source leaves only the caller's.
        Assert.Equal([web.ImageId], (await account.Images().ListImagesAsync(new ListImagesRequest { RegionId = Hangzhou, Tags = { Tag("team", "web") } })).Images.Select(i => i.ImageId));

        await account.Tags().UntagResourcesAsync(new UntagResourcesRequest { RegionId = Hangzhou, ResourceType = TaggedResourceType.Image, ResourceIds = { web.ImageId }, All = true });
        Assert.Equal([db.ImageId], await Listed(Tag("team")));
    }

    [Fact]
    public async Task AnotherAccountsResourceIsNotFoundAndTheCallChangesNothing()
    {
        var a = await Cluster.NewAccountAsync();
        var b = await Cluster.NewAccountAsync();
        var aInstance = await a.NewInstanceAsync();
        var bInstance = await b.NewInstanceAsync();
        var aImage = await a.NewImageAsync(aInstance.InstanceId);

        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidResourceId.NotFound", () =>
            a.Tags().TagResourcesAsync(TagRequest(TaggedResourceType.Instance, [aInstance.InstanceId, bInstance.InstanceId], Tag("team", "web"))));
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidResourceId.NotFound", () =>
            b.Tags().TagResourcesAsync(TagRequest(TaggedResourceType.Image, [aImage.ImageId], Tag("team", "web"))));
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidResourceId.NotFound", () =>
            b.Tags().TagResourcesAsync(TagRequest(TaggedResourceType.Image, [Ubuntu], Tag("team", "web")))); // a public image is nobody's to tag
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidResourceId.NotFound", () =>
            a.Tags().TagResourcesAsync(TagRequest(TaggedResourceType.Snapshot, [aImage.ImageId], Tag("team", "web")))); // an image is not a snapshot
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidResourceId.NotFound", () => b.Tags().UntagResourcesAsync(new UntagResourcesRequest
        {
            RegionId = Hangzhou, ResourceType = TaggedResourceType.Instance, ResourceIds = { aInstance.InstanceId }, All = true,
        }));

        Assert.Empty((await a.GetInstanceAsync(aInstance.InstanceId)).Tags);
        Assert.Empty((await b.GetInstanceAsync(bInstance.InstanceId)).Tags);
        Assert.Empty((await a.GetImageAsync(aImage.ImageId)).Tags);
        // Listing names another account's resource: it is left out.
        Assert.Empty(await ListedAsync(b, new ListTagResourcesRequest { RegionId = Hangzhou, ResourceType = TaggedResourceType.Instance, ResourceIds = { aInstance.InstanceId } }));
    }

    [Fact]
    public async Task BoundsAreRefusedWithTheirCodesAndChangeNothing()
    {
        var account = await Cluster.NewAccountAsync();
        var instance = await account.NewInstanceAsync();
        await account.Tags().TagResourcesAsync(TagRequest(TaggedResourceType.Instance, [instance.InstanceId],
            [.. Enumerable.Range(0, 19).Select(i => Tag($"k{i}", "v"))]));
        async Task Refused(string reason, TagResourcesRequest request) =>
            await RpcAssert.FailsAsync(StatusCode.InvalidArgument, reason, () => account.Tags().TagResourcesAsync(request));
        var ids = new[] { instance.InstanceId };

        await Refused("InvalidTagCount", TagRequest(TaggedResourceType.Instance, ids, Tag("k19"), Tag("k20"))); // 21 together
        await Refused("InvalidTagCount", TagRequest(TaggedResourceType.Instance, ids, [.. Enumerable.Range(0, 21).Select(i => Tag($"n{i}"))]));
        await Refused("MissingParameter", TagRequest(TaggedResourceType.Instance, ids));
        await Refused("InvalidResourceId.Malformed", TagRequest(TaggedResourceType.Instance, [], Tag("a")));
        await Refused("InvalidResourceId.Malformed", TagRequest(TaggedResourceType.Instance,
            [instance.InstanceId, .. Enumerable.Range(0, 50).Select(i => $"i-{i:D20}")], Tag("a")));
        await Refused("InvalidResourceType.NotSupported", TagRequest(TaggedResourceType.Unspecified, ids, Tag("a")));
        await Refused("InvalidTaggedResourceType.Malformed", TagRequest((TaggedResourceType)42, ids, Tag("a"))); // a value the enum does not have
        await Refused("InvalidTagKey.Malformed", TagRequest(TaggedResourceType.Instance, ids, Tag(new string('k', 129))));
        await Refused("InvalidTagKey.Malformed", TagRequest(TaggedResourceType.Instance, ids, Tag("")));
        await Refused("InvalidTagKey.Malformed", TagRequest(TaggedResourceType.Instance, ids, Tag("aliyun:owner")));
        await Refused("InvalidTagKey.Malformed", TagRequest(TaggedResourceType.Instance, ids, Tag("acs:x")));
        await Refused("InvalidTagValue.Malformed", TagRequest(TaggedResourceType.Instance, ids, Tag("a", new string('v', 129))));
        await Refused("InvalidTagKey.Duplicated", TagRequest(TaggedResourceType.Instance, ids, Tag("a", "1"), Tag("a", "2")));
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidTagKey.Malformed", () => account.Tags().UntagResourcesAsync(new UntagResourcesRequest
        {
            RegionId = Hangzhou, ResourceType = TaggedResourceType.Instance, ResourceIds = { ids },
        }));
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidTagKey.Malformed", () => account.Tags().UntagResourcesAsync(new UntagResourcesRequest
        {
            RegionId = Hangzhou, ResourceType = TaggedResourceType.Instance, ResourceIds = { ids }, TagKeys = { Enumerable.Range(0, 21).Select(i => $"k{i}") },
        }));
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidTagCount", () => account.Tags().ListTagResourcesAsync(new ListTagResourcesRequest
        {
            RegionId = Hangzhou, ResourceType = TaggedResourceType.Instance, Tags = { Enumerable.Range(0, 21).Select(i => Tag($"k{i}")) },
        }));
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidResourceType.NotSupported", () =>
            account.Tags().ListTagResourcesAsync(new ListTagResourcesRequest { RegionId = Hangzhou }));

        Assert.Equal(19, (await account.GetInstanceAsync(instance.InstanceId)).Tags.Count);
        // The twentieth fits.
        await account.Tags().TagResourcesAsync(TagRequest(TaggedResourceType.Instance, ids, Tag("k19"), Tag("k0", "changed")));
        var tags = (await account.GetInstanceAsync(instance.InstanceId)).Tags;
        Assert.Equal((20, "changed"), (tags.Count, tags.Single(t => t.Key == "k0").Value));
    }

    [Fact]
    public async Task TagPairsArePaged()
    {
        var account = await Cluster.NewAccountAsync();
        var first = await account.NewInstanceAsync();
        await NetworkSteps.NextMillisecondAsync();
        var second = await account.NewInstanceAsync();
        await account.Tags().TagResourcesAsync(TagRequest(TaggedResourceType.Instance, [first.InstanceId, second.InstanceId], Tag("a", "1"), Tag("b", "2")));

        var request = new ListTagResourcesRequest { RegionId = Hangzhou, ResourceType = TaggedResourceType.Instance, PageSize = 3 };
        var page = await account.Tags().ListTagResourcesAsync(request);
        request.PageToken = page.NextPageToken;
        var rest = await account.Tags().ListTagResourcesAsync(request);

        Assert.Equal([second.InstanceId, second.InstanceId, first.InstanceId, first.InstanceId], page.TagResources.Concat(rest.TagResources).Select(t => t.ResourceId));
        Assert.Equal(3, page.TagResources.Count);
        Assert.Empty(rest.NextPageToken);
    }

    [Fact]
    public async Task ListsNamingTooManyResourcesOrTagsAreRefused()
    {
        var account = await Cluster.NewAccountAsync();

        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidResourceId.Malformed", () => account.Tags().ListTagResourcesAsync(new ListTagResourcesRequest
        {
            RegionId = Hangzhou, ResourceType = TaggedResourceType.Image, ResourceIds = { Enumerable.Range(0, 51).Select(i => $"m-{i:D20}") },
        }));
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidTagCount", () => account.Images().ListImagesAsync(new ListImagesRequest
        {
            RegionId = Hangzhou, Tags = { Enumerable.Range(0, 21).Select(i => Tag($"k{i}")) },
        }));
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidTagKey.Malformed", () => account.Images().ListImagesAsync(new ListImagesRequest
        {
            RegionId = Hangzhou, Tags = { Tag(new string('k', 129)) },
        }));
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidArgument", () => account.Tags().ListTagResourcesAsync(new ListTagResourcesRequest
        {
            RegionId = Hangzhou, ResourceType = TaggedResourceType.Image, PageSize = -1,
        }));
    }
}
