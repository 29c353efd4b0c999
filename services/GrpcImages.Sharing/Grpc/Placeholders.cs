using GrpcImages.Contracts.Sharing.V1;

namespace GrpcImages.Sharing.Grpc;

// Not built yet: every RPC of these answers UNIMPLEMENTED (the generated base classes do).
public sealed class SharingGrpcService : SharingService.SharingServiceBase;

public sealed class QuotaGrpcService : QuotaService.QuotaServiceBase;
