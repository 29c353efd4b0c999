namespace GrpcImages.ServiceDefaults.Peers;

/// <summary>
/// Runs peer calls outside the incoming call's context: they carry neither its deadline nor its
/// cancellation, and go with this service's own token. For clean-up that must happen even when the
/// caller gave up (a release after a short deadline passed).
/// </summary>
public static class Detached
{
    public static Task RunAsync(Func<Task> work)
    {
        using (ExecutionContext.SuppressFlow())
        {
            return Task.Run(work);
        }
    }
}
