using GrpcImages.Contracts.Kms.V1;
using GrpcImages.ServiceDefaults.Identity;

namespace GrpcImages.Kms.Grpc;

/// <summary>Service roles (R22, R27). Not built yet: every RPC answers UNIMPLEMENTED.</summary>
[RamProduct("ram")]
public sealed class RoleGrpcService : RoleService.RoleServiceBase;
