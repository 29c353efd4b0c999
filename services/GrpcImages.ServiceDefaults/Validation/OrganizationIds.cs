using System.Buffers;
using System.Security.Cryptography;

namespace GrpcImages.ServiceDefaults.Validation;

/// <summary>
/// Ids of resource directories and what is in them (R37), as kms makes them and the sharing service
/// reads them: a directory "rd-" + 10 (older organization ids: 6-32), its root folder "r-" + 6, other
/// folders "fd-" + 10, handshakes "h-" + 16, each of lowercase letters and digits. They carry no slot
/// tag: kms keeps every one of them under its {dir} tag.
/// </summary>
public static class OrganizationIds
{
    private const string Alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
    private static readonly SearchValues<char> Allowed = SearchValues.Create(Alphabet);

    public static bool IsDirectoryId(string value) => Is(value, "rd-", 6, 32);

    public static bool IsRootFolderId(string value) => Is(value, "r-", 6, 6);

    /// <summary>A folder of a directory, its root folder included.</summary>
    public static bool IsFolderId(string value) => IsRootFolderId(value) || Is(value, "fd-", 10, 10);

    public static bool IsHandshakeId(string value) => Is(value, "h-", 16, 16);

    public static string NewDirectoryId() => "rd-" + RandomNumberGenerator.GetString(Alphabet, 10);

    public static string NewRootFolderId() => "r-" + RandomNumberGenerator.GetString(Alphabet, 6);

    public static string NewFolderId() => "fd-" + RandomNumberGenerator.GetString(Alphabet, 10);

    public static string NewHandshakeId() => "h-" + RandomNumberGenerator.GetString(Alphabet, 16);

    private static bool Is(string value, string prefix, int min, int max) =>
        value.StartsWith(prefix, StringComparison.Ordinal) && value.Length - prefix.Length >= min && value.Length - prefix.Length <= max &&
        value.AsSpan(prefix.Length).IndexOfAnyExcept(Allowed) < 0;
}
