using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace GrpcImages.Transfer.Content;

/// <summary>How a manifest's chunks are sealed (R23): the KMS key and the data key it wrapped.</summary>
public sealed record ManifestEncryption(string AccountId, string KmsKeyId, byte[] WrappedKey);

/// <summary>
/// A disk's content: its logical size and the ordered SHA-256 names of its 4 MiB chunks, a
/// null entry for an all-zero chunk (not stored). Stored as a small binary file whose SHA-256 is
/// the manifest id, so equal content has equal ids.
/// <code>
/// "GIM1" | size int64 | chunk size int32 | count int32 | has-encryption byte
///   [account | key id | wrapped key, each int32-length-prefixed] | count x 32-byte hash (zeros = zero chunk)
/// </code>
/// </summary>
public sealed class Manifest
{
    public const int ChunkSize = 4 * 1024 * 1024;
    private static readonly byte[] Magic = "GIM1"u8.ToArray();

    public Manifest(long sizeBytes, IReadOnlyList<byte[]?> chunks, ManifestEncryption? encryption)
    {
        if (sizeBytes < 0 || chunks.Count != ChunkCount(sizeBytes))
        {
            throw new ArgumentException("A manifest has one entry per 4 MiB of its size.");
        }
        SizeBytes = sizeBytes;
        Chunks = chunks;
        Encryption = encryption;
        Bytes = Serialize();
        Id = Convert.ToHexStringLower(SHA256.HashData(Bytes));
    }

    public string Id { get; }

    /// <summary>The name of the manifest's own blob and its reference ("m:&lt;id&gt;").</summary>
    public string BlobName => $"m:{Id}";

    public long SizeBytes { get; }

    public IReadOnlyList<byte[]?> Chunks { get; }

    public ManifestEncryption? Encryption { get; }

    public byte[] Bytes { get; }

    public int StoredChunkCount => Chunks.Count(c => c is not null);

    /// <summary>The distinct stored chunks' names, in first-use order.</summary>
    public IReadOnlyList<string> DistinctChunkNames() =>
        Chunks.Where(c => c is not null).Select(c => Convert.ToHexStringLower(c!)).Distinct().ToList();

    /// <summary>SHA-256 over the size and chunk list without the encryption header.</summary>
    public string Digest()
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> size = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(size, SizeBytes);
        hash.AppendData(size);
        Span<byte> zero = stackalloc byte[32];
        foreach (var chunk in Chunks)
        {
            hash.AppendData(chunk ?? zero);
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    public static int ChunkCount(long sizeBytes) => checked((int)((sizeBytes + ChunkSize - 1) / ChunkSize));

    /// <summary>The length of chunk <paramref name="index"/> (the last one may be short).</summary>
    public int ChunkLength(int index) => (int)Math.Min(ChunkSize, SizeBytes - (long)index * ChunkSize);

    public static Manifest Parse(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < 21 || !bytes[..4].SequenceEqual(Magic))
        {
            throw new InvalidDataException("Not a manifest.");
        }
        var size = BinaryPrimitives.ReadInt64LittleEndian(bytes[4..]);
        var chunkSize = BinaryPrimitives.ReadInt32LittleEndian(bytes[12..]);
        var count = BinaryPrimitives.ReadInt32LittleEndian(bytes[16..]);
        if (chunkSize != ChunkSize)
        {
            throw new InvalidDataException("Unsupported chunk size.");
        }
        var position = 21;
        ManifestEncryption? encryption = null;
        if (bytes[20] == 1)
        {
            var account = Encoding.UTF8.GetString(Field(bytes, ref position));
            var key = Encoding.UTF8.GetString(Field(bytes, ref position));
            encryption = new ManifestEncryption(account, key, Field(bytes, ref position).ToArray());
        }
        var chunks = new byte[]?[count];
        for (var i = 0; i < count; i++)
        {
            var entry = bytes.Slice(position + i * 32, 32);
            chunks[i] = entry.IndexOfAnyExcept((byte)0) < 0 ? null : entry.ToArray();
        }
        return new Manifest(size, chunks, encryption);
    }

    private byte[] Serialize()
    {
        using var stream = new MemoryStream(64 + Chunks.Count * 32);
        Span<byte> header = stackalloc byte[17];
        BinaryPrimitives.WriteInt64LittleEndian(header, SizeBytes);
        BinaryPrimitives.WriteInt32LittleEndian(header[8..], ChunkSize);
        BinaryPrimitives.WriteInt32LittleEndian(header[12..], Chunks.Count);
        header[16] = Encryption is null ? (byte)0 : (byte)1;
        stream.Write(Magic);
        stream.Write(header);
        if (Encryption is not null)
        {
            WriteField(stream, Encoding.UTF8.GetBytes(Encryption.AccountId));
            WriteField(stream, Encoding.UTF8.GetBytes(Encryption.KmsKeyId));
            WriteField(stream, Encryption.WrappedKey);
        }
        Span<byte> zero = stackalloc byte[32];
        foreach (var chunk in Chunks)
        {
            stream.Write(chunk ?? zero);
        }
        return stream.ToArray();
    }

    private static void WriteField(Stream stream, ReadOnlySpan<byte> field)
    {
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(length, field.Length);
        stream.Write(length);
        stream.Write(field);
    }

    private static ReadOnlySpan<byte> Field(ReadOnlySpan<byte> bytes, ref int position)
    {
        var length = BinaryPrimitives.ReadInt32LittleEndian(bytes[position..]);
        var field = bytes.Slice(position + 4, length);
        position += 4 + length;
        return field;
    }
}
