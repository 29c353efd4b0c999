using Grpc.Core;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.Testing;

namespace GrpcImages.IntegrationTests;

/// <summary>
/// A bucket's usage counts toward the account's limit (issue 22, item 4; ObjectStore:MaxBytesPerAccount): objects and the parts of
/// open uploads, in every region and whichever API wrote them, and a write that would pass the limit is refused before anything lands.
/// </summary>
public sealed class OssAccountBytesTests(ITestOutputHelper output)
{
    private const long Limit = 1_000_000;

    private static Dictionary<string, string> CopyOf(string bucket, string name) => new() { ["x-oss-copy-source"] = $"/{bucket}/{name}" };

    private static void AssertQuotaExceeded(OssAnswer answer) =>
        Assert.True(answer.Status == 403 && answer.Code == "QuotaExceeded", $"expected 403 QuotaExceeded, got {answer.Status}: {answer.Text}");

    [Fact]
    public async Task R24_ObjectsAndOpenUploadsOfEveryRegionCountTowardTheAccountsBytesAndAWritePastThemIsRefused()
    {
        await using var cluster = await TestCluster.StartAsync(new Dictionary<string, string?>
        {
            ["Regions:0:Id"] = "cn-hangzhou",
            ["Regions:1:Id"] = "cn-shanghai",
            ["ObjectStore:MaxBytesPerAccount"] = Limit.ToString(System.Globalization.CultureInfo.InvariantCulture),
        }, [ServiceKind.Kms, ServiceKind.Sharing, ServiceKind.Transfer], output: output);
        var account = await cluster.NewAccountAsync();
        var key = await account.Client<AccessKeyService.AccessKeyServiceClient>().CreateAccessKeyAsync(new CreateAccessKeyRequest { AccountId = account.AccountId });
        using var oss = new OssClient(cluster.OssEndpoint, key.AccessKey.AccessKeyId, key.AccessKeySecret);
        var bucket = $"bytes-{Guid.NewGuid():N}"[..30];
        Assert.Equal(200, (await oss.SendAsync(HttpMethod.Put, bucket)).Status);

        // 300,000 bytes in Shanghai through the gRPC API, then 500,000 in Hangzhou through OSS: 800,000 used.
        var shanghai = await account.NewBucketAsync("cn-shanghai");
        await account.PutObjectAsync("cn-shanghai", shanghai.Name, "far.bin", new byte[300_000]);
        Assert.Equal(200, (await oss.PutAsync(bucket, "a.bin", new byte[500_000])).Status);

        AssertQuotaExceeded(await oss.PutAsync(bucket, "b.bin", new byte[300_000]));
        Assert.Equal("NoSuchKey", (await oss.GetAsync(bucket, "b.bin")).Code); // nothing landed
        // Replacing an object counts what it adds: 500,000 -> 600,000 leaves 900,000 used.
        Assert.Equal(200, (await oss.PutAsync(bucket, "a.bin", new byte[600_000])).Status);
        // A copy shares the source's content yet holds its size in the account's buckets.
        AssertQuotaExceeded(await oss.PutAsync(bucket, "a-copy.bin", [], CopyOf(bucket, "a.bin")));

        // An open upload's parts count as they arrive: one of 100,000 fills the account to its limit exactly; the next is refused.
        var uploadId = (await oss.SendAsync(HttpMethod.Post, bucket, "parts.bin", "uploads")).Xml.Element("UploadId")!.Value;
        Assert.Equal(200, (await oss.PutAsync(bucket, "parts.bin", new byte[100_000], query: $"partNumber=1&uploadId={uploadId}")).Status);
        AssertQuotaExceeded(await oss.PutAsync(bucket, "parts.bin", new byte[100_000], query: $"partNumber=2&uploadId={uploadId}"));
        AssertQuotaExceeded(await oss.PutAsync(bucket, "parts.bin", [], CopyOf(bucket, "a.bin"), $"partNumber=2&uploadId={uploadId}"));
        await RpcAssert.FailsAsync(StatusCode.ResourceExhausted, "QuotaExceeded.Storage",
            () => account.PutObjectAsync("cn-shanghai", shanghai.Name, "one-more.bin", new byte[1]));
        var listed = (await oss.GetAsync(bucket, "parts.bin", $"uploadId={uploadId}")).Xml.Elements("Part").Count();
        Assert.Equal(1, listed);

        // Another account has its own limit.
        var other = await cluster.NewAccountAsync();
        var otherBucket = await other.NewBucketAsync("cn-hangzhou");
        await other.PutObjectAsync("cn-hangzhou", otherBucket.Name, "theirs.bin", new byte[900_000]);

        // What an abort and a delete let go is room again: 1,000,000 - 100,000 - 300,000 = 600,000 used.
        Assert.Equal(204, (await oss.SendAsync(HttpMethod.Delete, bucket, "parts.bin", $"uploadId={uploadId}")).Status);
        await account.Objects().DeleteObjectAsync(new Contracts.Transfer.V1.DeleteObjectRequest { RegionId = "cn-shanghai", Bucket = shanghai.Name, Name = "far.bin" });
        Assert.Equal(200, (await oss.PutAsync(bucket, "b.bin", new byte[300_000])).Status);
        AssertQuotaExceeded(await oss.PutAsync(bucket, "c.bin", new byte[100_001]));
        var info = (await oss.GetAsync(bucket, query: "bucketInfo")).Xml;
        Assert.Equal("900000", info.Descendants("Storage").Single().Value);
    }
}
