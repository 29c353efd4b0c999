namespace GrpcImages.Catalog.Domain;

/// <summary>What a creation job makes; each kind has its client-token scope.</summary>
public enum CreationKind
{
    Image,
    Snapshot,
    Instance,
}

/// <summary>A creation job's id in the "jobs" queue: "img|&lt;id&gt;", "snap|&lt;id&gt;" or "inst|&lt;id&gt;".</summary>
public readonly record struct CreationJob(CreationKind Kind, string ResourceId)
{
    public static CreationJob Image(string imageId) => new(CreationKind.Image, imageId);

    public static CreationJob Snapshot(string snapshotId) => new(CreationKind.Snapshot, snapshotId);

    /// <summary>An instance has nothing to make after its create; its job only gives up a create that never finished.</summary>
    public static CreationJob Instance(string instanceId) => new(CreationKind.Instance, instanceId);

    /// <summary>The client-token scope of the kind ("img", "snap", "inst"), which is also the id's prefix.</summary>
    public string Scope => Kind switch
    {
        CreationKind.Image => "img",
        CreationKind.Snapshot => "snap",
        _ => "inst",
    };

    public string Format() => $"{Scope}|{ResourceId}";

    /// <summary>The job an id names, or null for an id that is not a job's.</summary>
    public static CreationJob? TryParse(string id)
    {
        var bar = id.IndexOf('|');
        CreationKind? kind = bar < 0 ? null : id[..bar] switch
        {
            "img" => CreationKind.Image,
            "snap" => CreationKind.Snapshot,
            "inst" => CreationKind.Instance,
            _ => null,
        };
        return kind is { } known && bar + 1 < id.Length ? new CreationJob(known, id[(bar + 1)..]) : null;
    }
}

/// <summary>
/// A creation job's payload, written before the create holds anything: who creates, where, with which client
/// token, and (for an instance) from which image; "intent|&lt;owner&gt;|&lt;region&gt;|&lt;token&gt;|&lt;image&gt;".
/// A client token may itself hold '|': it is what lies between the region and the last '|'.
/// </summary>
public sealed record CreationIntent(string Owner, string Region, string ClientToken, string ImageId)
{
    private const string Prefix = "intent|";

    public string Format() => $"{Prefix}{Owner}|{Region}|{ClientToken}|{ImageId}";

    /// <summary>The intent a payload holds, or null when it holds none.</summary>
    public static CreationIntent? TryParse(string payload)
    {
        if (!payload.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return null;
        }
        var rest = payload[Prefix.Length..];
        var first = rest.IndexOf('|');
        var second = first < 0 ? -1 : rest.IndexOf('|', first + 1);
        if (second < 0)
        {
            return null;
        }
        var (owner, region, tail) = (rest[..first], rest[(first + 1)..second], rest[(second + 1)..]);
        // Payloads written before instances named their image end at the token.
        var last = tail.LastIndexOf('|');
        return last < 0 ? new CreationIntent(owner, region, tail, "") : new CreationIntent(owner, region, tail[..last], tail[(last + 1)..]);
    }
}
