using System.Diagnostics;
using Grpc.Core;
using GrpcImages.Client;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Testing;
using Microsoft.Extensions.DependencyInjection;
using static GrpcImages.IntegrationTests.CatalogSteps;

namespace GrpcImages.IntegrationTests;

/// <summary>GrpcImages.Client against the running cluster, and the sample application built on its packed package.</summary>
[Collection(nameof(BuildsInsideTests))] // the pack and build take both cores: not beside other tests
public class ClientLibraryTests(ClusterFixture fixture, ITestOutputHelper output) : ClusterTest(fixture, output)
{
    private GrpcImagesClientOptions Options(string? token) => new()
    {
        Catalog = new Uri($"http://127.0.0.1:{Cluster.Port(ServiceKind.Catalog)}"),
        Transfer = new Uri($"http://127.0.0.1:{Cluster.Port(ServiceKind.Transfer)}"),
        Sharing = new Uri($"http://127.0.0.1:{Cluster.Port(ServiceKind.Sharing)}"),
        Kms = new Uri($"http://127.0.0.1:{Cluster.Port(ServiceKind.Kms)}"),
        Tokens = token is null ? null : new StaticTokenProvider(token),
    };

    [Fact]
    public async Task R35_ACreateWithoutAClientTokenGetsOneSoItsRetryMakesNoSecondImage()
    {
        var account = await Cluster.NewAccountAsync();
        using var client = GrpcImagesClient.Create(Options(account.Token));
        var instance = (await client.Instances.CreateInstanceAsync(new CreateInstanceRequest { RegionId = Hangzhou, ImageId = Ubuntu })).Instance;
        var request = new CreateImageRequest { RegionId = Hangzhou, InstanceId = instance.InstanceId, ImageName = "library-made" };

        var first = (await client.Images.CreateImageAsync(request)).Image;
        Assert.NotEmpty(request.ClientToken);
        var again = (await client.Images.CreateImageAsync(request)).Image; // what a retry sends

        Assert.Equal(first.ImageId, again.ImageId);
        var states = new List<Image>();
        await foreach (var state in client.WaitForImageAsync(Hangzhou, first.ImageId, TimeSpan.FromMilliseconds(50)))
        {
            states.Add(state);
        }
        Assert.Equal(ImageStatus.Available, states[^1].Status);
        Assert.Equal(states.Select(s => s.Progress).Order(), states.Select(s => s.Progress));
    }

    [Fact]
    public async Task FailuresAreOneExceptionTypeWithTheRulesCodeTheFieldsAndWhetherARetryIsSafe()
    {
        var account = await Cluster.NewAccountAsync();
        var services = new ServiceCollection().AddGrpcImagesClient(o =>
        {
            var options = Options(account.Token);
            (o.Catalog, o.Transfer, o.Sharing, o.Kms, o.Tokens) = (options.Catalog, options.Transfer, options.Sharing, options.Kms, options.Tokens);
        });
        await using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<GrpcImagesClient>();

        var bad = await Assert.ThrowsAsync<GrpcImagesException>(() => client.Images.CreateImageAsync(
            new CreateImageRequest { RegionId = Hangzhou, InstanceId = "i-whatever", ImageName = "x" }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, bad.StatusCode);
        Assert.Equal("InvalidImageName.Malformed", bad.Reason);
        Assert.Equal("image_name", Assert.Single(bad.FieldViolations).Field);
        Assert.False(bad.IsRetrySafe);

        var missing = await Assert.ThrowsAsync<GrpcImagesException>(() => client.Images.GetImageAsync(
            new GetImageRequest { RegionId = Hangzhou, ImageId = "m-aaaaaaaaaaaaaaaaaaaa" }).ResponseAsync);
        Assert.Equal("InvalidImageId.NotFound", missing.Reason);

        Assert.True(CallPolicy.IsRepeatable("/grpcimages.catalog.v1.ImageService/GetImage"));
        Assert.True(CallPolicy.IsRepeatable("/grpcimages.catalog.v1.ImageService/CreateImage")); // it carries a client token
        Assert.False(CallPolicy.IsRepeatable("/grpcimages.catalog.v1.ImageService/DeleteImage"));
    }

    [Fact]
    public async Task TheSampleRunsThePackedLibraryThroughTheFaqsMainPath()
    {
        var root = RepositoryRoot();
        var scratch = Directory.CreateTempSubdirectory("gi-client-").FullName;
        try
        {
            // A version of its own: no package of an earlier run in the NuGet cache stands in for this one.
            var version = $"1.0.0-test.{DateTime.UtcNow:yyyyMMddHHmmssfff}";
            var feed = Path.Combine(scratch, "feed");
            foreach (var project in new[] { "services/GrpcImages.Contracts", "clients/GrpcImages.Client" })
            {
                var (packed, packOutput) = await RunAsync(root, "dotnet", "pack", project, "-o", feed, $"-p:Version={version}",
                    "--artifacts-path", Path.Combine(scratch, "artifacts"), "-nologo", "-v", "quiet");
                Assert.True(packed == 0, packOutput);
            }

            var (exit, text) = await RunAsync(root, "dotnet", "run", "--project", "samples/GrpcImages.Sample",
                $"-p:RestoreAdditionalProjectSources={feed}", $"-p:GrpcImagesClientVersion={version}", "--",
                "--catalog", Options(null).Catalog.ToString(), "--transfer", Options(null).Transfer.ToString(),
                "--sharing", Options(null).Sharing.ToString(), "--kms", Options(null).Kms.ToString(),
                "--operator-credential", TestCluster.OperatorCredential);
            Output.WriteLine(text);

            Assert.True(exit == 0, text);
            Assert.Contains("Available 100%", text, StringComparison.Ordinal);
            Assert.Matches(@"recipient runs instance i-\w+ from image m-\w+", text);
            Assert.Contains("deleting the shared image without force: FailedPrecondition", text, StringComparison.Ordinal);
            Assert.Contains("sample finished", text, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "GrpcImages.sln")))
        {
            directory = directory.Parent;
        }
        return directory?.FullName ?? throw new InvalidOperationException("GrpcImages.sln not found above the test's directory.");
    }

    private static async Task<(int Exit, string Output)> RunAsync(string directory, string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }
}

[CollectionDefinition(nameof(BuildsInsideTests), DisableParallelization = true)]
public sealed class BuildsInsideTests;
