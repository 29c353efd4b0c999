using Google.Protobuf;
using GrpcImages.Client;
using GrpcImages.Contracts.Transfer.V1;

namespace GrpcImages.Testing;

/// <summary>The object store as tests use it: buckets, uploads and downloads of whole byte arrays or files.</summary>
public static class ObjectSteps
{
    public static ObjectStoreService.ObjectStoreServiceClient Objects(this TestAccount account) => account.Client<ObjectStoreService.ObjectStoreServiceClient>();

    public static async Task<Bucket> NewBucketAsync(this TestAccount account, string region, BucketAcl acl = BucketAcl.Private) =>
        (await account.Objects().CreateBucketAsync(new CreateBucketRequest { RegionId = region, Name = $"b-{Guid.NewGuid():N}"[..30], Acl = acl })).Bucket;

    public static Task<ObjectInfo> PutObjectAsync(this TestAccount account, string region, string bucket, string name, byte[] bytes) =>
        account.PutObjectAsync(region, bucket, name, new MemoryStream(bytes));

    /// <summary>Uploads a stream in 1 MiB messages.</summary>
    public static Task<ObjectInfo> PutObjectAsync(this TestAccount account, string region, string bucket, string name, Stream content,
        string contentType = "application/octet-stream") => account.Objects().PutObjectAsync(region, bucket, name, content, contentType);

    public static async Task<ObjectInfo> PutObjectAsync(this ObjectStoreService.ObjectStoreServiceClient objects, string region, string bucket, string name, Stream content,
        string contentType = "application/octet-stream")
    {
        using var call = objects.PutObject();
        await call.WriteOrRefusalAsync(new PutObjectRequest
        {
            Header = new PutObjectHeader { RegionId = region, Bucket = bucket, Name = name, SizeBytes = content.Length, ContentType = contentType },
        });
        var buffer = new byte[1 << 20];
        int read;
        while ((read = await content.ReadAsync(buffer)) > 0)
        {
            await call.WriteOrRefusalAsync(new PutObjectRequest { Data = ByteString.CopyFrom(buffer, 0, read) });
        }
        return (await call.CompleteOrRefusalAsync()).Object;
    }

    public static async Task<byte[]> GetObjectBytesAsync(this TestAccount account, string region, string bucket, string name, long offset = 0, long length = 0)
    {
        using var call = account.Objects().GetObject(new GetObjectRequest { RegionId = region, Bucket = bucket, Name = name, Offset = offset, Length = length });
        var bytes = new MemoryStream();
        while (await call.ResponseStream.MoveNext(CancellationToken.None))
        {
            if (call.ResponseStream.Current.PartCase == GetObjectResponse.PartOneofCase.Data)
            {
                call.ResponseStream.Current.Data.WriteTo(bytes);
            }
        }
        return bytes.ToArray();
    }
}
