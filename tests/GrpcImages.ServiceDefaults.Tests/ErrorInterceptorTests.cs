using System.Diagnostics.Metrics;
using Google.Rpc;
using Grpc.Core;
using GrpcImages.ServiceDefaults.Errors;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace GrpcImages.ServiceDefaults.Tests;

public class ErrorInterceptorTests
{
    private static readonly ErrorInterceptor Interceptor = new(NullLogger<ErrorInterceptor>.Instance,
        new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>());

    private static Task<RpcException> Call(Exception thrown) =>
        Assert.ThrowsAsync<RpcException>(() => Interceptor.UnaryServerHandler<string, string>(
            "request", new FakeCallContext(), (_, _) => throw thrown));

    [Fact]
    public async Task ADomainErrorCarriesItsCodeReasonAndFieldViolations()
    {
        var ex = await Call(Fault.InvalidArgument("InvalidImageName.Malformed", "image_name", "bad name"));

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        var status = ex.GetRpcStatus()!;
        var info = status.GetDetail<ErrorInfo>();
        Assert.Equal("InvalidImageName.Malformed", info.Reason);
        Assert.Equal("grpcimages", info.Domain);
        Assert.Equal("image_name", Assert.Single(status.GetDetail<BadRequest>().FieldViolations).Field);
    }

    [Fact]
    public async Task HugeEchoedInputIsCutSoTheTrailersStaySmall()
    {
        var id = new string('x', 200 * 1024);
        var ex = await Call(Fault.InvalidArgument("InvalidImageId.Malformed", "image_id", $"The image {id} does not exist; {id} is not an id."));

        Assert.True(ex.Status.Detail.Length <= DomainException.MaxTextLength + 3, $"{ex.Status.Detail.Length} characters");
        var violation = Assert.Single(ex.GetRpcStatus()!.GetDetail<BadRequest>().FieldViolations);
        Assert.True(violation.Description.Length <= DomainException.MaxTextLength + 3);
        Assert.StartsWith("The image xxx", ex.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task APeerThatCouldNotBeReachedBecomesUnavailableWithAReason()
    {
        var ex = await Call(new RpcException(new Grpc.Core.Status(StatusCode.Unavailable, "Error connecting to subchannel.")));

        Assert.Equal(StatusCode.Unavailable, ex.StatusCode);
        Assert.Equal("ServiceUnavailable", ex.GetRpcStatus()!.GetDetail<ErrorInfo>().Reason);
    }

    [Fact]
    public async Task APeersOwnRefusalPassesThroughAsItIs()
    {
        var refusal = Fault.NotFound("InvalidImageId.NotFound", "The image m-x does not exist.").ToRpcException();
        var ex = await Call(refusal);

        Assert.Same(refusal, ex);
    }

    [Fact]
    public async Task EveryErrorIsCountedByItsRulesCode()
    {
        var seen = new List<(long Value, string? Reason, int? Code)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Name == "grpcimages.rpc.errors")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            string? reason = null;
            int? code = null;
            foreach (var tag in tags)
            {
                reason = tag.Key == "error.reason" ? (string?)tag.Value : reason;
                code = tag.Key == "rpc.grpc.status_code" ? (int?)tag.Value : code;
            }
            lock (seen)
            {
                seen.Add((value, reason, code));
            }
        });
        listener.Start();

        await Call(Fault.NotFound("InvalidImageId.NotFound", "gone"));

        Assert.Contains((1L, "InvalidImageId.NotFound", (int)StatusCode.NotFound), seen);
    }

    [Fact]
    public async Task AnUnexpectedErrorIsInternalAndDoesNotLeakItsText()
    {
        var ex = await Call(new InvalidOperationException("connection string password=hunter2 at Foo.Bar()"));

        Assert.Equal(StatusCode.Internal, ex.StatusCode);
        Assert.DoesNotContain("hunter2", ex.Status.Detail);
        Assert.DoesNotContain("Foo.Bar", ex.ToString().Split("   at ")[0]);
        Assert.Equal("InternalError", ex.GetRpcStatus()!.GetDetail<ErrorInfo>().Reason);
    }

    [Fact]
    public async Task ARedisOutageIsUnavailable()
    {
        var ex = await Call(new RedisConnectionException(ConnectionFailureType.UnableToConnect, CommandFlags.None, "No connection to 10.0.0.7:6379", null, CommandStatus.Unknown));

        Assert.Equal(StatusCode.Unavailable, ex.StatusCode);
        Assert.DoesNotContain("10.0.0.7", ex.Status.Detail);
        Assert.Equal("ServiceUnavailable", ex.GetRpcStatus()!.GetDetail<ErrorInfo>().Reason);
    }

    [Fact]
    public async Task APeersStatusPassesThroughUnchanged()
    {
        var peer = Fault.ResourceExhausted("QuotaExceed.Image", "quota").ToRpcException();

        var ex = await Assert.ThrowsAsync<RpcException>(() => Interceptor.UnaryServerHandler<string, string>(
            "request", new FakeCallContext(), (_, _) => throw peer));

        Assert.Same(peer, ex);
    }

    private sealed class FakeCallContext : ServerCallContext
    {
        protected override string MethodCore => "/grpcimages.test.v1.TestService/Call";
        protected override string HostCore => "localhost";
        protected override string PeerCore => "ipv4:127.0.0.1:1";
        protected override DateTime DeadlineCore => DateTime.MaxValue;
        protected override Metadata RequestHeadersCore => [];
        protected override CancellationToken CancellationTokenCore => CancellationToken.None;
        protected override Metadata ResponseTrailersCore => [];
        protected override Grpc.Core.Status StatusCore { get; set; }
        protected override WriteOptions? WriteOptionsCore { get; set; }
        protected override AuthContext AuthContextCore => new(null, []);
        protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) => throw new NotSupportedException();
        protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders) => Task.CompletedTask;
    }
}
