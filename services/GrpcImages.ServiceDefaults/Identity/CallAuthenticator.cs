using System.Collections.Concurrent;
using Grpc.Core;
using GrpcImages.ServiceDefaults.Errors;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;

namespace GrpcImages.ServiceDefaults.Identity;

/// <summary>
/// Authenticates every call (but health, reflection and [AllowAnonymous] methods) from its
/// bearer token, notes the forwarding cluster service, keeps internal RPCs internal and
/// holds RAM users to their allowed actions. <see cref="CallAuthenticationExtensions.UseCallAuthentication"/>
/// runs it for every gRPC call from the headers, before the request body is read.
/// </summary>
public sealed class CallAuthenticator(TokenService tokens, RamUserVersions versions)
{
    public const string ServiceHeader = "x-grpcimages-service";

    private static readonly ConcurrentDictionary<string, MethodPolicy> Policies = new(StringComparer.Ordinal);

    /// <summary>Sets the call's <see cref="Caller"/> (none for an anonymous call) or throws the refusal.</summary>
    public async ValueTask AuthenticateAsync(HttpContext http)
    {
        var method = http.Request.Path.Value ?? "";
        var policy = Policies.GetOrAdd(method, static (method, endpoint) => MethodPolicy.For(method, endpoint), http.GetEndpoint());

        var bearer = BearerToken(http.Request.Headers.Authorization.ToString());
        if (bearer is null)
        {
            if (!policy.Anonymous)
            {
                throw Fault.Unauthenticated("MissingSecurityToken", "This call needs an \"authorization: Bearer <token>\" header.");
            }
            return;
        }

        var caller = await tokens.ValidateAsync(bearer);
        await versions.RequireCurrentAsync(caller);
        var serviceToken = http.Request.Headers[ServiceHeader].ToString();
        if (serviceToken.Length > 0)
        {
            var service = await tokens.ValidateAsync(serviceToken);
            if (service.Kind != Contracts.Kms.V1.PrincipalKind.Service)
            {
                throw Fault.Unauthenticated("InvalidSecurityToken.Malformed", $"The {ServiceHeader} header must carry a service token.");
            }
            caller = caller with { ViaService = service.Name };
        }

        if (policy.Internal && !caller.IsClusterService)
        {
            throw Fault.PermissionDenied("Forbidden.InternalOnly", "Only services of the cluster may call this operation.");
        }
        if (policy.Action is not null && !caller.IsClusterService && !caller.Allows(policy.Action))
        {
            throw Fault.PermissionDenied("Forbidden.RAM", $"The RAM user is not allowed to perform {policy.Action}.");
        }
        http.Features.Set(caller);
    }

    private static string? BearerToken(string header) =>
        header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && header.Length > 7 ? header[7..].Trim() : null;

    private sealed record MethodPolicy(bool Anonymous, bool Internal, string? Action)
    {
        public static MethodPolicy For(string method, Endpoint? endpoint)
        {
            var metadata = endpoint?.Metadata;
            var anonymous = metadata?.GetMetadata<IAllowAnonymous>() is not null;
            var isInternal = metadata?.GetMetadata<InternalRpcAttribute>() is not null;
            var product = metadata?.GetMetadata<RamProductAttribute>()?.Product ?? "ecs";
            var action = metadata?.GetMetadata<SelfServiceRpcAttribute>() is not null
                ? null
                : $"{product}:{method[(method.LastIndexOf('/') + 1)..]}";
            return new MethodPolicy(anonymous, isInternal, action);
        }
    }
}

public static class CallerContextExtensions
{
    /// <summary>The authenticated caller of this call.</summary>
    public static Caller GetCaller(this ServerCallContext context) =>
        context.GetHttpContext().Features.Get<Caller>()
        ?? throw Fault.Unauthenticated("MissingSecurityToken", "This call needs an \"authorization: Bearer <token>\" header.");

    /// <summary>The caller when the method allows anonymous calls.</summary>
    public static Caller? FindCaller(this ServerCallContext context) => context.GetHttpContext().Features.Get<Caller>();
}
