using GrpcImages.ServiceDefaults.Hosting;

namespace GrpcImages.Transfer;

/// <summary>The "Transfer" configuration section.</summary>
public sealed class TransferOptions
{
    public const string Section = "Transfer";

    /// <summary>
    /// The regions whose bytes this instance keeps and whose copies, imports and exports it runs; all
    /// regions when empty. Other services reach the instance of a region at "Peers:TransferByRegion:&lt;region&gt;".
    /// </summary>
    public List<string> Regions { get; set; } = [];

    /// <summary>Whether this replica runs tasks (copies, imports, exports); false makes an API-only replica that only accepts them.</summary>
    public bool RunTasks { get; set; } = true;

    /// <summary>Copies running at once per destination region, across every replica (R8).</summary>
    public int CopyLimit { get; set; } = 5;

    /// <summary>Imports running at once per region (R24).</summary>
    public int ImportLimit { get; set; } = 3;

    /// <summary>Exports running at once per region (R29).</summary>
    public int ExportLimit { get; set; } = 3;

    /// <summary>A bandwidth cap per task in bytes per second (0: none), so copies, imports and exports share links and disks politely.</summary>
    public long MaxBytesPerSecondPerTask { get; set; }

    /// <summary>How long a task may wait in its queue before it fails (every stage has a deadline).</summary>
    public TimeSpan MaxWait { get; set; } = TimeSpan.FromDays(1);

    /// <summary>How long a running task may take before it fails.</summary>
    public TimeSpan MaxRun { get; set; } = TimeSpan.FromDays(2);

    public IReadOnlyList<string> ServedRegions(Regions all) =>
        Regions.Count == 0 ? all.All.Select(r => r.Id).ToList() : Regions.Where(all.Exists).ToList();
}
