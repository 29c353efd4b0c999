using GrpcImages.Client;
using GrpcImages.Contracts.Catalog.V1;

namespace GrpcImages.Console.Sessions;

/// <summary>The cluster's regions (they change only with its configuration), read once and kept.</summary>
public sealed class RegionDirectory(GrpcImagesChannels channels)
{
    private IReadOnlyList<Region>? _regions;

    /// <summary>The regions, asked with a session's client (the catalog needs a caller).</summary>
    public async Task<IReadOnlyList<Region>> AllAsync(GrpcImagesClient client) =>
        _regions ??= (await client.Regions.ListRegionsAsync(new ListRegionsRequest())).Regions.ToList();

    public GrpcImagesChannels Channels => channels;
}
