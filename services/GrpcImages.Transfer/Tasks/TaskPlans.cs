using System.Text.Json;
using System.Text.Json.Serialization;

namespace GrpcImages.Transfer.Tasks;

/// <summary>Where a task's request got to: only a queued task is the worker's to run.</summary>
public enum TaskPhase
{
    /// <summary>The request is still carrying out the task's first steps; a worker that finds it so later knows the request died.</summary>
    Setup = 0,
    Queued = 1,
}

/// <summary>
/// A task's plan and checkpoint, kept beside the task: what it works on, where, and how far each disk
/// has come. A worker that takes the task over continues from it. One record per kind of task.
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "kind")]
[JsonDerivedType(typeof(ImageCopyPlan), "image-copy")]
[JsonDerivedType(typeof(SnapshotCopyPlan), "snapshot-copy")]
[JsonDerivedType(typeof(ImportPlan), "import")]
[JsonDerivedType(typeof(ExportPlan), "export")]
public abstract record TaskPlan
{
    public TaskPhase Phase { get; set; }

    /// <summary>The region the task runs in (its queue's).</summary>
    public string Region { get; init; } = "";

    /// <summary>The disks, in order, each with its checkpoint.</summary>
    [JsonIgnore]
    public abstract IReadOnlyList<DiskPlan> AllDisks { get; }

    /// <summary>The image or snapshot the task makes in the catalog, once made ("" for none: exports make objects).</summary>
    [JsonIgnore]
    public virtual string ResourceMade => "";

    /// <summary>The bytes the task moves at most: what its progress counts.</summary>
    [JsonIgnore]
    public long BytesTotal => AllDisks.Sum(d => d.StoredBytes);

    /// <summary>The bytes of the disks before disk <paramref name="index"/>: where that disk's progress starts.</summary>
    public long BytesBefore(int index) => AllDisks.Take(index).Sum(d => d.StoredBytes);

    public string Serialize() => JsonSerializer.Serialize(this, TaskPlanJson.Default.TaskPlan);

    public static TaskPlan Parse(string json) =>
        JsonSerializer.Deserialize(json, TaskPlanJson.Default.TaskPlan) ?? throw new InvalidDataException("An empty task plan.");
}

/// <summary>A copy of an image or a snapshot (R5-R12, R20, R21): from the source region, re-sealed when the destination encrypts.</summary>
public abstract record CopyPlan : TaskPlan
{
    public string SourceRegion { get; init; } = "";

    public string SourceId { get; init; } = "";

    /// <summary>The image or snapshot the copy makes, once the catalog made it.</summary>
    public string DestinationId { get; set; } = "";

    public List<CopyDiskPlan> Disks { get; init; } = [];

    public override string ResourceMade => DestinationId;

    /// <summary>The destination's encryption, with its data key once made (the same key for every retry, so resumed chunks stay readable).</summary>
    public EncryptionPlan? Encryption { get; init; }

    public override IReadOnlyList<DiskPlan> AllDisks => Disks;
}

public sealed record ImageCopyPlan : CopyPlan;

public sealed record SnapshotCopyPlan : CopyPlan;

/// <summary>An import (R24-R28): each disk's file into content of a new image in <see cref="TaskPlan.Region"/>.</summary>
public sealed record ImportPlan : TaskPlan
{
    /// <summary>The image the import makes, once the catalog made it.</summary>
    public string DestinationId { get; set; } = "";

    public List<ImportDiskPlan> Disks { get; init; } = [];

    public override IReadOnlyList<DiskPlan> AllDisks => Disks;

    public override string ResourceMade => DestinationId;
}

/// <summary>An export (R29): each disk of an image into an object of a bucket, in <see cref="TaskPlan.Region"/>.</summary>
public sealed record ExportPlan : TaskPlan
{
    public string ImageId { get; init; } = "";

    public string Bucket { get; init; } = "";

    public List<ExportDiskPlan> Disks { get; init; } = [];

    public override IReadOnlyList<DiskPlan> AllDisks => Disks;
}

/// <summary>One disk of a task: what it is and what moving it costs at most.</summary>
public abstract record DiskPlan
{
    public int DiskType { get; init; }

    public string Device { get; init; } = "";

    public long SizeGib { get; init; }

    /// <summary>The bytes the disk holds (an import learns them from the file).</summary>
    public long ContentBytes { get; set; }

    /// <summary>Bytes the source stores (what moving it costs at most).</summary>
    public long StoredBytes { get; init; }

    /// <summary>Whether this disk is done (a resumed task skips it).</summary>
    [JsonIgnore]
    public abstract bool Done { get; }
}

/// <summary>A disk to copy and its checkpoint: its write session, then its finished manifest.</summary>
public sealed record CopyDiskPlan : DiskPlan
{
    public string SourceManifest { get; init; } = "";

    /// <summary>The write session of the copy in progress (the same one after a takeover).</summary>
    public string Session { get; set; } = "";

    /// <summary>The finished manifest in the destination, held by the task until the catalog's records hold it.</summary>
    public string Manifest { get; set; } = "";

    public override bool Done => Manifest.Length > 0;
}

/// <summary>A disk to import and its checkpoint: where its file is, its write session, then its manifest.</summary>
public sealed record ImportDiskPlan : DiskPlan
{
    /// <summary>oss://bucket/object or an http(s) URL.</summary>
    public string SourceUrl { get; init; } = "";

    /// <summary>The declared format (a DiskImageFormat; 0 when left to detection).</summary>
    public int Format { get; init; }

    public string Session { get; set; } = "";

    public string Manifest { get; set; } = "";

    public override bool Done => Manifest.Length > 0;
}

/// <summary>A disk to export: the content, the format written and the object, and the SHA-256 of the object once written.</summary>
public sealed record ExportDiskPlan : DiskPlan
{
    public string SourceManifest { get; init; } = "";

    /// <summary>The format written (a DiskImageFormat).</summary>
    public int Format { get; init; }

    public string ObjectName { get; init; } = "";

    /// <summary>The written object's SHA-256: only an object with it is this task's to remove.</summary>
    public string WrittenSha256 { get; set; } = "";

    public override bool Done => WrittenSha256.Length > 0;
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
