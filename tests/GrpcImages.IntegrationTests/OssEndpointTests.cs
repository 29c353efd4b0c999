using System.Security.Cryptography;
using System.Text;
using System.Xml.Linq;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.Testing;

namespace GrpcImages.IntegrationTests;

/// <summary>
/// The OSS-compatible endpoint (R24, R29) over real HTTP, signed by <see cref="OssClient"/> (written from OSS's signing rules; ali-oss
/// itself runs against run.sh in the smoke tier): authentication through kms with the gateway's AccessKey pairs, addressing, the
/// operations' answers, and above all the refusals.
/// </summary>
public class OssEndpointTests(ClusterFixture fixture, ITestOutputHelper output) : ClusterTest(fixture, output)
{
    private static readonly string[] TreeNames = ["t/a", "t/b/1", "t/b/2", "t/c"];
    private static readonly string[] Methods = ["GET", "PUT", "DELETE"];
    private static readonly string[] DotNames = ["a/../b", "..", "a/./b", "./x", "a/..", "%2e%2e/x", "a/%2E%2E", "a%2f..%2fb"];

#pragma warning disable CA5351 // OSS's ETag is the MD5 of the bytes: the protocol decides
    private static byte[] Md5(byte[] data) => MD5.HashData(data);
#pragma warning restore CA5351

    private async Task<(OssClient Oss, string KeyId, string Secret)> ClientOfAsync(TestAccount account, bool v4 = false, bool virtualHosted = false)
    {
        var key = await account.Client<AccessKeyService.AccessKeyServiceClient>().CreateAccessKeyAsync(new CreateAccessKeyRequest { AccountId = account.AccountId });
        return (new OssClient(Cluster.OssEndpoint, key.AccessKey.AccessKeyId, key.AccessKeySecret) { V4 = v4, VirtualHosted = virtualHosted },
            key.AccessKey.AccessKeyId, key.AccessKeySecret);
    }

    private static string NewBucketName() => $"oss-{Guid.NewGuid():N}";

    private static void AssertError(OssAnswer answer, int status, string code)
    {
        Assert.True(answer.Status == status && answer.Code == code, $"expected {status} {code}, got {answer.Status}: {answer.Text}");
        Assert.Matches("^[0-9A-F]{24}$", answer.Header("x-oss-request-id"));
        var error = answer.Xml;
        Assert.Equal(answer.Header("x-oss-request-id"), error.Element("RequestId")?.Value);
        Assert.NotNull(error.Element("HostId"));
        Assert.NotNull(error.Element("Message"));
    }

    [Fact]
    public async Task R24_ObjectsArePutAndReadBackWithV1AndV4SignaturesPathStyleAndVirtualHosted()
    {
        var account = await Cluster.NewAccountAsync();
        var (v1, keyId, secret) = await ClientOfAsync(account);
        using var _ = v1;
        using var v4 = new OssClient(Cluster.OssEndpoint, keyId, secret) { V4 = true };
        using var hosted = new OssClient(Cluster.OssEndpoint, keyId, secret) { VirtualHosted = true };
        var bucket = NewBucketName();
        Assert.Equal(200, (await v1.SendAsync(HttpMethod.Put, bucket)).Status);

        var body = RandomNumberGenerator.GetBytes(300_000);
        var md5 = Md5(body);
        var put = await v1.PutAsync(bucket, "dir/a b+c.bin", body, new Dictionary<string, string>
        {
            ["Content-Type"] = "application/x-test", ["Content-MD5"] = Convert.ToBase64String(md5), ["x-oss-meta-note"] = "kept out",
        });
        Assert.True(put.Status == 200, put.Text);
        Assert.Equal($"\"{Convert.ToHexString(md5)}\"", put.Header("ETag"));

        foreach (var client in new[] { v1, v4, hosted })
        {
            var got = await client.GetAsync(bucket, "dir/a b+c.bin");
            Assert.True(got.Status == 200, got.Text);
            Assert.Equal(body, got.Body);
            Assert.Equal("application/x-test", got.Header("Content-Type"));
        }
        var v4Put = await v4.PutAsync(bucket, "v4.txt", "four"u8.ToArray(), new Dictionary<string, string> { ["Content-Type"] = "text/plain" });
        Assert.True(v4Put.Status == 200, v4Put.Text);
        Assert.Equal("four", (await hosted.GetAsync(bucket, "v4.txt")).Text);

        var location = await hosted.GetAsync(bucket, query: "location");
        Assert.Equal("oss-cn-hangzhou", location.Xml.Value);
    }

    [Fact]
    public async Task R24_WrongSignaturesUnknownKeysSkewedClocksAndMalformedAuthorizationAreRefusedWithOssErrors()
    {
        var account = await Cluster.NewAccountAsync();
        var (oss, keyId, secret) = await ClientOfAsync(account);
        using var _ = oss;
        var bucket = NewBucketName();
        Assert.Equal(200, (await oss.SendAsync(HttpMethod.Put, bucket)).Status);
        Assert.Equal(200, (await oss.PutAsync(bucket, "x.txt", "x"u8.ToArray())).Status);

        using var wrongV1 = new OssClient(Cluster.OssEndpoint, keyId, secret + "x");
        AssertError(await wrongV1.GetAsync(bucket, "x.txt"), 403, "SignatureDoesNotMatch");
        using var wrongV4 = new OssClient(Cluster.OssEndpoint, keyId, secret + "x") { V4 = true };
        AssertError(await wrongV4.GetAsync(bucket, "x.txt"), 403, "SignatureDoesNotMatch");
        using var unknown = new OssClient(Cluster.OssEndpoint, "LTAI" + new string('Q', 20), secret);
        AssertError(await unknown.GetAsync(bucket, "x.txt"), 403, "InvalidAccessKeyId");
        using var late = new OssClient(Cluster.OssEndpoint, keyId, secret) { ClockOffset = TimeSpan.FromMinutes(-16) };
        AssertError(await late.GetAsync(bucket, "x.txt"), 403, "RequestTimeTooSkewed");
        using var early = new OssClient(Cluster.OssEndpoint, keyId, secret) { ClockOffset = TimeSpan.FromMinutes(16), V4 = true };
        AssertError(await early.GetAsync(bucket, "x.txt"), 403, "RequestTimeTooSkewed");
        using var inTime = new OssClient(Cluster.OssEndpoint, keyId, secret) { ClockOffset = TimeSpan.FromMinutes(-14) };
        Assert.Equal(200, (await inTime.GetAsync(bucket, "x.txt")).Status);

        // A signature for one object does not open another: the resource is signed.
        var signed = oss.PresignV1(bucket, "x.txt", DateTimeOffset.UtcNow.AddMinutes(5));
        AssertError(await oss.FetchAsync(new Uri(signed.ToString().Replace("/x.txt", "/y.txt", StringComparison.Ordinal))), 403, "SignatureDoesNotMatch");

        using var anonymous = new OssClient(Cluster.OssEndpoint, null, null);
        foreach (var authorization in new[] { "OSS nocolon", "OSS4-HMAC-SHA256 Signature=ab", "Bearer x", "OSS :", new string('A', 9000) })
        {
            var answer = await anonymous.GetAsync(bucket, "x.txt", headers: new Dictionary<string, string> { ["Authorization"] = authorization });
            Assert.True(answer.Status is 400 or 403 && answer.Code is not null, $"{authorization[..Math.Min(20, authorization.Length)]}: {answer.Status} {answer.Text}");
        }
    }

    [Fact]
    public async Task R36_ARamUserSignsWithItsOwnKeyAndMayDoOnlyItsOssActions()
    {
        var account = await Cluster.NewAccountAsync();
        var (oss, _, _) = await ClientOfAsync(account);
        using var _ = oss;
        var bucket = NewBucketName();
        await oss.SendAsync(HttpMethod.Put, bucket);
        await oss.PutAsync(bucket, "readable.txt", "yes"u8.ToArray());
        await account.Client<AccountService.AccountServiceClient>().CreateRamUserAsync(new CreateRamUserRequest
        {
            AccountId = account.AccountId, UserName = "reader", AllowedActions = { "oss:GetObject", "oss:ListObjects" },
        });
        var key = await account.Client<AccessKeyService.AccessKeyServiceClient>().CreateAccessKeyAsync(new CreateAccessKeyRequest
        {
            AccountId = account.AccountId, UserName = "reader",
        });
        using var reader = new OssClient(Cluster.OssEndpoint, key.AccessKey.AccessKeyId, key.AccessKeySecret) { V4 = true };

        Assert.Equal("yes", (await reader.GetAsync(bucket, "readable.txt")).Text);
        Assert.Equal(200, (await reader.GetAsync(bucket)).Status);
        AssertError(await reader.PutAsync(bucket, "written.txt", "no"u8.ToArray()), 403, "AccessDenied");
        AssertError(await reader.SendAsync(HttpMethod.Delete, bucket, "readable.txt"), 403, "AccessDenied");
        AssertError(await reader.SendAsync(HttpMethod.Post, bucket, "big.bin", "uploads"), 403, "AccessDenied");
        Assert.Equal("yes", (await oss.GetAsync(bucket, "readable.txt")).Text);
    }

    [Fact]
    public async Task R24_PresignedUrlsOfBothVersionsReadUntilTheyExpire()
    {
        var account = await Cluster.NewAccountAsync();
        var (oss, _, _) = await ClientOfAsync(account);
        using var __ = oss;
        var bucket = NewBucketName();
        await oss.SendAsync(HttpMethod.Put, bucket);
        await oss.PutAsync(bucket, "dir/signed file.txt", "signed"u8.ToArray());

        Assert.Equal("signed", (await oss.FetchAsync(oss.PresignV1(bucket, "dir/signed file.txt", DateTimeOffset.UtcNow.AddMinutes(5)))).Text);
        Assert.Equal("signed", (await oss.FetchAsync(oss.PresignV4(bucket, "dir/signed file.txt", DateTimeOffset.UtcNow, 300))).Text);

        AssertError(await oss.FetchAsync(oss.PresignV1(bucket, "dir/signed file.txt", DateTimeOffset.UtcNow.AddSeconds(-5))), 403, "AccessDenied");
        AssertError(await oss.FetchAsync(oss.PresignV4(bucket, "dir/signed file.txt", DateTimeOffset.UtcNow.AddMinutes(-10), 60)), 403, "AccessDenied");
        var tooLong = await oss.FetchAsync(oss.PresignV4(bucket, "dir/signed file.txt", DateTimeOffset.UtcNow, 8 * 24 * 3600));
        Assert.Equal(403, tooLong.Status);
    }

    [Fact]
    public async Task R24_AnotherAccountsBucketIsAccessDeniedWithoutRevealingItsObjectsAndAPublicReadOneIsReadAnonymously()
    {
        var owner = await Cluster.NewAccountAsync();
        var (oss, _, _) = await ClientOfAsync(owner);
        var (stranger, _, _) = await ClientOfAsync(await Cluster.NewAccountAsync());
        using var anonymous = new OssClient(Cluster.OssEndpoint, null, null);
        using var ___ = oss;
        using var ____ = stranger;
        var bucket = NewBucketName();
        await oss.SendAsync(HttpMethod.Put, bucket);
        await oss.PutAsync(bucket, "secret-plans.txt", "private"u8.ToArray());

        var existing = await stranger.GetAsync(bucket, "secret-plans.txt");
        var missing = await stranger.GetAsync(bucket, "no-such-object.txt");
        AssertError(existing, 403, "AccessDenied");
        AssertError(missing, 403, "AccessDenied");
        var listing = await stranger.GetAsync(bucket);
        AssertError(listing, 403, "AccessDenied");
        Assert.DoesNotContain("secret-plans", listing.Text + existing.Text, StringComparison.Ordinal);
        AssertError(await stranger.PutAsync(bucket, "mine.txt", "x"u8.ToArray()), 403, "AccessDenied");
        AssertError(await stranger.SendAsync(HttpMethod.Delete, bucket, "secret-plans.txt"), 403, "AccessDenied");
        AssertError(await stranger.SendAsync(HttpMethod.Put, bucket), 409, "BucketAlreadyExists");
        AssertError(await anonymous.GetAsync(bucket, "secret-plans.txt"), 403, "AccessDenied");
        // The copy source is checked as a read by the copier.
        var strangersBucket = NewBucketName();
        await stranger.SendAsync(HttpMethod.Put, strangersBucket);
        var copy = await stranger.PutAsync(strangersBucket, "stolen.txt", [], new Dictionary<string, string> { ["x-oss-copy-source"] = $"/{bucket}/secret-plans.txt" });
        Assert.True(copy.Status is 403 or 404, copy.Text);

        Assert.Equal(200, (await oss.SendAsync(HttpMethod.Put, bucket, query: "acl", headers: new Dictionary<string, string> { ["x-oss-acl"] = "public-read" })).Status);
        Assert.Equal("private", (await anonymous.GetAsync(bucket, "secret-plans.txt")).Text);
        Assert.Equal(200, (await anonymous.GetAsync(bucket)).Status);
        AssertError(await anonymous.PutAsync(bucket, "anon.txt", "x"u8.ToArray()), 403, "AccessDenied");
        AssertError(await anonymous.GetAsync(""), 403, "AccessDenied");
    }

    [Fact]
    public async Task R24_MultipartUploadsAreCheckedPartByPartAndCompletedFromTheirParts()
    {
        var account = await Cluster.NewAccountAsync();
        var (oss, _, _) = await ClientOfAsync(account, v4: true);
        using var _ = oss;
        var bucket = NewBucketName();
        await oss.SendAsync(HttpMethod.Put, bucket);
        var init = await oss.SendAsync(HttpMethod.Post, bucket, "big/disk.raw", "uploads");
        Assert.True(init.Status == 200, init.Text);
        var uploadId = init.Xml.Element("UploadId")!.Value;
        var parts = new[] { RandomNumberGenerator.GetBytes(4 * 1024 * 1024), RandomNumberGenerator.GetBytes(4 * 1024 * 1024), RandomNumberGenerator.GetBytes(70_000) };
        var etags = new List<string>();
        for (var i = 0; i < parts.Length; i++)
        {
            var put = await oss.PutAsync(bucket, "big/disk.raw", parts[i], query: $"partNumber={i + 1}&uploadId={uploadId}");
            Assert.True(put.Status == 200, put.Text);
            etags.Add(put.Header("ETag")!);
            Assert.Equal($"\"{Convert.ToHexString(Md5(parts[i]))}\"", etags[^1]);
        }
        var listed = await oss.GetAsync(bucket, "big/disk.raw", $"uploadId={uploadId}");
        Assert.Equal(3, listed.Xml.Elements("Part").Count());
        var uploads = await oss.GetAsync(bucket, query: "uploads");
        Assert.Contains(uploadId, uploads.Text, StringComparison.Ordinal);

        byte[] Completion(params (int Number, string ETag)[] list) => Encoding.UTF8.GetBytes(new XElement("CompleteMultipartUpload",
            list.Select(p => new XElement("Part", new XElement("PartNumber", p.Number), new XElement("ETag", p.ETag)))).ToString());
        var wrongETag = await oss.SendAsync(HttpMethod.Post, bucket, "big/disk.raw", $"uploadId={uploadId}",
            Completion((1, etags[0]), (2, "\"00000000000000000000000000000000\""), (3, etags[2])));
        AssertError(wrongETag, 400, "InvalidPart");
        AssertError(await oss.SendAsync(HttpMethod.Post, bucket, "big/disk.raw", $"uploadId={uploadId}", Completion((2, etags[1]), (1, etags[0]))), 400, "InvalidPartOrder");
        AssertError(await oss.SendAsync(HttpMethod.Post, bucket, "big/disk.raw", $"uploadId={uploadId}", Completion((1, etags[0]), (4, etags[0]))), 400, "InvalidPart");
        AssertError(await oss.SendAsync(HttpMethod.Post, bucket, "big/disk.raw", $"uploadId={uploadId}", "<Complete"u8.ToArray()), 400, "MalformedXML");
        AssertError(await oss.SendAsync(HttpMethod.Post, bucket, "other.raw", $"uploadId={uploadId}", Completion((1, etags[0]))), 404, "NoSuchUpload");

        var done = await oss.SendAsync(HttpMethod.Post, bucket, "big/disk.raw", $"uploadId={uploadId}", Completion((1, etags[0]), (2, etags[1]), (3, etags[2])));
        Assert.True(done.Status == 200, done.Text);
        Assert.EndsWith("-3\"", done.Xml.Element("ETag")!.Value, StringComparison.Ordinal);
        var whole = await oss.GetAsync(bucket, "big/disk.raw");
        Assert.Equal(parts.SelectMany(p => p).ToArray(), whole.Body);
        var range = await oss.GetAsync(bucket, "big/disk.raw", headers: new Dictionary<string, string> { ["Range"] = "bytes=4194300-4194309" });
        Assert.Equal(206, range.Status);
        Assert.Equal(whole.Body[4194300..4194310], range.Body);
        AssertError(await oss.GetAsync(bucket, "big/disk.raw", $"uploadId={uploadId}"), 404, "NoSuchUpload");

        var aborted = (await oss.SendAsync(HttpMethod.Post, bucket, "gone.raw", "uploads")).Xml.Element("UploadId")!.Value;
        await oss.PutAsync(bucket, "gone.raw", parts[2], query: $"partNumber=1&uploadId={aborted}");
        Assert.Equal(204, (await oss.SendAsync(HttpMethod.Delete, bucket, "gone.raw", $"uploadId={aborted}")).Status);
        AssertError(await oss.GetAsync(bucket, "gone.raw", $"uploadId={aborted}"), 404, "NoSuchUpload");
    }

    [Fact]
    public async Task R24_UploadPartCopyMakesPartsOfRangesOfObjectsTheCallerMayReadAndRefusesTheRest()
    {
        var account = await Cluster.NewAccountAsync();
        var (oss, _, _) = await ClientOfAsync(account);
        var (stranger, _, _) = await ClientOfAsync(await Cluster.NewAccountAsync());
        using var _ = oss;
        using var __ = stranger;
        var bucket = NewBucketName();
        var other = NewBucketName();
        await oss.SendAsync(HttpMethod.Put, bucket);
        await oss.SendAsync(HttpMethod.Put, other);
        var source = RandomNumberGenerator.GetBytes((5 * 1024 * 1024) + 12_345);
        var small = RandomNumberGenerator.GetBytes(150_000);
        Assert.Equal(200, (await oss.PutAsync(bucket, "src/disk.raw", source)).Status);
        Assert.Equal(200, (await oss.PutAsync(other, "small.bin", small)).Status);
        var uploadId = (await oss.SendAsync(HttpMethod.Post, bucket, "joined.raw", "uploads")).Xml.Element("UploadId")!.Value;

        Task<OssAnswer> CopyPart(int number, string from, string? range, OssClient? client = null)
        {
            var headers = new Dictionary<string, string> { ["x-oss-copy-source"] = from };
            if (range is not null)
            {
                headers["x-oss-copy-source-range"] = range;
            }
            return (client ?? oss).PutAsync(bucket, "joined.raw", [], headers, $"partNumber={number}&uploadId={uploadId}");
        }

        // Part 1: the source's first 4 MiB; part 2: the rest of it; part 3: all of an object of another bucket of the same owner.
        var first = await CopyPart(1, $"/{bucket}/src/disk.raw", "bytes=0-4194303");
        Assert.True(first.Status == 200, first.Text);
        var second = await CopyPart(2, $"/{bucket}/src%2Fdisk.raw", $"bytes=4194304-{source.Length - 1}");
        Assert.True(second.Status == 200, second.Text);
        var third = await CopyPart(3, $"/{other}/small.bin", null);
        Assert.True(third.Status == 200, third.Text);
        var etags = new[] { first, second, third }.Select(a => a.Xml.Element("ETag")!.Value).ToList();
        Assert.Equal($"\"{Convert.ToHexString(Md5(source[..4194304]))}\"", etags[0]);
        Assert.Equal($"\"{Convert.ToHexString(Md5(source[4194304..]))}\"", etags[1]);
        Assert.Equal($"\"{Convert.ToHexString(Md5(small))}\"", etags[2]);
        var listed = (await oss.GetAsync(bucket, "joined.raw", $"uploadId={uploadId}")).Xml.Elements("Part")
            .Select(p => (p.Element("PartNumber")!.Value, p.Element("Size")!.Value)).ToList();
        Assert.Equal([("1", "4194304"), ("2", (source.Length - 4194304).ToString(System.Globalization.CultureInfo.InvariantCulture)), ("3", "150000")], listed);

        // Refused: a range outside the source, a malformed range, a missing source, a name with dot segments, another account's object.
        AssertError(await CopyPart(4, $"/{bucket}/src/disk.raw", $"bytes=0-{source.Length}"), 400, "InvalidArgument");
        AssertError(await CopyPart(4, $"/{bucket}/src/disk.raw", "bytes=9-3"), 400, "InvalidArgument");
        AssertError(await CopyPart(4, $"/{bucket}/src/disk.raw", "lines=0-3"), 400, "InvalidArgument");
        AssertError(await CopyPart(4, $"/{bucket}/no-such-object", null), 404, "NoSuchKey");
        AssertError(await CopyPart(4, $"/{bucket}/src/../src/disk.raw", null), 400, "InvalidObjectName");
        AssertError(await CopyPart(4, "src/disk.raw", null), 400, "InvalidArgument");
        var strangersBucket = NewBucketName();
        await stranger.SendAsync(HttpMethod.Put, strangersBucket);
        await stranger.PutAsync(strangersBucket, "theirs.bin", small);
        var stolen = await CopyPart(4, $"/{strangersBucket}/theirs.bin", null);
        Assert.True(stolen.Status is 403 or 404 && stolen.Code is "AccessDenied" or "NoSuchBucket", stolen.Text);
        // Nor may a stranger copy into the owner's upload, even from its own object.
        AssertError(await CopyPart(4, $"/{strangersBucket}/theirs.bin", null, stranger), 403, "AccessDenied");
        Assert.Equal(3, (await oss.GetAsync(bucket, "joined.raw", $"uploadId={uploadId}")).Xml.Elements("Part").Count());

        byte[] Completion() => Encoding.UTF8.GetBytes(new XElement("CompleteMultipartUpload",
            etags.Select((e, i) => new XElement("Part", new XElement("PartNumber", i + 1), new XElement("ETag", e)))).ToString());
        var done = await oss.SendAsync(HttpMethod.Post, bucket, "joined.raw", $"uploadId={uploadId}", Completion());
        Assert.True(done.Status == 200, done.Text);
        var joined = await oss.GetAsync(bucket, "joined.raw");
        Assert.Equal(source.Concat(small).ToArray(), joined.Body);
        Assert.Equal(source, (await oss.GetAsync(bucket, "src/disk.raw")).Body); // the source is left as it was
    }

    [Fact]
    public async Task R24_RangesConditionsListingsCopiesAndDeletesAnswerAsOssDoes()
    {
        var account = await Cluster.NewAccountAsync();
        var (oss, _, _) = await ClientOfAsync(account);
        using var _ = oss;
        var bucket = NewBucketName();
        await oss.SendAsync(HttpMethod.Put, bucket);
        var body = Encoding.ASCII.GetBytes("0123456789abcdefghij");
        var etag = (await oss.PutAsync(bucket, "r.txt", body)).Header("ETag")!;

        Assert.Equal("56789", (await oss.GetAsync(bucket, "r.txt", headers: new Dictionary<string, string> { ["Range"] = "bytes=5-9" })).Text);
        Assert.Equal("hij", (await oss.GetAsync(bucket, "r.txt", headers: new Dictionary<string, string> { ["Range"] = "bytes=-3" })).Text);
        AssertError(await oss.GetAsync(bucket, "r.txt", headers: new Dictionary<string, string> { ["Range"] = "bytes=20-30" }), 416, "InvalidRange");
        Assert.Equal(304, (await oss.GetAsync(bucket, "r.txt", headers: new Dictionary<string, string> { ["If-None-Match"] = etag })).Status);
        AssertError(await oss.GetAsync(bucket, "r.txt", headers: new Dictionary<string, string> { ["If-Match"] = "\"0000\"" }), 412, "PreconditionFailed");
        Assert.Equal(304, (await oss.GetAsync(bucket, "r.txt", headers: new Dictionary<string, string>
        { ["If-Modified-Since"] = DateTimeOffset.UtcNow.AddMinutes(1).ToString("r") })).Status);

        foreach (var name in TreeNames)
        {
            await oss.PutAsync(bucket, name, Encoding.UTF8.GetBytes(name));
        }
        var folded = (await oss.GetAsync(bucket, query: "prefix=t%2F&delimiter=%2F")).Xml;
        Assert.Equal(["t/a", "t/c"], folded.Elements("Contents").Select(c => c.Element("Key")!.Value));
        Assert.Equal(["t/b/"], folded.Elements("CommonPrefixes").Select(c => c.Element("Prefix")!.Value));
        var first = (await oss.GetAsync(bucket, query: "list-type=2&prefix=t%2F&max-keys=3")).Xml;
        Assert.Equal("true", first.Element("IsTruncated")!.Value);
        var next = (await oss.GetAsync(bucket, query: $"list-type=2&prefix=t%2F&max-keys=3&continuation-token={OssClient.Encode(first.Element("NextContinuationToken")!.Value)}")).Xml;
        Assert.Equal(["t/c"], next.Elements("Contents").Select(c => c.Element("Key")!.Value));

        var copy = await oss.PutAsync(bucket, "copy.txt", [], new Dictionary<string, string> { ["x-oss-copy-source"] = $"/{bucket}/r.txt" });
        Assert.True(copy.Status == 200, copy.Text);
        Assert.Equal(body, (await oss.GetAsync(bucket, "copy.txt")).Body);
        var manifests = await ObjectManifestsAsync(bucket, "r.txt", "copy.txt");
        Assert.Equal(manifests[0], manifests[1]); // no byte copied: the copy shares the source's manifest

        AssertError(await oss.SendAsync(HttpMethod.Delete, bucket), 409, "BucketNotEmpty");
        var delete = await oss.SendAsync(HttpMethod.Post, bucket, query: "delete", body: Encoding.UTF8.GetBytes(new XElement("Delete", new XElement("Quiet", "false"),
            TreeNames.Concat(["r.txt", "copy.txt", "never-was"]).Select(k => new XElement("Object", new XElement("Key", k)))).ToString()));
        Assert.True(delete.Status == 200, delete.Text);
        Assert.Equal(7, delete.Xml.Elements("Deleted").Count());
        AssertError(await oss.GetAsync(bucket, "r.txt"), 404, "NoSuchKey");
        Assert.Equal(204, (await oss.SendAsync(HttpMethod.Delete, bucket)).Status);
        AssertError(await oss.GetAsync(bucket, "r.txt"), 404, "NoSuchBucket");
    }

    /// <summary>One request written byte for byte on a socket: the status and the whole answer.</summary>
    private async Task<(int Status, string Text)> RawAsync(string request)
    {
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync("127.0.0.1", Cluster.OssEndpoint.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var text = await reader.ReadToEndAsync();
        return (int.Parse(text.Split(' ', 3)[1], System.Globalization.CultureInfo.InvariantCulture), text);
    }

    private async Task<string[]> ObjectManifestsAsync(string bucket, params string[] names)
    {
        var index = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<GrpcImages.Transfer.Storage.ObjectIndex>(
            Cluster.Services(ServiceKind.Transfer));
        var found = new List<string>();
        foreach (var name in names)
        {
            found.Add((await index.GetObjectAsync("cn-hangzhou", bucket, name)).Object!.Manifest);
        }
        return [.. found];
    }

    [Fact]
    public async Task R24_DotSegmentsAndMalformedInputAreInvalidArgumentsNeverServerErrors()
    {
        var account = await Cluster.NewAccountAsync();
        var (oss, _, _) = await ClientOfAsync(account);
        using var _ = oss;
        var bucket = NewBucketName();
        await oss.SendAsync(HttpMethod.Put, bucket);

        // Sent raw: HttpClient would remove the dot segments itself.
        foreach (var name in DotNames)
        {
            foreach (var method in Methods)
            {
                var (status, text) = await RawAsync($"{method} /{bucket}/{name} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                Assert.True(status == 400 && text.Contains("<Code>InvalidObjectName</Code>", StringComparison.Ordinal), $"{method} {name}: {status} {text}");
            }
        }
        var (hostedStatus, hostedText) = await RawAsync($"GET /a/../b HTTP/1.1\r\nHost: {bucket}.oss-cn-hangzhou.aliyuncs.com\r\nConnection: close\r\n\r\n");
        Assert.True(hostedStatus == 400 && hostedText.Contains("InvalidObjectName", StringComparison.Ordinal), hostedText);
        using var raw = new HttpClient { BaseAddress = Cluster.OssEndpoint };
        foreach (var target in new[] { $"/{bucket}/%2e%2e/x", $"/{bucket}/a%ZZ", $"/{bucket}/?max-keys=abc", $"/{bucket}/?max-keys=99999999999",
            $"/{bucket}/?list-type=3", $"/{bucket}/x?partNumber=0&uploadId=zz", "/UPPER_case/", $"/{bucket}/?encoding-type=base64", $"/{bucket}/%ff%fe" })
        {
            using var response = await raw.GetAsync(target);
            var text = await response.Content.ReadAsStringAsync();
            Assert.True((int)response.StatusCode is >= 400 and < 500, $"{target}: {(int)response.StatusCode} {text}");
            Assert.Contains("<Code>", text, StringComparison.Ordinal);
        }
        AssertError(await oss.GetAsync(bucket, query: "versions"), 501, "NotImplemented");
        AssertError(await oss.PutAsync(bucket, "md5.bin", "abc"u8.ToArray(), new Dictionary<string, string> { ["Content-MD5"] = Convert.ToBase64String(new byte[16]) }),
            400, "InvalidDigest");
        AssertError(await oss.GetAsync(bucket, "md5.bin"), 404, "NoSuchKey"); // nothing stored on a digest mismatch
        var preflight = new HttpRequestMessage(HttpMethod.Options, $"/{bucket}/upload.bin");
        preflight.Headers.Add("Origin", "https://console.example");
        preflight.Headers.Add("Access-Control-Request-Method", "PUT");
        using var cors = await raw.SendAsync(preflight);
        Assert.Equal(200, (int)cors.StatusCode);
        Assert.Equal("https://console.example", cors.Headers.GetValues("Access-Control-Allow-Origin").Single());
    }
}
