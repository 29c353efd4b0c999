namespace GrpcImages.Transfer.Storage;

/// <summary>
/// Threads of the transfer service's own for the work on chunks: reading and writing files and flushing
/// them to disk (blocking calls: .NET's asynchronous file I/O on Linux blocks a thread-pool thread too),
/// and hashing, sealing and opening 4 MiB at a time. Five copies with four writers each would otherwise
/// hold every thread-pool thread for seconds at a time, and the calls the service answers (a health check,
/// a new CopyImage) would wait behind them. Here they wait only for a share of the CPU.
/// </summary>
public static class ChunkThreads
{
    /// <summary>Enough for every writer of five copies to wait on the disk at once.</summary>
    public const int Count = 24;

    private static readonly Queue<Action> Waiting = Start();

    /// <summary>Runs <paramref name="work"/> on one of the chunk threads; cancellation stops it only before it starts.</summary>
    public static Task<T> RunAsync<T>(Func<T> work, CancellationToken cancellationToken = default)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        Enqueue(() =>
        {
            if (cancellationToken.IsCancellationRequested)
            {
                done.TrySetCanceled(cancellationToken);
                return;
            }
            try
            {
                done.TrySetResult(work());
            }
            catch (Exception error)
            {
                done.TrySetException(error);
            }
        });
        return done.Task;
    }

    public static Task RunAsync(Action work, CancellationToken cancellationToken = default) => RunAsync(() =>
    {
        work();
        return true;
    }, cancellationToken);

    /// <summary>Bulk work's niceness: a thread at 10 weighs about a tenth of one at 0 in the Linux scheduler.</summary>
    private const int Niceness = 10;

    private static void LowerPriority()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }
        try
        {
            _ = SetPriority(0, GetThreadId(), Niceness); // best effort: running at the normal priority is still correct
        }
        catch (Exception error) when (error is DllNotFoundException or EntryPointNotFoundException)
        {
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "setpriority", SetLastError = true)]
    [System.Runtime.InteropServices.DefaultDllImportSearchPaths(System.Runtime.InteropServices.DllImportSearchPath.SafeDirectories)]
    private static extern int SetPriority(int which, int who, int priority);

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "gettid")]
    [System.Runtime.InteropServices.DefaultDllImportSearchPaths(System.Runtime.InteropServices.DllImportSearchPath.SafeDirectories)]
    private static extern int GetThreadId();

    private static void Enqueue(Action work)
    {
        lock (Waiting)
        {
            Waiting.Enqueue(work);
            Monitor.Pulse(Waiting);
        }
    }

    // A plain monitor rather than BlockingCollection: its semaphore spins (sched_yield) before it sleeps, and two
    // dozen idle threads spinning for every chunk that arrives cost a copy as much CPU as its hashing.
    private static Queue<Action> Start()
    {
        var queue = new Queue<Action>();
        for (var i = 0; i < Count; i++)
        {
            new Thread(() =>
            {
                LowerPriority();
                while (true)
                {
                    Action work;
                    lock (queue)
                    {
                        while (queue.Count == 0)
                        {
                            Monitor.Wait(queue);
                        }
                        work = queue.Dequeue();
                    }
                    work();
                }
            })
            { IsBackground = true, Name = $"chunks-{i}" }.Start();
        }
        return queue;
    }
}
