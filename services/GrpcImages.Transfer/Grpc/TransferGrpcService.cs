using Grpc.Core;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.ServiceDefaults.Identity;
using GrpcImages.Transfer.Domain;
using GrpcImages.Transfer.Tasks;

namespace GrpcImages.Transfer.Grpc;

/// <summary>Copies (R5-R12), imports (R24-R28) and exports (R29, R30).</summary>
public sealed class TransferGrpcService(CopyRequests copies, ImportRequests imports, ExportRequests exports, TaskManager tasks) : TransferService.TransferServiceBase
{
    public override Task<ExportImageResponse> ExportImage(ExportImageRequest request, ServerCallContext context) =>
        exports.ExportAsync(context.GetCaller(), request);

    public override Task<ImportImageResponse> ImportImage(ImportImageRequest request, ServerCallContext context) =>
        imports.ImportAsync(context.GetCaller(), request);

    public override Task<CopyImageResponse> CopyImage(CopyImageRequest request, ServerCallContext context) =>
        copies.CopyImageAsync(context.GetCaller(), request);

    public override async Task<CancelCopyImageResponse> CancelCopyImage(CancelCopyImageRequest request, ServerCallContext context) =>
        new() { Task = await tasks.CancelCopyAsync(context.GetCaller(), request) };

    public override Task<CopySnapshotResponse> CopySnapshot(CopySnapshotRequest request, ServerCallContext context) =>
        copies.CopySnapshotAsync(context.GetCaller(), request);
}
