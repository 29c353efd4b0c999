using Google.Protobuf.Collections;
using GrpcImages.Catalog.Storage;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Common.V1;
using GrpcImages.ServiceDefaults.Errors;
using GrpcImages.ServiceDefaults.Hosting;
using GrpcImages.ServiceDefaults.Identity;
using GrpcImages.ServiceDefaults.Storage;
using GrpcImages.ServiceDefaults.Validation;

namespace GrpcImages.Catalog.Domain;

/// <summary>
/// Tags on the caller's images, snapshots and instances (issue 21): at most 20 per resource, keys unique, a resource the
/// caller does not own in the region NOT_FOUND (R36). A call changes every resource it names or none.
/// </summary>
public sealed class TagManager(TagStore store, ImageAccess access, OwnedResources owned, Regions regions)
{
    public const int MaxResourcesPerCall = 50;

    public async Task TagAsync(Caller caller, TagResourcesRequest request)
    {
        var region = regions.Require(request.RegionId);
        var ids = ResourceIds(request.ResourceIds, required: true);
        if (request.Tags.Count == 0)
        {
            throw Fault.InvalidArgument("MissingParameter", "tags", "Give 1 to 20 tags.");
        }
        Check.Tags(request.Tags);
        await ChangeAsync(caller, region, request.ResourceType, ids, tags =>
        {
            foreach (var tag in request.Tags)
            {
                var existing = tags.FirstOrDefault(t => t.Key == tag.Key);
                if (existing is null)
                {
                    tags.Add(tag.Clone());
                }
                else
                {
                    existing.Value = tag.Value;
                }
            }
            if (tags.Count > Check.MaxTags)
            {
                throw Fault.InvalidArgument("InvalidTagCount", "tags", $"A resource has at most {Check.MaxTags} tags.");
            }
        });
    }

    public async Task UntagAsync(Caller caller, UntagResourcesRequest request)
    {
        var region = regions.Require(request.RegionId);
        var ids = ResourceIds(request.ResourceIds, required: true);
        if (!request.All && request.TagKeys.Count is 0 or > Check.MaxTags)
        {
            throw Fault.InvalidArgument("InvalidTagKey.Malformed", "tag_keys", $"Give 1 to {Check.MaxTags} tag keys, or all.");
        }
        if (request.TagKeys.Any(k => k.Length is 0 or > 128))
        {
            throw Fault.InvalidArgument("InvalidTagKey.Malformed", "tag_keys", "A tag key is 1-128 characters.");
        }
        var keys = request.TagKeys.ToHashSet(StringComparer.Ordinal);
        await ChangeAsync(caller, region, request.ResourceType, ids, tags =>
        {
            var kept = tags.Where(t => !request.All && !keys.Contains(t.Key)).ToList();
            tags.Clear();
            tags.AddRange(kept);
        });
    }

    public async Task<ListTagResourcesResponse> ListAsync(Caller caller, ListTagResourcesRequest request)
    {
        var account = caller.RequireAccount();
        var region = regions.Require(request.RegionId);
        var ids = ResourceIds(request.ResourceIds, required: false);
        if (request.Tags.Count > Check.MaxTags)
        {
            throw Fault.InvalidArgument("InvalidTagCount", "tags", $"Filter by at most {Check.MaxTags} tags.");
        }
        Check.Tags(request.Tags);
        IEnumerable<(string Id, RepeatedField<Tag> Tags)> resources;
        if (ids.Count > 0)
        {
            // Named resources the caller does not have are left out, as lists leave out what they do not find.
            resources = await NamedAsync(caller, account, region, request.ResourceType, ids);
        }
        else
        {
            resources = request.ResourceType switch
            {
                TaggedResourceType.Image => (await store.AllImagesAsync(account, region)).Select(i => (i.ImageId, i.Tags)),
                TaggedResourceType.Snapshot => (await store.AllSnapshotsAsync(account, region)).Select(s => (s.SnapshotId, s.Tags)),
                TaggedResourceType.Instance => (await store.AllInstancesAsync(account, region)).Select(i => (i.InstanceId, i.Tags)),
                _ => throw UnsupportedType(),
            };
        }
        var pairs = resources
            .Where(r => request.Tags.All(f => r.Tags.Any(t => t.Key == f.Key && (f.Value.Length == 0 || t.Value == f.Value))))
            .SelectMany(r => r.Tags.Select(t => new TagResource { ResourceId = r.Id, ResourceType = request.ResourceType, TagKey = t.Key, TagValue = t.Value }))
            .ToList();
        var (items, next, _) = BoundedPages.Page(pairs, request.PageSize, request.PageToken, defaultSize: 50, maxSize: 1000);
        return new ListTagResourcesResponse { TagResources = { items }, NextPageToken = next };
    }

    /// <summary>Reads every named resource (NOT_FOUND for one the caller does not own), changes their tags and saves them together.</summary>
    private async Task ChangeAsync(Caller caller, string region, TaggedResourceType type, IReadOnlyList<string> ids, Action<RepeatedField<Tag>> change)
    {
        var account = caller.RequireAccount();
        await ConflictRetry.RunAsync<bool>(async () =>
        {
            switch (type)
            {
                case TaggedResourceType.Image:
                    var images = new List<(StoredImage, Image)>();
                    foreach (var id in ids)
                    {
                        var stored = await OwnedImageAsync(caller, region, id);
                        var updated = stored.Image.Clone();
                        change(updated.Tags);
                        updated.OwnerAlias = ImageOwnerAlias.Unspecified;
                        images.Add((stored, updated));
                    }
                    return await store.SaveImagesAsync(images) ? true : Attempt<bool>.Again;
                case TaggedResourceType.Snapshot:
                    var snapshots = new List<(StoredSnapshot, Snapshot)>();
                    foreach (var id in ids)
                    {
                        var stored = await owned.FindSnapshotAsync(account, region, id) ?? throw NetworkErrors.ResourceNotFound(id);
                        var updated = stored.Snapshot.Clone();
                        change(updated.Tags);
                        snapshots.Add((stored, updated));
                    }
                    return await store.SaveSnapshotsAsync(snapshots) ? true : Attempt<bool>.Again;
                case TaggedResourceType.Instance:
                    var instances = new List<(StoredInstance, Instance)>();
                    foreach (var id in ids)
                    {
                        var stored = await owned.FindInstanceAsync(account, region, id) ?? throw NetworkErrors.ResourceNotFound(id);
                        var updated = stored.Instance.Clone();
                        change(updated.Tags);
                        instances.Add((stored, updated));
                    }
                    return await store.SaveInstancesAsync(instances) ? true : Attempt<bool>.Again;
                default:
                    throw UnsupportedType();
            }
        });
    }

    private async Task<List<(string Id, RepeatedField<Tag> Tags)>> NamedAsync(Caller caller, string account, string region, TaggedResourceType type, IReadOnlyList<string> ids)
    {
        var found = new List<(string, RepeatedField<Tag>)>();
        foreach (var id in ids)
        {
            RepeatedField<Tag>? tags = type switch
            {
                TaggedResourceType.Image => await FindOwnedImageAsync(caller, region, id) is { } image ? image.Image.Tags : null,
                TaggedResourceType.Snapshot => (await owned.FindSnapshotAsync(account, region, id))?.Snapshot.Tags,
                TaggedResourceType.Instance => (await owned.FindInstanceAsync(account, region, id))?.Instance.Tags,
                _ => throw UnsupportedType(),
            };
            if (tags is not null)
            {
                found.Add((id, tags));
            }
        }
        return found;
    }

    private async Task<StoredImage> OwnedImageAsync(Caller caller, string region, string id) =>
        await FindOwnedImageAsync(caller, region, id) ?? throw NetworkErrors.ResourceNotFound(id);

    private async Task<StoredImage?> FindOwnedImageAsync(Caller caller, string region, string id)
    {
        try
        {
            return await access.RequireOwnedAsync(caller, region, id);
        }
        catch (DomainException)
        {
            return null;
        }
    }

    private static List<string> ResourceIds(Google.Protobuf.Collections.RepeatedField<string> ids, bool required)
    {
        if ((required && ids.Count == 0) || ids.Count > MaxResourcesPerCall)
        {
            throw Fault.InvalidArgument("InvalidResourceId.Malformed", "resource_ids", $"Give {(required ? 1 : 0)} to {MaxResourcesPerCall} resources.");
        }
        return ids.Distinct(StringComparer.Ordinal).ToList();
    }

    private static DomainException UnsupportedType() =>
        Fault.InvalidArgument("InvalidResourceType.NotSupported", "resource_type", "Tags are on images, snapshots and instances.");
}
