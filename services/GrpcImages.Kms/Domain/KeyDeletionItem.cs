namespace GrpcImages.Kms.Domain;

/// <summary>
/// An item of the key-deletions queue, "account|key" (its id and its payload). The key id is the
/// one the request named, queued before it is checked, so it may hold anything; the account never
/// holds '|', so the first '|' ends it.
/// </summary>
public sealed record KeyDeletionItem(string Account, string KeyId)
{
    public string Format() =>
        Account.Length > 0 && !Account.Contains('|', StringComparison.Ordinal)
            ? $"{Account}|{KeyId}"
            : throw new ArgumentException($"An account id of a key deletion may not be empty or hold '|': \"{Account}\".");

    /// <summary>Reads an item; InvalidDataException when it is not one.</summary>
    public static KeyDeletionItem Parse(string item)
    {
        var bar = item.IndexOf('|', StringComparison.Ordinal);
        return bar > 0
            ? new KeyDeletionItem(item[..bar], item[(bar + 1)..])
            : throw new InvalidDataException($"Not an item of the key-deletions queue: \"{item}\".");
    }
}
