using System.Globalization;

namespace GrpcImages.Sharing.Storage;

/// <summary>
/// An entry of an owner's outbox (gi:share:{t}:outbox:&lt;owner&gt;): a change still to apply to a
/// recipient's index, "+|recipient|region|owner|image|ms" for a grant (ms: when it was shared, the
/// member's score) or "-|recipient|region|owner|image|ms" for a revoke (ms: when it was revoked).
/// ShareStore's scripts write entries in this form; <see cref="Format"/> is the same in C#.
/// </summary>
public sealed record OutboxEntry(bool Grant, string Recipient, string Region, string Owner, string ImageId, long AtMs)
{
    /// <summary>The member of the recipient's index the change adds or removes.</summary>
    public ReceivedMember Member => new(Owner, ImageId);

    public string Format() =>
        ReceivedMember.IsField(Recipient) && ReceivedMember.IsField(Region) && AtMs >= 0
            ? string.Create(CultureInfo.InvariantCulture, $"{(Grant ? '+' : '-')}|{Recipient}|{Region}|{Member.Format()}|{AtMs}")
            : throw new ArgumentException($"Not an outbox entry's recipient, region and time: \"{Recipient}\", \"{Region}\", {AtMs}.");

    /// <summary>Reads an entry; InvalidDataException when it is not one.</summary>
    public static OutboxEntry Parse(string entry) =>
        entry.Split('|') is [var change and ("+" or "-"), { Length: > 0 } recipient, { Length: > 0 } region, { Length: > 0 } owner, { Length: > 0 } imageId, var ms]
        && long.TryParse(ms, NumberStyles.None, CultureInfo.InvariantCulture, out var atMs)
            ? new OutboxEntry(change == "+", recipient, region, owner, imageId, atMs)
            : throw new InvalidDataException($"Not an outbox entry: \"{entry}\".");
}
