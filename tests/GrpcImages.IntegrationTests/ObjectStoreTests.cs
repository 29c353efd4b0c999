using System.Net;
using System.Security.Cryptography;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using GrpcImages.Client;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.Testing;
using static GrpcImages.IntegrationTests.CatalogSteps;

namespace GrpcImages.IntegrationTests;

/// <summary>The object store: buckets and objects (R24, R29), and signed download links served over plain HTTP.</summary>
public class ObjectStoreTests(ClusterFixture fixture, ITestOutputHelper output) : ClusterTest(fixture, output)
{
    [Fact]
    public async Task AnObjectReadsBackWholeOrInRangesAndListsByPrefixInPages()
    {
        var account = await Cluster.NewAccountAsync();
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
        var account = await Cluster.NewAccountAsync();
        var other = await Cluster.NewAccountAsync();
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
        var owner = await Cluster.NewAccountAsync();
        var other = await Cluster.NewAccountAsync();
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
        var account = await Cluster.NewAccountAsync();
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
        async Task<ObjectInfo> PutThreeBytesAsync(string name, long promised)
        {
            using var call = account.Objects().PutObject();
            await call.WriteOrRefusalAsync(new PutObjectRequest { Header = new PutObjectHeader { RegionId = Hangzhou, Bucket = bucket.Name, Name = name, SizeBytes = promised } });
            await call.WriteOrRefusalAsync(new PutObjectRequest { Data = Google.Protobuf.ByteString.CopyFrom([1, 2, 3]) });
            return (await call.CompleteOrRefusalAsync()).Object;
        }
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidParameter", () => PutThreeBytesAsync("short", 10));
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidParameter", () => PutThreeBytesAsync("long", 2));
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidParameter", () => account.GetObjectBytesAsync(Hangzhou, bucket.Name, "missing", offset: -1));

        Assert.Empty((await account.Objects().ListObjectsAsync(new ListObjectsRequest { RegionId = Hangzhou, Bucket = bucket.Name })).Objects);
    }

    [Fact]
    public async Task R34_AnObjectSharesChunksWithAnImageOfTheSameBytesAndItsDeleteGivesOnlyItsOwnBack()
    {
        var account = await Cluster.NewAccountAsync();
        var bucket = await account.NewBucketAsync(Shanghai);
        var bytes = ContentImages.Bytes([7001, 7002, 7003]);
        var own = ContentImages.Bytes([7004]);
        await Cluster.NewImageWithContentAsync(account, Shanghai, bytes);
        var shared = ChunkPaths(Shanghai, bytes);
        var written = shared.Select(File.GetLastWriteTimeUtc).ToList();

        await account.PutObjectAsync(Shanghai, bucket.Name, "same.raw", bytes);
        await account.PutObjectAsync(Shanghai, bucket.Name, "own.raw", own);
        Assert.Equal(written, shared.Select(File.GetLastWriteTimeUtc)); // not one chunk written twice
        Assert.True(File.Exists(ChunkPaths(Shanghai, own)[0]));
        await account.Objects().DeleteObjectAsync(new DeleteObjectRequest { RegionId = Shanghai, Bucket = bucket.Name, Name = "own.raw" });
        await account.Objects().DeleteObjectAsync(new DeleteObjectRequest { RegionId = Shanghai, Bucket = bucket.Name, Name = "same.raw" });
        await Cluster.Client<ContentService.ContentServiceClient>(Cluster.ServiceToken()).CollectGarbageAsync(new CollectGarbageRequest { RegionId = Shanghai });

        Assert.False(File.Exists(ChunkPaths(Shanghai, own)[0])); // the object's own chunk went
        Assert.All(shared, path => Assert.True(File.Exists(path))); // the image's stayed
    }

    [Fact]
    public async Task R29_ASignedLinkDownloadsOverPlainHttpWithRangesAndAnAlteredOrExpiredOneIsRefused()
    {
        var account = await Cluster.NewAccountAsync();
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

    [Fact]
    public async Task R29_AStaleLinkNeverServesWhatIsMadeLaterUnderTheSameNames()
    {
        var first = await Cluster.NewAccountAsync();
        var second = await Cluster.NewAccountAsync();
        var name = $"stale-{Guid.NewGuid():N}"[..30];
        await first.Objects().CreateBucketAsync(new CreateBucketRequest { RegionId = Hangzhou, Name = name });
        await first.PutObjectAsync(Hangzhou, name, "x.bin", [1, 1, 1]);
        var week = Duration.FromTimeSpan(TimeSpan.FromDays(7));
        var stale = await first.Objects().CreateDownloadUrlAsync(new CreateDownloadUrlRequest { RegionId = Hangzhou, Bucket = name, Name = "x.bin", Ttl = week });
        using var http = new HttpClient();
        Assert.Equal([1, 1, 1], await http.GetByteArrayAsync(stale.Url));

        // The owner writes the object again: the link named the first write, not the name.
        await first.PutObjectAsync(Hangzhou, name, "x.bin", [2, 2, 2]);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync(stale.Url)).StatusCode);
        var again = await first.Objects().CreateDownloadUrlAsync(new CreateDownloadUrlRequest { RegionId = Hangzhou, Bucket = name, Name = "x.bin", Ttl = week });

        // Deleted with its bucket, and the names taken by another account with its own private bytes.
        await first.Objects().DeleteObjectAsync(new DeleteObjectRequest { RegionId = Hangzhou, Bucket = name, Name = "x.bin" });
        await first.Objects().DeleteBucketAsync(new DeleteBucketRequest { RegionId = Hangzhou, Name = name });
        await second.Objects().CreateBucketAsync(new CreateBucketRequest { RegionId = Hangzhou, Name = name });
        await second.PutObjectAsync(Hangzhou, name, "x.bin", [9, 9, 9]);

        foreach (var link in new[] { stale.Url, again.Url })
        {
            var response = await http.GetAsync(link);
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            Assert.DoesNotContain((byte)9, await response.Content.ReadAsByteArrayAsync());
        }
        var own = await second.Objects().CreateDownloadUrlAsync(new CreateDownloadUrlRequest { RegionId = Hangzhou, Bucket = name, Name = "x.bin" });
        Assert.Equal([9, 9, 9], await http.GetByteArrayAsync(own.Url));
    }

    [Fact]
    public async Task R29_ANameWithDotSegmentsIsRefusedAndEveryNameAcceptedDownloadsByItsLink()
    {
        var account = await Cluster.NewAccountAsync();
        var bucket = await account.NewBucketAsync(Hangzhou);
        foreach (var bad in new[] { "a/../b.bin", "x/./y.bin", "z/..", "..", ".", "a/./", "../up" })
        {
            await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidObjectName.Malformed", () => account.PutObjectAsync(Hangzhou, bucket.Name, bad, [1]));
        }
        using var http = new HttpClient();
        var names = new[]
        {
            "plain.bin", "a b/c d.bin", "pct%2Fslash%41.bin", "q?x=1&y=2#frag.bin", "日本語/ディスク.qcow2", "a//b", "trailing/", "..a/b..", "a/.../b",
            "back\\slash", "+;=,@$!'()*[]{}|^`~.bin", "%", "%%2e%2e/x", "%2e%2e", "emoji-\U0001F600.raw",
        };
        foreach (var (name, i) in names.Select((n, i) => (n, i)))
        {
            byte[] bytes = [(byte)i, 7, 7];
            await account.PutObjectAsync(Hangzhou, bucket.Name, name, bytes);
            var link = await account.Objects().CreateDownloadUrlAsync(new CreateDownloadUrlRequest { RegionId = Hangzhou, Bucket = bucket.Name, Name = name });
            var response = await http.GetAsync(link.Url);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{name}: {response.StatusCode}");
            Assert.Equal(bytes, await response.Content.ReadAsByteArrayAsync());
        }
    }

    [Fact]
    public async Task R29_AnUploadRefusedByItsHeaderReportsTheRefusalWhileItsBytesAreStillBeingSent()
    {
        // The store answers after the header and resets the stream; a write racing that reset read a bare CANCELLED
        // (about one upload in a few hundred) until the uploads took the call's own status (ClientStreams). Each upload
        // on a connection of its own: many reset streams on one connection make Kestrel close it (its guard against
        // resets, a connection error), which is not what this test is about.
        var account = await Cluster.NewAccountAsync();
        var bucket = await account.NewBucketAsync(Hangzhou);
        for (var i = 0; i < 200; i++)
        {
            using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{Cluster.Port(ServiceKind.Transfer)}");
            var objects = new ObjectStoreService.ObjectStoreServiceClient(TestCluster.Authorized(channel, account.Token));
            await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidObjectName.Malformed",
                () => objects.PutObjectAsync(Hangzhou, bucket.Name, $"up/../{i}.raw", new MemoryStream(new byte[1 + i % 3 * 70000])));
        }
        Assert.Empty((await account.Objects().ListObjectsAsync(new ListObjectsRequest { RegionId = Hangzhou, Bucket = bucket.Name })).Objects);
    }

    [Fact]
    public async Task R29_AnObjectDeletedWhileItDownloadsEndsTheResponseShortWithoutAnError()
    {
        var account = await Cluster.NewAccountAsync();
        var bucket = await account.NewBucketAsync(Hangzhou);
        var bytes = RandomNumberGenerator.GetBytes(48 * 1024 * 1024); // 12 chunks: far more than the socket buffers hold
        await account.PutObjectAsync(Hangzhou, bucket.Name, "slow.raw", bytes);
        var link = await account.Objects().CreateDownloadUrlAsync(new CreateDownloadUrlRequest { RegionId = Hangzhou, Bucket = bucket.Name, Name = "slow.raw" });
        using var http = new HttpClient();
        using var response = await http.GetAsync(link.Url, HttpCompletionOption.ResponseHeadersRead);
        await using var body = await response.Content.ReadAsStreamAsync();
        var received = new MemoryStream();
        var buffer = new byte[64 * 1024];
        while (received.Length < 1024 * 1024)
        {
            received.Write(buffer, 0, await body.ReadAsync(buffer));
        }

        await account.Objects().DeleteObjectAsync(new DeleteObjectRequest { RegionId = Hangzhou, Bucket = bucket.Name, Name = "slow.raw" });
        await Cluster.Client<ContentService.ContentServiceClient>(Cluster.ServiceToken()).CollectGarbageAsync(new CollectGarbageRequest { RegionId = Hangzhou });
        var cut = await Record.ExceptionAsync(async () =>
        {
            int read;
            while ((read = await body.ReadAsync(buffer)) > 0)
            {
                received.Write(buffer, 0, read);
            }
        });

        Assert.True(cut is not null || received.Length < bytes.Length, "the whole object arrived although its content was collected");
        Assert.Equal(bytes.AsSpan(0, (int)received.Length).ToArray(), received.ToArray()); // what arrived is the object's, and no other bytes
        var lines = Cluster.Logs.Recent;
        Assert.Contains(lines, l => l.Contains($"{bucket.Name}/slow.raw ended early", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains("FileNotFound", StringComparison.Ordinal) || l.Contains("BlobMissing", StringComparison.Ordinal));
    }

    /// <summary>Where the blob store keeps the 4 MiB chunks of these bytes.</summary>
    private List<string> ChunkPaths(string region, byte[] bytes) =>
        bytes.Chunk(4 * 1024 * 1024).Select(c => Convert.ToHexStringLower(SHA256.HashData(c)))
            .Select(name => Path.Combine(Cluster.DataDirectory, "blobs", region, "chunks", name[..2], name)).ToList();
}
