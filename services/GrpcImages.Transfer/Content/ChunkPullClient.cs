using System.Buffers;
using System.Text;
using Google.Protobuf;
using Grpc.Core;
using GrpcImages.Contracts.Transfer.V1;

namespace GrpcImages.Transfer.Content;

/// <summary>A chunk's bytes in a pooled buffer (given back on dispose).</summary>
public sealed class PooledChunk(int index, byte[] buffer, int length, string sha256) : IDisposable
{
    private byte[]? _buffer = buffer;

    public int Index => index;

    public ReadOnlyMemory<byte> Data => _buffer.AsMemory(0, length);

    /// <summary>The same bytes, for whoever fills the buffer.</summary>
    public Memory<byte> Writable => _buffer.AsMemory(0, length);

    public string Sha256 => sha256;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _buffer, null) is { } returned)
        {
            ChunkBuffers.Shared.Return(returned);
        }
    }
}

/// <summary>
/// Chunk-sized buffers (exactly a sealed chunk's size, where the shared array pool would round up to
/// 8 MiB), shared by every copy of the process. A few are kept for the next copy; the rest go to the
/// collector.
/// </summary>
public sealed class ChunkBuffers(int keep)
{
    public static readonly ChunkBuffers Shared = new(keep: 16);

    private readonly System.Collections.Concurrent.ConcurrentBag<byte[]> _free = [];

    public byte[] Rent() => _free.TryTake(out var buffer) ? buffer : new byte[Manifest.ChunkSize + ChunkCipher.Overhead];

    public void Return(byte[] buffer)
    {
        if (_free.Count < keep)
        {
            _free.Add(buffer);
        }
    }
}

/// <summary>
/// ContentService.PullChunks with a reader that puts each chunk's bytes straight into a pooled buffer:
/// the generated client would allocate a new 4 MiB array per message, which is most of a copy's
/// memory and collector work. Same wire format; only the receiving side differs.
/// </summary>
public sealed class ChunkPullClient : ClientBase<ChunkPullClient>
{
    public ChunkPullClient(CallInvoker callInvoker) : base(callInvoker)
    {
    }

    private ChunkPullClient(ClientBaseConfiguration configuration) : base(configuration)
    {
    }

    private static readonly Method<PullChunksRequest, PooledChunk> PullChunksMethod = new(
        MethodType.ServerStreaming,
        ContentService.Descriptor.FullName,
        "PullChunks",
        Marshallers.Create(
            (PullChunksRequest request, SerializationContext context) =>
            {
                context.SetPayloadLength(request.CalculateSize());
                request.WriteTo(context.GetBufferWriter());
                context.Complete();
            },
            (DeserializationContext context) => PullChunksRequest.Parser.ParseFrom(context.PayloadAsReadOnlySequence())),
        Marshallers.Create(
            (PooledChunk _, SerializationContext _) => throw new NotSupportedException("Only received."),
            (DeserializationContext context) => Parse(context.PayloadAsReadOnlySequence())));

    public AsyncServerStreamingCall<PooledChunk> PullChunks(PullChunksRequest request, CancellationToken cancellationToken) =>
        CallInvoker.AsyncServerStreamingCall(PullChunksMethod, null, new CallOptions(cancellationToken: cancellationToken), request);

    protected override ChunkPullClient NewInstance(ClientBaseConfiguration configuration) => new(configuration);

    /// <summary>Reads a PullChunksResponse (index = 1, data = 2, sha256 = 3; other fields skipped).</summary>
    public static PooledChunk Parse(ReadOnlySequence<byte> payload)
    {
        var reader = new SequenceReader<byte>(payload);
        var index = 0;
        var sha256 = "";
        byte[]? buffer = null;
        var length = 0;
        try
        {
            while (!reader.End)
            {
                var tag = ReadVarint(ref reader);
                var field = (int)(tag >> 3);
                switch ((field, (int)(tag & 7)))
                {
                    case (1, 0):
                        index = (int)ReadVarint(ref reader);
                        break;
                    case (2, 2):
                        length = ReadLength(ref reader);
                        buffer ??= ChunkBuffers.Shared.Rent();
                        if (length > buffer.Length || !reader.TryCopyTo(buffer.AsSpan(0, length)))
                        {
                            throw new InvalidDataException("A chunk is larger than a chunk can be, or cut short.");
                        }
                        reader.Advance(length);
                        break;
                    case (3, 2):
                        var size = ReadLength(ref reader);
                        sha256 = Encoding.UTF8.GetString(reader.UnreadSequence.Slice(0, size));
                        reader.Advance(size);
                        break;
                    default:
                        Skip(ref reader, (int)(tag & 7));
                        break;
                }
            }
            var chunk = new PooledChunk(index, buffer ?? ChunkBuffers.Shared.Rent(), length, sha256);
            buffer = null;
            return chunk;
        }
        finally
        {
            if (buffer is not null)
            {
                ChunkBuffers.Shared.Return(buffer);
            }
        }
    }

    private static ulong ReadVarint(ref SequenceReader<byte> reader)
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (!reader.TryRead(out var b))
            {
                break;
            }
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }
        throw new InvalidDataException("A varint is cut short or too long.");
    }

    private static int ReadLength(ref SequenceReader<byte> reader)
    {
        var length = ReadVarint(ref reader);
        return length <= (ulong)reader.Remaining ? (int)length : throw new InvalidDataException("A field is longer than the message.");
    }

    private static void Skip(ref SequenceReader<byte> reader, int wireType)
    {
        switch (wireType)
        {
            case 0:
                ReadVarint(ref reader);
                break;
            case 1:
                reader.Advance(8);
                break;
            case 2:
                reader.Advance(ReadLength(ref reader));
                break;
            case 5:
                reader.Advance(4);
                break;
            default:
                throw new InvalidDataException($"Wire type {wireType} is not one this message uses.");
        }
    }
}
