using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Common.V1;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.ServiceDefaults.Errors;
using GrpcImages.ServiceDefaults.Hosting;
using GrpcImages.ServiceDefaults.Identity;
using GrpcImages.ServiceDefaults.Peers;
using GrpcImages.ServiceDefaults.Storage;
using GrpcImages.ServiceDefaults.Validation;
using GrpcImages.Transfer.Formats;
using GrpcImages.Transfer.Objects;
using GrpcImages.Transfer.Storage;
using GrpcImages.Transfer.Tasks;
using Microsoft.Extensions.Options;

namespace GrpcImages.Transfer.Domain;

/// <summary>
/// Import requests (R24-R28, R35): every check that can be made before the bytes move is made here, so
/// a refusal comes back with its rule's code and leaves no image, task or quota unit: the role, the
/// caller's right to read the objects, each source's address (R26), size and format as its first and
/// last bytes say (R25). Accepted requests become a task in the region's import queue and a Waiting
/// image; what the task does and what undoes it is <see cref="ImportTask"/>'s list of steps.
/// </summary>
public sealed class ImportRequests(
    TaskLifecycle lifecycle,
    ImportSources sources,
    ObjectIndex objects,
    ObjectStore objectStore,
    PeerClient<RoleService.RoleServiceClient> roles,
    IOptions<ImportOptions> options,
    Regions regions)
{
    public const int MaxDataDisks = 16;
    public const long MaxSystemDiskGib = 2048;
    public const long MaxDataDiskGib = 32768;
    public const int MaxOsNameLength = 128;
    private const string Scope = "import";
    private const long Gib = 1L << 30;

    public async Task<ImportImageResponse> ImportAsync(Caller caller, ImportImageRequest request)
    {
        var account = caller.RequireAccount();
        var region = regions.Require(request.RegionId);
        if (request.ImageName.Length > 0)
        {
            Check.Name(request.ImageName, "image_name", "InvalidImageName.Malformed");
        }
        Check.Description(request.Description, "description");
        Check.Tags(request.Tags);
        if (request.OsName.Length > MaxOsNameLength || request.OsName.Any(char.IsControl))
        {
            throw Fault.InvalidArgument("InvalidParameter", "os_name", $"An OS name is at most {MaxOsNameLength} printable characters.");
        }
        if (request.Disks.Count is 0 or > MaxDataDisks + 1)
        {
            throw Fault.InvalidArgument("InvalidParameter", "disks", $"An import has a system disk and at most {MaxDataDisks} data disks.");
        }
        var urls = request.Disks.Select((d, i) => sources.Parse(d.SourceUrl, $"disks[{i}].source_url")).ToList();
        for (var i = 0; i < request.Disks.Count; i++)
        {
            var max = i == 0 ? MaxSystemDiskGib : MaxDataDiskGib;
            if (request.Disks[i].DiskSizeGib < 0 || request.Disks[i].DiskSizeGib > max)
            {
                throw Fault.InvalidArgument("InvalidParameter", $"disks[{i}].disk_size_gib", $"This disk is at most {max} GiB.");
            }
            if (!System.Enum.IsDefined(request.Disks[i].Format))
            {
                throw Fault.InvalidArgument("InvalidParameter", $"disks[{i}].format", "The format is RAW, VHD, QCOW2 or VMDK.");
            }
        }
        if (!System.Enum.IsDefined(request.LicenseType) || !System.Enum.IsDefined(request.OsType) || !System.Enum.IsDefined(request.Architecture))
        {
            throw Fault.InvalidArgument("InvalidParameter", "license_type", "An unknown license type, OS type or architecture.");
        }
        var token = ClientToken.Of(request, request.ClientToken);
        if (await lifecycle.FindByTokenAsync(account, Scope, token) is { } prior)
        {
            return Response(prior);
        }
        await RequireRoleAsync(account);

        // R24-R26: each source is looked at before anything is made.
        var disks = new List<ImportDiskPlan>();
        for (var i = 0; i < urls.Count; i++)
        {
            var (size, detected) = await ProbeAsync(caller, account, region, urls[i], $"disks[{i}].source_url");
            DiskFormats.RequireDeclared(request.Disks[i].Format, detected);
            var neededGib = Math.Max(1, (detected.VirtualSize + Gib - 1) / Gib);
            var sizeGib = request.Disks[i].DiskSizeGib == 0 ? neededGib : request.Disks[i].DiskSizeGib;
            if (sizeGib < neededGib || sizeGib > (i == 0 ? MaxSystemDiskGib : MaxDataDiskGib))
            {
                throw Fault.InvalidArgument("InvalidParameter", $"disks[{i}].disk_size_gib",
                    $"The disk holds {neededGib} GiB: its size must be at least that and at most {(i == 0 ? MaxSystemDiskGib : MaxDataDiskGib)} GiB.");
            }
            disks.Add(new ImportDiskPlan
            {
                DiskType = (int)(i == 0 ? DiskType.System : DiskType.Data),
                Device = i == 0 ? "/dev/xvda" : $"/dev/xvd{(char)('a' + i)}",
                SizeGib = sizeGib,
                ContentBytes = detected.VirtualSize,
                StoredBytes = size,
                SourceUrl = urls[i].Url,
                Format = (int)request.Disks[i].Format,
            });
        }

        var plan = new ImportPlan { Region = region, Disks = disks };
        var task = lifecycle.NewTask(TaskAction.ImportImage, account, region, Check.Echo(urls[0].Url, 256), "", plan);
        var pending = new CreatePendingImageRequest
        {
            OwnerAccountId = account,
            RegionId = region,
            ImageName = request.ImageName,
            Description = request.Description,
            Tags = { request.Tags },
            SourceKind = ImageSourceKind.Import,
            OsType = request.OsType,
            OsName = request.OsName,
            Architecture = request.Architecture,
            LicenseType = request.LicenseType,
            SizeGib = disks[0].SizeGib,
            DiskDeviceMappings =
            {
                disks.Select(d => new DiskDeviceMapping { DiskType = (DiskType)d.DiskType, Device = d.Device, SizeGib = d.SizeGib, ContentBytes = d.ContentBytes }),
            },
        };
        return Response(await lifecycle.StartAsync(task, plan, pending, Scope, token));
    }

    /// <summary>The source's size and format, from its first and last bytes (the object store's, or an http(s) server's).</summary>
    private async Task<(long Size, DetectedFormat Format)> ProbeAsync(Caller caller, string account, string region, ImportUrl url, string field)
    {
        if (url.IsObject)
        {
            // R27: a RAM user reads objects only with the owner's permission.
            if (!caller.Allows("oss:GetObject"))
            {
                throw Fault.PermissionDenied("InvalidOSS.NotAuthorized", "This RAM user may not read objects (oss:GetObject) for an import.");
            }
            var (bucket, found) = await objects.GetObjectAsync(region, url.Bucket!, url.ObjectName!);
            if (bucket is null || (bucket.Owner != account && bucket.Acl != BucketAcl.PublicRead))
            {
                throw ObjectStore.BucketNotFound(url.Bucket!);
            }
            if (found is null)
            {
                throw ObjectStore.ObjectNotFound(url.Bucket!, url.ObjectName!);
            }
            RequireSize(found.Size);
            var head = await ReadAllAsync(objectStore.ReadAsync(found, 0, Math.Min(found.Size, DiskFormats.HeadBytes), CancellationToken.None));
            var tailLength = Math.Min(found.Size, DiskFormats.TailBytes);
            var tail = await ReadAllAsync(objectStore.ReadAsync(found, found.Size - tailLength, tailLength, CancellationToken.None));
            return (found.Size, DiskFormats.Detect(head, tail, found.Size));
        }
        using var timeout = new CancellationTokenSource(options.Value.ProbeTimeout);
        using var client = sources.NewClient();
        try
        {
            using var first = await sources.GetAsync(client, url.Http!, new System.Net.Http.Headers.RangeHeaderValue(0, DiskFormats.HeadBytes - 1), field, timeout.Token);
            var size = first.Content.Headers.ContentRange?.Length ?? first.Content.Headers.ContentLength
                ?? throw Fault.FailedPrecondition("InvalidOSSObject.Size", "The source does not say how large it is.");
            RequireSize(size);
            var head = await ReadAtMostAsync(await first.Content.ReadAsStreamAsync(timeout.Token), DiskFormats.HeadBytes, timeout.Token);
            byte[] tail = [];
            if (first.StatusCode == System.Net.HttpStatusCode.PartialContent && size > DiskFormats.TailBytes)
            {
                using var last = await sources.GetAsync(client, url.Http!, new System.Net.Http.Headers.RangeHeaderValue(null, DiskFormats.TailBytes), field, timeout.Token);
                tail = await ReadAtMostAsync(await last.Content.ReadAsStreamAsync(timeout.Token), DiskFormats.TailBytes, timeout.Token);
            }
            else if (size <= DiskFormats.HeadBytes)
            {
                tail = head[(int)Math.Max(0, head.Length - DiskFormats.TailBytes)..];
            }
            return (size, DiskFormats.Detect(head, tail, size));
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            throw Fault.FailedPrecondition("InvalidOSSObject.NotFound", "The source did not answer in time.");
        }
    }

    /// <summary>R27: imports need the account's AliyunECSImageImportDefaultRole.</summary>
    private async Task RequireRoleAsync(string account)
    {
        try
        {
            await roles.Client.GetServiceRoleAsync(new GetServiceRoleRequest { AccountId = account, RoleName = ServiceRoles.ImageImport });
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound)
        {
            throw Fault.PermissionDenied("NoSetRoletoECSServiceAcount",
                $"Importing needs the role {ServiceRoles.ImageImport}: create it (kms CreateServiceRole) and try again.");
        }
    }

    private static void RequireSize(long size)
    {
        if (size <= 0)
        {
            throw Fault.InvalidArgument("InvalidOSSObject.Size", "source_url", "The source is empty (0 bytes): there is no disk to import.");
        }
    }

    private static async Task<byte[]> ReadAllAsync(IAsyncEnumerable<ReadOnlyMemory<byte>> pieces)
    {
        var bytes = new MemoryStream();
        await foreach (var piece in pieces)
        {
            bytes.Write(piece.Span);
        }
        return bytes.ToArray();
    }

    private static async Task<byte[]> ReadAtMostAsync(Stream stream, int limit, CancellationToken cancellationToken)
    {
        var buffer = new byte[limit];
        var total = 0;
        int read;
        while (total < limit && (read = await stream.ReadAsync(buffer.AsMemory(total), cancellationToken)) > 0)
        {
            total += read;
        }
        return buffer[..total];
    }

    private static ImportImageResponse Response(TransferTask task) => new() { ImageId = task.ResourceId, Task = task };
}
