using System.Diagnostics.Metrics;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.Testing;
using static GrpcImages.IntegrationTests.CatalogSteps;

namespace GrpcImages.IntegrationTests;

/// <summary>The services' own metrics, which OpenTelemetry exports when an OTLP endpoint is configured.</summary>
public class TelemetryTests(ClusterFixture fixture) : IClassFixture<ClusterFixture>
{
    private readonly TestCluster _cluster = fixture.Cluster;

    [Fact]
    public async Task ImagesCreatedDeletedAndBytesCollectedAreMeasured()
    {
        var measured = new Dictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name.StartsWith("GrpcImages.", StringComparison.Ordinal))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag is { Key: "region", Value: Tokyo })
                {
                    lock (measured)
                    {
                        measured[instrument.Name] = measured.GetValueOrDefault(instrument.Name) + value;
                    }
                }
            }
        });
        listener.Start();

        var account = await _cluster.NewAccountAsync();
        var instance = await account.NewInstanceAsync(Ubuntu, Tokyo);
        var image = await account.NewImageAsync(instance.InstanceId, Tokyo);
        await account.Instances().DeleteInstanceAsync(new DeleteInstanceRequest { RegionId = Tokyo, InstanceId = instance.InstanceId });
        await account.Images().DeleteImageAsync(new DeleteImageRequest { RegionId = Tokyo, ImageId = image.ImageId });
        foreach (var mapping in image.DiskDeviceMappings)
        {
            await account.Snapshots().DeleteSnapshotAsync(new DeleteSnapshotRequest { RegionId = Tokyo, SnapshotId = mapping.SnapshotId });
        }
        await _cluster.Client<ContentService.ContentServiceClient>(_cluster.ServiceToken()).CollectGarbageAsync(new CollectGarbageRequest { RegionId = Tokyo });
        listener.RecordObservableInstruments();

        lock (measured)
        {
            Assert.True(measured.GetValueOrDefault("grpcimages.images.created") >= 1);
            Assert.True(measured.GetValueOrDefault("grpcimages.images.deleted") >= 1);
            Assert.True(measured.GetValueOrDefault("grpcimages.instances.created") >= 1);
            Assert.True(measured.GetValueOrDefault("grpcimages.content.manifests") >= 1);
            Assert.True(measured.GetValueOrDefault("grpcimages.content.collected_bytes") >= 4 << 20); // at least the instance's identity chunk
        }
    }

    [Fact]
    public async Task WithAnOtlpEndpointConfiguredTheServicesStartAndServe()
    {
        await using var cluster = await TestCluster.StartAsync(
            new Dictionary<string, string?> { ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:4317", ["Regions:0:Id"] = Hangzhou });

        var account = await cluster.NewAccountAsync();

        Assert.Contains((await account.Images().ListImagesAsync(new ListImagesRequest { RegionId = Hangzhou, OwnerAlias = ImageOwnerAlias.System })).Images,
            i => i.ImageId == Ubuntu);
    }
}
