using System.Runtime.CompilerServices;
using Google.Protobuf;
using Grpc.Core;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.ServiceDefaults.Errors;
using GrpcImages.ServiceDefaults.Hosting;
using GrpcImages.ServiceDefaults.Identity;
using GrpcImages.Transfer.Domain;
using GrpcImages.Transfer.Objects;

namespace GrpcImages.Transfer.Grpc;

/// <summary>The object store (R24, R29); RAM users need "oss:" actions.</summary>
[RamProduct("oss")]
public sealed class ObjectStoreGrpcService(ObjectStore objects, Regions regions) : ObjectStoreService.ObjectStoreServiceBase
{
    public override async Task<CreateBucketResponse> CreateBucket(CreateBucketRequest request, ServerCallContext context) =>
        new() { Bucket = await objects.CreateBucketAsync(context.GetCaller(), regions.Require(request.RegionId), request) };

    public override async Task<ListBucketsResponse> ListBuckets(ListBucketsRequest request, ServerCallContext context) =>
        new() { Buckets = { await objects.ListBucketsAsync(context.GetCaller(), request.RegionId.Length == 0 ? null : regions.Require(request.RegionId)) } };

    public override async Task<DeleteBucketResponse> DeleteBucket(DeleteBucketRequest request, ServerCallContext context)
    {
        await objects.DeleteBucketAsync(context.GetCaller(), regions.Require(request.RegionId), request.Name);
        return new DeleteBucketResponse();
    }

    public override async Task<PutObjectResponse> PutObject(IAsyncStreamReader<PutObjectRequest> requestStream, ServerCallContext context)
    {
        if (!await requestStream.MoveNext(context.CancellationToken) || requestStream.Current.PartCase != PutObjectRequest.PartOneofCase.Header)
        {
            throw Fault.InvalidArgument("InvalidParameter", "header", "The first message must carry the header.");
        }
        var header = requestStream.Current.Header;
        var found = await objects.PutAsync(context.GetCaller(), header, regions.Require(header.RegionId, "header.region_id"),
            Data(requestStream, context.CancellationToken), context.CancellationToken);
        return new PutObjectResponse { Object = found };
    }

    public override async Task GetObject(GetObjectRequest request, IServerStreamWriter<GetObjectResponse> responseStream, ServerCallContext context)
    {
        var (found, pieces) = await objects.OpenAsync(context.GetCaller(), regions.Require(request.RegionId), request, context.CancellationToken);
        await responseStream.WriteAsync(new GetObjectResponse { Info = ObjectStore.ToInfo(found) });
        await foreach (var piece in pieces)
        {
            await responseStream.WriteAsync(new GetObjectResponse { Data = UnsafeByteOperations.UnsafeWrap(piece) });
        }
    }

    public override async Task<HeadObjectResponse> HeadObject(HeadObjectRequest request, ServerCallContext context) =>
        new() { Object = ObjectStore.ToInfo(await objects.HeadAsync(context.GetCaller(), regions.Require(request.RegionId), request.Bucket, request.Name)) };

    public override async Task<ListObjectsResponse> ListObjects(ListObjectsRequest request, ServerCallContext context)
    {
        var (found, next) = await objects.ListAsync(context.GetCaller(), request, regions.Require(request.RegionId));
        return new ListObjectsResponse { Objects = { found }, NextPageToken = next };
    }

    public override async Task<DeleteObjectResponse> DeleteObject(DeleteObjectRequest request, ServerCallContext context)
    {
        await objects.DeleteAsync(context.GetCaller(), regions.Require(request.RegionId), request.Bucket, request.Name);
        return new DeleteObjectResponse();
    }

    public override Task<CreateDownloadUrlResponse> CreateDownloadUrl(CreateDownloadUrlRequest request, ServerCallContext context) =>
        objects.CreateDownloadUrlAsync(context.GetCaller(), request, regions.Require(request.RegionId));

    private static async IAsyncEnumerable<ReadOnlyMemory<byte>> Data(IAsyncStreamReader<PutObjectRequest> stream, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        while (await stream.MoveNext(cancellationToken))
        {
            if (stream.Current.PartCase != PutObjectRequest.PartOneofCase.Data)
            {
                throw Fault.InvalidArgument("InvalidParameter", "data", "Only the first message carries a header.");
            }
            yield return stream.Current.Data.Memory;
        }
    }
}
