namespace GrpcImages.Catalog.Storage;

/// <summary>
/// How many of an owner's images in a region are in each status (<c>imgn:</c>, a hash status -> count), so ListImages
/// answers total_size without reading the index. Every script that creates, deletes or changes the status ("s") of an
/// image record includes <see cref="Lua"/> and calls it in the same script, so the counts move with the records.
/// Counts are kept only once they exist: a create into an empty index starts them; an index written before counts were
/// kept gets them from the list script's recount (<see cref="IndexPages"/>), and until then changes leave them alone.
/// The same change moves the image's recipients between statuses in <see cref="CatalogKeys.RecipientCounts"/>, which
/// a recipient's ListImages of "others" sums (<see cref="ImageStore.RecordShareChangesAsync"/> adds and removes them).
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

        local function count_step(hash, field, by)
          if redis.call('HINCRBY', hash, field, by) <= 0 then redis.call('HDEL', hash, field) end
        end

        -- The image's recipients (irecv beside its record) move between statuses in the owner's rcnt (beside its imgn);
        -- a deleted image's recipients are forgotten with it.
        local function recipients_moved(counts, record, before, after)
          local recipients, custom = string.gsub(record, ':img:', ':irecv:', 1)
          local by_recipient, kept = string.gsub(counts, ':imgn:', ':rcnt:', 1)
          if custom == 0 or kept == 0 then return end -- the platform's images are shared with no one
          local members = redis.call('SMEMBERS', recipients)
          for _, r in ipairs(members) do
            if before then count_step(by_recipient, r .. '|' .. before, -1) end
            if after then count_step(by_recipient, r .. '|' .. after, 1) end
          end
          if not after then redis.call('DEL', recipients) end
        end

        -- record: the image's key. before/after: its status before and after the change (false when it did not or no longer exists).
        local function count_moved(counts, record, before, after)
          if not counts or before == after then return end
          recipients_moved(counts, record, before, after)
          if redis.call('EXISTS', counts) == 0 then return end
          if before then redis.call('HINCRBY', counts, before, -1) end
          if after then redis.call('HINCRBY', counts, after, 1) end
        end
        """;
}
