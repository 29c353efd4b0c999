using System.Text.Json;
using System.Text.Json.Serialization;

namespace GrpcImages.Transfer.Domain;

/// <summary>Where a task's request got to: only a queued task is the worker's to run.</summary>
public enum TaskPhase
{
    /// <summary>The request is still making the task's resources; a worker that finds it so later knows the request died.</summary>
    Setup = 0,
    Queued = 1,
}

/// <summary>
/// A task's plan and checkpoint, kept beside the task: what to copy, where, with which data key, and
/// how far each disk has come (its write session, then its finished manifest). A worker that takes
/// the task over continues from it.
/// </summary>
public sealed record TaskPlan
{
    public TaskPhase Phase { get; set; }

    /// <summary>"image" or "snapshot" (copies), "import", "export".</summary>
    public string Kind { get; init; } = "image";

    public string SourceRegion { get; init; } = "";

    public string SourceId { get; init; } = "";

    public string DestinationRegion { get; init; } = "";

    /// <summary>The image or snapshot the task makes (known once the catalog made it).</summary>
    public string DestinationId { get; set; } = "";

    public List<DiskPlan> Disks { get; init; } = [];

    /// <summary>Exports: the bucket the objects go to.</summary>
    public string Bucket { get; init; } = "";

    /// <summary>The destination's encryption, with its data key once made (the same key for every retry, so resumed chunks stay readable).</summary>
    public EncryptionPlan? Encryption { get; init; }

    public string Serialize() => JsonSerializer.Serialize(this, TaskPlanJson.Default.TaskPlan);

    public static TaskPlan Parse(string json) =>
        JsonSerializer.Deserialize(json, TaskPlanJson.Default.TaskPlan) ?? throw new InvalidDataException("An empty task plan.");
}

/// <summary>One disk to copy and its checkpoint.</summary>
public sealed record DiskPlan
{
    public int DiskType { get; init; }

    public string Device { get; init; } = "";

    public long SizeGib { get; init; }

    public long ContentBytes { get; set; }

    public string SourceManifest { get; init; } = "";

    /// <summary>Bytes the source stores (what moving it costs at most).</summary>
    public long StoredBytes { get; init; }

    /// <summary>The write session of the copy in progress (the same one after a takeover).</summary>
    public string Session { get; set; } = "";

    /// <summary>The finished manifest in the destination, held by the task until the catalog holds it.</summary>
    public string Manifest { get; set; } = "";

    /// <summary>Imports: where the disk's file is (oss://bucket/object or http(s)).</summary>
    public string SourceUrl { get; init; } = "";

    /// <summary>Imports: the declared format (0 when left to detection); exports: the format written (a DiskImageFormat).</summary>
    public int Format { get; init; }

    /// <summary>Exports: the object the disk is written to.</summary>
    public string ObjectName { get; init; } = "";
}

/// <summary>The destination's encryption: the account's key and, once made, the data key it wrapped.</summary>
public sealed record EncryptionPlan
{
    public string AccountId { get; init; } = "";

    public string KmsKeyId { get; init; } = "";

    public bool ServiceKey { get; init; }

    /// <summary>The data key wrapped by the KMS key (base64), or empty until made.</summary>
    public string WrappedDataKey { get; set; } = "";
}

[JsonSerializable(typeof(TaskPlan))]
internal sealed partial class TaskPlanJson : JsonSerializerContext;
