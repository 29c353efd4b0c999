using GrpcImages.Catalog.Storage;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.ServiceDefaults.Hosting;
using GrpcImages.ServiceDefaults.Identity;
using GrpcImages.ServiceDefaults.Validation;

namespace GrpcImages.Catalog.Domain;

/// <summary>What the transfer service asks of the catalog: an image's content, and the images copies and imports make.</summary>
public sealed class ImageControl(ImageAccess access, CatalogStore store, Regions regions)
{
    /// <summary>An image as <paramref name="accountId"/> (or the caller, when empty) sees it, with the content of each disk.</summary>
    public async Task<GetImageContentResponse> GetImageContentAsync(Caller caller, string regionId, string imageId, string accountId)
    {
        var region = regions.Require(regionId);
        var viewer = Check.IsAccountId(accountId) ? Caller.Root(accountId, default) : caller;
        var image = await access.RequireAsync(viewer, region, imageId);
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
