using GrpcImages.Contracts.Kms.V1;
using GrpcImages.ServiceDefaults.Identity;

namespace GrpcImages.Kms.Grpc;

/// <summary>KMS keys (R20-R23). Not built yet: every RPC answers UNIMPLEMENTED.</summary>
[RamProduct("kms")]
public sealed class KeyGrpcService : KeyService.KeyServiceBase;
