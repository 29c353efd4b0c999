using Google.Protobuf;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Common.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.ServiceDefaults.Storage;
using GrpcImages.ServiceDefaults.Work;
using GrpcImages.Testing;
using GrpcImages.Transfer.Domain;
using GrpcImages.Transfer.Storage;
using GrpcImages.Transfer.Tasks;
using Microsoft.Extensions.DependencyInjection;
using static GrpcImages.IntegrationTests.CatalogSteps;

namespace GrpcImages.IntegrationTests;

/// <summary>
/// Each kind of task, walked step by step (R8-R10, R24, R29, R33): after every number of its steps, the task
/// ends each way it can (its request refused, its worker failed, it is cancelled, it outlived its deadline),
/// and afterwards nothing is held: no quota unit, content hold or image hold outlives the task, and no image
/// stays being made (the invariant check). The steps are driven here one by one on a cluster whose transfer
/// service runs no tasks itself.
/// </summary>
public sealed class TaskStepTests(ITestOutputHelper output) : IAsyncLifetime
{
    private TestCluster _cluster = null!;
    private TestAccount _account = null!;

    public enum Ending
    {
        RequestRefused,
        WorkerFailed,
        Cancelled,
        DeadlinePassed,
    }

    public async Task InitializeAsync()
    {
        _cluster = await TestCluster.StartAsync(new Dictionary<string, string?>
        {
            ["Regions:0:Id"] = Hangzhou, ["Regions:1:Id"] = Shanghai, ["Transfer:RunTasks"] = "false",
        }, output: output);
        _account = await _cluster.NewAccountAsync();
    }

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    private IServiceProvider Transfer => _cluster.Services(ServiceKind.Transfer);

    [Fact]
    public async Task R9_R10_AnImageCopyEndingAfterAnyStepHoldsNothing()
    {
        var source = await _cluster.NewImageWithContentAsync(_account, Hangzhou, ContentImages.Bytes([8101, 8102]));
        var disks = await CopyDisksAsync(Hangzhou, source.ImageId);
        await WalkAsync(TaskAction.CopyImage, Shanghai, "copy", source.ImageId, Hangzhou,
            () => new ImageCopyPlan { Region = Shanghai, SourceRegion = Hangzhou, SourceId = source.ImageId, Disks = disks() },
            () => new CreatePendingImageRequest
            {
                OwnerAccountId = _account.AccountId, RegionId = Shanghai, SourceKind = ImageSourceKind.Copy, SourceImageId = source.ImageId, SourceRegionId = Hangzhou,
                OsType = OsType.Linux, OsName = "Test Linux", SizeGib = source.SizeGib,
                DiskDeviceMappings = { source.DiskDeviceMappings.Select(m => new DiskDeviceMapping { DiskType = m.DiskType, Device = m.Device, SizeGib = m.SizeGib, ContentBytes = m.ContentBytes }) },
            });
        Assert.True((await _account.Images().DeleteImageAsync(new DeleteImageRequest { RegionId = Hangzhou, ImageId = source.ImageId })).Deleted); // no hold left on it
    }

    [Fact]
    public async Task R11_ASnapshotCopyEndingAfterAnyStepHoldsNothing()
    {
        var source = await _cluster.NewImageWithContentAsync(_account, Hangzhou, ContentImages.Bytes([8201]));
        var snapshotId = source.DiskDeviceMappings[0].SnapshotId;
        var disks = await CopyDisksAsync(Hangzhou, source.ImageId);
        await WalkAsync(TaskAction.CopySnapshot, Shanghai, "snapcopy", snapshotId, Hangzhou,
            () => new SnapshotCopyPlan { Region = Shanghai, SourceRegion = Hangzhou, SourceId = snapshotId, Disks = disks() },
            () => new CreatePendingSnapshotRequest
            {
                OwnerAccountId = _account.AccountId, RegionId = Shanghai, SourceSnapshotId = snapshotId, SourceRegionId = Hangzhou, DiskType = DiskType.System,
                DiskSizeGib = source.SizeGib, ContentBytes = ContentImages.ChunkBytes,
            });
    }

    [Fact]
    public async Task R24_AnImportEndingAfterAnyStepHoldsNothing()
    {
        var bucket = await _account.NewBucketAsync(Hangzhou);
        var raw = ContentImages.Bytes([8301, 8302]);
        await _account.PutObjectAsync(Hangzhou, bucket.Name, "disk.raw", raw);
        await WalkAsync(TaskAction.ImportImage, Hangzhou, "import", $"oss://{bucket.Name}/disk.raw", "",
            () => new ImportPlan
            {
                Region = Hangzhou,
                Disks = [new ImportDiskPlan { DiskType = (int)DiskType.System, Device = "/dev/xvda", SizeGib = 1, ContentBytes = raw.Length, StoredBytes = raw.Length, SourceUrl = $"oss://{bucket.Name}/disk.raw" }],
            },
            () => new CreatePendingImageRequest
            {
                OwnerAccountId = _account.AccountId, RegionId = Hangzhou, SourceKind = ImageSourceKind.Import, OsType = OsType.Linux, OsName = "Test Linux", SizeGib = 1,
                DiskDeviceMappings = { new DiskDeviceMapping { DiskType = DiskType.System, Device = "/dev/xvda", SizeGib = 1, ContentBytes = raw.Length } },
            });
    }

    [Fact]
    public async Task R29_R33_AnExportEndingAfterAnyStepHoldsNothingAndLeavesNoObject()
    {
        var image = await _cluster.NewImageWithContentAsync(_account, Hangzhou, ContentImages.Bytes([8401]));
        var bucket = await _account.NewBucketAsync(Hangzhou);
        var disk = (await _cluster.DisksOfAsync(Hangzhou, image.ImageId))[0];
        await WalkAsync(TaskAction.ExportImage, Hangzhou, "export", image.ImageId, Hangzhou,
            () => new ExportPlan
            {
                Region = Hangzhou, ImageId = image.ImageId, Bucket = bucket.Name,
                Disks = [new ExportDiskPlan { DiskType = (int)DiskType.System, Device = "/dev/xvda", SizeGib = image.SizeGib, ContentBytes = disk.ContentBytes, StoredBytes = disk.ContentBytes, SourceManifest = disk.ManifestId, Format = (int)DiskImageFormat.Raw, ObjectName = $"walk_{image.ImageId}_system.raw" }],
            },
            () => null);
        var left = await _account.Objects().ListObjectsAsync(new ListObjectsRequest { RegionId = Hangzhou, Bucket = bucket.Name });
        Assert.Empty(left.Objects); // every object an ended export wrote went with it
        Assert.True((await _account.Images().DeleteImageAsync(new DeleteImageRequest { RegionId = Hangzhou, ImageId = image.ImageId })).Deleted);
    }

    /// <summary>For k = 0 .. all of the kind's steps, and each ending that can follow k steps: a new task, its first k steps, the ending, and the invariant check.</summary>
    private async Task WalkAsync<TPlan>(TaskAction action, string region, string scope, string sourceId, string sourceRegion, Func<TPlan> newPlan, Func<IMessage?> asked)
        where TPlan : TaskPlan
    {
        var (store, queues, lifecycle) = (Transfer.GetRequiredService<TaskStore>(), Transfer.GetRequiredService<TaskQueues>(), Transfer.GetRequiredService<TaskLifecycle>());
        var kind = (TaskKind<TPlan>)Transfer.GetRequiredService<TaskKinds>().For(newPlan());
        var queue = queues.For(action, region);
        var requestSteps = kind.Steps.Count(s => s.By == StepBy.Request);
        var walked = 0;
        for (var k = 0; k <= kind.Steps.Count; k++)
        {
            foreach (var ending in Enum.GetValues<Ending>().Where(e => e != Ending.RequestRefused || k <= requestSteps))
            {
                var plan = newPlan();
                var task = lifecycle.NewTask(action, _account.AccountId, region, sourceId, sourceRegion, plan);
                await store.CreateAsync(task, plan.Serialize(), scope, ClientToken.None);
                await queue.EnqueueAsync(task.TaskId, task.TaskId, TaskLifecycle.Guard);
                var setup = new TaskContext<TPlan>(task, plan, 0) { Asked = asked() };
                foreach (var step in kind.Steps.Take(Math.Min(k, requestSteps)))
                {
                    await step.Do(setup);
                }
                var what = $"{typeof(TPlan).Name} ended ({ending}) after {k} of its steps ({string.Join(", ", kind.StepNames.Take(k))})";
                if (ending == Ending.RequestRefused)
                {
                    await lifecycle.TakeBackAsync(task, plan, scope, ClientToken.None);
                }
                else
                {
                    if (k >= requestSteps)
                    {
                        await queues.AcceptAsync(task, plan);
                    }
                    if (ending == Ending.Cancelled && k <= requestSteps)
                    {
                        Assert.Equal(RemoveResult.Removed, await queue.RemoveAsync(task.TaskId, onlyIfWaiting: true));
                        await lifecycle.CancelWaitingAsync((await store.GetAsync(task.TaskId))!);
                    }
                    else
                    {
                        await RunAndEndAsync(kind, store, queue, task.TaskId, k - requestSteps, ending);
                    }
                }
                var violations = await Invariants.SettleAsync(_cluster.RedisConfiguration, TimeSpan.FromSeconds(30));
                Assert.True(violations.Count == 0, $"{what}: {string.Join("; ", violations)}");
                var left = await store.GetAsync(task.TaskId);
                Assert.True(left is null || left.Task.Status is TaskStatus.Failed or TaskStatus.Cancelled, $"{what}: the task is {left?.Task.Status}");
                walked++;
            }
        }
        output.WriteLine($"{typeof(TPlan).Name}: {walked} endings walked over {kind.Steps.Count} steps: {string.Join(" -> ", kind.StepNames)}");
    }

    /// <summary>A worker's run: the item claimed, the first <paramref name="workerSteps"/> worker steps carried out, then the ending, as TaskWorker does.</summary>
    private async Task RunAndEndAsync<TPlan>(TaskKind<TPlan> kind, TaskStore store, WorkQueue queue, string taskId, int workerSteps, Ending ending) where TPlan : TaskPlan
    {
        var lease = await ClaimAsync(queue, taskId);
        var stored = (await store.GetAsync(taskId))!;
        var run = new TaskRun(new TaskRunContext(store, Transfer.GetRequiredService<TaskCatalog>(), TimeProvider.System), lease, stored, TaskPlan.Parse(stored.Plan));
        var end = run.Plan.Phase == TaskPhase.Setup ? TaskEnding.Abandoned : ending switch
        {
            Ending.Cancelled => TaskEnding.Cancelled,
            Ending.DeadlinePassed => new TaskEnding(TaskStatus.Failed, TaskRun.ToError(TransferErrors.TimedOut("waiting and running"))),
            _ => new TaskEnding(TaskStatus.Failed, TaskRun.Error(Grpc.Core.StatusCode.DataLoss, "InvalidContent.Damaged", "A step failed for good.")),
        };
        if (workerSteps > 0)
        {
            await run.StartAsync();
            var context = new TaskContext<TPlan>(run.Task, (TPlan)run.Plan, lease.Fence) { Run = run, CancellationToken = CancellationToken.None };
            foreach (var step in kind.Steps.Where(s => s.By == StepBy.Worker).Take(workerSteps))
            {
                await step.Do(context);
            }
        }
        await kind.UndoAsync(run.Task, run.Plan, lease.Fence, end, run);
        await run.EndAsync(end.Status, end.Error);
        Assert.Equal(CompleteResult.Completed, await queue.CompleteAsync(lease));
    }

    private static async Task<WorkLease> ClaimAsync(WorkQueue queue, string taskId)
    {
        for (var attempt = 0; attempt < 100; attempt++)
        {
            await queue.EnqueueAsync(taskId, taskId); // due now, guard or not
            var (lease, _) = await queue.ClaimAsync("walk");
            if (lease is not null)
            {
                Assert.Equal(taskId, lease.Id);
                return lease;
            }
            await Task.Delay(20);
        }
        throw new TimeoutException($"The queue never handed out {taskId}.");
    }

    private async Task<Func<List<CopyDiskPlan>>> CopyDisksAsync(string region, string imageId)
    {
        var content = _cluster.Client<ContentService.ContentServiceClient>(_cluster.ServiceToken());
        var disks = new List<CopyDiskPlan>();
        foreach (var disk in await _cluster.DisksOfAsync(region, imageId))
        {
            var info = (await content.GetContentInfoAsync(new GetContentInfoRequest { RegionId = region, ManifestId = disk.ManifestId })).Content;
            disks.Add(new CopyDiskPlan
            {
                DiskType = (int)disk.DiskType, Device = disk.Device, SizeGib = disk.SizeGib, ContentBytes = disk.ContentBytes, SourceManifest = disk.ManifestId,
                StoredBytes = info.StoredBytes,
            });
        }
        return () => disks.Select(d => d with { }).ToList();
    }
}
