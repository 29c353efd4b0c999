using System.Diagnostics.Metrics;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.Testing;
using static GrpcImages.IntegrationTests.CatalogSteps;

namespace GrpcImages.IntegrationTests;

/// <summary>The services' own metrics, which OpenTelemetry exports when an OTLP endpoint is configured.</summary>
public class TelemetryTests(ITestOutputHelper output)
{
    [Fact]
    public async Task ImagesCreatedDeletedAndBytesCollectedAreMeasuredExactly()
    {
        await using var cluster = await TestCluster.StartAsync(new Dictionary<string, string?> { ["Regions:0:Id"] = Tokyo }, output: output);
        var scopes = new[] { ServiceKind.Catalog, ServiceKind.Transfer }.Select(cluster.MeterFactory).ToHashSet();
        var measured = new Dictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            // Only this cluster's meters: other tests' clusters run in this process too.
            if (instrument.Meter.Scope is IMeterFactory factory && scopes.Contains(factory))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
        {
            lock (measured)
            {
                measured[instrument.Name] = measured.GetValueOrDefault(instrument.Name) + value;
            }
        });
        listener.Start();

        var account = await cluster.NewAccountAsync();
        var instance = await account.NewInstanceAsync(Ubuntu, Tokyo);
        var image = await account.NewImageAsync(instance.InstanceId, Tokyo);
        var disk = (await cluster.DisksOfAsync(Tokyo, image.ImageId)).Single();
        var manifestBytes = new FileInfo(cluster.BlobPath(Tokyo, $"m:{disk.ManifestId}")).Length;
        await account.Instances().DeleteInstanceAsync(new DeleteInstanceRequest { RegionId = Tokyo, InstanceId = instance.InstanceId });
        await account.Images().DeleteImageAsync(new DeleteImageRequest { RegionId = Tokyo, ImageId = image.ImageId });
        await account.Snapshots().DeleteSnapshotAsync(new DeleteSnapshotRequest { RegionId = Tokyo, SnapshotId = disk.SnapshotId });
        await cluster.Client<ContentService.ContentServiceClient>(cluster.ServiceToken()).CollectGarbageAsync(new CollectGarbageRequest { RegionId = Tokyo });

        lock (measured)
        {
            Assert.Equal(1, measured.GetValueOrDefault("grpcimages.images.created"));
            Assert.Equal(1, measured.GetValueOrDefault("grpcimages.images.deleted"));
            Assert.Equal(1, measured.GetValueOrDefault("grpcimages.instances.created"));
            // The instance's system disk: the image's snapshot shares its content, so nothing else is written.
            Assert.Equal(1, measured.GetValueOrDefault("grpcimages.content.manifests"));
            // Its one chunk of its own (the first boot's identity, written into the image's first chunk) and its manifest.
            Assert.Equal(1, measured.GetValueOrDefault("grpcimages.content.collected_chunks"));
            Assert.Equal((4 << 20) + manifestBytes, measured.GetValueOrDefault("grpcimages.content.collected_bytes"));
        }
    }

    [Fact]
    public async Task WithAnOtlpEndpointConfiguredTheServicesStartAndServe()
    {
        await using var cluster = await TestCluster.StartAsync(
            new Dictionary<string, string?> { ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:4317", ["Regions:0:Id"] = Hangzhou }, output: output);

        var account = await cluster.NewAccountAsync();

        Assert.Contains((await account.Images().ListImagesAsync(new ListImagesRequest { RegionId = Hangzhou, OwnerAlias = ImageOwnerAlias.System })).Images,
            i => i.ImageId == Ubuntu);
    }
}
