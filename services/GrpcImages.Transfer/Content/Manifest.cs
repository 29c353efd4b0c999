using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace GrpcImages.Transfer.Content;

/// <summary>How a manifest's chunks are sealed (R23): the KMS key and the data key it wrapped.</summary>
public sealed record ManifestEncryption(string AccountId, string KmsKeyId, byte[] WrappedKey);

/// <summary>A stored (non-zero) chunk of a manifest: its position and the SHA-256 of its stored bytes.</summary>
public readonly record struct ChunkRef(int Index, byte[] Hash)
{
    public string Name => Convert.ToHexStringLower(Hash);
}

/// <summary>
/// A disk's content: its logical size and, for each 4 MiB chunk that is not all zeros, its
/// position and the SHA-256 name of its stored bytes. Zero chunks are implicit, so a blank or
/// sparse disk costs what its data costs. Stored as a small binary file whose SHA-256 is the
/// manifest id, so equal content has equal ids.
/// <code>
/// "GIM2" | size int64 | chunk size int32 | stored count int32 | has-encryption byte
///   [account | key id | wrapped key, each int32-length-prefixed] | stored count x (index int32 | 32-byte hash)
/// </code>
/// </summary>
public sealed class Manifest
{
    public const int ChunkSize = Formats.DiskChunks.Size;
    private static readonly byte[] Magic = "GIM2"u8.ToArray();
    private readonly int[] _indexes;

    public Manifest(long sizeBytes, IReadOnlyList<ChunkRef> stored, ManifestEncryption? encryption)
    {
        if (sizeBytes < 0)
        {
            throw new ArgumentException("A manifest's size cannot be negative.");
        }
        var count = ChunkCount(sizeBytes);
        for (var i = 0; i < stored.Count; i++)
        {
            if (stored[i].Index < 0 || stored[i].Index >= count || (i > 0 && stored[i].Index <= stored[i - 1].Index) || stored[i].Hash.Length != 32)
            {
                throw new ArgumentException("Stored chunks are in ascending, distinct positions inside the content.");
            }
        }
        SizeBytes = sizeBytes;
        Stored = stored;
        Encryption = encryption;
        _indexes = stored.Select(c => c.Index).ToArray();
        Bytes = Serialize();
        Id = Convert.ToHexStringLower(SHA256.HashData(Bytes));
    }

    public string Id { get; }

    /// <summary>The name of the manifest's own blob and its reference ("m:&lt;id&gt;").</summary>
    public string BlobName => $"m:{Id}";

    public long SizeBytes { get; }

    public int Count => ChunkCount(SizeBytes);

    /// <summary>The stored chunks in position order.</summary>
    public IReadOnlyList<ChunkRef> Stored { get; }

    public ManifestEncryption? Encryption { get; }

    public byte[] Bytes { get; }

    /// <summary>Bytes of non-zero content (what the stored chunks hold before sealing).</summary>
    public long StoredBytes => Stored.Sum(c => (long)ChunkLength(c.Index));

    /// <summary>The stored chunk at a position, or null for a zero chunk.</summary>
    public byte[]? HashAt(int index)
    {
        var found = Array.BinarySearch(_indexes, index);
        return found >= 0 ? Stored[found].Hash : null;
    }

    /// <summary>SHA-256 over the size and the stored chunks without the encryption header.</summary>
    public string Digest()
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> number = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(number, SizeBytes);
        hash.AppendData(number);
        foreach (var chunk in Stored)
        {
            BinaryPrimitives.WriteInt32LittleEndian(number, chunk.Index);
            hash.AppendData(number[..4]);
            hash.AppendData(chunk.Hash);
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    public static int ChunkCount(long sizeBytes) => Formats.DiskChunks.Count(sizeBytes);

    /// <summary>The length of chunk <paramref name="index"/> (the last one may be short).</summary>
    public int ChunkLength(int index) => (int)Math.Min(ChunkSize, SizeBytes - (long)index * ChunkSize);

    public static Manifest Parse(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < 21 || !bytes[..4].SequenceEqual(Magic))
        {
            throw new InvalidDataException("Not a manifest.");
        }
        var size = BinaryPrimitives.ReadInt64LittleEndian(bytes[4..]);
        if (BinaryPrimitives.ReadInt32LittleEndian(bytes[12..]) != ChunkSize)
        {
            throw new InvalidDataException("Unsupported chunk size.");
        }
        var count = BinaryPrimitives.ReadInt32LittleEndian(bytes[16..]);
        var position = 21;
        ManifestEncryption? encryption = null;
        if (bytes[20] == 1)
        {
            var account = Encoding.UTF8.GetString(Field(bytes, ref position));
            var key = Encoding.UTF8.GetString(Field(bytes, ref position));
            encryption = new ManifestEncryption(account, key, Field(bytes, ref position).ToArray());
        }
        var stored = new ChunkRef[count];
        for (var i = 0; i < count; i++, position += 36)
        {
            stored[i] = new ChunkRef(BinaryPrimitives.ReadInt32LittleEndian(bytes[position..]), bytes.Slice(position + 4, 32).ToArray());
        }
        return new Manifest(size, stored, encryption);
    }

    private byte[] Serialize()
    {
        using var stream = new MemoryStream(64 + Stored.Count * 36);
        Span<byte> header = stackalloc byte[17];
        BinaryPrimitives.WriteInt64LittleEndian(header, SizeBytes);
        BinaryPrimitives.WriteInt32LittleEndian(header[8..], ChunkSize);
        BinaryPrimitives.WriteInt32LittleEndian(header[12..], Stored.Count);
        header[16] = Encryption is null ? (byte)0 : (byte)1;
        stream.Write(Magic);
        stream.Write(header);
        if (Encryption is not null)
        {
            WriteField(stream, Encoding.UTF8.GetBytes(Encryption.AccountId));
            WriteField(stream, Encoding.UTF8.GetBytes(Encryption.KmsKeyId));
            WriteField(stream, Encryption.WrappedKey);
        }
        Span<byte> index = stackalloc byte[4];
        foreach (var chunk in Stored)
        {
            BinaryPrimitives.WriteInt32LittleEndian(index, chunk.Index);
            stream.Write(index);
            stream.Write(chunk.Hash);
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
