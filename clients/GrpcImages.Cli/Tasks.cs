using System.CommandLine;
using Grpc.Core;
using GrpcImages.Contracts.Common.V1;
using GrpcImages.Contracts.Transfer.V1;
using TaskStatus = GrpcImages.Contracts.Transfer.V1.TaskStatus;

namespace GrpcImages.Cli;

/// <summary>Copies and their tasks: images copy, images cancel-copy, snapshots copy, tasks list|get|watch|cancel.</summary>
internal static partial class Commands
{
    private static readonly Option<string> To = new("--to") { Description = "The destination region", Required = true };
    private static readonly Option<bool> WaitForTask = new("--wait") { Description = "Follow the task's progress until it ends" };
    private static readonly Option<bool> Encrypt = new("--encrypted") { Description = "Encrypt the copy (R20, R21)" };
    private static readonly Option<string> KeyId = new("--kms-key-id") { Description = "The CMK in the destination region (default: the service key)", DefaultValueFactory = _ => "" };
    private static readonly Option<string> CopyName = new("--name") { Description = "The copy's name", DefaultValueFactory = _ => "" };

    private static Command CopyImage(TextWriter output)
    {
        var imageId = Id("image-id");
        return Cmd("copy", "Copy an image to a region, possibly encrypting it (R5-R12, R20, R21).", output, async (p, c, o) =>
        {
            var response = await c.Transfer<TransferService.TransferServiceClient>().CopyImageAsync(new CopyImageRequest
            {
                RegionId = p.GetValue(ImgCtl.Region)!, ImageId = p.GetValue(imageId)!, DestinationRegionId = p.GetValue(To)!,
                DestinationImageName = p.GetValue(CopyName)!, Encryption = Encryption(p),
            });
            await FollowAsync(p, c, o, response.Task, $"copy {response.ImageId}");
        }, imageId, To, CopyName, Encrypt, KeyId, WaitForTask);
    }

    private static Command CancelCopy(TextWriter output)
    {
        var imageId = Id("image-id");
        return Cmd("cancel-copy", "Cancel a copy by its destination image (R10; --region is the destination).", output, async (p, c, o) =>
            ShowTask(o, (await c.Transfer<TransferService.TransferServiceClient>().CancelCopyImageAsync(new CancelCopyImageRequest
            {
                RegionId = p.GetValue(ImgCtl.Region)!, ImageId = p.GetValue(imageId)!,
            })).Task), imageId);
    }

    private static Command CopySnapshot(TextWriter output)
    {
        var snapshotId = Id("snapshot-id");
        return Cmd("copy", "Copy a snapshot to a region (R11: the fast path for images over 2 TiB).", output, async (p, c, o) =>
        {
            var response = await c.Transfer<TransferService.TransferServiceClient>().CopySnapshotAsync(new CopySnapshotRequest
            {
                RegionId = p.GetValue(ImgCtl.Region)!, SnapshotId = p.GetValue(snapshotId)!, DestinationRegionId = p.GetValue(To)!,
                DestinationSnapshotName = p.GetValue(CopyName)!, Encryption = Encryption(p),
            });
            await FollowAsync(p, c, o, response.Task, $"copy {response.SnapshotId}");
        }, snapshotId, To, CopyName, Encrypt, KeyId, WaitForTask);
    }

    private static Command Tasks(TextWriter output)
    {
        var taskId = Id("task-id");
        var status = new Option<TaskStatus[]>("--status") { Description = "Only tasks in these states", AllowMultipleArgumentsPerToken = true };
        var action = new Option<TaskAction>("--action") { Description = "Only this action: CopyImage, CopySnapshot, ImportImage, ExportImage" };
        return Group("tasks", "Long operations: copies, imports and exports, and their log.",
            Cmd("list", "Your tasks in the region, newest first.", output, async (p, c, o) =>
            {
                var request = new ListTasksRequest { RegionId = p.GetValue(ImgCtl.Region)!, Action = p.GetValue(action), PageSize = 100 };
                request.Statuses.AddRange(p.GetValue(status) ?? []);
                var response = await c.Transfer<TaskService.TaskServiceClient>().ListTasksAsync(request);
                o.List(response.Tasks, response, ("TASK", t => t.TaskId), ("ACTION", t => t.Action.ToString()), ("STATUS", t => t.Status.ToString()),
                    ("PROGRESS", t => $"{t.Progress}%"), ("RESOURCE", t => t.ResourceId), ("SOURCE", t => $"{t.SourceResourceId} {t.SourceRegionId}".Trim()),
                    ("CREATED", t => t.CreateTime?.ToDateTimeOffset().ToString("u") ?? ""));
            }, status, action),
            Cmd("get", "Show a task.", output, async (p, c, o) =>
                ShowTask(o, (await c.Transfer<TaskService.TaskServiceClient>().GetTaskAsync(new GetTaskRequest { TaskId = p.GetValue(taskId)! })).Task), taskId),
            Cmd("watch", "Follow a task's progress until it ends.", output, async (p, c, o) =>
            {
                var task = (await c.Transfer<TaskService.TaskServiceClient>().GetTaskAsync(new GetTaskRequest { TaskId = p.GetValue(taskId)! })).Task;
                await WatchAsync(c, o, task, task.Action.ToString());
            }, taskId),
            Cmd("cancel", "Cancel a waiting or running task (R10).", output, async (p, c, o) =>
                ShowTask(o, (await c.Transfer<TaskService.TaskServiceClient>().CancelTaskAsync(new CancelTaskRequest { TaskId = p.GetValue(taskId)! })).Task), taskId));
    }

    private static EncryptionSpec Encryption(ParseResult p) => new() { Encrypted = p.GetValue(Encrypt), KmsKeyId = p.GetValue(KeyId)! };

    private static async Task FollowAsync(ParseResult p, Connection c, Output o, TransferTask task, string what)
    {
        if (p.GetValue(WaitForTask))
        {
            task = await WatchAsync(c, o, task, what);
        }
        ShowTask(o, task);
    }

    /// <summary>Draws the task's progress from the library's WatchTaskAsync (pushed changes, reconnecting without missing one) until it ends.</summary>
    private static async Task<TransferTask> WatchAsync(Connection c, Output o, TransferTask task, string what)
    {
        if (task.Status is not (TaskStatus.Finished or TaskStatus.Failed or TaskStatus.Cancelled))
        {
            await foreach (var state in c.Client.WatchTaskAsync(task.TaskId))
            {
                task = state;
                o.Progress(what, task.Status.ToString(), task.Progress, task.BytesDone, task.BytesTotal, task.TimeLeft?.ToTimeSpan());
            }
        }
        o.EndProgress();
        return task;
    }

    private static void ShowTask(Output o, TransferTask t) => o.Message(t,
        ("task", () => t.TaskId), ("action", () => t.Action.ToString()), ("status", () => $"{t.Status} {t.Progress}%"),
        ("resource", () => $"{t.ResourceId} ({t.RegionId})"), ("source", () => $"{t.SourceResourceId} ({t.SourceRegionId})"),
        ("bytes", () => $"{t.BytesDone} of {t.BytesTotal}, {t.BytesSkipped} already there"),
        ("queue position", () => t.Status == TaskStatus.Waiting ? t.QueuePosition.ToString(System.Globalization.CultureInfo.InvariantCulture) : ""),
        ("error", () => t.Error is null ? "" : $"{t.Error.Reason}: {t.Error.Message}"), ("advice", () => t.Advice));
}
