using Grpc.Core;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Common.V1;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.Contracts.Sharing.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.Testing;
using GrpcImages.Transfer.Formats;
using static GrpcImages.IntegrationTests.CatalogSteps;

namespace GrpcImages.IntegrationTests;

/// <summary>Importing disk image files from the object store and from http(s) (R24-R28), with files qemu-img makes in the test.</summary>
public class ImportTests(ClusterFixture fixture, ITestOutputHelper output) : ClusterTest(fixture, output)
{
    private readonly FileServer _files = fixture.Files;
    private readonly string _scratch = Path.Combine(fixture.Cluster.DataDirectory, "test-files");

    [Theory]
    [InlineData("raw", DiskImageFormat.Raw)]
    [InlineData("qcow2", DiskImageFormat.Qcow2)]
    [InlineData("vpc", DiskImageFormat.Vhd)]
    [InlineData("vmdk", DiskImageFormat.Vmdk)]
    public async Task R24_R25_AnImportOfEachFormatHoldsTheFilesBytes(string qemuFormat, DiskImageFormat format)
    {
        var account = await ImporterAsync();
        var raw = DiskFiles.RawBytes(6, seed: (int)format);
        var file = DiskFiles.Make(_scratch, raw, qemuFormat, qemuFormat == "vpc" ? ["force_size=on"] : []);
        var bucket = await account.NewBucketAsync(Hangzhou);
        await using (var stream = File.OpenRead(file))
        {
            await account.PutObjectAsync(Hangzhou, bucket.Name, "disk", stream);
        }

        var import = await account.ImportAsync(Hangzhou, new ImportDiskSpec { SourceUrl = $"oss://{bucket.Name}/disk", Format = format });
        var task = await account.WaitForTaskAsync(import.Task.TaskId);
        var image = await account.ImageInAsync(Hangzhou, import.ImageId);

        Assert.Equal(TaskStatus.Finished, task.Status);
        Assert.Equal((TaskAction.ImportImage, import.ImageId, 100), (task.Action, task.ResourceId, task.Progress));
        Assert.Equal((ImageStatus.Available, ImageSourceKind.Import, ImageOwnerAlias.Self), (image.Status, image.SourceKind, image.OwnerAlias));
        Assert.Equal(1, image.SizeGib);
        Assert.Equal(raw.LongLength, image.DiskDeviceMappings[0].ContentBytes);
        var disk = (await Cluster.DisksOfAsync(Hangzhou, image.ImageId))[0];
        Assert.Equal(raw, await Cluster.ReadContentAsync(Hangzhou, disk.ManifestId, 0, raw.Length));
        Assert.Empty(ScratchFilesOf(task.TaskId)); // scratch files removed
        // R24: the imported image is an image like any other: instances start from it.
        Assert.Equal(image.ImageId, (await account.NewInstanceAsync(image.ImageId, Hangzhou)).ImageId);
    }

    [Fact]
    public async Task R25_ACompressedQcow2ConvertedByQemuImgHoldsTheSameDiskAsOneReadInPlace()
    {
        var account = await ImporterAsync();
        var bucket = await account.NewBucketAsync(Hangzhou);
        var raw = Enumerable.Range(0, 6 << 20).Select(i => (byte)(i / 4096 % 251 + 1)).ToArray(); // compressible
        var rawPath = DiskFiles.Make(_scratch, raw, "raw");
        var compressed = Path.ChangeExtension(rawPath, "qcow2");
        DiskFiles.QemuImg(["convert", "-c", "-f", "raw", "-O", "qcow2", rawPath, compressed]);
        await account.PutObjectAsync(Hangzhou, bucket.Name, "compressed.qcow2", await File.ReadAllBytesAsync(compressed));
        await account.PutObjectAsync(Hangzhou, bucket.Name, "plain.qcow2", await File.ReadAllBytesAsync(DiskFiles.Make(_scratch, raw, "qcow2")));

        var manifests = new List<string>();
        foreach (var name in new[] { "compressed.qcow2", "plain.qcow2" })
        {
            var import = await account.ImportAsync(Hangzhou, new ImportDiskSpec { SourceUrl = $"oss://{bucket.Name}/{name}" });
            Assert.Equal(TaskStatus.Finished, (await account.WaitForTaskAsync(import.Task.TaskId)).Status);
            manifests.Add((await Cluster.DisksOfAsync(Hangzhou, import.ImageId))[0].ManifestId);
        }

        Assert.Equal(raw, await Cluster.ReadContentAsync(Hangzhou, manifests[0], 0, raw.Length));
        Assert.Equal(manifests[0], manifests[1]); // the same chunks: the same content
        Assert.Contains(Cluster.Logs.Recent, l => l.Contains("the QCOW2 has compressed clusters, so qemu-img converts it", StringComparison.Ordinal));
    }

    [Fact]
    public async Task R25_AQcow2WhoseTablesPointOutsideItFailsItsTaskLeavingNoImageAndNoQuotaUsed()
    {
        var account = await ImporterAsync();
        var bucket = await account.NewBucketAsync(Hangzhou);
        var file = await File.ReadAllBytesAsync(DiskFiles.Make(_scratch, DiskFiles.RawBytes(2, seed: 21), "qcow2"));
        var l1 = (int)System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(file.AsSpan(40));
        var l2 = (int)(System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(file.AsSpan(l1)) & 0x00FF_FFFF_FFFF_FE00);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(file.AsSpan(l2), (ulong)file.LongLength + (1UL << 30)); // past the file's end
        await account.PutObjectAsync(Hangzhou, bucket.Name, "hostile.qcow2", file);
        var before = await UsedImageQuotaAsync(account);

        var import = await account.ImportAsync(Hangzhou, new ImportDiskSpec { SourceUrl = $"oss://{bucket.Name}/hostile.qcow2" });
        var task = await account.WaitForTaskAsync(import.Task.TaskId);

        Assert.Equal(TaskStatus.Failed, task.Status);
        Assert.Equal("InvalidImageFormat.Malformed", task.Error.Reason);
        Assert.Contains("outside the file", task.Error.Message, StringComparison.Ordinal);
        var image = await account.ImageInAsync(Hangzhou, import.ImageId);
        Assert.Equal(ImageStatus.CreateFailed, image.Status);
        Assert.Equal(before, await UsedImageQuotaAsync(account));
        Assert.Empty(ScratchFilesOf(task.TaskId));
    }

    [Fact]
    public async Task R24_AnImportFromAnHttpSourceWithADataDiskHoldsBothFiles()
    {
        var account = await ImporterAsync();
        var system = DiskFiles.RawBytes(5, seed: 11);
        var data = DiskFiles.RawBytes(3, seed: 12);
        var systemUrl = _files.Serve($"{Guid.NewGuid():N}.qcow2", File.ReadAllBytes(DiskFiles.Make(_scratch, system, "qcow2")));
        var dataUrl = _files.Serve($"{Guid.NewGuid():N}.raw", data);

        var import = await account.ImportAsync(Hangzhou, new ImportDiskSpec { SourceUrl = systemUrl }, new ImportDiskSpec { SourceUrl = dataUrl, DiskSizeGib = 40 });
        var task = await account.WaitForTaskAsync(import.Task.TaskId);
        var image = await account.ImageInAsync(Hangzhou, import.ImageId);

        Assert.Equal(TaskStatus.Finished, task.Status);
        Assert.Equal([(DiskType.System, 1L), (DiskType.Data, 40L)], image.DiskDeviceMappings.Select(m => (m.DiskType, m.SizeGib)));
        var disks = await Cluster.DisksOfAsync(Hangzhou, image.ImageId);
        Assert.Equal(system, await Cluster.ReadContentAsync(Hangzhou, disks[0].ManifestId, 0, system.Length));
        Assert.Equal(data, await Cluster.ReadContentAsync(Hangzhou, disks[1].ManifestId, 0, data.Length));
    }

    [Fact]
    public async Task R26_SourcesOnLoopbackPrivateOrLinkLocalAddressesAndInternalEndpointsAreRefusedLeavingNothing()
    {
        var account = await ImporterAsync();
        var before = await UsedImageQuotaAsync(account);
        var refused = new[]
        {
            "http://127.0.0.1/disk.raw",
            "http://[::1]/disk.raw",
            "http://169.254.169.254/latest/meta-data/",
            "http://10.1.2.3/disk.raw",
            "http://192.168.0.10/disk.raw",
            "http://2130706433/disk.raw", // 127.0.0.1 as one decimal number
            "http://0x7f.0.0.1/disk.raw", // hexadecimal
            "http://0177.0.0.1/disk.raw", // octal
            "http://[::ffff:127.0.0.1]/disk.raw", // IPv4-mapped IPv6
            "http://[::ffff:a9fe:a9fe]/disk.raw", // 169.254.169.254, mapped
            "http://localhost/disk.raw", // a name that resolves to loopback
            "http://0.0.0.0/disk.raw",
            $"http://127.0.0.1:{_files.Port + 1}/disk.raw", // loopback on a port not allowed
            "http://203.0.113.5:8080/disk.raw", // a port imports may not use
            _files.RedirectTo("http://127.0.0.1/disk.raw"), // an allowed server redirecting to loopback
            _files.RedirectTo("http://localhost:80/disk.raw"),
            "ftp://example.com/disk.raw",
        };
        foreach (var url in refused)
        {
            var error = await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidOSSObject.Malformed",
                () => account.ImportAsync(Hangzhou, new ImportDiskSpec { SourceUrl = url }));
            Assert.DoesNotContain("Exception", error.Status.Detail, StringComparison.Ordinal);
        }
        var internalEndpoint = await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidOSSObject.Malformed", () => account.ImportAsync(Hangzhou,
            new ImportDiskSpec { SourceUrl = "https://images.oss-cn-hangzhou-internal.aliyuncs.com/web.qcow2" }));
        Assert.Contains("https://images.oss-cn-hangzhou.aliyuncs.com/web.qcow2", internalEndpoint.Status.Detail, StringComparison.Ordinal);

        Assert.Empty((await account.Tasks().ListTasksAsync(new ListTasksRequest { RegionId = Hangzhou })).Tasks);
        Assert.Empty((await account.Images().ListImagesAsync(new ListImagesRequest { RegionId = Hangzhou, OwnerAlias = ImageOwnerAlias.Self })).Images);
        Assert.Equal(before, await UsedImageQuotaAsync(account));
    }

    [Fact]
    public async Task R25_IsosMismatchedFormatsAndQcow2WithABackingFileAreRefusedBeforeAnythingIsRead()
    {
        var account = await ImporterAsync();
        var bucket = await account.NewBucketAsync(Hangzhou);
        var iso = new byte[64 * 1024];
        "CD001"u8.CopyTo(iso.AsSpan(0x8001));
        await account.PutObjectAsync(Hangzhou, bucket.Name, "cd.iso", iso);
        await account.PutObjectAsync(Hangzhou, bucket.Name, "plain.raw", DiskFiles.RawBytes(1, seed: 3));
        var backed = Path.Combine(Directory.CreateDirectory(_scratch).FullName, $"{Guid.NewGuid():N}.qcow2");
        DiskFiles.QemuImg(["create", "-q", "-f", "qcow2", "-b", "/etc/passwd", "-F", "raw", backed, "1M"]);
        await using (var stream = File.OpenRead(backed))
        {
            await account.PutObjectAsync(Hangzhou, bucket.Name, "backed.qcow2", stream);
        }
        var descriptorOnly = "# Disk DescriptorFile\nversion=1\ncreateType=\"monolithicFlat\"\nRW 2048 FLAT \"/etc/shadow\" 0\n"u8.ToArray();
        await account.PutObjectAsync(Hangzhou, bucket.Name, "flat.vmdk", descriptorOnly);

        var isoError = await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidImageFormat.Malformed",
            () => account.ImportAsync(Hangzhou, new ImportDiskSpec { SourceUrl = $"oss://{bucket.Name}/cd.iso" }));
        Assert.Contains("convert it to RAW, VHD or QCOW2", isoError.Status.Detail, StringComparison.Ordinal);
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidImageFormat.Malformed",
            () => account.ImportAsync(Hangzhou, new ImportDiskSpec { SourceUrl = $"oss://{bucket.Name}/plain.raw", Format = DiskImageFormat.Qcow2 }));
        var backing = await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidImageFormat.Malformed",
            () => account.ImportAsync(Hangzhou, new ImportDiskSpec { SourceUrl = $"oss://{bucket.Name}/backed.qcow2" }));
        Assert.Contains("backing file", backing.Status.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain("root:", backing.Status.Detail, StringComparison.Ordinal);
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidImageFormat.Malformed",
            () => account.ImportAsync(Hangzhou, new ImportDiskSpec { SourceUrl = $"oss://{bucket.Name}/flat.vmdk" }));

        Assert.Empty((await account.Tasks().ListTasksAsync(new ListTasksRequest { RegionId = Hangzhou })).Tasks);
    }

    [Fact]
    public async Task R25_R27_EmptyObjectsAMissingRoleAndARamUserWithoutObjectReadsAreRefused()
    {
        var account = await ImporterAsync();
        var bucket = await account.NewBucketAsync(Hangzhou);
        await account.PutObjectAsync(Hangzhou, bucket.Name, "empty", []);
        await account.PutObjectAsync(Hangzhou, bucket.Name, "disk.raw", DiskFiles.RawBytes(1, seed: 4));

        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidOSSObject.Size",
            () => account.ImportAsync(Hangzhou, new ImportDiskSpec { SourceUrl = $"oss://{bucket.Name}/empty" }));
        var roleless = await Cluster.NewAccountAsync();
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, "NoSetRoletoECSServiceAcount",
            () => roleless.ImportAsync(Hangzhou, new ImportDiskSpec { SourceUrl = $"oss://{bucket.Name}/disk.raw" }));
        var ramUser = await RamUserAsync(account, "importer", "ecs:ImportImage");
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, "InvalidOSS.NotAuthorized",
            () => ramUser.ImportAsync(Hangzhou, new ImportDiskSpec { SourceUrl = $"oss://{bucket.Name}/disk.raw" }));
        var permitted = await RamUserAsync(account, "reader", "ecs:ImportImage", "oss:GetObject");
        var import = await permitted.ImportAsync(Hangzhou, new ImportDiskSpec { SourceUrl = $"oss://{bucket.Name}/disk.raw" });
        Assert.Equal(TaskStatus.Finished, (await account.WaitForTaskAsync(import.Task.TaskId)).Status);
        // Another account's private object is not there for the caller (R36).
        var other = await ImporterAsync();
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidBucketName.NotFound",
            () => other.ImportAsync(Hangzhou, new ImportDiskSpec { SourceUrl = $"oss://{bucket.Name}/disk.raw" }));
    }

    [Fact]
    public async Task R28_ABringYourOwnLicenseImageKeepsItsLicenseUntilTheSystemDiskIsReplacedWithAPublicWindowsImage()
    {
        var account = await ImporterAsync();
        var url = _files.Serve($"{Guid.NewGuid():N}.raw", DiskFiles.RawBytes(2, seed: 28));
        var import = await account.ImportAsync(Hangzhou, [new ImportDiskSpec { SourceUrl = url }], LicenseType.Byol, OsType.Windows);
        await account.WaitForTaskAsync(import.Task.TaskId);

        var instance = await account.NewInstanceAsync(import.ImageId, Hangzhou);
        Assert.Equal(LicenseType.Byol, instance.LicenseType);
        var instances = account.Client<InstanceService.InstanceServiceClient>();
        await instances.StopInstanceAsync(new StopInstanceRequest { RegionId = Hangzhou, InstanceId = instance.InstanceId });
        var replaced = (await instances.ReplaceSystemDiskAsync(new ReplaceSystemDiskRequest { RegionId = Hangzhou, InstanceId = instance.InstanceId, ImageId = WindowsServer })).Instance;
        Assert.Equal(LicenseType.Aliyun, replaced.LicenseType);
    }

    private async Task<TestAccount> ImporterAsync()
    {
        var account = await Cluster.NewAccountAsync();
        await account.Roles().CreateServiceRoleAsync(new CreateServiceRoleRequest { RoleName = ImportSteps.ImportRole });
        return account;
    }

    private static async Task<TestAccount> RamUserAsync(TestAccount account, string name, params string[] actions)
    {
        var root = account.Client<AccountService.AccountServiceClient>();
        await root.CreateRamUserAsync(new CreateRamUserRequest { AccountId = account.AccountId, UserName = name, AllowedActions = { actions } });
        var token = (await root.IssueTokenAsync(new IssueTokenRequest { RamUser = new RamUserSubject { AccountId = account.AccountId, UserName = name } })).Token;
        return account with { Token = token };
    }

    private string[] ScratchFilesOf(string taskId)
    {
        var directory = Path.Combine(Cluster.DataDirectory, "scratch");
        return Directory.Exists(directory) ? Directory.GetFiles(directory, $"{taskId}.*") : [];
    }

    private static async Task<long> UsedImageQuotaAsync(TestAccount account) =>
        (await account.Client<QuotaService.QuotaServiceClient>().GetQuotasAsync(new GetQuotasRequest { RegionId = Hangzhou })).Quotas
            .Where(q => q.Kind == QuotaKind.Images).Sum(q => (long)q.Usage);
}
