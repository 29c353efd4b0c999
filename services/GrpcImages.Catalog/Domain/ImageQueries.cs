using GrpcImages.Catalog.Storage;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.ServiceDefaults.Errors;
using GrpcImages.ServiceDefaults.Hosting;
using GrpcImages.ServiceDefaults.Identity;
using GrpcImages.ServiceDefaults.Validation;

namespace GrpcImages.Catalog.Domain;

/// <summary>GetImage and ListImages: what the caller sees (R4, R19, R36), own images first, then shared, public, marketplace.</summary>
public sealed class ImageQueries(ImageStore imageStore, ImageAccess access, SharingClient sharing, Regions regions)
{
    public Task<Image> GetAsync(Caller caller, string regionId, string imageId) =>
        access.RequireAsync(caller, regions.Require(regionId), imageId);

    public async Task<ListImagesResponse> ListAsync(Caller caller, ListImagesRequest request)
    {
        var (images, next) = await PageAsync(caller, request);
        return new ListImagesResponse { Images = { images }, NextPageToken = next };
    }

    private async Task<(IReadOnlyList<Image> Images, string NextPageToken)> PageAsync(Caller caller, ListImagesRequest request)
    {
        var region = regions.Require(request.RegionId);
        var size = Check.PageSize(request.PageSize);
        if (request.ImageName.Length > 129)
        {
            throw Fault.InvalidArgument("InvalidImageName.Malformed", "image_name", "A name filter is at most 128 characters and an optional '*'.");
        }
        var statuses = request.Statuses.Count == 0 ? [(int)ImageStatus.Available] : request.Statuses.Select(s => (int)s).Distinct().ToList();
        var sources = Sources(request.OwnerAlias, caller);
        var position = PageToken.Decode(request.PageToken);
        var (sourceIndex, within) = (0, "");
        if (position.Length > 0)
        {
            var bar = position.IndexOf('|');
            if (bar <= 0 || !int.TryParse(position[..bar], out sourceIndex) || sourceIndex >= sources.Count)
            {
                throw Fault.InvalidArgument("InvalidNextToken", "page_token", "The page token does not belong to this query.");
            }
            within = position[(bar + 1)..];
        }

        var images = new List<Image>(size);
        for (; sourceIndex < sources.Count; sourceIndex++, within = "")
        {
            var source = sources[sourceIndex];
            string next;
            if (source.IndexOwner is null)
            {
                (var shared, next) = await ListSharedAsync(region, size - images.Count, within, statuses, request.ImageName, request.ImageFamily);
                images.AddRange(shared);
            }
            else
            {
                var page = await imageStore.ListImagesAsync(source.IndexOwner, region, within, size - images.Count, statuses, request.ImageName, request.ImageFamily);
                foreach (var bytes in page.Records)
                {
                    var image = Image.Parser.ParseFrom(bytes);
                    if (await access.SeesAsync(caller, image))
                    {
                        images.Add(image);
                    }
                }
                next = page.Next;
            }
            if (next.Length > 0)
            {
                return (images, PageToken.Encode($"{sourceIndex}|{next}"));
            }
            if (images.Count == size)
            {
                return (images, sourceIndex + 1 < sources.Count ? PageToken.Encode($"{sourceIndex + 1}|") : "");
            }
        }
        return (images, "");
    }

    /// <summary>R19: images other accounts shared with the caller, as the sharing service lists them, filtered here.</summary>
    private async Task<(List<Image> Images, string Next)> ListSharedAsync(string region, int size, string sharingToken,
        IReadOnlyCollection<int> statuses, string name, string family)
    {
        var page = await sharing.ListSharedAsync(region, size, sharingToken);
        var records = await imageStore.FindImagesAsync(region, page.Images.Select(i => i.ImageId).ToList());
        var images = records
            .Where(i => i.RegionId == region && statuses.Contains((int)i.Status) && (family.Length == 0 || i.ImageFamily == family) && NameMatches(i.ImageName, name))
            .ToList();
        images.ForEach(i => i.OwnerAlias = ImageOwnerAlias.Others);
        return (images, page.NextPageToken);
    }

    private static bool NameMatches(string imageName, string filter) =>
        filter.Length == 0 || (filter.EndsWith('*') ? imageName.StartsWith(filter[..^1], StringComparison.Ordinal) : imageName == filter);

    /// <summary>One place ListImages reads from: an owner's index of this service, or (null) the sharing service.</summary>
    private sealed record Source(string? IndexOwner);

    /// <summary>
    /// Where to list from, in order: own images first (newest first), then those shared with the
    /// caller, public, marketplace.
    /// </summary>
    private static List<Source> Sources(ImageOwnerAlias alias, Caller caller)
    {
        var sources = new List<Source>();
        if (alias is ImageOwnerAlias.Unspecified or ImageOwnerAlias.Self && caller.IsAccount)
        {
            sources.Add(new Source(caller.AccountId));
        }
        if (alias is ImageOwnerAlias.Unspecified or ImageOwnerAlias.Others && caller.IsAccount)
        {
            sources.Add(new Source(null));
        }
        foreach (var (platform, owner) in new[] { (ImageOwnerAlias.System, CatalogKeys.SystemIndexOwner), (ImageOwnerAlias.Marketplace, CatalogKeys.MarketplaceIndexOwner) })
        {
            if (alias == ImageOwnerAlias.Unspecified || alias == platform)
            {
                sources.Add(new Source(owner));
            }
        }
        return sources;
    }
}
