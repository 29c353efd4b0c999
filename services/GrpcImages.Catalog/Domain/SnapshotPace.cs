namespace GrpcImages.Catalog.Domain;

/// <summary>
/// How far snapshots have come (R1: the larger the disks, the longer an image takes), at a steady
/// pace from where this run found them: the run's own elapsed time counts, so integer percentages
/// never stall, and a run that takes over a job resumes from the recorded progress.
/// </summary>
public sealed class SnapshotPace(long bytesPerSecond, TimeProvider time)
{
    private readonly long _start = time.GetTimestamp();
    private int? _initial;

    /// <summary>0-99 while work remains, 100 when done; never less than <paramref name="recorded"/>.</summary>
    public int Progress(int recorded, long totalBytes)
    {
        _initial ??= recorded;
        if (totalBytes <= 0)
        {
            return 100;
        }
        var done = totalBytes * (_initial.Value / 100.0) + bytesPerSecond * time.GetElapsedTime(_start).TotalSeconds;
        return done >= totalBytes ? 100 : Math.Max(recorded, Math.Min(99, (int)(done * 100 / totalBytes)));
    }
}
