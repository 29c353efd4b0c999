using System.Text.Json.Nodes;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Common.V1;
using GrpcImages.Gateway.Ecs;

namespace GrpcImages.Gateway.Actions;

/// <summary>
/// Tags on images, snapshots and instances: TagResources, UntagResources and ListTagResources, the older
/// AddTags and RemoveTags (one resource each), and DescribeTags (tags with how many resources of each type carry them).
/// </summary>
public static class TagActions
{
    public static Task<JsonObject> TagResources(EcsCall call) => Tag(call, call.Parameters.List("ResourceId"));

    /// <summary>AddTags: TagResources of one resource, named by ResourceId.</summary>
    public static Task<JsonObject> AddTags(EcsCall call) => Tag(call, [call.Parameters.Required("ResourceId")]);

    private static async Task<JsonObject> Tag(EcsCall call, IReadOnlyList<string> resourceIds)
    {
        var request = new TagResourcesRequest { RegionId = call.Region, ResourceType = Type(call.Parameters.Required("ResourceType")) };
        request.ResourceIds.AddRange(resourceIds);
        request.Tags.AddRange(call.Tags());
        await call.Rpc(o => call.Clients.Tags.TagResourcesAsync(request, o));
        return EcsCall.Ok();
    }

    public static async Task<JsonObject> UntagResources(EcsCall call)
    {
        var p = call.Parameters;
        var request = new UntagResourcesRequest { RegionId = call.Region, ResourceType = Type(p.Required("ResourceType")), All = p.Flag("All") };
        request.ResourceIds.AddRange(p.List("ResourceId"));
        request.TagKeys.AddRange(p.List("TagKey"));
        await call.Rpc(o => call.Clients.Tags.UntagResourcesAsync(request, o));
        return EcsCall.Ok();
    }

    public static async Task<JsonObject> ListTagResources(EcsCall call)
    {
        var p = call.Parameters;
        var request = new ListTagResourcesRequest
        {
            RegionId = call.Region,
            ResourceType = Type(p.Required("ResourceType")),
            PageToken = p.Text("NextToken"),
            PageSize = 50,
        };
        request.ResourceIds.AddRange(p.List("ResourceId"));
        request.Tags.AddRange(call.Tags());
        var list = await call.Rpc(o => call.Clients.Tags.ListTagResourcesAsync(request, o));
        return new JsonObject
        {
            ["NextToken"] = list.NextPageToken,
            ["TagResources"] = Shapes.Wrap("TagResource", list.TagResources.Select(t => (JsonNode)new JsonObject
            {
                ["ResourceId"] = t.ResourceId,
                ["ResourceType"] = TypeName(t.ResourceType),
                ["TagKey"] = t.TagKey,
                ["TagValue"] = t.TagValue,
            })),
        };
    }

    /// <summary>RemoveTags: the tags named by key (and value, when one is given); without tags, every tag.</summary>
    public static async Task<JsonObject> RemoveTags(EcsCall call)
    {
        var p = call.Parameters;
        var region = call.Region;
        var type = Type(p.Required("ResourceType"));
        var resourceId = p.Required("ResourceId");
        var tags = call.Tags().ToList();
        var request = new UntagResourcesRequest { RegionId = region, ResourceType = type, All = tags.Count == 0 };
        request.ResourceIds.Add(resourceId);
        if (tags.Any(t => t.Value.Length > 0))
        {
            // A key given with a value is removed only where the value matches.
            var listed = new ListTagResourcesRequest { RegionId = region, ResourceType = type, ResourceIds = { resourceId }, PageSize = 100 };
            var held = (await call.Rpc(o => call.Clients.Tags.ListTagResourcesAsync(listed, o))).TagResources;
            tags = tags.Where(t => t.Value.Length == 0 || held.Any(h => h.TagKey == t.Key && h.TagValue == t.Value)).ToList();
            if (tags.Count == 0)
            {
                return EcsCall.Ok();
            }
        }
        request.TagKeys.AddRange(tags.Select(t => t.Key).Distinct());
        await call.Rpc(o => call.Clients.Tags.UntagResourcesAsync(request, o));
        return EcsCall.Ok();
    }

    public static async Task<JsonObject> DescribeTags(EcsCall call)
    {
        var p = call.Parameters;
        p.Accept("Category");
        var region = call.Region;
        var types = p.Optional("ResourceType") is { } named
            ? [Type(named)]
            : new[] { TaggedResourceType.Image, TaggedResourceType.Snapshot, TaggedResourceType.Instance };
        var resourceId = p.Optional("ResourceId");
        var filter = call.Tags().ToList();
        var counts = new Dictionary<(string Key, string Value), Dictionary<TaggedResourceType, int>>();
        foreach (var type in types)
        {
            var token = "";
            var read = 0;
            do
            {
                var request = new ListTagResourcesRequest { RegionId = region, ResourceType = type, PageToken = token, PageSize = 1000 };
                if (resourceId is not null)
                {
                    request.ResourceIds.Add(resourceId);
                }
                request.Tags.AddRange(filter);
                var list = await call.Rpc(o => call.Clients.Tags.ListTagResourcesAsync(request, o));
                foreach (var pair in list.TagResources)
                {
                    var byType = counts.TryGetValue((pair.TagKey, pair.TagValue), out var found) ? found : counts[(pair.TagKey, pair.TagValue)] = [];
                    byType[type] = byType.GetValueOrDefault(type) + 1;
                }
                token = list.NextPageToken;
                read += list.TagResources.Count;
            }
            while (token.Length > 0 && read < EcsCall.MaxScanned);
        }
        var number = p.Number("PageNumber", 1, 1, 100_000);
        var size = p.Number("PageSize", 50, 1, 100);
        var ordered = counts.OrderBy(c => c.Key.Key, StringComparer.Ordinal).ThenBy(c => c.Key.Value, StringComparer.Ordinal).ToList();
        return new JsonObject
        {
            ["TotalCount"] = ordered.Count,
            ["PageNumber"] = number,
            ["PageSize"] = size,
            ["Tags"] = Shapes.Wrap("Tag", ordered.Skip((number - 1) * size).Take(size).Select(c => (JsonNode)new JsonObject
            {
                ["TagKey"] = c.Key.Key,
                ["TagValue"] = c.Key.Value,
                ["ResourceTypeCount"] = new JsonObject
                {
                    ["Image"] = c.Value.GetValueOrDefault(TaggedResourceType.Image),
                    ["Snapshot"] = c.Value.GetValueOrDefault(TaggedResourceType.Snapshot),
                    ["Instance"] = c.Value.GetValueOrDefault(TaggedResourceType.Instance),
                },
            })),
        };
    }

    private static TaggedResourceType Type(string name) => name.ToLowerInvariant() switch
    {
        "image" => TaggedResourceType.Image,
        "snapshot" => TaggedResourceType.Snapshot,
        "instance" => TaggedResourceType.Instance,
        _ => throw EcsException.BadRequest("InvalidResourceType.NotSupported", "Tags are on images, snapshots and instances here (image, snapshot, instance)."),
    };

    private static string TypeName(TaggedResourceType type) => type switch
    {
        TaggedResourceType.Image => "image",
        TaggedResourceType.Snapshot => "snapshot",
        _ => "instance",
    };
}
