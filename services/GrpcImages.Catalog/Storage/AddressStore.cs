using Google.Protobuf;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.ServiceDefaults.Storage;
using StackExchange.Redis;
using static GrpcImages.Catalog.Storage.Records;

namespace GrpcImages.Catalog.Storage;

/// <summary>One entry of a region's address pool: the address, who holds it and since when.</summary>
public sealed record PoolEntry(string Address, string Holder, DateTimeOffset Since);

/// <summary>
/// EIPs and the public address pools (keys in <see cref="CatalogKeys"/>). An EIP's record (<c>eip:</c>) holds its state
/// and instance; associating one writes the EIP and the instance in one script (<see cref="RecordScripts.SaveLinkedAsync"/>).
/// Each region's pool (<c>addrs:</c>, under the platform's tag) maps an address to its holder, an EIP's allocation id or
/// an instance's id; addresses are handed out in turn from the region's block (<c>addrseq:</c>), skipping held ones.
/// </summary>
public sealed class AddressStore(IDatabase redis)
{
    /// <summary>EIPs an account may have per region.</summary>
    public const int MaxEips = 20;

    // KEYS: pool, sequence. ARGV: the block's first address (as a number), the block's size, holder, now (unix ms), tries.
    // Returns the address taken, or '' when none was free in that many tries.
    private const string ReserveScript = """
        local first, size = tonumber(ARGV[1]), tonumber(ARGV[2])
        if redis.call('HLEN', KEYS[1]) >= size then return '' end
        for i = 1, tonumber(ARGV[5]) do
          local value = first + (redis.call('INCR', KEYS[2]) % size)
          local last = value % 256
          if last ~= 0 and last ~= 255 then
            local address = string.format('%d.%d.%d.%d', math.floor(value / 16777216) % 256, math.floor(value / 65536) % 256,
              math.floor(value / 256) % 256, last)
            if redis.call('HSETNX', KEYS[1], address, ARGV[3] .. '|' .. ARGV[4]) == 1 then return address end
          end
        end
        return ''
        """;

    // KEYS: pool. ARGV: address, holder. Frees the address if that holder still holds it.
    private const string ReleaseScript = """
        local held = redis.call('HGET', KEYS[1], ARGV[1])
        if held and string.sub(held, 1, #ARGV[2] + 1) == ARGV[2] .. '|' then redis.call('HDEL', KEYS[1], ARGV[1]) return 1 end
        return 0
        """;

    // KEYS: pool. ARGV: address, the entry as read. Frees the address if its entry is still the one read.
    private const string ReclaimScript = """
        if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then redis.call('HDEL', KEYS[1], ARGV[1]) return 1 end
        return 0
        """;

    /// <summary>Takes a free address of the region's block for <paramref name="holder"/>, or null when none was found.</summary>
    public async Task<string?> ReserveAsync(string region, uint blockStart, long blockSize, string holder, DateTimeOffset now)
    {
        var address = (string)(await redis.ScriptEvaluateAsync(ReserveScript, [CatalogKeys.AddressPool(region), CatalogKeys.AddressSequence(region)],
            [blockStart, blockSize, holder, now.ToUnixTimeMilliseconds(), 64]))!;
        return address.Length > 0 ? address : null;
    }

    public async Task ReleaseAsync(string region, string address, string holder) =>
        await redis.ScriptEvaluateAsync(ReleaseScript, [CatalogKeys.AddressPool(region)], [address, holder]);

    /// <summary>The pool's entries (at most <paramref name="max"/>).</summary>
    public async Task<IReadOnlyList<PoolEntry>> PoolEntriesAsync(string region, int max)
    {
        var entries = new List<PoolEntry>();
        await foreach (var entry in redis.HashScanAsync(CatalogKeys.AddressPool(region), pageSize: 500))
        {
            var value = (string)entry.Value!;
            var bar = value.LastIndexOf('|');
            if (bar > 0 && long.TryParse(value.AsSpan(bar + 1), out var ms))
            {
                entries.Add(new PoolEntry((string)entry.Name!, value[..bar], DateTimeOffset.FromUnixTimeMilliseconds(ms)));
            }
            if (entries.Count >= max)
            {
                break;
            }
        }
        return entries;
    }

    /// <summary>Frees an address whose holder is gone, if nobody took it since it was read.</summary>
    public async Task ReclaimAsync(string region, PoolEntry entry) =>
        await redis.ScriptEvaluateAsync(ReclaimScript, [CatalogKeys.AddressPool(region)],
            [entry.Address, $"{entry.Holder}|{entry.Since.ToUnixTimeMilliseconds()}"]);

    /// <summary>Whether a holder's record exists (an EIP's or an instance's).</summary>
    public async Task<bool> RecordExistsAsync(string key) => await redis.KeyExistsAsync(key);

    // ---- EIPs ----

    public Task<(CreateResult Result, string Detail)> CreateEipAsync(EipAddress eip, ClientToken token) =>
        RecordScripts.CreateLinkedAsync(redis, new LinkedCreate(CatalogKeys.Eip(eip.AllocationId), CatalogKeys.Eips(eip.OwnerAccountId, eip.RegionId),
            CatalogKeys.ClientToken(eip.OwnerAccountId, "eip", token.Token), eip.AllocationId, Score(eip.AllocationTime), token, [new("d", eip.ToByteArray())])
        {
            Limit = (CatalogKeys.Eips(eip.OwnerAccountId, eip.RegionId), MaxEips),
        });

    public async Task<Versioned<EipAddress>?> GetEipAsync(string allocationId)
    {
        var values = await redis.HashGetAsync(CatalogKeys.Eip(allocationId), ["d", "v"]);
        return values[0].HasValue ? new Versioned<EipAddress>(EipAddress.Parser.ParseFrom((byte[])values[0]!), (long)values[1]) : null;
    }

    /// <summary>Every EIP of the owner in the region (at most <see cref="MaxEips"/>), newest first.</summary>
    public async Task<IReadOnlyList<EipAddress>> ListEipsAsync(string owner, string region) =>
        (await IndexPages.ReadAllAsync(redis, CatalogKeys.Eips(owner, region), CatalogKeys.EipRecordPrefix(owner))).Select(EipAddress.Parser.ParseFrom).ToList();

    /// <summary>Saves an EIP and the instance it is associated with or taken off, both unchanged since read.</summary>
    public async Task<bool> SaveAssociationAsync(Versioned<EipAddress> eip, EipAddress updatedEip, StoredInstance instance, Instance updatedInstance) =>
        await RecordScripts.SaveLinkedAsync(redis,
        [
            new RecordWrite(CatalogKeys.Eip(updatedEip.AllocationId), eip.Version, [new("d", updatedEip.ToByteArray())]),
            new RecordWrite(CatalogKeys.Instance(updatedInstance.InstanceId), instance.Version, [new("d", Bytes(updatedInstance))]),
        ]) == SaveResult.Saved;

    /// <summary>Deletes an EIP unchanged since read.</summary>
    public async Task<bool> DeleteEipAsync(Versioned<EipAddress> stored) =>
        (await RecordScripts.DeleteLinkedAsync(redis, new LinkedDelete(CatalogKeys.Eip(stored.Value.AllocationId),
            CatalogKeys.Eips(stored.Value.OwnerAccountId, stored.Value.RegionId), stored.Value.AllocationId, stored.Version))).Result == DeleteResult.Deleted;
}
