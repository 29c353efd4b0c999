namespace GrpcImages.ReliabilityTests;

/// <summary>
/// One row per fault run: the fault, how many times it was injected, how many runs ended with every
/// request answered and the cluster serving, and the invariant violations left after. Rows go to
/// the file named by GRPCIMAGES_RELIABILITY_SUMMARY (scripts/test.sh prints it as a table after the tier).
/// </summary>
public static class FaultSummary
{
    private static readonly Lock Gate = new();

    public static void Record(string fault, int runs, int survived, int violations, string note = "")
    {
        var path = Environment.GetEnvironmentVariable("GRPCIMAGES_RELIABILITY_SUMMARY");
        if (string.IsNullOrEmpty(path))
        {
            return;
        }
        lock (Gate)
        {
            File.AppendAllText(path, $"{fault}\t{runs}\t{survived}\t{violations}\t{note}\n");
        }
    }
}
