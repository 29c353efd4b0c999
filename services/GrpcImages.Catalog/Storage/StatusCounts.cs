namespace GrpcImages.Catalog.Storage;

/// <summary>
/// How many of an owner's images in a region are in each status (<c>imgn:</c>, a hash status -> count), so ListImages
/// answers total_size without reading the index. Every script that creates, deletes or changes the status ("s") of an
/// image record includes <see cref="Lua"/> and calls it in the same script, so the counts move with the records.
/// Counts are kept only once they exist: a create into an empty index starts them; an index written before counts were
/// kept gets them from the list script's recount (<see cref="IndexPages"/>), and until then changes leave them alone.
/// </summary>
internal static class StatusCounts
{
    /// <summary>An index larger than this is not recounted in one script (it would hold Redis too long); its lists count by reading.</summary>
    public const int RecountLimit = 200_000;

    public const string Lua = """

        -- Call before the record's index entry is added.
        local function count_created(counts, index, status)
          if not counts then return end
          if redis.call('EXISTS', counts) == 1 or redis.call('ZCARD', index) == 0 then redis.call('HINCRBY', counts, status, 1) end
        end

        -- before/after: the record's status before and after the change (false when it did not or no longer exists).
        local function count_moved(counts, before, after)
          if not counts or before == after or redis.call('EXISTS', counts) == 0 then return end
          if before then redis.call('HINCRBY', counts, before, -1) end
          if after then redis.call('HINCRBY', counts, after, 1) end
        end
        """;
}
