using Grpc.Core;
using GrpcImages.Catalog.Domain;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.ServiceDefaults.Identity;

namespace GrpcImages.Catalog.Grpc;

public sealed class SnapshotGrpcService(SnapshotManager snapshots) : SnapshotService.SnapshotServiceBase
{
    public override async Task<CreateSnapshotResponse> CreateSnapshot(CreateSnapshotRequest request, ServerCallContext context) =>
        new() { Snapshot = await snapshots.CreateAsync(context.GetCaller(), request) };

    public override async Task<GetSnapshotResponse> GetSnapshot(GetSnapshotRequest request, ServerCallContext context) =>
        new() { Snapshot = await snapshots.GetAsync(context.GetCaller(), request.RegionId, request.SnapshotId) };

    public override Task<ListSnapshotsResponse> ListSnapshots(ListSnapshotsRequest request, ServerCallContext context) =>
        snapshots.ListAsync(context.GetCaller(), request);

    public override async Task<DeleteSnapshotResponse> DeleteSnapshot(DeleteSnapshotRequest request, ServerCallContext context) =>
        new() { Deleted = await snapshots.DeleteAsync(context.GetCaller(), request.RegionId, request.SnapshotId) };
}
