using GrpcImages.ServiceDefaults.Errors;

namespace GrpcImages.ServiceDefaults.Storage;

/// <summary>One pass of a read-modify-write: finished with a value, or to run again because the record changed meanwhile.</summary>
public readonly record struct Attempt<T>(bool Finished, T Value)
{
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1000", Justification = "Attempt<T>.Again reads as what it means at the call site.")]
    public static Attempt<T> Again => default;

    public static implicit operator Attempt<T>(T value) => new(true, value);
}

/// <summary>
/// Optimistic changes: read a record with its version, write only if the version is unchanged,
/// else read again. After <see cref="Attempts"/> conflicts in a row the caller gets OperationConflict.
/// </summary>
public static class ConflictRetry
{
    public const int Attempts = 5;

    public static async Task<T> RunAsync<T>(Func<Task<Attempt<T>>> attempt)
    {
        for (var i = 0; i < Attempts; i++)
        {
            var result = await attempt();
            if (result.Finished)
            {
                return result.Value;
            }
        }
        throw Fault.Aborted("OperationConflict", "The resource changed while the request ran; retry.");
    }
}
