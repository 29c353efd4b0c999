using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using GrpcImages.Contracts.Catalog.V1;
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

namespace GrpcImages.Transfer.Domain;

/// <summary>
/// Export requests (R29, R30, R35): the caller's own Available custom image, neither marketplace-derived
/// nor encrypted, to a bucket of the caller's in the image's region, as RAW, VHD or QCOW2, one object
/// per disk. What the task does and what undoes it is <see cref="ExportTask"/>'s list of steps (the image
/// is held while it is exported: ImageIsExporting refuses its delete).
/// </summary>
public sealed class ExportRequests(
    TaskLifecycle lifecycle,
    ObjectIndex objects,
    PeerClient<ImageControlService.ImageControlServiceClient> catalogPeer,
    Regions regions)
{
    public const int MaxPrefixLength = 200;
    private const string Scope = "export";

    /// <summary>R30, said with every export.</summary>
    public const string Notice =
        "An exported image is not expected to boot on other platforms: it carries drivers and settings for this cloud. " +
        "Its disks can be attached to a virtual machine elsewhere to read their data.";

    public async Task<ExportImageResponse> ExportAsync(Caller caller, ExportImageRequest request)
    {
        var account = caller.RequireAccount();
        var region = regions.Require(request.RegionId);
        ObjectStore.CheckBucketName(request.Bucket);
        if (request.ObjectPrefix.Length > MaxPrefixLength)
        {
            throw Fault.InvalidArgument("InvalidParameter", "object_prefix", $"An object prefix is at most {MaxPrefixLength} characters.");
        }
        ObjectStore.CheckObjectName(ObjectName(request.ObjectPrefix, "m-", 0, DiskImageFormat.Raw)); // what the prefix makes must be a name
        var format = request.Format switch
        {
            DiskImageFormat.Unspecified or DiskImageFormat.Raw => DiskImageFormat.Raw,
            DiskImageFormat.Vhd or DiskImageFormat.Qcow2 => request.Format,
            _ => throw Fault.InvalidArgument("InvalidParameter", "format", "Images are exported as RAW, VHD or QCOW2."),
        };
        var token = ClientToken.Of(request, request.ClientToken);
        if (await lifecycle.FindByTokenAsync(account, Scope, token) is { } prior)
        {
            return Response(prior);
        }
        if (!CopyRequests.IsImageId(request.ImageId))
        {
            throw Fault.NotFound("InvalidImageId.NotFound", $"The specified image {Check.Echo(request.ImageId)} does not exist in this region.");
        }
        var content = await catalogPeer.Client.GetImageContentAsync(new GetImageContentRequest { RegionId = region, ImageId = request.ImageId, AccountId = account });
        var image = content.Image;
        if (image.OwnerAccountId != account)
        {
            // Images shared with the caller are its owner's to export; public images are nobody's.
            throw image.OwnerAccountId.Length == 0
                ? Fault.FailedPrecondition("ImageNotSupported", "Public and marketplace images cannot be exported.")
                : Fault.NotFound("InvalidImageId.NotFound", $"The specified image {Check.Echo(request.ImageId)} does not exist in this region.");
        }
        if (image.ProductCode.Length > 0)
        {
            throw Fault.FailedPrecondition("ImageNotSupported", "Images made from marketplace images cannot be exported.");
        }
        if (image.Encryption is { Encrypted: true })
        {
            throw Fault.FailedPrecondition("ImageNotSupported", "Encrypted images cannot be exported.");
        }
        if (image.Status != ImageStatus.Available)
        {
            throw TransferErrors.IncorrectImageStatus($"Only an Available image can be exported; this one is {image.Status}.");
        }
        if (await objects.GetBucketAsync(region, request.Bucket) is not { } bucket || bucket.Owner != account)
        {
            throw ObjectStore.BucketNotFound(request.Bucket);
        }

        var disks = content.Disks.Select((disk, i) => new ExportDiskPlan
        {
            DiskType = (int)disk.DiskType,
            Device = disk.Device,
            SizeGib = disk.SizeGib,
            ContentBytes = disk.ContentBytes > 0 ? disk.ContentBytes : disk.SizeGib << 30,
            SourceManifest = disk.ManifestId,
            StoredBytes = disk.ContentBytes > 0 ? disk.ContentBytes : disk.SizeGib << 30,
            Format = (int)format,
            ObjectName = ObjectName(request.ObjectPrefix, image.ImageId, i, format),
        }).ToList();
        var plan = new ExportPlan { Region = region, ImageId = image.ImageId, Bucket = request.Bucket, Disks = disks };
        var task = lifecycle.NewTask(TaskAction.ExportImage, account, region, image.ImageId, region, plan);
        task.ExportedObjects.AddRange(disks.Select(d => d.ObjectName));
        return Response(await lifecycle.StartAsync(task, plan, null, Scope, token));
    }

    /// <summary>R29: "&lt;prefix&gt;_&lt;imageId&gt;_system.&lt;ext&gt;", "..._data&lt;N&gt;.&lt;ext&gt;".</summary>
    public static string ObjectName(string prefix, string imageId, int disk, DiskImageFormat format) =>
        $"{(prefix.Length > 0 ? prefix + "_" : "")}{imageId}_{(disk == 0 ? "system" : $"data{disk}")}.{DiskFormats.Extension(format)}";

    private static ExportImageResponse Response(TransferTask task) => new() { Task = task, ObjectNames = { task.ExportedObjects }, Notice = Notice };
}
