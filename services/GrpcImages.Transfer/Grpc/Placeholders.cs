using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.ServiceDefaults.Identity;

namespace GrpcImages.Transfer.Grpc;

// Not built yet: every RPC of these answers UNIMPLEMENTED (the generated base classes do).
public sealed class TransferGrpcService : TransferService.TransferServiceBase;

public sealed class TaskGrpcService : TaskService.TaskServiceBase;

[RamProduct("oss")]
public sealed class ObjectStoreGrpcService : ObjectStoreService.ObjectStoreServiceBase;
