using GrpcImages.Contracts.Transfer.V1;

namespace GrpcImages.Transfer.Tasks;

/// <summary>Who carries out a step: the request that starts the task, or the worker that runs it from its queue.</summary>
public enum StepBy
{
    Request,
    Worker,
}

/// <summary>
/// One step of a kind of task, with what takes it back beside it. <see cref="Undo"/> removes what the
/// step made when the task does not finish (a pending image, half-written content, objects);
/// <see cref="LetGo"/> gives back what the step held only while the task lived (a hold on the source,
/// the task's own content holds), whatever the ending. Both are idempotent and safe when the step never
/// ran, or ran half way: whoever finds the task ending runs them all, in reverse order.
/// </summary>
public sealed record TaskStep<TPlan>(
    string Name,
    StepBy By,
    Func<TaskContext<TPlan>, Task> Do,
    Func<TaskContext<TPlan>, Task>? Undo = null,
    Func<TaskContext<TPlan>, Task>? LetGo = null)
    where TPlan : TaskPlan;

/// <summary>
/// What a step works with: the task, its plan (the checkpoint), the fencing token its changes carry,
/// and, by kind of caller, the run of a worker (progress, cancellation) or what the request asked for.
/// </summary>
public sealed class TaskContext<TPlan>(TransferTask task, TPlan plan, long fence) where TPlan : TaskPlan
{
    public TransferTask Task => task;

    public TPlan Plan => plan;

    public long Fence => fence;

    /// <summary>The worker's run (worker steps only).</summary>
    public TaskRun? Run { get; init; }

    public TaskRun RequireRun() => Run ?? throw new InvalidOperationException("A worker step ran without a worker's run.");

    /// <summary>What the request asked the catalog to make (request steps only): a pending image or snapshot.</summary>
    public Google.Protobuf.IMessage? Asked { get; init; }

    /// <summary>How the task ends when its steps are being undone: Cancelled, or Failed with why.</summary>
    public TaskEnding Ending { get; init; } = TaskEnding.Abandoned;

    public CancellationToken CancellationToken { get; init; }
}

/// <summary>How a task that does not finish ends.</summary>
public sealed record TaskEnding(TaskStatus Status, TaskError? Error)
{
    /// <summary>The request that started the task ended before the task was accepted.</summary>
    public static readonly TaskEnding Abandoned = new(TaskStatus.Failed,
        TaskRun.Error(global::Grpc.Core.StatusCode.Aborted, "TaskAbandoned", "The request that started this task ended before the task was accepted."));

    public static readonly TaskEnding Cancelled = new(TaskStatus.Cancelled, null);

    public bool IsCancelled => Status == TaskStatus.Cancelled;
}

/// <summary>A kind of task as the lifecycle sees it, whatever its plan.</summary>
public interface ITaskKind
{
    /// <summary>The step names, in order (for logs and documents).</summary>
    IReadOnlyList<string> StepNames { get; }

    /// <summary>Whether tasks of this plan are of this kind.</summary>
    bool Runs(TaskPlan plan);

    /// <summary>Carries out the request's steps in order; throws what refused one (the caller undoes them).</summary>
    Task SetUpAsync(TransferTask task, TaskPlan plan, Google.Protobuf.IMessage? asked);

    /// <summary>Carries out the worker's steps in order, each from the plan's checkpoint.</summary>
    Task RunAsync(TaskRun run, CancellationToken cancellationToken);

    /// <summary>Gives back what a finished task held (every step's <see cref="TaskStep{TPlan}.LetGo"/>, in reverse).</summary>
    Task LetGoAsync(TransferTask task, TaskPlan plan, long fence);

    /// <summary>Takes back every step of a task that does not finish (each step's Undo, then LetGo, in reverse).</summary>
    Task UndoAsync(TransferTask task, TaskPlan plan, long fence, TaskEnding ending, TaskRun? run = null);
}

/// <summary>
/// A kind of task, declared as the list of its steps (<see cref="Steps"/>), in the order they run, each
/// with what takes it back. "What if it dies after step N" is answered by reading that list: steps
/// 1..N have run, and the ending runs every Undo and LetGo from the last step to the first.
/// </summary>
public abstract class TaskKind<TPlan> : ITaskKind where TPlan : TaskPlan
{
    public abstract IReadOnlyList<TaskStep<TPlan>> Steps { get; }

    public IReadOnlyList<string> StepNames => Steps.Select(s => s.Name).ToList();

    public bool Runs(TaskPlan plan) => plan is TPlan;

    public async Task SetUpAsync(TransferTask task, TaskPlan plan, Google.Protobuf.IMessage? asked)
    {
        var context = new TaskContext<TPlan>(task, (TPlan)plan, 0) { Asked = asked };
        foreach (var step in Steps.Where(s => s.By == StepBy.Request))
        {
            await step.Do(context);
        }
    }

    public async Task RunAsync(TaskRun run, CancellationToken cancellationToken)
    {
        var context = new TaskContext<TPlan>(run.Task, (TPlan)run.Plan, run.Lease.Fence) { Run = run, CancellationToken = cancellationToken };
        foreach (var step in Steps.Where(s => s.By == StepBy.Worker))
        {
            await step.Do(context);
        }
    }

    public async Task LetGoAsync(TransferTask task, TaskPlan plan, long fence)
    {
        var context = new TaskContext<TPlan>(task, (TPlan)plan, fence);
        foreach (var step in Steps.Reverse())
        {
            if (step.LetGo is { } letGo)
            {
                await letGo(context);
            }
        }
    }

    public async Task UndoAsync(TransferTask task, TaskPlan plan, long fence, TaskEnding ending, TaskRun? run = null)
    {
        var context = new TaskContext<TPlan>(task, (TPlan)plan, fence) { Run = run, Ending = ending };
        foreach (var step in Steps.Reverse())
        {
            if (step.Undo is { } undo)
            {
                await undo(context);
            }
            if (step.LetGo is { } letGo)
            {
                await letGo(context);
            }
        }
    }
}
