namespace GrpcImages.Sharing.Storage;

/// <summary>
/// A member of a recipient's index (gi:share:{r}:recv:&lt;recipient&gt;:&lt;region&gt;), "owner|image":
/// an image another account shared with the recipient. Account and image ids never hold '|'.
/// </summary>
public sealed record ReceivedMember(string Owner, string ImageId)
{
    public string Format() =>
        IsField(Owner) && IsField(ImageId)
            ? $"{Owner}|{ImageId}"
            : throw new ArgumentException($"An owner or image id may not be empty or hold '|': \"{Owner}\", \"{ImageId}\".");

    /// <summary>Reads a member; InvalidDataException when it is not one.</summary>
    public static ReceivedMember Parse(string member) =>
        member.Split('|') is [{ Length: > 0 } owner, { Length: > 0 } imageId]
            ? new ReceivedMember(owner, imageId)
            : throw new InvalidDataException($"Not a member of a recipient's index: \"{member}\".");

    /// <summary>Whether a value can be a field of a '|'-joined entry: not empty, no '|'.</summary>
    internal static bool IsField(string value) => value.Length > 0 && !value.Contains('|', StringComparison.Ordinal);
}
