using Grpc.Core;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.ServiceDefaults.Hosting;
using GrpcImages.ServiceDefaults.Peers;
using GrpcImages.ServiceDefaults.Redis;
using GrpcImages.ServiceDefaults.Storage;
using GrpcImages.ServiceDefaults.Work;
using GrpcImages.Transfer.Domain;
using GrpcImages.Transfer.Storage;

namespace GrpcImages.Transfer.Tasks;

/// <summary>
/// The task queues: one per action and region ("copy:&lt;region&gt;" for image and snapshot copies,
/// "import:&lt;region&gt;", "export:&lt;region&gt;"), each with its limit of running tasks across every
/// replica (R8, R24). Waiting tasks show their place in line (queue_position, on the task and the image).
/// </summary>
public sealed partial class TaskQueues(WorkQueues queues, TaskStore store, TaskCatalog catalog, ILogger<TaskQueues> logger)
{
    public static string Name(TaskAction action, string region) => action switch
    {
        TaskAction.CopyImage or TaskAction.CopySnapshot => $"copy:{region}",
        TaskAction.ImportImage => $"import:{region}",
        TaskAction.ExportImage => $"export:{region}",
        _ => throw new ArgumentOutOfRangeException(nameof(action)),
    };

    public static IEnumerable<string> Names(Regions regions) =>
        regions.All.SelectMany(r => new[] { $"copy:{r.Id}", $"import:{r.Id}", $"export:{r.Id}" });

    public WorkQueue For(TaskAction action, string region) => queues.Get(Name(action, region));

    /// <summary>
    /// Accepts a task its request has finished setting up: the plan (with the resource it makes) is saved
    /// as queued and the task takes its turn in line now rather than after the setup guard (R8, R24).
    /// </summary>
    public async Task<TransferTask> AcceptAsync(TransferTask task, TaskPlan plan)
    {
        plan.Phase = TaskPhase.Queued;
        var queue = For(task.Action, task.RegionId);
        return await ConflictRetry.RunAsync<TransferTask>(async () =>
        {
            var stored = await store.GetAsync(task.TaskId) ?? throw TransferErrors.TaskNotFound(task.TaskId);
            if (stored.Task.Status is TaskStatus.Cancelled or TaskStatus.Failed or TaskStatus.Finished)
            {
                return stored.Task; // cancelled while its request set it up: it stays ended
            }
            var accepted = stored.Task.Clone();
            accepted.ResourceId = plan.ResourceMade;
            if (await store.SaveAsync(stored, accepted, plan: plan.Serialize()) != TaskSaveResult.Saved)
            {
                return Attempt<TransferTask>.Again;
            }
            await queue.EnqueueAsync(task.TaskId, task.TaskId);
            await RefreshPositionsAsync(queue); // its place in line, on the task and the image
            return (await store.GetAsync(task.TaskId))?.Task ?? accepted;
        });
    }

    /// <summary>Brings the queue positions of a queue's waiting tasks (and their images) up to date, after the line moved.</summary>
    public async Task RefreshPositionsAsync(WorkQueue queue)
    {
        try
        {
            var snapshot = await queue.SnapshotAsync();
            for (var position = 0; position < snapshot.Waiting.Count; position++)
            {
                var stored = await store.GetAsync(snapshot.Waiting[position]);
                if (stored is not { Task.Status: TaskStatus.Waiting } || stored.Task.QueuePosition == position)
                {
                    continue;
                }
                var task = stored.Task.Clone();
                task.QueuePosition = position;
                // Two refreshes may race: the one that read the older line loses (Stale), here and at the catalog.
                if (await store.SaveAsync(stored, task, lineRevision: snapshot.Revision) == TaskSaveResult.Saved && task.ResourceId.Length > 0)
                {
                    await catalog.MirrorAsync(task.ResourceId, task, stored.Fence, ImageStatus.Waiting, stored.Version + 1);
                }
            }
        }
        catch (Exception ex) when (ex is RpcException || RedisFailures.IsUnavailable(ex))
        {
            // Positions are advisory; the next move of the line brings them up to date.
            LogPositionsFailed(ex, queue.Name);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Could not update the queue positions of {Queue}")]
    private partial void LogPositionsFailed(Exception exception, string queue);
}
