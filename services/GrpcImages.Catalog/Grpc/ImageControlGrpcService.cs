using Grpc.Core;
using GrpcImages.Catalog.Domain;
using GrpcImages.Catalog.Storage;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.ServiceDefaults.Hosting;
using GrpcImages.ServiceDefaults.Identity;
using GrpcImages.ServiceDefaults.Validation;

namespace GrpcImages.Catalog.Grpc;

/// <summary>For the transfer service. Copies and imports (the pending-image RPCs) are not built yet: they answer UNIMPLEMENTED.</summary>
[InternalRpc]
public sealed class ImageControlGrpcService(ImageAccess access, CatalogStore store, Regions regions) : ImageControlService.ImageControlServiceBase
{
    public override async Task<GetImageContentResponse> GetImageContent(GetImageContentRequest request, ServerCallContext context)
    {
        var region = regions.Require(request.RegionId);
        var viewer = Check.IsAccountId(request.AccountId) ? Caller.Root(request.AccountId, default) : context.GetCaller();
        var image = await access.RequireAsync(viewer, region, request.ImageId);
        var response = new GetImageContentResponse { Image = image };
        var snapshots = await store.GetSnapshotsAsync(image.DiskDeviceMappings.Select(m => m.SnapshotId).ToList());
        foreach (var (mapping, found) in image.DiskDeviceMappings.Zip(snapshots))
        {
            var snapshot = found ?? throw CatalogErrors.ImageNotFound(image.ImageId);
            response.Disks.Add(new DiskContent
            {
                DiskType = mapping.DiskType,
                Device = mapping.Device,
                SizeGib = mapping.SizeGib,
                SnapshotId = mapping.SnapshotId,
                ManifestId = snapshot.ManifestId,
                ContentBytes = mapping.ContentBytes,
                Encryption = snapshot.Snapshot.Encryption,
            });
        }
        return response;
    }
}
