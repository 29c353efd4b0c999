namespace GrpcImages.Catalog.Domain;

/// <summary>The catalog's work queues (their keys are under CatalogKeys.Root).</summary>
public static class CatalogQueues
{
    /// <summary>Images and snapshots being made: "img|&lt;id&gt;", "snap|&lt;id&gt;".</summary>
    public const string Jobs = "jobs";

    /// <summary>Content holds and quota units to give back, retried until done.</summary>
    public const string Releases = "releases";

    /// <summary>Seeding a region's platform catalog: "&lt;region&gt;|&lt;version&gt;".</summary>
    public const string Seed = "seed";
}
