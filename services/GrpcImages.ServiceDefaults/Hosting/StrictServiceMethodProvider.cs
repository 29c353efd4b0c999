using System.Reflection;
using Google.Protobuf;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using GrpcImages.ServiceDefaults.Errors;
using GrpcImages.ServiceDefaults.Validation;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace GrpcImages.ServiceDefaults.Hosting;

/// <summary>
/// Binds every gRPC service as Grpc.AspNetCore's own binder does, but with request marshallers
/// whose failures are the caller's: bytes that are not the method's message (truncated, invalid
/// UTF-8, nested past the recursion limit) answer INVALID_ARGUMENT instead of UNKNOWN with a
/// stack trace logged, since the request is parsed before any interceptor runs.
/// </summary>
internal sealed class StrictServiceMethodProvider<TService> : IServiceMethodProvider<TService> where TService : class
{
    public void OnServiceMethodDiscovery(ServiceMethodProviderContext<TService> context)
    {
        var bind = FindBindMethod(typeof(TService));
        if (bind is null)
        {
            return;
        }
        bind.Invoke(null, [new Binder(context), null]);
    }

    private static MethodInfo? FindBindMethod(Type service)
    {
        for (var type = service; type is not null; type = type.BaseType)
        {
            if (type.GetCustomAttribute<BindServiceMethodAttribute>(inherit: false) is { } attribute)
            {
                return attribute.BindType.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)
                    .FirstOrDefault(m => m.Name == attribute.BindMethodName && m.GetParameters() is [{ ParameterType: var first }, _] && first == typeof(ServiceBinderBase));
            }
        }
        return null;
    }

    /// <summary>Rebuilds each method with a strict request marshaller and hands it to Grpc.AspNetCore with the handler's metadata.</summary>
    private sealed class Binder(ServiceMethodProviderContext<TService> context) : ServiceBinderBase
    {
        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse>? handler)
        {
            var (strict, target) = Prepare(method, [typeof(TRequest), typeof(ServerCallContext)]);
            context.AddUnaryMethod(strict, Metadata(target),
                target.CreateDelegate<Grpc.AspNetCore.Server.Model.UnaryServerMethod<TService, TRequest, TResponse>>());
        }

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ClientStreamingServerMethod<TRequest, TResponse>? handler)
        {
            var (strict, target) = Prepare(method, [typeof(IAsyncStreamReader<TRequest>), typeof(ServerCallContext)]);
            context.AddClientStreamingMethod(strict, Metadata(target),
                target.CreateDelegate<Grpc.AspNetCore.Server.Model.ClientStreamingServerMethod<TService, TRequest, TResponse>>());
        }

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerStreamingServerMethod<TRequest, TResponse>? handler)
        {
            var (strict, target) = Prepare(method, [typeof(TRequest), typeof(IServerStreamWriter<TResponse>), typeof(ServerCallContext)]);
            context.AddServerStreamingMethod(strict, Metadata(target),
                target.CreateDelegate<Grpc.AspNetCore.Server.Model.ServerStreamingServerMethod<TService, TRequest, TResponse>>());
        }

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, DuplexStreamingServerMethod<TRequest, TResponse>? handler)
        {
            var (strict, target) = Prepare(method, [typeof(IAsyncStreamReader<TRequest>), typeof(IServerStreamWriter<TResponse>), typeof(ServerCallContext)]);
            context.AddDuplexStreamingMethod(strict, Metadata(target),
                target.CreateDelegate<Grpc.AspNetCore.Server.Model.DuplexStreamingServerMethod<TService, TRequest, TResponse>>());
        }

        private static (Method<TRequest, TResponse>, MethodInfo) Prepare<TRequest, TResponse>(Method<TRequest, TResponse> method, Type[] parameters)
        {
            // The generated base declares every method; a service that does not override one answers UNIMPLEMENTED from it.
            var target = typeof(TService).GetMethod(method.Name, BindingFlags.Public | BindingFlags.Instance, parameters)
                ?? throw new InvalidOperationException($"{typeof(TService).Name} has no method {method.Name}.");
            var strict = new Method<TRequest, TResponse>(method.Type, method.ServiceName, method.Name,
                StrictMarshaller(method.RequestMarshaller, method.FullName), method.ResponseMarshaller);
            return (strict, target);
        }

        private static List<object> Metadata(MethodInfo target)
        {
            var metadata = new List<object>();
            metadata.AddRange(typeof(TService).GetCustomAttributes(inherit: true));
            metadata.AddRange(target.GetCustomAttributes(inherit: true));
            metadata.Add(new HttpMethodMetadata(["POST"], acceptCorsPreflight: true));
            return metadata;
        }
    }

    private static Marshaller<T> StrictMarshaller<T>(Marshaller<T> inner, string method) =>
        new(inner.ContextualSerializer, context =>
        {
            T request;
            try
            {
                request = inner.ContextualDeserializer(context);
            }
            catch (Exception ex) when (ex is not (RpcException or OutOfMemoryException))
            {
                // The parser's message names the defect ("truncated", "invalid UTF-8", "recursion limit"), never the input.
                throw Fault.InvalidArgument("InvalidParameter.Malformed", "",
                    $"The request is not a valid {typeof(T).Name} for {method}: {Truncate(ex.Message)}").ToRpcException();
            }
            if (request is IMessage message)
            {
                try
                {
                    RequestShape.Check(message);
                }
                catch (DomainException refused)
                {
                    throw refused.ToRpcException();
                }
            }
            return request;
        });

    private static string Truncate(string text) => text.Length <= 200 ? text : text[..200];
}

public static class StrictServiceMethodProviderExtensions
{
    /// <summary>Replaces Grpc.AspNetCore's service binder with <see cref="StrictServiceMethodProvider{TService}"/>.</summary>
    public static IServiceCollection AddStrictRequestParsing(this IServiceCollection services)
    {
        var defaults = services.Where(d => d.ServiceType == typeof(IServiceMethodProvider<>) &&
                                           d.ImplementationType?.Name.StartsWith("BinderServiceMethodProvider", StringComparison.Ordinal) == true).ToList();
        if (defaults.Count != 1)
        {
            throw new InvalidOperationException("Grpc.AspNetCore's binder was not found; call AddGrpc first.");
        }
        services.Remove(defaults[0]);
        services.AddSingleton(typeof(IServiceMethodProvider<>), typeof(StrictServiceMethodProvider<>));
        return services;
    }
}
