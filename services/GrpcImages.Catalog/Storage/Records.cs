using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.ServiceDefaults.Storage;
using StackExchange.Redis;

namespace GrpcImages.Catalog.Storage;

/// <summary>What a create script did (numbers the scripts return).</summary>
public enum CreateResult
{
    Created = 1,
    /// <summary>The client token was used before: the detail is its stored value (R35).</summary>
    TokenUsed = 2,
    DuplicateName = 3,
    /// <summary>A snapshot the image uses is gone: the detail is its id.</summary>
    SnapshotMissing = 4,
    /// <summary>A snapshot the image uses is not accomplished: the detail is its id.</summary>
    SnapshotNotReady = 5,
    /// <summary>The creation took so long that its job gave it up (and what it held back).</summary>
    Abandoned = 6,
    /// <summary>The owner has as many of these as it may (the limited set is full).</summary>
    QuotaExceeded = 7,
    /// <summary>A record whose version guards the create changed since it was read: read again and retry.</summary>
    GuardChanged = 8,
    /// <summary>A record the new one links to is gone: the detail is its position (1-based) among the links.</summary>
    LinkMissing = 9,
    /// <summary>A field the create claims (a private address) was claimed first: the detail is its position (1-based).</summary>
    ClaimTaken = 10,
}

/// <summary>What a versioned save did (numbers the scripts return).</summary>
public enum SaveResult
{
    /// <summary>The record changed since it was read (or is gone).</summary>
    Conflict = 0,
    Saved = 1,
    DuplicateName = 2,
    /// <summary>A queue worker with a newer fencing token wrote the record: this worker lost its job.</summary>
    Fenced = 3,
    /// <summary>The record is not pending for the task named (another task's, or none).</summary>
    NotPending = 4,
    /// <summary>The task named ended the record's pending state already (a retry of a step that succeeded).</summary>
    AlreadyDone = 5,
    /// <summary>There is no such record (a cancelled one is deleted).</summary>
    Absent = 6,

    /// <summary>The change mirrors an older state of its task than one applied already: nothing was written.</summary>
    Stale = 7,
}

/// <summary>What a delete script did (numbers the scripts return).</summary>
public enum DeleteResult
{
    Conflict = 0,
    Deleted = 1,
    /// <summary>Instances use the image, or images use the snapshot.</summary>
    InUse = 2,
    /// <summary>A running copy or export holds the image (R9, R33).</summary>
    Held = 3,
}

/// <summary>
/// What every catalog store shares: how a record is laid out as hash fields ("d" its protobuf bytes,
/// "s" its status, "v" its version), and how script answers are read. Records hold no view fields
/// (an image's owner alias, a snapshot's image ids): those depend on the reader and are filled on read.
/// </summary>
internal static class Records
{
    /// <summary>A versioned save of an image's record that keeps its owner's status counts (<see cref="StatusCounts"/>).</summary>
    internal static RecordWrite ImageWrite(StoredImage stored, Image updated) =>
        new(CatalogKeys.Image(updated.RegionId, updated.ImageId), stored.Version, ImageFields(updated))
        {
            Counts = CatalogKeys.ImageCounts(updated.OwnerAccountId, updated.RegionId),
        };

    public static IReadOnlyList<KeyValuePair<string, RedisValue>> ImageFields(Image image) =>
    [
        new("d", Bytes(image)), new("s", (int)image.Status), new("n", image.ImageName), new("f", image.ImageFamily), new("t", TagField(image.Tags)),
    ];

    /// <summary>
    /// An image's tags as the list script matches them (field "t"): each tag as RS, its key's UTF-8 in hex, '=', its value's
    /// in hex, RS. Hex holds neither RS nor '=', so a needle of <see cref="TagNeedle"/> matches one whole tag or key only.
    /// </summary>
    public static string TagField(IEnumerable<GrpcImages.Contracts.Common.V1.Tag> tags) =>
        string.Concat(tags.Select(t => $"\u001e{Hex(t.Key)}={Hex(t.Value)}\u001e"));

    /// <summary>What an image's "t" field contains when it has the tag (any value of the key when the value is empty).</summary>
    public static string TagNeedle(GrpcImages.Contracts.Common.V1.Tag tag) =>
        tag.Value.Length == 0 ? $"\u001e{Hex(tag.Key)}=" : $"\u001e{Hex(tag.Key)}={Hex(tag.Value)}\u001e";

    private static string Hex(string text) => Convert.ToHexStringLower(System.Text.Encoding.UTF8.GetBytes(text));

    public static IReadOnlyList<KeyValuePair<string, RedisValue>> SnapshotFields(Snapshot snapshot) =>
        [new("d", Bytes(snapshot)), new("s", (int)snapshot.Status)];

    /// <summary>An image as stored: without its owner alias, which depends on who reads it.</summary>
    public static byte[] Bytes(Image image)
    {
        if (image.OwnerAlias == ImageOwnerAlias.Unspecified)
        {
            return image.ToByteArray();
        }
        var stored = image.Clone();
        stored.OwnerAlias = ImageOwnerAlias.Unspecified;
        return stored.ToByteArray();
    }

    /// <summary>A snapshot as stored: its image ids live in their own set.</summary>
    public static byte[] Bytes(Snapshot snapshot)
    {
        if (snapshot.ImageIds.Count == 0)
        {
            return snapshot.ToByteArray();
        }
        var stored = snapshot.Clone();
        stored.ImageIds.Clear();
        return stored.ToByteArray();
    }

    public static byte[] Bytes(Instance instance) => instance.ToByteArray();

    /// <summary>An index score: creation time in Unix milliseconds.</summary>
    public static double Score(Timestamp time) => time.ToDateTimeOffset().ToUnixTimeMilliseconds();

    public static IEnumerable<RedisValue> Pairs(IEnumerable<KeyValuePair<string, RedisValue>> fields) =>
        fields.SelectMany(f => new[] { (RedisValue)f.Key, f.Value });

    public static T Map<T>(RedisResult result) where T : struct, System.Enum => ScriptResults.Map<T>((int)result);

    /// <summary>A create script's {CreateResult, detail}.</summary>
    public static (CreateResult Result, string Detail) Created(RedisResult result)
    {
        var parts = (RedisResult[])result!;
        return (Map<CreateResult>(parts[0]), (string)parts[1]!);
    }
}
