using GrpcImages.ServiceDefaults.Validation;

namespace GrpcImages.Catalog.Domain;

/// <summary>
/// Pages of a list read whole: the resources around instances have small quotas (10 VPCs, 100 groups, 500 key pairs,
/// 20 EIPs per region), so a List call reads them all, filters them and returns the page at an offset, with the total.
/// </summary>
public static class BoundedPages
{
    public static (List<T> Items, string NextPageToken, int Total) Page<T>(IReadOnlyList<T> all, int requestedSize, string pageToken, int defaultSize = 10,
        int maxSize = 100)
    {
        if (requestedSize < 0)
        {
            Check.PageSize(requestedSize);
        }
        var size = requestedSize == 0 ? defaultSize : Math.Min(requestedSize, maxSize);
        var position = PageToken.Decode(pageToken);
        var offset = 0;
        if (position.Length > 0 && !(position.StartsWith("o:", StringComparison.Ordinal) && int.TryParse(position.AsSpan(2), out offset) && offset >= 0))
        {
            throw ListPositions.Foreign();
        }
        var items = all.Skip(offset).Take(size).ToList();
        var next = offset + items.Count < all.Count ? PageToken.Encode($"o:{offset + items.Count}") : "";
        return (items, next, all.Count);
    }
}
