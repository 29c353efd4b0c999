using System.Text.Json.Nodes;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.Gateway.Ecs;
using TaskStatus = GrpcImages.Contracts.Transfer.V1.TaskStatus;

namespace GrpcImages.Gateway.Actions;

/// <summary>The task actions of ECS 2014-05-26 on the transfer service's tasks.</summary>
public static class TaskActions
{
    public static async Task<JsonObject> DescribeTasks(EcsCall call)
    {
        var p = call.Parameters;
        var region = call.Region;
        var ids = p.JsonList("TaskIds").ToHashSet(StringComparer.Ordinal);
        var resources = p.JsonList("ResourceIds").ToHashSet(StringComparer.Ordinal);
        p.Accept("StartTime", "EndTime", "TaskGroupId");
        var action = p.Optional("TaskAction") switch
        {
            null => TaskAction.Unspecified,
            "CopyImage" => TaskAction.CopyImage,
            "ImportImage" => TaskAction.ImportImage,
            "ExportImage" => TaskAction.ExportImage,
            "CopySnapshot" => TaskAction.CopySnapshot,
            var other => throw EcsException.InvalidParameter("TaskAction", $"\"{other}\" is ImportImage, ExportImage, CopyImage or CopySnapshot."),
        };
        var status = p.Optional("TaskStatus");
        var (page, total, number, size) = await call.PageAsync(async token =>
        {
            var list = await call.Rpc(o => call.Clients.Tasks(region).ListTasksAsync(
                new ListTasksRequest { RegionId = region, Action = action, PageSize = 100, PageToken = token }, o));
            return (list.Tasks.Where(t =>
                (ids.Count == 0 || ids.Contains(t.TaskId)) &&
                (resources.Count == 0 || resources.Contains(t.ResourceId)) &&
                (status is null || Shapes.TaskStatusName(t.Status) == status)), list.NextPageToken);
        });
        return new JsonObject
        {
            ["RegionId"] = region,
            ["TotalCount"] = total,
            ["PageNumber"] = number,
            ["PageSize"] = size,
            ["TaskSet"] = Shapes.Wrap("Task", page.Select(t => (JsonNode)Shapes.Task(t))),
        };
    }

    public static async Task<JsonObject> DescribeTaskAttribute(EcsCall call)
    {
        var region = call.Region;
        var request = new GetTaskRequest { TaskId = call.Parameters.Required("TaskId") };
        var task = (await call.Rpc(o => call.Clients.Tasks(region).GetTaskAsync(request, o))).Task;
        var shape = Shapes.Task(task);
        shape["RegionId"] = task.RegionId;
        shape["TaskProcess"] = $"{task.Progress}%";
        shape["TotalCount"] = 1;
        shape["SuccessCount"] = task.Status == TaskStatus.Finished ? 1 : 0;
        shape["FailedCount"] = task.Status == TaskStatus.Failed ? 1 : 0;
        shape["OperationProgressSet"] = Shapes.Wrap("OperationProgress", [new JsonObject
        {
            ["OperationStatus"] = Shapes.TaskStatusName(task.Status),
            ["ErrorCode"] = task.Error?.Reason ?? "",
            ["ErrorMsg"] = task.Error?.Message ?? "",
            ["RelatedItemSet"] = Shapes.Wrap("RelatedItem", task.ExportedObjects.Select(o => (JsonNode)new JsonObject { ["Name"] = "OSSObject", ["Value"] = o })),
        }]);
        return shape;
    }

    public static async Task<JsonObject> CancelTask(EcsCall call)
    {
        var region = call.Region;
        var request = new CancelTaskRequest { TaskId = call.Parameters.Required("TaskId") };
        await call.Rpc(o => call.Clients.Tasks(region).CancelTaskAsync(request, o));
        return EcsCall.Ok();
    }
}
