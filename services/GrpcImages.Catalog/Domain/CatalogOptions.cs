namespace GrpcImages.Catalog.Domain;

/// <summary>The "Catalog" configuration section.</summary>
public sealed class CatalogOptions
{
    public const string Section = "Catalog";

    /// <summary>
    /// How fast a snapshot captures a disk, in bytes of disk size per second (R1: making an image
    /// takes longer the larger its disks). Disks share their bytes copy-on-write, so this models
    /// the block storage's pace; 1 GiB/s by default.
    /// </summary>
    public long SnapshotBytesPerSecond { get; set; } = 1L << 30;

    /// <summary>How often progress is recorded while a snapshot runs.</summary>
    public int ProgressIntervalMilliseconds { get; set; } = 200;

    /// <summary>
    /// How long a create call may take before its recorded job gives it up: a catalog killed between
    /// holding a quota unit or content and creating the record leaves them held this long at most.
    /// </summary>
    public TimeSpan CreationGrace { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Bytes of real data at the start of each seeded platform disk (the rest is zeros).</summary>
    public long SeedDataBytes { get; set; } = 2L << 20;
}
