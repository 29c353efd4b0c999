using System.Reflection;
using Grpc.AspNetCore.Server;
using Grpc.Core;
using Grpc.Reflection;
using Grpc.Reflection.V1Alpha;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace GrpcImages.ServiceDefaults.Hosting;

public static class ReflectionExtensions
{
    /// <summary>
    /// Server reflection of the services a host maps, plus the google.rpc types errors carry
    /// (Status, ErrorInfo, BadRequest), so outside clients such as buf curl and grpcurl decode error
    /// details instead of printing base64.
    /// </summary>
    public static IServiceCollection AddReflectionWithErrorDetails(this IServiceCollection services)
    {
        services.AddSingleton(provider =>
        {
            var descriptors = provider.GetRequiredService<EndpointDataSource>().Endpoints
                .Select(e => e.Metadata.GetMetadata<GrpcMethodMetadata>()?.ServiceType)
                .OfType<Type>()
                .Distinct()
                .Select(Descriptor)
                .OfType<Google.Protobuf.Reflection.ServiceDescriptor>()
                .Where(d => d.FullName != ServerReflection.Descriptor.FullName)
                .DistinctBy(d => d.FullName)
                .ToList();
            var files = descriptors.Select(d => d.File)
                .Append(Google.Rpc.StatusReflection.Descriptor)
                .Append(Google.Rpc.ErrorDetailsReflection.Descriptor);
            return new ReflectionServiceImpl(descriptors.Select(d => d.FullName).Append(ServerReflection.Descriptor.FullName), SymbolRegistry.FromFiles(files));
        });
        services.AddGrpcReflection();
        return services;
    }

    private static Google.Protobuf.Reflection.ServiceDescriptor? Descriptor(Type service)
    {
        for (var type = service; type is not null; type = type.BaseType)
        {
            if (type.GetCustomAttribute<BindServiceMethodAttribute>(inherit: false) is { } bind)
            {
                return bind.BindType.GetProperty("Descriptor", BindingFlags.Public | BindingFlags.Static)?.GetValue(null) as Google.Protobuf.Reflection.ServiceDescriptor;
            }
        }
        return null;
    }
}
