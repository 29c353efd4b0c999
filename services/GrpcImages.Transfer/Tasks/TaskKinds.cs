namespace GrpcImages.Transfer.Tasks;

/// <summary>Every kind of task, found by its plan.</summary>
public sealed class TaskKinds(IEnumerable<ITaskKind> kinds)
{
    private readonly List<ITaskKind> _kinds = kinds.ToList();

    public ITaskKind For(TaskPlan plan) =>
        _kinds.FirstOrDefault(k => k.Runs(plan)) ?? throw new InvalidOperationException($"No kind of task runs a {plan.GetType().Name}.");
}
