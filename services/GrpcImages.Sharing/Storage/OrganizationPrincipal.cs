using GrpcImages.ServiceDefaults.Validation;

namespace GrpcImages.Sharing.Storage;

/// <summary>
/// Something of a resource directory an image is shared with (R37), as the organization grants
/// (gi:share:{t}:ogrants:&lt;image&gt;), the outbox and the organization recipients' index name it: the directory
/// alone ("rd-x"), or the directory and a folder or member account of it ("rd-x/fd-y", "rd-x/r-z",
/// "rd-x/1234567890123456"). Naming the directory keeps a grant to a member account from following that
/// account into another directory. Never holds '|'.
/// </summary>
public sealed record OrganizationPrincipal(string DirectoryId, string TargetId)
{
    public bool IsDirectory => TargetId == DirectoryId;

    public bool IsFolder => OrganizationIds.IsFolderId(TargetId);

    public bool IsMemberAccount => Check.IsAccountId(TargetId);

    public string Format() =>
        OrganizationIds.IsDirectoryId(DirectoryId) && (IsDirectory || IsFolder || IsMemberAccount)
            ? IsDirectory ? DirectoryId : $"{DirectoryId}/{TargetId}"
            : throw new ArgumentException($"Not an organization principal: \"{DirectoryId}\", \"{TargetId}\".");

    /// <summary>Whether a stored principal names this target (as an owner names it to stop sharing).</summary>
    public static bool Names(string principal, string targetId) =>
        principal == targetId || (principal.Length > targetId.Length + 1 && principal.EndsWith("/" + targetId, StringComparison.Ordinal));

    /// <summary>Whether a recipient field of an outbox entry is an organization principal (else an account id).</summary>
    public static bool IsPrincipal(string recipient) => recipient.StartsWith("rd-", StringComparison.Ordinal);

    /// <summary>Reads a principal; InvalidDataException when it is not one.</summary>
    public static OrganizationPrincipal Parse(string principal)
    {
        var slash = principal.IndexOf('/', StringComparison.Ordinal);
        var parsed = slash < 0 ? new OrganizationPrincipal(principal, principal) : new OrganizationPrincipal(principal[..slash], principal[(slash + 1)..]);
        return OrganizationIds.IsDirectoryId(parsed.DirectoryId) && (parsed.IsDirectory || parsed.IsFolder || parsed.IsMemberAccount)
            ? parsed
            : throw new InvalidDataException($"Not an organization principal: \"{principal}\".");
    }
}
