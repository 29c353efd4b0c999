using GrpcImages.Contracts.Catalog.V1;

namespace GrpcImages.Testing;

/// <summary>How tests hold a list's total_size to what its pages hold.</summary>
public static class ImageLists
{
    /// <summary>The first page's total_size, and how many images every page of the request lists (following page tokens).</summary>
    public static async Task<(int TotalSize, int Listed)> WalkAsync(ImageService.ImageServiceClient images, ListImagesRequest request)
    {
        var first = await images.ListImagesAsync(request);
        var listed = first.Images.Count;
        for (var page = first; page.NextPageToken.Length > 0;)
        {
            page = await images.ListImagesAsync(new ListImagesRequest(request) { PageToken = page.NextPageToken });
            listed += page.Images.Count;
        }
        return (first.TotalSize, listed);
    }
}
