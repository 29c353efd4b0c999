namespace GrpcImages.Catalog.Domain;

/// <summary>The catalog's work queues (their keys are under CatalogKeys.Root).</summary>
public static class CatalogQueues
{
    /// <summary>Images, snapshots and instances being made (<see cref="CreationJob"/>, payload <see cref="CreationIntent"/>).</summary>
    public const string Jobs = "jobs";

    /// <summary>Content holds and quota units to give back, retried until done (<see cref="Release"/>).</summary>
    public const string Releases = "releases";

    /// <summary>Seeding a region's platform catalog (<see cref="SeedItem"/>).</summary>
    public const string Seed = "seed";
}
