using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.ServiceDefaults.Identity;

namespace GrpcImages.Transfer.Grpc;

// Not built yet: every RPC of this answers UNIMPLEMENTED (the generated base class does).
[RamProduct("oss")]
public sealed class ObjectStoreGrpcService : ObjectStoreService.ObjectStoreServiceBase;
