using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.ServiceDefaults.Identity;

namespace GrpcImages.Catalog.Grpc;

// Not built yet: every RPC of these answers UNIMPLEMENTED (the generated base classes do).
public sealed class ImageGrpcService : ImageService.ImageServiceBase;

public sealed class InstanceGrpcService : InstanceService.InstanceServiceBase;

public sealed class SnapshotGrpcService : SnapshotService.SnapshotServiceBase;

public sealed class RegionGrpcService : RegionService.RegionServiceBase;

[InternalRpc]
public sealed class ImageControlGrpcService : ImageControlService.ImageControlServiceBase;
