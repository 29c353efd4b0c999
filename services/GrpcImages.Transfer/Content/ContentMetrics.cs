using System.Diagnostics.Metrics;

namespace GrpcImages.Transfer.Content;

/// <summary>The content layer's metrics (meter "GrpcImages.Transfer"), exported by OpenTelemetry when configured.</summary>
public sealed class ContentMetrics
{
    public const string MeterName = "GrpcImages.Transfer";

    private readonly Counter<long> _manifests;
    private readonly Counter<long> _referenced;
    private readonly Counter<long> _collectedChunks;
    private readonly Counter<long> _collectedBytes;

    public ContentMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _manifests = meter.CreateCounter<long>("grpcimages.content.manifests", "{manifest}", "Manifests committed");
        _referenced = meter.CreateCounter<long>("grpcimages.content.referenced_bytes", "By", "Bytes of non-zero chunks referenced by committed manifests");
        _collectedChunks = meter.CreateCounter<long>("grpcimages.content.collected_chunks", "{chunk}", "Unreferenced chunks deleted");
        _collectedBytes = meter.CreateCounter<long>("grpcimages.content.collected_bytes", "By", "Bytes freed by collection (R34)");
    }

    public void Committed(string region, Manifest manifest)
    {
        var tag = new KeyValuePair<string, object?>("region", region);
        _manifests.Add(1, tag);
        _referenced.Add(manifest.StoredBytes, tag);
    }

    public void Collected(string region, int chunks, long bytes)
    {
        var tag = new KeyValuePair<string, object?>("region", region);
        _collectedChunks.Add(chunks, tag);
        _collectedBytes.Add(bytes, tag);
    }
}
