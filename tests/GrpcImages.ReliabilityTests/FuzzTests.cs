using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Health.V1;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Testing;
using static GrpcImages.ReliabilityTests.ReliabilitySteps;

namespace GrpcImages.ReliabilityTests;

/// <summary>
/// Every RPC of the four services, found by reflection, sent what a broken or hostile client sends:
/// bytes that are not its message (truncated, invalid UTF-8, 2,000 nested groups), unknown enum
/// numbers, strings far past any bound, forged page tokens, Duration and number extremes. Malformed
/// input is INVALID_ARGUMENT (or RESOURCE_EXHAUSTED), nothing is UNKNOWN or INTERNAL, every status
/// fits in 8 KiB of trailers, and the services still serve afterwards.
/// </summary>
public class FuzzTests(ITestOutputHelper output)
{
    private const int MaxTrailerBytes = 8 * 1024;

    private static readonly Marshaller<byte[]> Raw = Marshallers.Create(b => b, b => b);

    private static readonly StatusCode[] Malformed = [StatusCode.InvalidArgument, StatusCode.ResourceExhausted];

    private static readonly StatusCode[] Crashes = [StatusCode.Unknown, StatusCode.Internal, StatusCode.Unavailable, StatusCode.DataLoss];

    [Fact]
    public async Task EveryRpcRefusesMalformedInputClearlyAndKeepsServing()
    {
        await using var cluster = await TestCluster.StartAsync(new Dictionary<string, string?> { ["Regions:0:Id"] = Hangzhou }, output: output);
        var account = await cluster.NewAccountAsync();
        var serviceToken = cluster.ServiceToken();
        var failures = new List<string>();
        var calls = 0;

        foreach (var (kind, service) in Services())
        {
            foreach (var method in service.Methods)
            {
                var input = method.InputType;
                foreach (var (name, payload) in MalformedPayloads(input))
                {
                    calls++;
                    var status = await CallAsync(cluster, kind, service, method, serviceToken, payload);
                    Judge(failures, $"{method.FullName} {name}", status, Malformed);
                }
                foreach (var (name, message) in HostileMessages(input))
                {
                    calls++;
                    var status = await CallAsync(cluster, kind, service, method, account.Token, message.ToByteArray());
                    Judge(failures, $"{method.FullName} {name}", status, accepted: null);
                }
            }
        }

        foreach (var kind in System.Enum.GetValues<ServiceKind>())
        {
            var health = new Health.HealthClient(cluster.Invoker(kind, null));
            Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest())).Status);
        }
        output.WriteLine($"{calls} calls, {failures.Count} wrong answers");
        failures.ForEach(output.WriteLine);
        FaultSummary.Record("fuzz: every RPC, malformed and hostile input", calls, calls - failures.Count, failures.Count);
        Assert.Empty(failures);
    }

    /// <summary>Fails a call that crashed, answered outside <paramref name="accepted"/> (when given), or sent oversize trailers.</summary>
    private static void Judge(List<string> failures, string what, (Status Status, int TrailerBytes) answer, StatusCode[]? accepted)
    {
        var (status, trailerBytes) = answer;
        if (Crashes.Contains(status.StatusCode) || (accepted is not null && !accepted.Contains(status.StatusCode)))
        {
            failures.Add($"{what}: {status.StatusCode} {status.Detail}");
        }
        if (trailerBytes > MaxTrailerBytes)
        {
            failures.Add($"{what}: {trailerBytes} bytes of trailers");
        }
    }

    private static IEnumerable<(ServiceKind, ServiceDescriptor)> Services()
    {
        foreach (var type in typeof(ImageService).Assembly.GetTypes())
        {
            if (type.GetProperty("Descriptor", typeof(ServiceDescriptor))?.GetValue(null) is not ServiceDescriptor service)
            {
                continue;
            }
            var package = service.File.Package;
            ServiceKind? kind = package switch
            {
                "grpcimages.catalog.v1" => ServiceKind.Catalog,
                "grpcimages.kms.v1" => ServiceKind.Kms,
                "grpcimages.sharing.v1" => ServiceKind.Sharing,
                "grpcimages.transfer.v1" => ServiceKind.Transfer,
                _ => null,
            };
            if (kind is { } k)
            {
                yield return (k, service);
            }
        }
    }

    /// <summary>Bytes that do not parse as the method's message, or parse to values no schema allows.</summary>
    private static IEnumerable<(string, byte[])> MalformedPayloads(MessageDescriptor input)
    {
        yield return ("truncated", [0x0A, 0x05, 0x61]);
        var nested = new List<byte>();
        var start = Varint((1000u << 3) | 3);
        var end = Varint((1000u << 3) | 4);
        for (var i = 0; i < 2000; i++)
        {
            nested.AddRange(start);
        }
        for (var i = 0; i < 2000; i++)
        {
            nested.AddRange(end);
        }
        yield return ("2000 nested groups", [.. nested]);
        var fields = input.Fields.InFieldNumberOrder().Where(f => !f.IsMap).ToList();
        if (fields.FirstOrDefault(f => f.FieldType == FieldType.String) is { } text)
        {
            yield return ($"invalid UTF-8 in {text.Name}", [.. Varint(((uint)text.FieldNumber << 3) | 2), 2, 0xC3, 0x28]);
        }
        if (fields.FirstOrDefault(f => f.FieldType == FieldType.Enum) is { } choice)
        {
            yield return ($"{choice.Name} = 777", [.. Varint((uint)choice.FieldNumber << 3), .. Varint(777)]);
        }
        foreach (var field in fields.Where(f => f.FieldType == FieldType.String))
        {
            var huge = Encoding.UTF8.GetBytes(new string('a', 200 * 1024));
            yield return ($"200 KiB {field.Name}", [.. Varint(((uint)field.FieldNumber << 3) | 2), .. Varint((uint)huge.Length), .. huge]);
        }
    }

    /// <summary>Well-formed messages with hostile values: forged page tokens, Duration and number extremes.</summary>
    private static IEnumerable<(string, IMessage)> HostileMessages(MessageDescriptor input)
    {
        var fields = input.Fields.InFieldNumberOrder().Where(f => !f.IsMap && !f.IsRepeated).ToList();
        IMessage New()
        {
            var message = input.Parser.ParseFrom(ByteString.Empty);
            if (fields.FirstOrDefault(f => f.Name == "region_id") is { } region)
            {
                region.Accessor.SetValue(message, Hangzhou);
            }
            return message;
        }
        if (fields.FirstOrDefault(f => f.Name == "page_token") is { } page)
        {
            foreach (var forged in new[]
                     {
                         Base64Url.EncodeToString(Encoding.UTF8.GetBytes("gi1:0|zz")),
                         Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(40)),
                         Base64Url.EncodeToString(Encoding.UTF8.GetBytes("1-0")),
                         "!!not base64!!",
                     })
            {
                var message = New();
                page.Accessor.SetValue(message, forged);
                yield return ($"forged page token {forged}", message);
            }
        }
        foreach (var field in fields)
        {
            object? extreme = field.FieldType switch
            {
                FieldType.Message when field.MessageType.FullName == Duration.Descriptor.FullName => new Duration { Seconds = long.MaxValue },
                FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64 => long.MaxValue,
                FieldType.UInt64 or FieldType.Fixed64 => ulong.MaxValue,
                FieldType.Int32 or FieldType.SInt32 or FieldType.SFixed32 => int.MinValue,
                FieldType.UInt32 or FieldType.Fixed32 => uint.MaxValue,
                _ => null,
            };
            if (extreme is not null)
            {
                var message = New();
                field.Accessor.SetValue(message, extreme);
                yield return ($"{field.Name} = {extreme}", message);
            }
        }
    }

    private static async Task<(Status, int)> CallAsync(TestCluster cluster, ServiceKind kind, ServiceDescriptor service, MethodDescriptor method, string token, byte[] payload)
    {
        // Sent as a duplex call whatever the method's kind: one request message, then the end of the stream.
        var call = new Method<byte[], byte[]>(MethodType.DuplexStreaming, service.FullName, method.Name, Raw, Raw);
        using var stream = cluster.Invoker(kind, token).AsyncDuplexStreamingCall(call, null, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(15)));
        try
        {
            await stream.RequestStream.WriteAsync(payload);
            await stream.RequestStream.CompleteAsync();
            while (await stream.ResponseStream.MoveNext(CancellationToken.None))
            {
            }
            return (stream.GetStatus(), Size(stream.GetTrailers()));
        }
        catch (RpcException ex)
        {
            return (ex.Status, Size(ex.Trailers) + Encoding.UTF8.GetByteCount(ex.Status.Detail));
        }
    }

    private static int Size(Metadata trailers) =>
        trailers.Sum(e => e.Key.Length + (e.IsBinary ? (e.ValueBytes.Length * 4 / 3) + 4 : Encoding.UTF8.GetByteCount(e.Value)));

    private static byte[] Varint(ulong value)
    {
        var bytes = new List<byte>();
        do
        {
            var b = (byte)(value & 0x7F);
            value >>= 7;
            bytes.Add(value == 0 ? b : (byte)(b | 0x80));
        }
        while (value != 0);
        return [.. bytes];
    }
}
