using Grpc.Core;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.ServiceDefaults.Identity;
using GrpcImages.Transfer.Domain;
using GrpcImages.Transfer.Tasks;

namespace GrpcImages.Transfer.Grpc;

public sealed class TaskGrpcService(TaskManager tasks) : TaskService.TaskServiceBase
{
    public override async Task<GetTaskResponse> GetTask(GetTaskRequest request, ServerCallContext context) =>
        new() { Task = await tasks.GetAsync(context.GetCaller(), request.TaskId) };

    public override async Task<ListTasksResponse> ListTasks(ListTasksRequest request, ServerCallContext context)
    {
        var (list, next) = await tasks.ListAsync(context.GetCaller(), request);
        return new ListTasksResponse { Tasks = { list }, NextPageToken = next };
    }

    public override async Task<CancelTaskResponse> CancelTask(CancelTaskRequest request, ServerCallContext context) =>
        new() { Task = await tasks.CancelAsync(context.GetCaller(), request.TaskId) };

    public override async Task WatchTask(WatchTaskRequest request, IServerStreamWriter<WatchTaskResponse> responseStream, ServerCallContext context)
    {
        await foreach (var task in tasks.WatchAsync(context.GetCaller(), request.TaskId, request.AfterRevision, context.CancellationToken))
        {
            await responseStream.WriteAsync(new WatchTaskResponse { Task = task });
        }
    }
}
