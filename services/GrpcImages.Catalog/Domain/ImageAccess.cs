using GrpcImages.Catalog.Storage;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.ServiceDefaults.Identity;
using GrpcImages.ServiceDefaults.Validation;

namespace GrpcImages.Catalog.Domain;

/// <summary>
/// Which images a caller sees (R4, R19, R36): in the asked region only, its own custom images,
/// public and marketplace images, and (with the sharing service) images shared with it.
/// Anything else is missing to the caller.
/// </summary>
public sealed class ImageAccess(ImageStore imageStore, SharingClient sharing)
{
    /// <summary>A custom or marketplace "m-" id, or a public image's name.</summary>
    public static bool IsImageId(string imageId) =>
        CatalogKeys.IsPublicImageName(imageId)
            ? imageId.Length is > 0 and <= 128 && imageId.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.')
            : ResourceIds.IsValid(imageId, 'm');

    /// <summary>
    /// The image as the caller sees it (with its usage if asked), or null when it does not exist for the caller. One Redis
    /// round trip for own and platform images.
    /// </summary>
    public async Task<Image?> FindAsync(Caller caller, string region, string imageId, bool withUsage = false)
    {
        if (!IsImageId(imageId))
        {
            return null;
        }
        var image = await imageStore.FindImageAsync(region, imageId, withUsage);
        if (image is null || image.RegionId != region)
        {
            // R36: another account's private image costs a sharing check before it answers "missing";
            // a missing id pays the same, so the time of the answer does not tell them apart.
            if (caller.IsAccount && !CatalogKeys.IsPublicImageName(imageId))
            {
                await sharing.IsSharedWithAsync(imageId, caller.AccountId, caller.AccountId);
            }
            return null;
        }
        return await SeesAsync(caller, image) ? image : null;
    }

    public async Task<Image> RequireAsync(Caller caller, string region, string imageId, bool withUsage = false) =>
        await FindAsync(caller, region, imageId, withUsage) ?? throw CatalogErrors.ImageNotFound(imageId);

    /// <summary>The caller's own custom image with its version, for changes: anyone else's is missing (R16, R19).</summary>
    public async Task<StoredImage> RequireOwnedAsync(Caller caller, string region, string imageId)
    {
        var account = caller.RequireAccount();
        var stored = ResourceIds.IsValid(imageId, 'm') ? await imageStore.GetImageAsync(region, imageId) : null;
        if (stored is null || stored.Image.RegionId != region || stored.Image.OwnerAccountId != account)
        {
            throw CatalogErrors.ImageNotFound(imageId);
        }
        stored.Image.OwnerAlias = ImageOwnerAlias.Self;
        return stored;
    }

    /// <summary>
    /// Sets the image's owner alias for the caller and says whether the caller may see it: no
    /// call for platform and own images, one to the sharing service for another account's (R19).
    /// </summary>
    public async ValueTask<bool> SeesAsync(Caller caller, Image image)
    {
        if (image.OwnerAccountId.Length == 0)
        {
            image.OwnerAlias = image.ProductCode.Length > 0 ? ImageOwnerAlias.Marketplace : ImageOwnerAlias.System;
            return true;
        }
        if (caller.IsAccount)
        {
            // A forwarded call sees what the account it acts for sees.
            if (image.OwnerAccountId == caller.AccountId)
            {
                image.OwnerAlias = ImageOwnerAlias.Self;
                return true;
            }
            image.OwnerAlias = ImageOwnerAlias.Others;
            return await sharing.IsSharedWithAsync(image.ImageId, image.OwnerAccountId, caller.AccountId);
        }
        image.OwnerAlias = ImageOwnerAlias.Others;
        return caller.IsOperator || caller.IsClusterService;
    }
}
