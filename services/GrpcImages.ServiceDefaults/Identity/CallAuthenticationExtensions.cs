using System.Globalization;
using Grpc.AspNetCore.Server;
using GrpcImages.ServiceDefaults.Errors;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace GrpcImages.ServiceDefaults.Identity;

public static class CallAuthenticationExtensions
{
    /// <summary>
    /// Authenticates gRPC calls from their headers before their body is read: a call without a valid
    /// token is refused with a trailers-only response, so it costs no buffered 8 MiB message.
    /// </summary>
    public static IApplicationBuilder UseCallAuthentication(this IApplicationBuilder app)
    {
        var authenticator = app.ApplicationServices.GetRequiredService<CallAuthenticator>();
        return app.Use(async (http, next) =>
        {
            if (http.GetEndpoint()?.Metadata.GetMetadata<GrpcMethodMetadata>() is not null)
            {
                try
                {
                    await authenticator.AuthenticateAsync(http);
                }
                catch (DomainException refused)
                {
                    Refuse(http, refused);
                    return;
                }
                catch (Exception ex) when (ex is RedisException or TimeoutException)
                {
                    Refuse(http, Fault.Unavailable("ServiceUnavailable", "The state store is unavailable; retry later."));
                    return;
                }
            }
            await next(http);
        });
    }

    private static void Refuse(HttpContext http, DomainException refused)
    {
        var status = refused.ToStatus();
        http.Response.StatusCode = StatusCodes.Status200OK;
        http.Response.ContentType = "application/grpc";
        http.Response.Headers["grpc-status"] = status.Code.ToString(CultureInfo.InvariantCulture);
        http.Response.Headers["grpc-message"] = Uri.EscapeDataString(status.Message);
        http.Response.Headers["grpc-status-details-bin"] = Convert.ToBase64String(Google.Protobuf.MessageExtensions.ToByteArray(status));
    }
}
