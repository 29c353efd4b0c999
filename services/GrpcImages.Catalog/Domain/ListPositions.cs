using GrpcImages.ServiceDefaults.Errors;

namespace GrpcImages.Catalog.Domain;

/// <summary>
/// Where a page of one index (instances, snapshots) continues: the index position ("score:id") and how many
/// matching items are still to skip (AIP-158 skip left over when a page stopped early); "at" or "at|skip".
/// </summary>
public readonly record struct IndexListPosition(string At, int Skip)
{
    public string Format() => Skip == 0 ? At : $"{At}|{Skip}";

    /// <summary>The position a decoded page token holds ("" is the start); a shape this service never wrote is InvalidNextToken.</summary>
    public static IndexListPosition Parse(string text)
    {
        var bar = text.IndexOf('|');
        if (bar < 0)
        {
            return new IndexListPosition(text, 0);
        }
        return int.TryParse(text.AsSpan(bar + 1), out var skip) && skip >= 0
            ? new IndexListPosition(text[..bar], skip)
            : throw ListPositions.Foreign();
    }
}

/// <summary>
/// Where a page of ListImages continues: which of its sources (own, shared, public, marketplace), the
/// position within it (an index position, or the sharing service's page token), and the matching items
/// still to skip; "source|within" or "source|within|skip".
/// </summary>
public readonly record struct ImageListPosition(int Source, string Within, int Skip)
{
    public string Format() => Skip == 0 ? $"{Source}|{Within}" : $"{Source}|{Within}|{Skip}";

    /// <summary>The position a decoded page token holds for a query of <paramref name="sources"/> sources ("" is the start).</summary>
    public static ImageListPosition Parse(string text, int sources)
    {
        if (text.Length == 0)
        {
            return new ImageListPosition(0, "", 0);
        }
        var first = text.IndexOf('|');
        var second = first < 0 ? -1 : text.IndexOf('|', first + 1);
        var within = second < 0 ? text[(first + 1)..] : text[(first + 1)..second];
        var skip = 0;
        if (first <= 0 || !int.TryParse(text.AsSpan(0, first), out var source) || source < 0 || source >= sources ||
            (second >= 0 && (!int.TryParse(text.AsSpan(second + 1), out skip) || skip < 0)))
        {
            throw ListPositions.Foreign();
        }
        return new ImageListPosition(source, within, skip);
    }
}

internal static class ListPositions
{
    public static DomainException Foreign() =>
        Fault.InvalidArgument("InvalidNextToken", "page_token", "The page token does not belong to this query.");
}
