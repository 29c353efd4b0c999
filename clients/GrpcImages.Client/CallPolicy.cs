using System.Collections.Frozen;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Grpc.Net.Client.Configuration;

namespace GrpcImages.Client;

/// <summary>
/// Which calls may be repeated safely: reads (Get, List, Describe, Check, Watch) and any call whose
/// request carries a client token (R35: the service makes the resource once however often it is
/// asked). Retries of those on UNAVAILABLE go in the channels' service config.
/// </summary>
public static class CallPolicy
{
    private static readonly string[] ReadPrefixes = ["Get", "List", "Describe", "Check", "Watch"];

    private static readonly FrozenDictionary<string, MethodDescriptor> Methods = typeof(Contracts.Catalog.V1.ImageService).Assembly.GetTypes()
        .Select(t => t.GetProperty("Descriptor", typeof(ServiceDescriptor))?.GetValue(null) as ServiceDescriptor)
        .OfType<ServiceDescriptor>()
        .SelectMany(s => s.Methods)
        .ToFrozenDictionary(m => $"/{m.Service.FullName}/{m.Name}", StringComparer.Ordinal);

    /// <summary>Whether the method, called again with the same request, cannot do anything twice.</summary>
    public static bool IsRepeatable(string fullMethodName) =>
        Methods.TryGetValue(fullMethodName, out var method) &&
        (ReadPrefixes.Any(p => method.Name.StartsWith(p, StringComparison.Ordinal)) || method.InputType.FindFieldByName("client_token") is not null);

    /// <summary>Gives a create without a client token a fresh one (kept in the request, so the caller's own retry reuses it).</summary>
    public static void FillClientToken(object request)
    {
        if (request is IMessage message && message.Descriptor.FindFieldByName("client_token") is { FieldType: FieldType.String } field &&
            ((string)field.Accessor.GetValue(message)).Length == 0)
        {
            field.Accessor.SetValue(message, Guid.NewGuid().ToString("N"));
        }
    }

    /// <summary>The service config: repeatable methods retried on UNAVAILABLE with exponential backoff.</summary>
    public static ServiceConfig ServiceConfig(int maxAttempts)
    {
        var retried = new MethodConfig
        {
            RetryPolicy = new RetryPolicy
            {
                MaxAttempts = Math.Max(2, maxAttempts),
                InitialBackoff = TimeSpan.FromMilliseconds(200),
                MaxBackoff = TimeSpan.FromSeconds(2),
                BackoffMultiplier = 2,
                RetryableStatusCodes = { StatusCode.Unavailable },
            },
        };
        foreach (var name in Methods.Keys.Where(IsRepeatable))
        {
            var slash = name.LastIndexOf('/');
            retried.Names.Add(new MethodName { Service = name[1..slash], Method = name[(slash + 1)..] });
        }
        return new ServiceConfig { MethodConfigs = { retried } };
    }
}
