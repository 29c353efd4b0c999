using GrpcImages.Catalog.Storage;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.ServiceDefaults.Hosting;
using GrpcImages.ServiceDefaults.Identity;
using GrpcImages.ServiceDefaults.Storage;
using GrpcImages.ServiceDefaults.Validation;

namespace GrpcImages.Catalog.Domain;

/// <summary>DeleteImage (R31-R34): refused while instances use it or it is shared, unless forced; never while a copy or export holds it.</summary>
public sealed class ImageDeletion(
    ImageStore imageStore,
    SnapshotStore snapshotStore,
    InstanceStore instanceStore,
    ImageAccess access,
    ContentClient content,
    SharingClient sharing,
    CatalogMetrics metrics,
    Regions regions)
{
    /// <summary>Deletes the caller's image; false when there was none (R33). R31: instances keep running after a forced delete.</summary>
    public async Task<bool> DeleteAsync(Caller caller, DeleteImageRequest request)
    {
        var account = caller.RequireAccount();
        var region = regions.Require(request.RegionId);
        return await ConflictRetry.RunAsync<bool>(async () =>
        {
            var stored = ResourceIds.IsValid(request.ImageId, 'm') ? await imageStore.GetImageAsync(region, request.ImageId) : null;
            if (stored is null || stored.Image.RegionId != region)
            {
                return false;
            }
            var image = stored.Image;
            if (image.OwnerAccountId != account)
            {
                // Someone else's image: a visible one (shared, public) is not the caller's to delete;
                // an invisible one is, to the caller, an image that does not exist (R36).
                if (await access.SeesAsync(caller, image))
                {
                    throw CatalogErrors.ImageNotFound(image.ImageId);
                }
                return false;
            }
            if (image.Status is ImageStatus.Creating or ImageStatus.Waiting)
            {
                // R9, R33: a copy's or an import's destination goes with its task (cancel it), even with force.
                throw image.SourceKind switch
                {
                    ImageSourceKind.Copy => CatalogErrors.ImageCopying(),
                    ImageSourceKind.Import => CatalogErrors.ImageImporting(),
                    _ => CatalogErrors.IncorrectImageStatus("The image is still being created and cannot be deleted yet."),
                };
            }

            var users = await imageStore.ImageUsersAsync(region, image.ImageId);
            if (users.Count > 0)
            {
                var alive = await instanceStore.ExistingInstancesAsync(users);
                var gone = users.Except(alive).ToArray();
                if (gone.Length > 0)
                {
                    await imageStore.UnregisterImageUseAsync(region, image.ImageId, gone);
                }
                if (alive.Count > 0 && !request.Force)
                {
                    throw CatalogErrors.ImageUsingByInstance();
                }
            }

            // R32: a shared image goes only with force, which revokes every grant first.
            if (await sharing.ShareCountAsync(image.ImageId, account) > 0)
            {
                if (!request.Force)
                {
                    throw CatalogErrors.ImageUseShared();
                }
                await sharing.RevokeAllAsync(image.ImageId, account, region);
            }

            // The snapshots outlive the image; read their content before the image lets them go.
            var holds = (await snapshotStore.GetSnapshotsAsync(image.DiskDeviceMappings.Select(m => m.SnapshotId).ToList()))
                .OfType<StoredSnapshot>().Select(s => (s.ManifestId, image.ImageId)).ToList();
            var (deleted, holdKind) = await imageStore.DeleteImageAsync(stored, request.Force);
            switch (deleted)
            {
                case DeleteResult.Held:
                    throw (ImageHoldKind)holdKind == ImageHoldKind.Export ? CatalogErrors.ImageExporting() : CatalogErrors.ImageCopying();
                case DeleteResult.Deleted:
                    await content.ReleaseAsync(region, holds);
                    await sharing.ReleaseImageAsync(account, region, image.ImageId);
                    metrics.ImageDeleted(region, request.Force);
                    return true;
                case DeleteResult.InUse:
                    throw CatalogErrors.ImageUsingByInstance();
                default:
                    return Attempt<bool>.Again;
            }
        });
    }
}
