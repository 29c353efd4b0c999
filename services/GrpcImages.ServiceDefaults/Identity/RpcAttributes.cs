namespace GrpcImages.ServiceDefaults.Identity;

/// <summary>Marks a gRPC service class or method that only services of the cluster may call.</summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method)]
public sealed class InternalRpcAttribute : Attribute;

/// <summary>
/// The product prefix of a service's RAM actions ("ecs" unless named): a RAM user calling
/// ObjectStoreService.GetObject needs "oss:GetObject".
/// </summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class RamProductAttribute(string product) : Attribute
{
    public string Product { get; } = product;
}

/// <summary>Marks a method any authenticated principal may call, whatever its RAM actions (it concerns only the caller).</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class SelfServiceRpcAttribute : Attribute;
