using System.Net.Http.Headers;

namespace GrpcImages.Transfer.Objects;

/// <summary>The one "Range: bytes=..." both object servers (signed links and the OSS endpoint) answer.</summary>
public static class ByteRanges
{
    /// <summary>What a Range header asks of an object of <paramref name="size"/> bytes.</summary>
    public enum Kind
    {
        /// <summary>No range, or one the servers ignore (not bytes, several ranges): the whole object.</summary>
        Whole,

        /// <summary>A satisfiable range: 206 with Content-Range.</summary>
        Partial,

        /// <summary>A range past the end: 416 with "bytes */size".</summary>
        Unsatisfiable,
    }

    public static (Kind Kind, long Offset, long Length) Resolve(string header, long size)
    {
        if (header.Length == 0 || size == 0 || !RangeHeaderValue.TryParse(header, out var range) || range.Unit != "bytes" || range.Ranges.Count != 1)
        {
            return (Kind.Whole, 0, size);
        }
        var asked = range.Ranges.First();
        var (offset, last) = (asked.From, asked.To) switch
        {
            ({ } from, { } to) => (from, Math.Min(to, size - 1)),
            ({ } from, null) => (from, size - 1),
            (null, { } suffix) => (Math.Max(0, size - suffix), size - 1),
            _ => (0, -1),
        };
        return offset >= size || last < offset ? (Kind.Unsatisfiable, 0, 0) : (Kind.Partial, offset, last - offset + 1);
    }

    /// <summary>The Content-Range of a resolved range.</summary>
    public static string ContentRange(Kind kind, long offset, long length, long size) =>
        kind == Kind.Unsatisfiable ? $"bytes */{size}" : $"bytes {offset}-{offset + length - 1}/{size}";
}
