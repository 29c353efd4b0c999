using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Grpc.Core;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Common.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.ServiceDefaults.Errors;
using GrpcImages.ServiceDefaults.Validation;
using GrpcImages.Testing;
using GrpcImages.Transfer.Domain;
using GrpcImages.Transfer.Formats;
using GrpcImages.Transfer.Objects;
using GrpcImages.Transfer.Storage;
using Microsoft.Extensions.DependencyInjection;
using static GrpcImages.IntegrationTests.CatalogSteps;
using static GrpcImages.IntegrationTests.KmsSteps;

namespace GrpcImages.IntegrationTests;

/// <summary>Exporting images to the object store and downloading them (R29, R30).</summary>
public class ExportTests(ClusterFixture fixture, ITestOutputHelper output) : ClusterTest(fixture, output)
{
    private readonly string _scratch = Directory.CreateDirectory(Path.Combine(fixture.Cluster.DataDirectory, "test-files")).FullName;

    [Fact]
    public async Task R29_AQcow2ImportedExportedAsVhdDownloadedAndImportedAgainHasTheSameContent()
    {
        var account = await ImporterAsync();
        var bucket = await account.NewBucketAsync(Hangzhou);
        var raw = DiskFiles.RawBytes(7, seed: 29);
        await using (var stream = File.OpenRead(DiskFiles.Make(_scratch, raw, "qcow2")))
        {
            await account.PutObjectAsync(Hangzhou, bucket.Name, "original.qcow2", stream);
        }
        var first = await account.ImportAsync(Hangzhou, new ImportDiskSpec { SourceUrl = $"oss://{bucket.Name}/original.qcow2" });
        Assert.Equal(TaskStatus.Finished, (await account.WaitForTaskAsync(first.Task.TaskId)).Status);

        var export = await account.Transfers().ExportImageAsync(new ExportImageRequest
        {
            RegionId = Hangzhou, ImageId = first.ImageId, Bucket = bucket.Name, ObjectPrefix = "backup", Format = DiskImageFormat.Vhd,
        });
        var exported = await account.WaitForTaskAsync(export.Task.TaskId);
        Assert.Equal(TaskStatus.Finished, exported.Status);
        Assert.Equal([$"backup_{first.ImageId}_system.vhd"], export.ObjectNames);
        Assert.Equal(export.ObjectNames, exported.ExportedObjects);
        Assert.Contains("not expected to boot on other platforms", export.Notice, StringComparison.Ordinal); // R30

        // Downloaded with a plain HTTP client through a signed link, it is a VHD of the original virtual size.
        var link = await account.Objects().CreateDownloadUrlAsync(new CreateDownloadUrlRequest { RegionId = Hangzhou, Bucket = bucket.Name, Name = export.ObjectNames[0] });
        var downloaded = Path.Combine(_scratch, $"{Guid.NewGuid():N}.vhd");
        using (var http = new HttpClient())
        await using (var file = File.Create(downloaded))
        {
            await (await http.GetStreamAsync(new Uri(link.Url))).CopyToAsync(file);
        }
        var info = JsonNode.Parse(DiskFiles.QemuImg(["info", "--output=json", downloaded]))!;
        Assert.Equal(("vpc", raw.LongLength), (info["format"]!.GetValue<string>(), info["virtual-size"]!.GetValue<long>()));

        await using (var stream = File.OpenRead(downloaded))
        {
            await account.PutObjectAsync(Hangzhou, bucket.Name, "again.vhd", stream);
        }
        var second = await account.ImportAsync(Hangzhou, new ImportDiskSpec { SourceUrl = $"oss://{bucket.Name}/again.vhd", Format = DiskImageFormat.Vhd });
        Assert.Equal(TaskStatus.Finished, (await account.WaitForTaskAsync(second.Task.TaskId)).Status);
        Assert.Equal(await Cluster.DigestsAsync(Hangzhou, first.ImageId), await Cluster.DigestsAsync(Hangzhou, second.ImageId));
        // The export ended, so the image is no longer held.
        await account.Images().DeleteImageAsync(new DeleteImageRequest { RegionId = Hangzhou, ImageId = first.ImageId });
    }

    [Fact]
    public async Task R29_ARawAndQcow2ExportWritesOneObjectPerDiskWithTheDisksBytes()
    {
        var account = await ImporterAsync();
        var bucket = await account.NewBucketAsync(Shanghai);
        var system = DiskFiles.RawBytes(3, seed: 291);
        var data = DiskFiles.RawBytes(2, seed: 292);
        await account.PutObjectAsync(Shanghai, bucket.Name, "system.raw", system);
        await account.PutObjectAsync(Shanghai, bucket.Name, "data.raw", data);
        var import = await account.ImportAsync(Shanghai, new ImportDiskSpec { SourceUrl = $"oss://{bucket.Name}/system.raw" },
            new ImportDiskSpec { SourceUrl = $"oss://{bucket.Name}/data.raw" });
        await account.WaitForTaskAsync(import.Task.TaskId);

        var raw = await account.Transfers().ExportImageAsync(new ExportImageRequest { RegionId = Shanghai, ImageId = import.ImageId, Bucket = bucket.Name });
        var qcow2 = await account.Transfers().ExportImageAsync(new ExportImageRequest
        {
            RegionId = Shanghai, ImageId = import.ImageId, Bucket = bucket.Name, ObjectPrefix = "q", Format = DiskImageFormat.Qcow2,
        });
        Assert.Equal(TaskStatus.Finished, (await account.WaitForTaskAsync(raw.Task.TaskId)).Status);
        Assert.Equal(TaskStatus.Finished, (await account.WaitForTaskAsync(qcow2.Task.TaskId)).Status);

        Assert.Equal([$"{import.ImageId}_system.raw", $"{import.ImageId}_data1.raw"], raw.ObjectNames);
        Assert.Equal(system, await account.GetObjectBytesAsync(Shanghai, bucket.Name, raw.ObjectNames[0]));
        Assert.Equal(data, await account.GetObjectBytesAsync(Shanghai, bucket.Name, raw.ObjectNames[1]));
        var qcow2File = Path.Combine(_scratch, $"{Guid.NewGuid():N}.qcow2");
        await File.WriteAllBytesAsync(qcow2File, await account.GetObjectBytesAsync(Shanghai, bucket.Name, $"q_{import.ImageId}_data1.qcow2"));
        var back = Path.ChangeExtension(qcow2File, "raw");
        DiskFiles.QemuImg(["convert", "-f", "qcow2", "-O", "raw", qcow2File, back]);
        Assert.Equal(data, await File.ReadAllBytesAsync(back));
    }

    [Fact]
    public async Task R29_MarketplaceDerivedEncryptedSharedAndOtherAccountsBucketsAreRefused()
    {
        var account = await Cluster.NewAccountAsync();
        var other = await Cluster.NewAccountAsync();
        var bucket = await account.NewBucketAsync(Hangzhou);
        var othersBucket = await other.NewBucketAsync(Hangzhou);
        var plain = await account.NewImageAsync((await account.NewInstanceAsync()).InstanceId);
        var marketplace = (await account.Images().ListImagesAsync(new ListImagesRequest { RegionId = Hangzhou, OwnerAlias = ImageOwnerAlias.Marketplace, PageSize = 100 }))
            .Images.First();
        var derived = await account.NewImageAsync((await account.NewInstanceAsync(marketplace.ImageId)).InstanceId);
        var key = await account.NewCmkAsync(Hangzhou);
        var encryptedCopy = await account.CopyAsync(plain.ImageId, Hangzhou, Hangzhou, new EncryptionSpec { Encrypted = true, KmsKeyId = key.KeyId });
        await account.WaitForTaskAsync(encryptedCopy.Task.TaskId);

        Task<ExportImageResponse> Export(TestAccount caller, string imageId, string bucketName, DiskImageFormat format = DiskImageFormat.Raw) =>
            caller.Transfers().ExportImageAsync(new ExportImageRequest { RegionId = Hangzhou, ImageId = imageId, Bucket = bucketName, Format = format }).ResponseAsync;
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, "ImageNotSupported", () => Export(account, derived.ImageId, bucket.Name));
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, "ImageNotSupported", () => Export(account, encryptedCopy.ImageId, bucket.Name));
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, "ImageNotSupported", () => Export(account, Ubuntu, bucket.Name));
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidBucketName.NotFound", () => Export(account, plain.ImageId, othersBucket.Name));
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidImageId.NotFound", () => Export(other, plain.ImageId, othersBucket.Name));
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidParameter", () => Export(account, plain.ImageId, bucket.Name, DiskImageFormat.Vmdk));

        Assert.DoesNotContain((await account.Tasks().ListTasksAsync(new ListTasksRequest { RegionId = Hangzhou })).Tasks, t => t.Action == TaskAction.ExportImage);
        await account.Images().DeleteImageAsync(new DeleteImageRequest { RegionId = Hangzhou, ImageId = plain.ImageId }); // no hold left behind
    }

    [Fact]
    public async Task R29_AnImageWaitingToBeExportedCannotBeDeletedUntilItsExportIsCancelled()
    {
        // Transfer replicas that run no tasks: the export waits in its queue.
        await using var cluster = await TestCluster.StartAsync(new Dictionary<string, string?> { ["Transfer:RunTasks"] = "false" }, output: Output);
        var account = await cluster.NewAccountAsync();
        var bucket = await account.NewBucketAsync(Hangzhou);
        var image = await account.NewImageAsync((await account.NewInstanceAsync()).InstanceId);

        var export = await account.Transfers().ExportImageAsync(new ExportImageRequest { RegionId = Hangzhou, ImageId = image.ImageId, Bucket = bucket.Name });
        Assert.Equal(TaskStatus.Waiting, export.Task.Status);
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, "ImageIsExporting", () =>
            account.Images().DeleteImageAsync(new DeleteImageRequest { RegionId = Hangzhou, ImageId = image.ImageId, Force = true }).ResponseAsync);
        var cancelled = (await account.Tasks().CancelTaskAsync(new CancelTaskRequest { TaskId = export.Task.TaskId })).Task;

        Assert.Equal(TaskStatus.Cancelled, cancelled.Status);
        await account.Images().DeleteImageAsync(new DeleteImageRequest { RegionId = Hangzhou, ImageId = image.ImageId });
    }

    [Fact]
    public async Task R29_AnExportWorkerThatLostItsTaskCannotWriteAnObjectOnceANewerWorkerOfTheTaskHas()
    {
        var account = await Cluster.NewAccountAsync();
        var bucket = await account.NewBucketAsync(Hangzhou);
        var objects = Cluster.Services(ServiceKind.Transfer).GetRequiredService<ObjectStore>();
        var taskId = ResourceIds.New('t', ResourceIds.OwnerTag(account.AccountId));
        ObjectWriter Worker(long fence, string task) => new(task, fence, TimeSpan.FromHours(1));
        Task<ObjectRecord> Write(string name, byte[] bytes, ObjectWriter writer) =>
            objects.WriteAsync(Hangzhou, bucket.Name, name, "application/octet-stream", bytes.Length, new ReadOnlyMemory<byte>[] { bytes }.ToAsyncEnumerable(), default, writer);
        var (first, second, stale) = (ContentImages.Bytes([2901]), ContentImages.Bytes([2902]), ContentImages.Bytes([2903]));

        await Write("disk.raw", first, Worker(1, taskId)); // the worker that will be frozen past its lease
        await Write("disk.raw", second, Worker(2, taskId)); // the one that took the task over
        var refused = await Assert.ThrowsAsync<DomainException>(() => Write("disk.raw", stale, Worker(1, taskId)));
        var elsewhere = await Assert.ThrowsAsync<DomainException>(() => Write("other.raw", stale, Worker(1, taskId)));

        Assert.Equal(("TaskFenced", "TaskFenced"), (refused.Reason, elsewhere.Reason));
        Assert.Equal(second, await account.GetObjectBytesAsync(Hangzhou, bucket.Name, "disk.raw"));
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidOSSObject.NotFound", () => account.GetObjectBytesAsync(Hangzhou, bucket.Name, "other.raw"));
        // Nothing of the refused writes stays once collected; another task's worker writes as before.
        await Cluster.Client<ContentService.ContentServiceClient>(Cluster.ServiceToken()).CollectGarbageAsync(new CollectGarbageRequest { RegionId = Hangzhou });
        Assert.False(File.Exists(Cluster.BlobPath(Hangzhou, Convert.ToHexStringLower(SHA256.HashData(stale)))), "the refused write's chunk is still stored");
        await Write("other.raw", stale, Worker(1, ResourceIds.New('t', ResourceIds.OwnerTag(account.AccountId))));
        Assert.Equal(stale, await account.GetObjectBytesAsync(Hangzhou, bucket.Name, "other.raw"));
    }

    private async Task<TestAccount> ImporterAsync()
    {
        var account = await Cluster.NewAccountAsync();
        await account.AddRoleAsync(ImportSteps.ImportRole);
        return account;
    }
}
