using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.Testing;
using static GrpcImages.IntegrationTests.CatalogSteps;

namespace GrpcImages.IntegrationTests;

/// <summary>
/// Regions served by different transfer instances with separate blob stores (two data centres): the
/// destination's instance pulls the chunks it lacks from the source's over gRPC (R5).
/// </summary>
public sealed class CopyBetweenInstancesTests(ITestOutputHelper output)
{
    [Fact]
    public async Task R5_ACopyBetweenTwoTransferInstancesWithSeparateStoresArrivesWhole()
    {
        await using var cluster = await TestCluster.StartAsync(new Dictionary<string, string?>
        {
            ["Regions:0:Id"] = Hangzhou,
            ["Regions:1:Id"] = Shanghai,
        }, [ServiceKind.Kms, ServiceKind.Sharing], output: output);
        var shanghaiData = ScratchDirectory.Create("gi-data-shanghai-");
        try
        {
            var hangzhou = await cluster.StartReplicaAsync(ServiceKind.Transfer, new Dictionary<string, string?> { ["Transfer:Regions:0"] = Hangzhou });
            var shanghai = await cluster.StartReplicaAsync(ServiceKind.Transfer, new Dictionary<string, string?>
            {
                ["Transfer:Regions:0"] = Shanghai,
                ["Data:Directory"] = shanghaiData,
            });
            cluster.SetSetting($"Peers:TransferByRegion:{Shanghai}", $"http://127.0.0.1:{shanghai}");
            await Task.WhenAll(cluster.WaitUntilServingAsync(hangzhou), cluster.WaitUntilServingAsync(shanghai));
            await cluster.WaitUntilServingAsync(await cluster.StartReplicaAsync(ServiceKind.Catalog));
            var account = await cluster.NewAccountAsync();
            var source = await cluster.NewImageWithContentAsync(account, Hangzhou, ContentImages.Bytes(Enumerable.Range(300, 5).ToList()));

            var copy = await account.CopyAsync(source.ImageId, Hangzhou, Shanghai);
            var task = await account.WaitForTaskAsync(copy.Task.TaskId);

            Assert.Equal(TaskStatus.Finished, task.Status);
            var sourceManifest = (await cluster.DisksOfAsync(Hangzhou, source.ImageId))[0].ManifestId;
            var copyManifest = (await cluster.DisksOfAsync(Shanghai, copy.ImageId))[0].ManifestId;
            var inHangzhou = new ContentService.ContentServiceClient(cluster.Invoker(hangzhou, cluster.ServiceToken()));
            var inShanghai = new ContentService.ContentServiceClient(cluster.Invoker(shanghai, cluster.ServiceToken()));
            var sourceInfo = (await inHangzhou.GetContentInfoAsync(new GetContentInfoRequest { RegionId = Hangzhou, ManifestId = sourceManifest })).Content;
            var copyInfo = (await inShanghai.GetContentInfoAsync(new GetContentInfoRequest { RegionId = Shanghai, ManifestId = copyManifest })).Content;
            Assert.Equal(sourceInfo.Digest, copyInfo.Digest);
            // The bytes are in the Shanghai instance's own store, and the Hangzhou instance keeps no Shanghai bytes.
            var chunks = (await inShanghai.ListContentChunksAsync(new ListContentChunksRequest { RegionId = Shanghai, ManifestId = copyManifest })).Chunks;
            Assert.Equal(5, chunks.Count);
            Assert.All(chunks, c => Assert.True(File.Exists(Path.Combine(shanghaiData, "blobs", Shanghai, "chunks", c.Name[..2], c.Name))));
            Assert.False(Directory.Exists(Path.Combine(cluster.DataDirectory, "blobs", Shanghai)));
            Assert.Equal(sourceInfo.StoredBytes, task.BytesDone);
        }
        finally
        {
            ScratchDirectory.Delete(shanghaiData);
        }
    }
}
