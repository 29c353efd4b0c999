using GrpcImages.Contracts.Kms.V1;
using GrpcImages.Testing;

namespace GrpcImages.IntegrationTests;

/// <summary>A multipart upload nobody finishes is aborted by the work queue, and what it held is let go (issue 22, item 4).</summary>
public sealed class OssAbandonedUploadTests(ITestOutputHelper output)
{
    [Fact]
    public async Task R24_AnUploadWithoutANewPartForTheConfiguredTimeIsAbortedAndNoLongerKeepsItsBucket()
    {
        await using var cluster = await TestCluster.StartAsync(new Dictionary<string, string?>
        {
            ["Regions:0:Id"] = "cn-hangzhou",
            ["ObjectStore:AbandonedUploadAfter"] = "00:00:03",
        }, [ServiceKind.Kms, ServiceKind.Sharing, ServiceKind.Transfer], output: output);
        var account = await cluster.NewAccountAsync();
        var key = await account.Client<AccessKeyService.AccessKeyServiceClient>().CreateAccessKeyAsync(new CreateAccessKeyRequest { AccountId = account.AccountId });
        using var oss = new OssClient(cluster.OssEndpoint, key.AccessKey.AccessKeyId, key.AccessKeySecret);
        var bucket = $"abandoned-{Guid.NewGuid():N}"[..30];
        Assert.Equal(200, (await oss.SendAsync(HttpMethod.Put, bucket)).Status);
        var uploadId = (await oss.SendAsync(HttpMethod.Post, bucket, "left.bin", "uploads")).Xml.Element("UploadId")!.Value;
        Assert.Equal(200, (await oss.PutAsync(bucket, "left.bin", new byte[200_000], query: $"partNumber=1&uploadId={uploadId}")).Status);
        Assert.Equal("BucketNotEmpty", (await oss.SendAsync(HttpMethod.Delete, bucket)).Code); // the open upload keeps it

        var until = DateTime.UtcNow.AddSeconds(60);
        OssAnswer parts;
        do
        {
            await Task.Delay(500);
            parts = await oss.GetAsync(bucket, "left.bin", $"uploadId={uploadId}");
        }
        while (parts.Status == 200 && DateTime.UtcNow < until);
        Assert.Equal("NoSuchUpload", parts.Code);
        var info = (await oss.GetAsync(bucket, query: "bucketInfo")).Xml;
        Assert.Equal("0", info.Descendants("Storage").Single().Value);
        Assert.Equal(204, (await oss.SendAsync(HttpMethod.Delete, bucket)).Status);
    }
}
