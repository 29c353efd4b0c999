using System.Security.Cryptography;
using Grpc.Core;
using Grpc.Core.Interceptors;
using GrpcImages.Contracts.Common.V1;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.ServiceDefaults.Identity;
using GrpcImages.ServiceDefaults.Peers;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace GrpcImages.ServiceDefaults.Tests;

public class ForwardIdentityInterceptorTests
{
    private static readonly TokenService Tokens = new(Options.Create(new IdentityOptions
    {
        SigningKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
    }), TimeProvider.System);

    private static Metadata Send(HttpContext? incoming)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Service:Name"] = "catalog" }).Build();
        var interceptor = new ForwardIdentityInterceptor(new HttpContextAccessor { HttpContext = incoming }, new ServiceTokenSource(Tokens, configuration, TimeProvider.System));
        Metadata? sent = null;
        var method = new Method<string, string>(MethodType.Unary, "grpcimages.test.v1.TestService", "Call", Marshallers.StringMarshaller, Marshallers.StringMarshaller);
        interceptor.AsyncUnaryCall("request", new ClientInterceptorContext<string, string>(method, null, new CallOptions()), (_, context) =>
        {
            sent = context.Options.Headers;
            return new AsyncUnaryCall<string>(Task.FromResult("ok"), Task.FromResult(new Metadata()), () => Status.DefaultSuccess, () => [], () => { });
        });
        return sent!;
    }

    [Fact]
    public async Task APeerCallCarriesTheCallersTokenAndTheServicesOwn()
    {
        var user = Tokens.Issue(Caller.Root("1234567890123456", Site.Cn), TimeSpan.FromHours(1), out _);
        var incoming = new DefaultHttpContext();
        incoming.Request.Headers.Authorization = $"Bearer {user}";

        var sent = Send(incoming);

        Assert.Equal($"Bearer {user}", sent.GetValue("authorization"));
        var service = await Tokens.ValidateAsync(sent.GetValue(CallAuthenticator.ServiceHeader)!);
        Assert.Equal((PrincipalKind.Service, "catalog"), (service.Kind, service.Name));
    }

    [Fact]
    public async Task WithoutACallerThePeerCallGoesAsTheService()
    {
        var sent = Send(null);

        var bearer = sent.GetValue("authorization")!;
        Assert.StartsWith("Bearer ", bearer);
        Assert.Equal(PrincipalKind.Service, (await Tokens.ValidateAsync(bearer[7..])).Kind);
        Assert.Equal(bearer[7..], sent.GetValue(CallAuthenticator.ServiceHeader));
    }
}
