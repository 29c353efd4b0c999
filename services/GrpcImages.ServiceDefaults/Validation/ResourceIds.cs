using System.Security.Cryptography;
using System.Text;

namespace GrpcImages.ServiceDefaults.Validation;

/// <summary>
/// Resource ids: a one-letter kind, '-', and 20 lowercase letters or digits. The first four
/// of the 20 are the owner's slot tag, so a lookup by id alone finds the owner's Redis keys
/// (one round trip) and every key of an account shares one hash tag (atomic scripts that
/// also run on Redis Cluster). The other 16 are random.
/// </summary>
public static class ResourceIds
{
    private const string Alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
    public const int TagLength = 4;

    /// <summary>The 4-character slot tag of an owner (an account id, or "system" / "marketplace").</summary>
    public static string OwnerTag(string owner)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(owner));
        var value = BitConverter.ToUInt32(hash, 0) % (36u * 36 * 36 * 36);
        Span<char> tag = stackalloc char[TagLength];
        for (var i = TagLength - 1; i >= 0; i--)
        {
            tag[i] = Alphabet[(int)(value % 36)];
            value /= 36;
        }
        return new string(tag);
    }

    public static string New(char kind, string ownerTag) =>
        $"{kind}-{ownerTag}{RandomNumberGenerator.GetString(Alphabet, 20 - TagLength)}";

    /// <summary>An id with a prefix of several letters, as the ECS API's network resources have ("vpc-", "vsw-", "sg-", "eip-").</summary>
    public static string New(string prefix, string ownerTag) =>
        $"{prefix}-{ownerTag}{RandomNumberGenerator.GetString(Alphabet, 20 - TagLength)}";

    /// <summary>
    /// An id derived from a seed (the same seed gives the same id): what a retried step makes is the
    /// same resource, so holds and quota units it took are the same too.
    /// </summary>
    public static string Derived(char kind, string ownerTag, string seed)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(seed));
        Span<char> tail = stackalloc char[20 - TagLength];
        for (var i = 0; i < tail.Length; i++)
        {
            tail[i] = Alphabet[hash[i] % Alphabet.Length];
        }
        return $"{kind}-{ownerTag}{tail}";
    }

    public static bool IsValid(string id, char kind) => id.Length == 22 && id[0] == kind && IsValidTail(id, 1);

    /// <summary>Whether <paramref name="id"/> is <paramref name="prefix"/>, '-' and 20 lowercase letters or digits.</summary>
    public static bool IsValid(string id, string prefix) =>
        id.Length == prefix.Length + 21 && id.StartsWith(prefix, StringComparison.Ordinal) && IsValidTail(id, prefix.Length);

    private static bool IsValidTail(string id, int dash)
    {
        if (id[dash] != '-')
        {
            return false;
        }
        for (var i = dash + 1; i < id.Length; i++)
        {
            var c = id[i];
            if (!char.IsAsciiDigit(c) && c is not (>= 'a' and <= 'z'))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>The owner tag an id carries (the 4 characters after its prefix's '-'); call only on a valid id.</summary>
    public static string TagOf(string id) => id.Substring(id.IndexOf('-') + 1, TagLength);

    /// <summary>
    /// The snapshot an image made by a task (a copy, an import) gets for its disk <paramref name="index"/>: the same on every
    /// retry, so the transfer service holds the disk's content for it before the catalog makes the record.
    /// </summary>
    public static string ImageSnapshot(string imageId, int index) => Derived('s', TagOf(imageId), $"{imageId}|{index}");
}
