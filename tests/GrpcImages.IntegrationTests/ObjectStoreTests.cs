using System.Net;
using System.Security.Cryptography;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.Testing;
using static GrpcImages.IntegrationTests.CatalogSteps;

namespace GrpcImages.IntegrationTests;

/// <summary>The object store: buckets and objects (R24, R29), and signed download links served over plain HTTP.</summary>
public class ObjectStoreTests(ClusterFixture fixture, ITestOutputHelper output) : ClusterTest(fixture, output)
{
    private readonly TestCluster _cluster = fixture.Cluster;

    [Fact]
    public async Task AnObjectReadsBackWholeOrInRangesAndListsByPrefixInPages()
    {
        var account = await _cluster.NewAccountAsync();
        var bucket = await account.NewBucketAsync(Hangzhou);
        var bytes = RandomNumberGenerator.GetBytes(9 * 1024 * 1024 + 17); // three chunks, the last short

        var put = await account.PutObjectAsync(Hangzhou, bucket.Name, "disks/web.raw", bytes);
        foreach (var name in new[] { "disks/a", "disks/b", "disks/c", "other" })
        {
            await account.PutObjectAsync(Hangzhou, bucket.Name, name, [1, 2, 3]);
        }

        Assert.Equal((bytes.LongLength, Convert.ToHexStringLower(SHA256.HashData(bytes))), (put.SizeBytes, put.Sha256));
        Assert.Equal(bytes, await account.GetObjectBytesAsync(Hangzhou, bucket.Name, "disks/web.raw"));
        Assert.Equal(bytes[4_000_000..8_500_000], await account.GetObjectBytesAsync(Hangzhou, bucket.Name, "disks/web.raw", 4_000_000, 4_500_000));
        var head = (await account.Objects().HeadObjectAsync(new HeadObjectRequest { RegionId = Hangzhou, Bucket = bucket.Name, Name = "disks/web.raw" })).Object;
        Assert.Equal(put.Sha256, head.Sha256);
        var first = await account.Objects().ListObjectsAsync(new ListObjectsRequest { RegionId = Hangzhou, Bucket = bucket.Name, Prefix = "disks/", PageSize = 3 });
        var second = await account.Objects().ListObjectsAsync(new ListObjectsRequest
        {
            RegionId = Hangzhou, Bucket = bucket.Name, Prefix = "disks/", PageSize = 3, PageToken = first.NextPageToken,
        });
        Assert.Equal(["disks/a", "disks/b", "disks/c"], first.Objects.Select(o => o.Name));
        Assert.Equal(["disks/web.raw"], second.Objects.Select(o => o.Name));
        Assert.Empty(second.NextPageToken);
    }

    [Fact]
    public async Task ABucketDeletesOnlyWhenEmptyAndItsNameIsTakenOncePerRegion()
    {
        var account = await _cluster.NewAccountAsync();
        var other = await _cluster.NewAccountAsync();
        var bucket = await account.NewBucketAsync(Hangzhou);
        await account.PutObjectAsync(Hangzhou, bucket.Name, "x", [1]);

        await RpcAssert.FailsAsync(StatusCode.AlreadyExists, "InvalidBucketName.AlreadyExists", () =>
            other.Objects().CreateBucketAsync(new CreateBucketRequest { RegionId = Hangzhou, Name = bucket.Name }).ResponseAsync);
        await other.Objects().CreateBucketAsync(new CreateBucketRequest { RegionId = Shanghai, Name = bucket.Name }); // another region
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, "BucketNotEmpty", () =>
            account.Objects().DeleteBucketAsync(new DeleteBucketRequest { RegionId = Hangzhou, Name = bucket.Name }).ResponseAsync);
        await account.Objects().DeleteObjectAsync(new DeleteObjectRequest { RegionId = Hangzhou, Bucket = bucket.Name, Name = "x" });
        await account.Objects().DeleteObjectAsync(new DeleteObjectRequest { RegionId = Hangzhou, Bucket = bucket.Name, Name = "x" }); // missing: fine
        await account.Objects().DeleteBucketAsync(new DeleteBucketRequest { RegionId = Hangzhou, Name = bucket.Name });

        Assert.DoesNotContain(bucket.Name, (await account.Objects().ListBucketsAsync(new ListBucketsRequest())).Buckets.Select(b => b.Name));
        Assert.Equal([Shanghai], (await other.Objects().ListBucketsAsync(new ListBucketsRequest())).Buckets.Where(b => b.Name == bucket.Name).Select(b => b.RegionId));
    }

    [Fact]
    public async Task R36_AnotherAccountsPrivateBucketIsNotFoundAndAPublicReadOneCanOnlyBeRead()
    {
        var owner = await _cluster.NewAccountAsync();
        var other = await _cluster.NewAccountAsync();
        var privateBucket = await owner.NewBucketAsync(Hangzhou);
        var publicBucket = await owner.NewBucketAsync(Hangzhou, BucketAcl.PublicRead);
        await owner.PutObjectAsync(Hangzhou, privateBucket.Name, "secret", [1, 2]);
        await owner.PutObjectAsync(Hangzhou, publicBucket.Name, "shared", [3, 4]);

        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidBucketName.NotFound", () => other.GetObjectBytesAsync(Hangzhou, privateBucket.Name, "secret"));
        Assert.Equal([3, 4], await other.GetObjectBytesAsync(Hangzhou, publicBucket.Name, "shared"));
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidBucketName.NotFound", () => other.PutObjectAsync(Hangzhou, publicBucket.Name, "mine", [5]));
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidBucketName.NotFound", () =>
            other.Objects().ListObjectsAsync(new ListObjectsRequest { RegionId = Hangzhou, Bucket = publicBucket.Name }).ResponseAsync);
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidBucketName.NotFound", () =>
            other.Objects().DeleteObjectAsync(new DeleteObjectRequest { RegionId = Hangzhou, Bucket = publicBucket.Name, Name = "shared" }).ResponseAsync);
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidOSSObject.NotFound", () => owner.GetObjectBytesAsync(Hangzhou, publicBucket.Name, "missing"));
    }

    [Fact]
    public async Task BadNamesSizesAndStreamsAreRefusedAndLeaveNothing()
    {
        var account = await _cluster.NewAccountAsync();
        var bucket = await account.NewBucketAsync(Hangzhou);

        foreach (var name in new[] { "ab", "Upper", "-dash", "dash-", "under_score", new string('a', 64) })
        {
            await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidBucketName.Malformed", () =>
                account.Objects().CreateBucketAsync(new CreateBucketRequest { RegionId = Hangzhou, Name = name }).ResponseAsync);
        }
        foreach (var name in new[] { "", "/leading", "\\leading", "tab\tname", new string('x', 1024) })
        {
            await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidObjectName.Malformed", () => account.PutObjectAsync(Hangzhou, bucket.Name, name, [1]));
        }
        // The header promises more bytes than arrive, then fewer.
        using (var call = account.Objects().PutObject())
        {
            await call.RequestStream.WriteAsync(new PutObjectRequest { Header = new PutObjectHeader { RegionId = Hangzhou, Bucket = bucket.Name, Name = "short", SizeBytes = 10 } });
            await call.RequestStream.WriteAsync(new PutObjectRequest { Data = Google.Protobuf.ByteString.CopyFrom([1, 2, 3]) });
            await call.RequestStream.CompleteAsync();
            await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidParameter", () => call.ResponseAsync);
        }
        using (var call = account.Objects().PutObject())
        {
            await call.RequestStream.WriteAsync(new PutObjectRequest { Header = new PutObjectHeader { RegionId = Hangzhou, Bucket = bucket.Name, Name = "long", SizeBytes = 2 } });
            await call.RequestStream.WriteAsync(new PutObjectRequest { Data = Google.Protobuf.ByteString.CopyFrom([1, 2, 3]) });
            await call.RequestStream.CompleteAsync();
            await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidParameter", () => call.ResponseAsync);
        }
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidParameter", () => account.GetObjectBytesAsync(Hangzhou, bucket.Name, "missing", offset: -1));

        Assert.Empty((await account.Objects().ListObjectsAsync(new ListObjectsRequest { RegionId = Hangzhou, Bucket = bucket.Name })).Objects);
    }

    [Fact]
    public async Task R34_AnObjectSharesChunksWithAnImageOfTheSameBytesAndItsDeleteGivesOnlyItsOwnBack()
    {
        var account = await _cluster.NewAccountAsync();
        var bucket = await account.NewBucketAsync(Shanghai);
        var bytes = ContentImages.Bytes([7001, 7002, 7003]);
        var own = ContentImages.Bytes([7004]);
        await _cluster.NewImageWithContentAsync(account, Shanghai, bytes);
        var shared = ChunkPaths(Shanghai, bytes);
        var written = shared.Select(File.GetLastWriteTimeUtc).ToList();

        await account.PutObjectAsync(Shanghai, bucket.Name, "same.raw", bytes);
        await account.PutObjectAsync(Shanghai, bucket.Name, "own.raw", own);
        Assert.Equal(written, shared.Select(File.GetLastWriteTimeUtc)); // not one chunk written twice
        Assert.True(File.Exists(ChunkPaths(Shanghai, own)[0]));
        await account.Objects().DeleteObjectAsync(new DeleteObjectRequest { RegionId = Shanghai, Bucket = bucket.Name, Name = "own.raw" });
        await account.Objects().DeleteObjectAsync(new DeleteObjectRequest { RegionId = Shanghai, Bucket = bucket.Name, Name = "same.raw" });
        await _cluster.Client<ContentService.ContentServiceClient>(_cluster.ServiceToken()).CollectGarbageAsync(new CollectGarbageRequest { RegionId = Shanghai });

        Assert.False(File.Exists(ChunkPaths(Shanghai, own)[0])); // the object's own chunk went
        Assert.All(shared, path => Assert.True(File.Exists(path))); // the image's stayed
    }

    [Fact]
    public async Task R29_ASignedLinkDownloadsOverPlainHttpWithRangesAndAnAlteredOrExpiredOneIsRefused()
    {
        var account = await _cluster.NewAccountAsync();
        var bucket = await account.NewBucketAsync(Hangzhou);
        var bytes = RandomNumberGenerator.GetBytes(5 * 1024 * 1024);
        await account.PutObjectAsync(Hangzhou, bucket.Name, "exports/disk 1.vhd", bytes);
        var link = await account.Objects().CreateDownloadUrlAsync(new CreateDownloadUrlRequest { RegionId = Hangzhou, Bucket = bucket.Name, Name = "exports/disk 1.vhd" });
        using var http = new HttpClient();

        var whole = await http.GetAsync(link.Url);
        Assert.Equal(HttpStatusCode.OK, whole.StatusCode);
        Assert.Equal(new Version(1, 1), whole.Version);
        Assert.Equal(bytes, await whole.Content.ReadAsByteArrayAsync());
        using var ranged = new HttpRequestMessage(HttpMethod.Get, link.Url);
        ranged.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(1_000_000, 1_999_999);
        var part = await http.SendAsync(ranged);
        Assert.Equal(HttpStatusCode.PartialContent, part.StatusCode);
        Assert.Equal($"bytes 1000000-1999999/{bytes.Length}", part.Content.Headers.ContentRange?.ToString());
        Assert.Equal(bytes[1_000_000..2_000_000], await part.Content.ReadAsByteArrayAsync());
        using var outside = new HttpRequestMessage(HttpMethod.Get, link.Url);
        outside.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(bytes.Length, null);
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, (await http.SendAsync(outside)).StatusCode);

        var uri = new Uri(link.Url);
        var expires = long.Parse(System.Web.HttpUtility.ParseQueryString(uri.Query)["expires"]!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(HttpStatusCode.Forbidden, (await http.GetAsync(link.Url.Replace($"expires={expires}", $"expires={expires + 3600}", StringComparison.Ordinal))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await http.GetAsync(link.Url.Replace("disk%201.vhd", "disk%202.vhd", StringComparison.Ordinal))).StatusCode);
        var brief = await account.Objects().CreateDownloadUrlAsync(new CreateDownloadUrlRequest
        {
            RegionId = Hangzhou, Bucket = bucket.Name, Name = "exports/disk 1.vhd", Ttl = Duration.FromTimeSpan(TimeSpan.FromSeconds(1)),
        });
        await Task.Delay(TimeSpan.FromSeconds(2.1));
        Assert.Equal(HttpStatusCode.Forbidden, (await http.GetAsync(brief.Url)).StatusCode);
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidParameter", () => account.Objects().CreateDownloadUrlAsync(new CreateDownloadUrlRequest
        {
            RegionId = Hangzhou, Bucket = bucket.Name, Name = "exports/disk 1.vhd", Ttl = Duration.FromTimeSpan(TimeSpan.FromDays(8)),
        }).ResponseAsync);
    }

    /// <summary>Where the blob store keeps the 4 MiB chunks of these bytes.</summary>
    private List<string> ChunkPaths(string region, byte[] bytes) =>
        bytes.Chunk(4 * 1024 * 1024).Select(c => Convert.ToHexStringLower(SHA256.HashData(c)))
            .Select(name => Path.Combine(_cluster.DataDirectory, "blobs", region, "chunks", name[..2], name)).ToList();
}
