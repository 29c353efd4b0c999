using Google.Protobuf.WellKnownTypes;
using GrpcImages.Catalog.Storage;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Common.V1;
using GrpcImages.ServiceDefaults.Errors;
using GrpcImages.ServiceDefaults.Hosting;
using GrpcImages.ServiceDefaults.Identity;
using GrpcImages.ServiceDefaults.Storage;
using GrpcImages.ServiceDefaults.Validation;

namespace GrpcImages.Catalog.Domain;

/// <summary>UpdateImage: name, description, family, boot mode, license type, NVMe support, deprecation of the caller's own image.</summary>
public sealed class ImageUpdate(ImageStore imageStore, ImageAccess access, Regions regions, TimeProvider time)
{
    public async Task<Image> UpdateAsync(Caller caller, UpdateImageRequest request)
    {
        var region = regions.Require(request.RegionId);
        if (request.HasImageName)
        {
            Check.Name(request.ImageName, "image_name", "InvalidImageName.Malformed");
        }
        if (request.HasDescription)
        {
            Check.Description(request.Description, "description");
        }
        if (request.HasImageFamily && request.ImageFamily.Length > 0)
        {
            Check.Name(request.ImageFamily, "image_family", "InvalidImageFamily.Malformed");
        }
        return await ConflictRetry.RunAsync<Image>(async () =>
        {
            var stored = await access.RequireOwnedAsync(caller, region, request.ImageId);
            var image = stored.Image.Clone();
            if (request.HasImageName)
            {
                image.ImageName = request.ImageName;
            }
            if (request.HasDescription)
            {
                image.Description = request.Description;
            }
            if (request.HasImageFamily)
            {
                image.ImageFamily = request.ImageFamily;
            }
            if (request.BootMode != BootMode.Unspecified)
            {
                if (request.BootMode == BootMode.Bios && image.Architecture == Architecture.Arm64)
                {
                    throw Fault.InvalidArgument("InvalidBootMode.NotSupported", "boot_mode", "arm64 images boot with UEFI only.");
                }
                image.BootMode = request.BootMode;
            }
            if (request.LicenseType != LicenseType.Unspecified)
            {
                if (image.ProductCode.Length > 0 && request.LicenseType != image.LicenseType)
                {
                    // R28: a marketplace-derived image is licensed through its product.
                    throw Fault.InvalidArgument("InvalidLicenseType.NotSupported", "license_type", "A marketplace-derived image keeps its product's license.");
                }
                image.LicenseType = request.LicenseType;
            }
            if (request.NvmeSupport != NvmeSupport.Unspecified)
            {
                image.NvmeSupport = request.NvmeSupport;
            }
            if (request.HasDeprecated)
            {
                image.Status = (request.Deprecated, image.Status) switch
                {
                    (true, ImageStatus.Available or ImageStatus.Deprecated) => ImageStatus.Deprecated,
                    (false, ImageStatus.Available or ImageStatus.Deprecated) => ImageStatus.Available,
                    _ => throw CatalogErrors.IncorrectImageStatus($"Only an Available or Deprecated image can be deprecated or undeprecated; this one is {image.Status}."),
                };
            }
            image.UpdateTime = Timestamp.FromDateTimeOffset(time.GetUtcNow());
            image.OwnerAlias = ImageOwnerAlias.Unspecified;
            switch (await imageStore.SaveImageAsync(stored, image))
            {
                case SaveResult.Saved:
                    image.OwnerAlias = ImageOwnerAlias.Self;
                    return image;
                case SaveResult.DuplicateName:
                    throw CatalogErrors.NameDuplicated(image.ImageName);
                default:
                    return Attempt<Image>.Again;
            }
        });
    }
}
