using System.Runtime.CompilerServices;
using Google.Protobuf;
using Grpc.Core;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.ServiceDefaults.Errors;
using GrpcImages.ServiceDefaults.Hosting;
using GrpcImages.ServiceDefaults.Identity;
using GrpcImages.ServiceDefaults.Validation;
using GrpcImages.Transfer.Content;

namespace GrpcImages.Transfer.Grpc;

/// <summary>The content layer for the other services of the cluster.</summary>
[InternalRpc]
public sealed class ContentGrpcService(ContentLibrary library, GarbageCollector collector, Regions regions) : ContentService.ContentServiceBase
{
    public const int MaxPullChunks = 4096;

    public override async Task<SeedContentResponse> SeedContent(SeedContentRequest request, ServerCallContext context) => new()
    {
        Content = await library.SeedAsync(regions.Require(request.RegionId), request.Label, request.SizeBytes, request.DataBytes,
            request.HolderId, context.CancellationToken),
    };

    public override async Task<CreateBlankContentResponse> CreateBlankContent(CreateBlankContentRequest request, ServerCallContext context) => new()
    {
        Content = await library.CreateBlankAsync(regions.Require(request.RegionId), request.SizeBytes, request.HolderId, request.Encryption,
            context.CancellationToken),
    };

    public override async Task<WriteContentResponse> WriteContent(IAsyncStreamReader<WriteContentRequest> requestStream, ServerCallContext context)
    {
        if (!await requestStream.MoveNext(context.CancellationToken) || requestStream.Current.PartCase != WriteContentRequest.PartOneofCase.Header)
        {
            throw Fault.InvalidArgument("InvalidParameter", "header", "The first message must carry the header.");
        }
        var header = requestStream.Current.Header;
        return new WriteContentResponse
        {
            Content = await library.WriteAsync(regions.Require(header.RegionId), header.SizeBytes, header.HolderId, header.Encryption,
                Data(requestStream, context.CancellationToken), context.CancellationToken),
        };
    }

    public override async Task<PatchContentResponse> PatchContent(PatchContentRequest request, ServerCallContext context) => new()
    {
        Content = await library.PatchAsync(regions.Require(request.RegionId), request.ManifestId, request.Offset, request.Data.Memory,
            request.SizeBytes, request.HolderId, context.CancellationToken),
    };

    public override async Task<TransformContentResponse> TransformContent(TransformContentRequest request, ServerCallContext context)
    {
        var region = regions.Require(request.RegionId);
        var destination = request.DestinationRegionId.Length == 0 ? region : regions.Require(request.DestinationRegionId, "destination_region_id");
        return new TransformContentResponse
        {
            Content = await library.TransformAsync(region, request.ManifestId, destination, request.Encryption, request.SizeBytes, request.HolderId,
                context.CancellationToken),
        };
    }

    public override async Task<RetainContentResponse> RetainContent(RetainContentRequest request, ServerCallContext context) => new()
    {
        HolderCount = await library.RetainAsync(regions.Require(request.RegionId), request.ManifestId, request.HolderId),
    };

    public override async Task<ReleaseContentResponse> ReleaseContent(ReleaseContentRequest request, ServerCallContext context)
    {
        var (left, deleted) = await library.ReleaseAsync(regions.Require(request.RegionId), request.ManifestId, request.HolderId);
        return new ReleaseContentResponse { HolderCount = left, ManifestDeleted = deleted };
    }

    public override async Task<ReleaseHolderResponse> ReleaseHolder(ReleaseHolderRequest request, ServerCallContext context) => new()
    {
        Released = await library.ReleaseHolderAsync(regions.Require(request.RegionId), request.HolderId, request.Final),
    };

    public override async Task<GetContentInfoResponse> GetContentInfo(GetContentInfoRequest request, ServerCallContext context) => new()
    {
        Content = await library.DescribeAsync(regions.Require(request.RegionId), request.ManifestId, context.CancellationToken),
    };

    public override async Task ReadContent(ReadContentRequest request, IServerStreamWriter<ReadContentResponse> responseStream, ServerCallContext context)
    {
        await foreach (var piece in library.ReadAsync(regions.Require(request.RegionId), request.ManifestId, request.Offset, request.Length,
                           context.CancellationToken))
        {
            await responseStream.WriteAsync(new ReadContentResponse { Data = UnsafeByteOperations.UnsafeWrap(piece) });
        }
    }

    public override async Task<ListContentChunksResponse> ListContentChunks(ListContentChunksRequest request, ServerCallContext context)
    {
        var size = request.PageSize switch
        {
            < 0 => throw Fault.InvalidArgument("InvalidArgument", "page_size", "The page size cannot be negative."),
            0 => 1000,
            _ => Math.Min(request.PageSize, 10_000),
        };
        var from = request.PageToken.Length == 0 ? 0 : int.TryParse(PageToken.Decode(request.PageToken), out var position) ? position : -1;
        if (from < 0)
        {
            throw Fault.InvalidArgument("InvalidNextToken", "page_token", "The page token is not one this service returned.");
        }
        var (chunks, next) = await library.ListChunksAsync(regions.Require(request.RegionId), request.ManifestId, from, size, context.CancellationToken);
        var response = new ListContentChunksResponse { NextPageToken = next < 0 ? "" : PageToken.Encode(next.ToString(System.Globalization.CultureInfo.InvariantCulture)) };
        response.Chunks.AddRange(chunks.Select(c => new ContentChunk { Index = c.Index, Name = c.Name }));
        return response;
    }

    public override async Task PullChunks(PullChunksRequest request, IServerStreamWriter<PullChunksResponse> responseStream, ServerCallContext context)
    {
        if (request.Indexes.Count > MaxPullChunks)
        {
            throw Fault.InvalidArgument("InvalidParameter", "indexes", $"At most {MaxPullChunks} chunks a call.");
        }
        await foreach (var (index, data, sha256) in library.PullAsync(regions.Require(request.RegionId), request.ManifestId, request.Indexes, request.Plaintext,
                           context.CancellationToken))
        {
            // The buffer is reused only once the write returns, and by then the message is serialized.
            await responseStream.WriteAsync(new PullChunksResponse { Index = index, Data = UnsafeByteOperations.UnsafeWrap(data), Sha256 = sha256 });
        }
    }

    public override async Task<CollectGarbageResponse> CollectGarbage(CollectGarbageRequest request, ServerCallContext context)
    {
        var (chunks, bytes) = await collector.CollectAsync(regions.Require(request.RegionId), context.CancellationToken);
        return new CollectGarbageResponse { ChunksDeleted = chunks, BytesFreed = bytes };
    }

    private static async IAsyncEnumerable<ReadOnlyMemory<byte>> Data(IAsyncStreamReader<WriteContentRequest> stream,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        while (await stream.MoveNext(cancellationToken))
        {
            if (stream.Current.PartCase != WriteContentRequest.PartOneofCase.Data)
            {
                throw Fault.InvalidArgument("InvalidParameter", "header", "Only the first message carries a header.");
            }
            yield return stream.Current.Data.Memory;
        }
    }
}
