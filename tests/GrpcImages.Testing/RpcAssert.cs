using Google.Rpc;
using Grpc.Core;
using Xunit;

namespace GrpcImages.Testing;

/// <summary>Assertions on the errors a call returns: the gRPC code and the rule's code in ErrorInfo.reason.</summary>
public static class RpcAssert
{
    public static async Task<RpcException> FailsAsync(StatusCode code, string reason, Func<Task> call)
    {
        var ex = await Assert.ThrowsAsync<RpcException>(call);
        Assert.True(ex.StatusCode == code, $"expected {code}/{reason}, got {ex.StatusCode}/{Reason(ex)}: {ex.Status.Detail}");
        Assert.Equal(reason, Reason(ex));
        return ex;
    }

    public static Task<RpcException> FailsAsync<T>(StatusCode code, string reason, Func<AsyncUnaryCall<T>> call) =>
        FailsAsync(code, reason, async () => await call());

    /// <summary>The ErrorInfo reason of a failed call, or null when it carries none.</summary>
    public static string? Reason(RpcException ex) => ex.GetRpcStatus()?.GetDetail<ErrorInfo>()?.Reason;

    public static IReadOnlyList<string> ViolatedFields(RpcException ex) =>
        ex.GetRpcStatus()?.GetDetail<BadRequest>()?.FieldViolations.Select(v => v.Field).ToList() ?? [];
}
