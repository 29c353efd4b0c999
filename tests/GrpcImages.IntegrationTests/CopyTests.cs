using Grpc.Core;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Common.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.Testing;
using static GrpcImages.IntegrationTests.CatalogSteps;
using static GrpcImages.IntegrationTests.KmsSteps;

namespace GrpcImages.IntegrationTests;

/// <summary>Copying images between regions and within one (R5-R12, R17, R20, R21).</summary>
public class CopyTests(ClusterFixture fixture, ITestOutputHelper output) : ClusterTest(fixture, output)
{
    [Fact]
    public async Task R5_ACopyInAnotherRegionIsTheCallersOwnImageWithItsSourceRecordedAndTheSameBytes()
    {
        var account = await Cluster.NewAccountAsync();
        var source = await account.NewImageAsync((await account.NewInstanceAsync(Ubuntu, Hangzhou, 0, 20)).InstanceId);

        var copy = await account.CopyAsync(source.ImageId, Hangzhou, Shanghai, name: "web-copy");
        var task = await account.WaitForTaskAsync(copy.Task.TaskId);
        var image = await account.ImageInAsync(Shanghai, copy.ImageId);

        Assert.Equal(TaskStatus.Finished, task.Status);
        Assert.Equal(100, task.Progress);
        Assert.Equal((TaskAction.CopyImage, Shanghai, source.ImageId, Hangzhou), (task.Action, task.RegionId, task.SourceResourceId, task.SourceRegionId));
        Assert.Equal(copy.ImageId, task.ResourceId);
        Assert.NotEqual(source.ImageId, image.ImageId);
        Assert.Equal((ImageStatus.Available, ImageOwnerAlias.Self, true), (image.Status, image.OwnerAlias, image.IsCopied));
        Assert.Equal((source.ImageId, Hangzhou, ImageSourceKind.Copy), (image.SourceImageId, image.SourceRegionId, image.SourceKind));
        Assert.Equal("web-copy", image.ImageName);
        Assert.Equal(2, image.DiskDeviceMappings.Count);
        Assert.Equal(await Cluster.DigestsAsync(Hangzhou, source.ImageId), await Cluster.DigestsAsync(Shanghai, image.ImageId));
        // R4: regional; the copy is used in its own region.
        var instance = await account.NewInstanceAsync(image.ImageId, Shanghai);
        Assert.Equal(image.ImageId, instance.ImageId);
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidImageId.NotFound", () =>
            account.Images().GetImageAsync(new GetImageRequest { RegionId = Hangzhou, ImageId = image.ImageId }));
    }

    [Fact]
    public async Task R6_OnlyAvailableCustomImagesAreCopied()
    {
        var account = await Cluster.NewAccountAsync();

        var publicImage = await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, "OperationDenied", () => account.CopyAsync(Ubuntu, Hangzhou, Shanghai));
        Assert.Contains("Only custom images can be copied", publicImage.Status.Detail);
        var image = await account.NewImageAsync((await account.NewInstanceAsync()).InstanceId);
        await account.Images().UpdateImageAsync(new UpdateImageRequest { RegionId = Hangzhou, ImageId = image.ImageId, Deprecated = true });
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, "IncorrectImageStatus", () => account.CopyAsync(image.ImageId, Hangzhou, Shanghai));
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidImageId.NotFound", () => account.CopyAsync("m-aaaaaaaaaaaaaaaaaaaa", Hangzhou, Shanghai));

        Assert.Empty((await account.Tasks().ListTasksAsync(new ListTasksRequest { RegionId = Shanghai })).Tasks); // refusals leave no task
    }

    [Fact]
    public async Task R9_TheSameSourceCannotBeCopiedTwiceAtOnceNorDeletedWhileItIsCopied()
    {
        var account = await Cluster.NewAccountAsync();
        var source = await account.NewImageAsync((await account.NewInstanceAsync()).InstanceId);
        var first = await account.CopyAsync(source.ImageId, Hangzhou, Shanghai);

        var second = account.CopyAsync(source.ImageId, Hangzhou, Tokyo);
        var deleteSource = account.Images().DeleteImageAsync(new DeleteImageRequest { RegionId = Hangzhou, ImageId = source.ImageId, Force = true }).ResponseAsync;
        var deleteCopy = account.Images().DeleteImageAsync(new DeleteImageRequest { RegionId = Shanghai, ImageId = first.ImageId, Force = true }).ResponseAsync;

        var task = await account.WaitForTaskAsync(first.Task.TaskId);
        Assert.Equal(TaskStatus.Finished, task.Status);
        // While the first copy ran (or waited), the second was refused, and neither image could be deleted.
        var conflict = await Assert.ThrowsAsync<RpcException>(() => second);
        Assert.Equal("OperationDenied.ImageCopyConflict", RpcAssert.Reason(conflict));
        Assert.Equal("OperationDenied.ImageCopying", RpcAssert.Reason(await Assert.ThrowsAsync<RpcException>(() => deleteSource)));
        Assert.Equal("OperationDenied.ImageCopying", RpcAssert.Reason(await Assert.ThrowsAsync<RpcException>(() => deleteCopy)));
        // Once it ended, the source copies again.
        var again = await account.CopyAsync(source.ImageId, Hangzhou, Tokyo);
        Assert.Equal(TaskStatus.Finished, (await account.WaitForTaskAsync(again.Task.TaskId)).Status);
    }

    [Fact]
    public async Task R35_TheSameClientTokenReturnsTheFirstCopy()
    {
        var account = await Cluster.NewAccountAsync();
        var source = await account.NewImageAsync((await account.NewInstanceAsync()).InstanceId);
        var request = new CopyImageRequest { RegionId = Hangzhou, ImageId = source.ImageId, DestinationRegionId = Tokyo, ClientToken = "copy-once" };

        var first = await account.Transfers().CopyImageAsync(request);
        var again = await account.Transfers().CopyImageAsync(request);

        Assert.Equal((first.ImageId, first.Task.TaskId), (again.ImageId, again.Task.TaskId));
        request.DestinationRegionId = Shanghai;
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "IdempotenceParamNotMatch", () => account.Transfers().CopyImageAsync(request));
        await account.WaitForTaskAsync(first.Task.TaskId);
    }

    [Fact]
    public async Task R7_R17_ARecipientCopiesASharedImageToAnotherRegionAndSharesTheCopyThere()
    {
        var owner = await Cluster.NewAccountAsync();
        var recipient = await Cluster.NewAccountAsync();
        var third = await Cluster.NewAccountAsync();
        var shared = await owner.NewImageAsync((await owner.NewInstanceAsync()).InstanceId);
        await owner.ShareAsync(shared.ImageId, recipient.AccountId);

        var copy = await recipient.CopyAsync(shared.ImageId, Hangzhou, Tokyo);
        Assert.Equal(TaskStatus.Finished, (await recipient.WaitForTaskAsync(copy.Task.TaskId)).Status);
        var mine = await recipient.ImageInAsync(Tokyo, copy.ImageId);
        Assert.Equal((recipient.AccountId, ImageOwnerAlias.Self), (mine.OwnerAccountId, mine.OwnerAlias));
        await recipient.ShareInAsync(Tokyo, mine.ImageId, third.AccountId);

        Assert.Contains(await third.OthersAsync(Tokyo), i => i.ImageId == mine.ImageId);
        Assert.Equal(await Cluster.DigestsAsync(Hangzhou, shared.ImageId), await Cluster.DigestsAsync(Tokyo, mine.ImageId));
        // The owner never sees the recipient's copy; a stranger cannot copy what was not shared with it.
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidImageId.NotFound", () => owner.Images().GetImageAsync(new GetImageRequest { RegionId = Tokyo, ImageId = mine.ImageId }));
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidImageId.NotFound", () => third.CopyAsync(shared.ImageId, Hangzhou, Tokyo));
    }

    [Fact]
    public async Task R5_ACopyIntoTheSameRegionIsANewImageSharingTheSameBytes()
    {
        var account = await Cluster.NewAccountAsync();
        var source = await account.NewImageAsync((await account.NewInstanceAsync()).InstanceId);

        var copy = await account.CopyAsync(source.ImageId, Hangzhou, Hangzhou);
        var task = await account.WaitForTaskAsync(copy.Task.TaskId);

        Assert.Equal(TaskStatus.Finished, task.Status);
        Assert.Equal(task.BytesTotal, task.BytesSkipped); // every chunk is in the region already: nothing is written again
        Assert.Equal(await Cluster.DigestsAsync(Hangzhou, source.ImageId), await Cluster.DigestsAsync(Hangzhou, copy.ImageId));
    }

    [Fact]
    public async Task R8_ACopyOfAnImageSharingMostChunksWithOneInTheDestinationMovesOnlyTheDifference()
    {
        var account = await Cluster.NewAccountAsync();
        var seeds = Enumerable.Range(1000, 10).ToList();
        var first = await Cluster.NewImageWithContentAsync(account, Hangzhou, ContentImages.Bytes(seeds));
        var changed = seeds.Take(9).Append(7777).ToList(); // nine chunks in common, one new
        var second = await Cluster.NewImageWithContentAsync(account, Hangzhou, ContentImages.Bytes(changed));

        var firstTask = await account.WaitForTaskAsync((await account.CopyAsync(first.ImageId, Hangzhou, Shanghai)).Task.TaskId);
        var secondCopy = await account.CopyAsync(second.ImageId, Hangzhou, Shanghai);
        var secondTask = await account.WaitForTaskAsync(secondCopy.Task.TaskId);

        Assert.Equal(0, firstTask.BytesSkipped);
        Assert.Equal(10L * ContentImages.ChunkBytes, secondTask.BytesTotal);
        Assert.Equal(9L * ContentImages.ChunkBytes, secondTask.BytesSkipped);
        Assert.Equal(await Cluster.DigestsAsync(Hangzhou, second.ImageId), await Cluster.DigestsAsync(Shanghai, secondCopy.ImageId));
    }

    [Fact]
    public async Task R11_ACopiedSnapshotMakesAnImageInTheDestinationAndLargeImagesGetTheAdvice()
    {
        var account = await Cluster.NewAccountAsync();
        var instance = await account.NewInstanceAsync();
        var snapshot = await account.SnapshotOfAsync(instance.SystemDisk.DiskId);

        var copy = await account.Transfers().CopySnapshotAsync(new CopySnapshotRequest { RegionId = Hangzhou, SnapshotId = snapshot.SnapshotId, DestinationRegionId = Tokyo });
        Assert.Equal(TaskStatus.Finished, (await account.WaitForTaskAsync(copy.Task.TaskId)).Status);
        var copied = (await account.Snapshots().GetSnapshotAsync(new GetSnapshotRequest { RegionId = Tokyo, SnapshotId = copy.SnapshotId })).Snapshot;
        Assert.Equal((SnapshotStatus.Accomplished, snapshot.SnapshotId, Hangzhou), (copied.Status, copied.SourceSnapshotId, copied.SourceRegionId));
        var image = (await account.Images().CreateImageAsync(new CreateImageRequest
        {
            RegionId = Tokyo, ImageName = UniqueName(), DiskDeviceMappings = { new DiskDeviceMappingSpec { SnapshotId = copied.SnapshotId } },
        })).Image;
        Assert.Equal(ImageStatus.Available, (await account.WaitUntilAvailableAsync(image.ImageId, Tokyo)).Status);

        var large = await Cluster.NewImageWithContentAsync(account, Hangzhou, ContentImages.Bytes([1]), sizeGib: 3000);
        var largeCopy = await account.CopyAsync(large.ImageId, Hangzhou, Tokyo);
        Assert.Contains("CopySnapshot", largeCopy.Task.Advice);
        Assert.Equal(TaskStatus.Finished, (await account.WaitForTaskAsync(largeCopy.Task.TaskId)).Status);
    }

    [Fact]
    public async Task R12_AMarketplaceDerivedImageCopiesOnlyWhereItsProductIsPublished()
    {
        var account = await Cluster.NewAccountAsync();
        const string sqlServer = "sqlserver2019_std_win2019_40G";
        var marketplace = (await account.Images().ListImagesAsync(new ListImagesRequest { RegionId = Hangzhou, OwnerAlias = ImageOwnerAlias.Marketplace, PageSize = 100 }))
            .Images.Single(i => i.ImageName == sqlServer);
        var derived = await account.NewImageAsync((await account.NewInstanceAsync(marketplace.ImageId)).InstanceId);

        var refused = await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, "OperationDenied.NotPublished", () => account.CopyAsync(derived.ImageId, Hangzhou, "cn-beijing"));
        Assert.Contains("not published in destination region", refused.Status.Detail);
        var copy = await account.CopyAsync(derived.ImageId, Hangzhou, Shanghai);
        Assert.Equal(TaskStatus.Finished, (await account.WaitForTaskAsync(copy.Task.TaskId)).Status);
        Assert.Equal(marketplace.ProductCode, (await account.ImageInAsync(Shanghai, copy.ImageId)).ProductCode);
        Assert.Empty((await account.Tasks().ListTasksAsync(new ListTasksRequest { RegionId = "cn-beijing" })).Tasks);
    }

    [Fact]
    public async Task R20_R21_CopyAndEncryptNeedsKmsAndAUsableKeyAndNeverDropsEncryption()
    {
        var account = await Cluster.NewAccountAsync();
        var plain = await account.NewImageAsync((await account.NewInstanceAsync()).InstanceId);

        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, "InvalidParameter.KmsNotEnabled", () =>
            account.CopyAsync(plain.ImageId, Hangzhou, Hangzhou, new EncryptionSpec { Encrypted = true }));
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidParameter.EncryptedIllegal", () =>
            account.CopyAsync(plain.ImageId, Hangzhou, Hangzhou, new EncryptionSpec { KmsKeyId = Guid.NewGuid().ToString() }));
        var key = await account.NewCmkAsync(Shanghai);
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidParameter.KMSKeyId.NotFound", () =>
            account.CopyAsync(plain.ImageId, Hangzhou, Shanghai, new EncryptionSpec { Encrypted = true, KmsKeyId = Guid.NewGuid().ToString() }));
        await account.Keys().DisableKeyAsync(new Contracts.Kms.V1.DisableKeyRequest { RegionId = Shanghai, KeyId = key.KeyId });
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, "InvalidParameter.KMSKeyId.CMKNotEnabled", () =>
            account.CopyAsync(plain.ImageId, Hangzhou, Shanghai, new EncryptionSpec { Encrypted = true, KmsKeyId = key.KeyId }));
        await account.Keys().EnableKeyAsync(new Contracts.Kms.V1.EnableKeyRequest { RegionId = Shanghai, KeyId = key.KeyId });

        var encrypted = await account.CopyAsync(plain.ImageId, Hangzhou, Shanghai, new EncryptionSpec { Encrypted = true, KmsKeyId = key.KeyId });
        Assert.Equal(TaskStatus.Finished, (await account.WaitForTaskAsync(encrypted.Task.TaskId)).Status);
        var image = await account.ImageInAsync(Shanghai, encrypted.ImageId);
        Assert.Equal((true, key.KeyId), (image.Encryption.Encrypted, image.Encryption.KmsKeyId));
        // Sealed for real (R23): the same plaintext, other stored bytes.
        var source = (await Cluster.DisksOfAsync(Hangzhou, plain.ImageId))[0];
        var sealedDisk = (await Cluster.DisksOfAsync(Shanghai, image.ImageId))[0];
        Assert.Equal(await Cluster.ReadContentAsync(Hangzhou, source.ManifestId, 0, 4 << 20), await Cluster.ReadContentAsync(Shanghai, sealedDisk.ManifestId, 0, 4 << 20));
        var chunk = (await Cluster.ChunkIdsAsync(Shanghai, new ContentInfo { ManifestId = sealedDisk.ManifestId }))[0];
        Assert.Equal(-1, File.ReadAllBytes(Cluster.BlobPath(Shanghai, chunk)).AsSpan().IndexOf("GRPCIMAGES"u8));

        // R21: a copy of the encrypted image must stay encrypted.
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, "OperationDeined.EncryptedSnapshot", () => account.CopyAsync(image.ImageId, Shanghai, Hangzhou));
    }

    [Fact]
    public async Task R20_R23_AnEncryptedCopyOfAManyChunkImageFinishesFirstTimeWithEveryChunkSealed()
    {
        var account = await Cluster.NewAccountAsync();
        await account.EnableKmsAsync(Shanghai);
        var seeds = Enumerable.Range(7100, 18).ToList(); // 72 MiB: the copier's four writers seal at once
        var source = await Cluster.NewImageWithChunksAsync(account, Hangzhou, seeds);

        var copy = await account.CopyAsync(source.ImageId, Hangzhou, Shanghai, new EncryptionSpec { Encrypted = true });
        var task = await account.WaitForTaskAsync(copy.Task.TaskId);

        Assert.Equal(TaskStatus.Finished, task.Status);
        // First time: the copy was never failed and tried again.
        Assert.DoesNotContain(Cluster.Logs.Recent, l => l.Contains(task.TaskId, StringComparison.Ordinal) && (l.Contains("retried", StringComparison.Ordinal)
            || l.Contains("runs again", StringComparison.Ordinal)));
        var sealedDisk = (await Cluster.DisksOfAsync(Shanghai, copy.ImageId))[0];
        var stored = await Cluster.ChunkIdsAsync(Shanghai, new ContentInfo { ManifestId = sealedDisk.ManifestId });
        Assert.Equal(seeds.Count, stored.Count);
        var plain = seeds.Select(seed => ContentImages.Bytes([seed])).ToList();
        foreach (var name in stored)
        {
            var bytes = await File.ReadAllBytesAsync(Cluster.BlobPath(Shanghai, name));
            Assert.Equal(ContentImages.ChunkBytes + 28, bytes.Length); // nonce and tag around every chunk
            Assert.DoesNotContain(plain, p => bytes.AsSpan(12, 4096).SequenceEqual(p.AsSpan(0, 4096)));
        }
        for (var i = 0; i < seeds.Count; i++)
        {
            Assert.Equal(plain[i], await Cluster.ReadContentAsync(Shanghai, sealedDisk.ManifestId, (long)i * ContentImages.ChunkBytes, ContentImages.ChunkBytes));
        }
    }

    [Fact]
    public async Task WatchTaskStreamsTheTaskUntilItEndsAndAReconnectMissesNothing()
    {
        var account = await Cluster.NewAccountAsync();
        var source = await Cluster.NewImageWithContentAsync(account, Hangzhou, ContentImages.Bytes(Enumerable.Range(2000, 8).ToList()));
        var copy = await account.CopyAsync(source.ImageId, Hangzhou, Tokyo);

        var seen = new List<TransferTask>();
        using (var watch = account.Tasks().WatchTask(new WatchTaskRequest { TaskId = copy.Task.TaskId }))
        {
            while (await watch.ResponseStream.MoveNext(CancellationToken.None))
            {
                seen.Add(watch.ResponseStream.Current.Task);
            }
        }

        Assert.Equal(TaskStatus.Finished, seen[^1].Status);
        Assert.Equal(seen.Select(t => t.Revision).Order(), seen.Select(t => t.Revision));
        Assert.Equal(seen.Count, seen.Select(t => t.Revision).Distinct().Count());
        Assert.Equal(seen.Select(t => t.Progress).Order(), seen.Select(t => t.Progress));
        using var again = account.Tasks().WatchTask(new WatchTaskRequest { TaskId = copy.Task.TaskId, AfterRevision = seen[^1].Revision });
        Assert.False(await again.ResponseStream.MoveNext(CancellationToken.None)); // nothing newer: the stream ends
        using var late = account.Tasks().WatchTask(new WatchTaskRequest { TaskId = copy.Task.TaskId, AfterRevision = 1 });
        Assert.True(await late.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(seen[^1], late.ResponseStream.Current.Task);
        var stranger = await Cluster.NewAccountAsync();
        using var foreign = stranger.Tasks().WatchTask(new WatchTaskRequest { TaskId = copy.Task.TaskId });
        Assert.Equal("InvalidTaskId.NotFound", RpcAssert.Reason(await Assert.ThrowsAsync<RpcException>(() => foreign.ResponseStream.MoveNext(CancellationToken.None))));
    }
}
