using System.Diagnostics.Metrics;
using GrpcImages.Contracts.Catalog.V1;

namespace GrpcImages.Catalog.Domain;

/// <summary>The catalog's metrics (meter "GrpcImages.Catalog"), exported by OpenTelemetry when configured.</summary>
public sealed class CatalogMetrics
{
    public const string MeterName = "GrpcImages.Catalog";

    private readonly Counter<long> _created;
    private readonly Counter<long> _deleted;
    private readonly Counter<long> _instances;

    public CatalogMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _created = meter.CreateCounter<long>("grpcimages.images.created", "{image}", "Custom images created, by region and source");
        _deleted = meter.CreateCounter<long>("grpcimages.images.deleted", "{image}", "Custom images deleted, by region and whether forced");
        _instances = meter.CreateCounter<long>("grpcimages.instances.created", "{instance}", "Instances created, by region");
    }

    public void ImageCreated(Image image) => _created.Add(1,
        new KeyValuePair<string, object?>("region", image.RegionId), new KeyValuePair<string, object?>("source", image.SourceKind.ToString()));

    public void ImageDeleted(string region, bool forced) => _deleted.Add(1,
        new KeyValuePair<string, object?>("region", region), new KeyValuePair<string, object?>("forced", forced));

    public void InstanceCreated(string region) => _instances.Add(1, new KeyValuePair<string, object?>("region", region));
}
