using System.CommandLine;
using System.Diagnostics;
using Google.Protobuf;
using GrpcImages.Client;
using GrpcImages.Contracts.Common.V1;
using GrpcImages.Contracts.Transfer.V1;
using Duration = Google.Protobuf.WellKnownTypes.Duration;

namespace GrpcImages.Cli;

/// <summary>The object store and what moves through it: buckets, objects, images import and images export (R24-R30).</summary>
internal static partial class Commands
{
    private static readonly Option<DiskImageFormat> Format = new("--format") { Description = "RAW, VHD, QCOW2 (and VMDK to import); default: detected on import, RAW on export" };

    private static Command Buckets(TextWriter output)
    {
        var name = Id("bucket");
        var publicRead = new Option<bool>("--public-read") { Description = "Anyone may read its objects (R26: what imports of other accounts read)" };
        return Group("buckets", "Buckets of the object store, per region.",
            Cmd("create", "Create a bucket (3-63 lowercase letters, digits, hyphens).", output, async (p, c, o) =>
            {
                var bucket = (await c.Transfer<ObjectStoreService.ObjectStoreServiceClient>().CreateBucketAsync(new CreateBucketRequest
                {
                    RegionId = p.GetValue(ImgCtl.Region)!, Name = p.GetValue(name)!, Acl = p.GetValue(publicRead) ? BucketAcl.PublicRead : BucketAcl.Private,
                })).Bucket;
                o.Message(bucket, ("bucket", () => bucket.Name), ("region", () => bucket.RegionId), ("acl", () => bucket.Acl.ToString()));
            }, name, publicRead),
            Cmd("list", "Your buckets in the region.", output, async (p, c, o) =>
            {
                var response = await c.Transfer<ObjectStoreService.ObjectStoreServiceClient>().ListBucketsAsync(new ListBucketsRequest { RegionId = p.GetValue(ImgCtl.Region)! });
                o.List(response.Buckets, response, ("BUCKET", b => b.Name), ("REGION", b => b.RegionId), ("ACL", b => b.Acl.ToString()),
                    ("CREATED", b => b.CreateTime?.ToDateTimeOffset().ToString("u") ?? ""));
            }),
            Cmd("delete", "Delete an empty bucket.", output, async (p, c, o) =>
            {
                await c.Transfer<ObjectStoreService.ObjectStoreServiceClient>().DeleteBucketAsync(new DeleteBucketRequest { RegionId = p.GetValue(ImgCtl.Region)!, Name = p.GetValue(name)! });
                o.Line($"deleted {p.GetValue(name)}");
            }, name));
    }

    private static Command Objects(TextWriter output)
    {
        var bucket = Id("bucket");
        var name = Id("name");
        var file = new Argument<FileInfo>("file");
        var objectName = new Option<string?>("--name") { Description = "The object's name (default: the file's name)" };
        var target = new Option<FileInfo?>("--output", "-o") { Description = "Where to write the object (default: its name's last part, in this directory)" };
        var prefix = new Option<string>("--prefix") { Description = "Only names starting with this", DefaultValueFactory = _ => "" };
        var ttl = new Option<int>("--ttl-minutes") { Description = "How long the link works (at most 7 days)", DefaultValueFactory = _ => 60 };
        return Group("objects", "Objects of a bucket: the files images are imported from and exported to.",
            Cmd("put", "Upload a file.", output, async (p, c, o) =>
            {
                var info = await UploadAsync(c, o, p.GetValue(ImgCtl.Region)!, p.GetValue(bucket)!, p.GetValue(file)!, p.GetValue(objectName));
                ShowObject(o, info);
            }, bucket, file, objectName),
            Cmd("get", "Download an object.", output, async (p, c, o) =>
            {
                var objects = c.Transfer<ObjectStoreService.ObjectStoreServiceClient>();
                using var call = objects.GetObject(new GetObjectRequest { RegionId = p.GetValue(ImgCtl.Region)!, Bucket = p.GetValue(bucket)!, Name = p.GetValue(name)! });
                var path = p.GetValue(target)?.FullName ?? Path.GetFileName(p.GetValue(name)!);
                await using var stream = File.Create(path);
                ObjectInfo? info = null;
                var clock = Stopwatch.StartNew();
                while (await call.ResponseStream.MoveNext(CancellationToken.None))
                {
                    var part = call.ResponseStream.Current;
                    if (part.PartCase == GetObjectResponse.PartOneofCase.Info)
                    {
                        info = part.Info;
                        continue;
                    }
                    part.Data.WriteTo(stream);
                    Transferred(o, "download", stream.Position, info?.SizeBytes ?? stream.Position, clock);
                }
                o.EndProgress();
                o.Line($"{path}: {stream.Length} bytes");
            }, bucket, name, target),
            Cmd("list", "List a bucket's objects by name.", output, async (p, c, o) =>
            {
                var response = await c.Transfer<ObjectStoreService.ObjectStoreServiceClient>().ListObjectsAsync(new ListObjectsRequest
                {
                    RegionId = p.GetValue(ImgCtl.Region)!, Bucket = p.GetValue(bucket)!, Prefix = p.GetValue(prefix)!, PageSize = 100,
                });
                o.List(response.Objects, response, ("NAME", x => x.Name), ("BYTES", x => x.SizeBytes.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                    ("SHA256", x => x.Sha256), ("CREATED", x => x.CreateTime?.ToDateTimeOffset().ToString("u") ?? ""));
            }, bucket, prefix),
            Cmd("delete", "Delete an object.", output, async (p, c, o) =>
            {
                await c.Transfer<ObjectStoreService.ObjectStoreServiceClient>().DeleteObjectAsync(new DeleteObjectRequest
                {
                    RegionId = p.GetValue(ImgCtl.Region)!, Bucket = p.GetValue(bucket)!, Name = p.GetValue(name)!,
                });
                o.Line($"deleted {p.GetValue(name)}");
            }, bucket, name),
            Cmd("url", "A signed HTTP link that downloads the object without a token until it expires (R29).", output, async (p, c, o) =>
            {
                var link = await c.Transfer<ObjectStoreService.ObjectStoreServiceClient>().CreateDownloadUrlAsync(new CreateDownloadUrlRequest
                {
                    RegionId = p.GetValue(ImgCtl.Region)!, Bucket = p.GetValue(bucket)!, Name = p.GetValue(name)!,
                    Ttl = Duration.FromTimeSpan(TimeSpan.FromMinutes(p.GetValue(ttl))),
                });
                if (p.GetValue(ImgCtl.Json))
                {
                    o.Message(link);
                }
                else
                {
                    o.Line(link.Url);
                }
            }, bucket, name, ttl));
    }

    private static Command ImportImage(TextWriter output)
    {
        var source = new Argument<string>("source") { Description = "The system disk: oss://bucket/object, an http(s) URL, or a local file (uploaded to --bucket first)" };
        var data = List("--data", "Data disks, the same kinds of source (at most 16)");
        var bucket = new Option<string?>("--bucket") { Description = "Where local files are uploaded first" };
        var name = new Option<string>("--name") { Description = "The image's name", DefaultValueFactory = _ => "" };
        var os = new Option<OsType>("--os-type") { Description = "Linux or Windows", DefaultValueFactory = _ => OsType.Linux };
        var osName = new Option<string>("--os-name") { Description = "e.g. \"CentOS 7\"", DefaultValueFactory = _ => "" };
        var license = new Option<LicenseType>("--license") { Description = "Aliyun (default) or Byol (R28)" };
        var size = new Option<long>("--disk-size-gib") { Description = "The system disk's size (default: the file's virtual size)" };
        return Cmd("import", "Import an image from disk image files (R24-R28).", output, async (p, c, o) =>
        {
            var region = p.GetValue(ImgCtl.Region)!;
            var request = new ImportImageRequest
            {
                RegionId = region, ImageName = p.GetValue(name)!, OsType = p.GetValue(os), OsName = p.GetValue(osName)!, LicenseType = p.GetValue(license),
            };
            var sources = new[] { p.GetValue(source)! }.Concat(p.GetValue(data) ?? []).ToList();
            for (var i = 0; i < sources.Count; i++)
            {
                var url = await SourceUrlAsync(c, o, region, sources[i], p.GetValue(bucket));
                request.Disks.Add(new ImportDiskSpec { SourceUrl = url, Format = i == 0 ? p.GetValue(Format) : DiskImageFormat.Unspecified, DiskSizeGib = i == 0 ? p.GetValue(size) : 0 });
            }
            var response = await c.Transfer<TransferService.TransferServiceClient>().ImportImageAsync(request);
            await FollowAsync(p, c, o, response.Task, $"import {response.ImageId}");
        }, source, data, bucket, name, os, osName, license, Format, size, WaitForTask);
    }

    private static Command ExportImage(TextWriter output)
    {
        var imageId = Id("image-id");
        var bucket = new Option<string>("--bucket") { Description = "Your bucket in the image's region", Required = true };
        var prefix = new Option<string>("--prefix") { Description = "Object names: <prefix>_<image>_system.<ext>", DefaultValueFactory = _ => "" };
        return Cmd("export", "Export an image to a bucket as RAW, VHD or QCOW2 (R29, R30).", output, async (p, c, o) =>
        {
            var response = await c.Transfer<TransferService.TransferServiceClient>().ExportImageAsync(new ExportImageRequest
            {
                RegionId = p.GetValue(ImgCtl.Region)!, ImageId = p.GetValue(imageId)!, Bucket = p.GetValue(bucket)!, ObjectPrefix = p.GetValue(prefix)!,
                Format = p.GetValue(Format),
            });
            if (!p.GetValue(ImgCtl.Json))
            {
                o.Line(response.Notice);
            }
            await FollowAsync(p, c, o, response.Task, $"export {p.GetValue(imageId)}");
            if (!p.GetValue(ImgCtl.Json))
            {
                o.Line($"objects: {string.Join(", ", response.ObjectNames)} (imgctl objects url {p.GetValue(bucket)} <name> makes a download link)");
            }
        }, imageId, bucket, prefix, Format, WaitForTask);
    }

    /// <summary>A source as the import takes it: URLs as they are, a local file uploaded first.</summary>
    private static async Task<string> SourceUrlAsync(Connection c, Output o, string region, string source, string? bucket)
    {
        if (source.StartsWith("oss://", StringComparison.Ordinal) || source.StartsWith("http://", StringComparison.Ordinal) || source.StartsWith("https://", StringComparison.Ordinal))
        {
            return source;
        }
        var file = new FileInfo(source);
        if (!file.Exists)
        {
            throw new ArgumentException($"{source} is neither a URL nor a file.");
        }
        var info = await UploadAsync(c, o, region, bucket ?? throw new ArgumentException("Give --bucket to upload local files to."), file, null);
        return $"oss://{info.Bucket}/{info.Name}";
    }

    private static async Task<ObjectInfo> UploadAsync(Connection c, Output o, string region, string bucket, FileInfo file, string? name)
    {
        using var call = c.Transfer<ObjectStoreService.ObjectStoreServiceClient>().PutObject();
        await call.WriteOrRefusalAsync(new PutObjectRequest
        {
            Header = new PutObjectHeader { RegionId = region, Bucket = bucket, Name = name ?? file.Name, SizeBytes = file.Length, ContentType = "application/octet-stream" },
        });
        await using var stream = file.OpenRead();
        var buffer = new byte[1 << 20];
        var clock = Stopwatch.StartNew();
        int read;
        while ((read = await stream.ReadAsync(buffer)) > 0)
        {
            await call.WriteOrRefusalAsync(new PutObjectRequest { Data = ByteString.CopyFrom(buffer, 0, read) });
            Transferred(o, $"upload {file.Name}", stream.Position, file.Length, clock);
        }
        var info = (await call.CompleteOrRefusalAsync()).Object;
        o.EndProgress();
        return info;
    }

    private static void Transferred(Output o, string what, long done, long total, Stopwatch clock)
    {
        var rate = done / Math.Max(0.001, clock.Elapsed.TotalSeconds);
        var left = rate > 0 ? TimeSpan.FromSeconds((total - done) / rate) : (TimeSpan?)null;
        o.Progress(what, "", total == 0 ? 100 : (int)(done * 100 / total), done, total, left);
    }

    private static void ShowObject(Output o, ObjectInfo info) => o.Message(info,
        ("object", () => info.Name), ("bucket", () => $"{info.Bucket} ({info.RegionId})"), ("bytes", () => info.SizeBytes.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        ("sha256", () => info.Sha256));
}
