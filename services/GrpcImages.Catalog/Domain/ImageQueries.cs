using GrpcImages.Catalog.Storage;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Sharing.V1;
using GrpcImages.ServiceDefaults.Errors;
using GrpcImages.ServiceDefaults.Hosting;
using GrpcImages.ServiceDefaults.Identity;
using GrpcImages.ServiceDefaults.Validation;

namespace GrpcImages.Catalog.Domain;

/// <summary>GetImage and ListImages: what the caller sees (R4, R19, R36), own images first, then shared, public, marketplace.</summary>
public sealed class ImageQueries(ImageStore imageStore, ImageAccess access, SharingClient sharing, Regions regions)
{
    public async Task<Image> GetAsync(Caller caller, string regionId, string imageId)
    {
        var region = regions.Require(regionId);
        return await access.RequireAsync(caller, region, imageId, withUsage: true);
    }

    /// <summary>
    /// A page of the images the caller sees, after skipping <c>skip</c> matching ones, with how many match in all
    /// (every source counted, see <see cref="IndexPages"/> for the bound on an index's count).
    /// </summary>
    public async Task<ListImagesResponse> ListAsync(Caller caller, ListImagesRequest request)
    {
        var region = regions.Require(request.RegionId);
        var size = Check.PageSize(request.PageSize);
        var skip = Check.Skip(request.Skip);
        if (request.ImageName.Length > 129)
        {
            throw Fault.InvalidArgument("InvalidImageName.Malformed", "image_name", "A name filter is at most 128 characters and an optional '*'.");
        }
        var statuses = request.Statuses.Count == 0 ? [(int)ImageStatus.Available] : request.Statuses.Select(s => (int)s).Distinct().ToList();
        Check.Tags(request.Tags);
        var filter = new IndexFilter(statuses, request.ImageName, request.ImageFamily)
        {
            TagNeedles = request.Tags.Select(Records.TagNeedle).ToList(),
            Usage = (int)request.Usage,
        };
        var sources = Sources(request.OwnerAlias, caller);
        var position = ImageListPosition.Parse(PageToken.Decode(request.PageToken), sources.Count);

        var response = new ListImagesResponse();
        var skipLeft = position.Skip + skip;
        string? next = null;
        for (var i = 0; i < sources.Count; i++)
        {
            // Sources before the token's and after a full page are only counted, for total_size.
            var reads = i >= position.Source && next is null;
            var page = await ReadAsync(caller, region, sources[i], reads && i == position.Source ? position.Within : "",
                reads ? skipLeft : 0, reads ? size - response.Images.Count : 0, filter);
            response.TotalSize += page.Total;
            if (!reads)
            {
                continue;
            }
            response.Images.AddRange(page.Images);
            skipLeft -= page.Skipped;
            if (page.Next.Length > 0)
            {
                next = new ImageListPosition(i, page.Next, skipLeft).Format();
            }
            else if (response.Images.Count == size && i + 1 < sources.Count)
            {
                next = new ImageListPosition(i + 1, "", 0).Format();
            }
        }
        response.NextPageToken = PageToken.Encode(next ?? "");
        return response;
    }

    /// <summary>What one source gave a page: its images (their usage set), where it continues ("" when done), how many it skipped, how many match in it.</summary>
    private sealed record SourcePage(IReadOnlyList<Image> Images, string Next, int Skipped, int Total);

    private async Task<SourcePage> ReadAsync(Caller caller, string region, Source source, string within, int skip, int limit, IndexFilter filter)
    {
        if (source.IndexOwner is null)
        {
            return await ReadSharedAsync(caller, region, within, skip, limit, filter);
        }
        var page = await imageStore.ListImagesAsync(source.IndexOwner, region, within, skip, limit, filter);
        var images = new List<Image>(page.Records.Count);
        for (var i = 0; i < page.Records.Count; i++)
        {
            var image = Image.Parser.ParseFrom(page.Records[i]);
            image.Usage = ImageStore.UsageOf(page.InUse![i]); // the list script reads it with the record
            if (await access.SeesAsync(caller, image)) // always, for the caller's own and the platform's: it sets the owner alias
            {
                images.Add(image);
            }
        }
        return new SourcePage(images, page.Next, page.Skipped, page.Total);
    }

    /// <summary>How many pages of shares one ListImages call asks the sharing service for, to count them and to fill its page, at most.</summary>
    private const int SharedPageBudget = 100;

    /// <summary>
    /// R19: images other accounts shared with the caller, as the sharing service lists them (oldest share first),
    /// filtered here. The page asks for no more shares than it may still skip or take, so it ends where a sharing page
    /// ends and the sharing service's token is its position. The count comes from <see cref="CountSharedAsync"/>.
    /// </summary>
    private async Task<SourcePage> ReadSharedAsync(Caller caller, string region, string sharingToken, int skip, int limit, IndexFilter filter)
    {
        var total = await CountSharedAsync(caller, region, filter);
        var images = new List<Image>();
        var skipped = 0;
        var token = sharingToken;
        for (var calls = 0; limit > 0 && calls < SharedPageBudget; calls++)
        {
            var page = await sharing.ListSharedAsync(region, Math.Clamp(skip - skipped + limit - images.Count, 1, 100), token);
            foreach (var image in await MatchingSharedAsync(region, page, filter, listed: true))
            {
                if (skipped < skip)
                {
                    skipped++;
                }
                else
                {
                    images.Add(image);
                }
            }
            token = page.NextPageToken;
            if (token.Length == 0 || images.Count == limit)
            {
                break;
            }
        }
        return new SourcePage(images, limit > 0 ? token : "", skipped, total);
    }

    /// <summary>
    /// How many images shared with the caller match the filter. A filter of statuses alone is counted from the counts
    /// the catalog keeps per owner, recipient and status (<see cref="ImageStore.SharedCountsAsync"/>): one call to the
    /// sharing service and two Redis reads, whatever the number of shares. They are trusted only when they agree with
    /// the recipient's index (a change still on its way, or shares made before counts were kept, disagree) and no
    /// organization share can reach the caller (its membership is read live, R37); otherwise the shares are read, up
    /// to <see cref="SharedPageBudget"/> pages of 100 (an account's shares are bounded by its shared-images quota).
    /// Counts that disagree make the sharing service hand the caller's grants over again (at most once a minute),
    /// so shares from before the counts are counted from then on.
    /// </summary>
    private async Task<int> CountSharedAsync(Caller caller, string region, IndexFilter filter)
    {
        if (filter is { Name.Length: 0, Family.Length: 0, TagNeedles.Count: 0, Usage: 0 })
        {
            var index = sharing.CountSharedAsync(caller.AccountId, region);
            var (all, matching) = await imageStore.SharedCountsAsync(caller.AccountId, region, filter.Statuses);
            var received = await index;
            if (!received.InResourceDirectory)
            {
                if (received.AccountShares == all)
                {
                    return (int)matching;
                }
                await sharing.ResendSharedAsync(caller.AccountId, region);
            }
        }
        var total = 0;
        var token = "";
        for (var calls = 0; calls < SharedPageBudget; calls++)
        {
            var all = await sharing.ListSharedAsync(region, 100, token);
            total += (await MatchingSharedAsync(region, all, filter, listed: false)).Count;
            token = all.NextPageToken;
            if (token.Length == 0)
            {
                break;
            }
        }
        return total;
    }

    /// <summary>The shared images of a page that match the filter; their usage is read when the filter or the response needs it (<paramref name="listed"/>).</summary>
    private async Task<List<Image>> MatchingSharedAsync(string region, ListSharedImagesResponse page, IndexFilter filter, bool listed)
    {
        var records = await imageStore.FindImagesAsync(region, page.Images.Select(i => i.ImageId).ToList());
        if (listed || filter.Usage != 0)
        {
            await imageStore.FillUsageAsync(region, records);
        }
        var images = records
            .Where(i => i.RegionId == region && filter.Statuses.Contains((int)i.Status) && (filter.Family.Length == 0 || i.ImageFamily == filter.Family) &&
                        NameMatches(i.ImageName, filter.Name) && (filter.Usage == 0 || (int)i.Usage == filter.Usage) &&
                        filter.TagNeedles.All(needle => Records.TagField(i.Tags).Contains(needle, StringComparison.Ordinal)))
            .ToList();
        images.ForEach(i => i.OwnerAlias = ImageOwnerAlias.Others);
        return images;
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
