using System.Text.Json.Nodes;

namespace GrpcImages.DeploymentTests;

/// <summary>docker-compose.yml and the Dockerfiles (no Docker engine here: checked as text).</summary>
public class ComposeAndDockerfileTests
{
    private static readonly Dictionary<string, int> Ports = new() { ["catalog"] = 5101, ["transfer"] = 5102, ["sharing"] = 5103, ["kms"] = 5104 };

    private static JsonObject Compose() => Repo.ToJson(Repo.LoadYaml(Repo.Read("docker-compose.yml")))!.AsObject();

    [Fact]
    public void ComposeRunsRedisWithAofTheFourServicesTheGatewayAndTheConsole()
    {
        var services = Compose()["services"]!.AsObject();
        Assert.Equal(["catalog", "console", "gateway", "kms", "redis", "sharing", "transfer"], services.Select(s => s.Key).Order());
        var redis = services["redis"]!["command"]!.AsArray().Select(n => n!.ToString()).ToList();
        Assert.Equal("yes", redis[redis.IndexOf("--appendonly") + 1]);
        Assert.Equal("everysec", redis[redis.IndexOf("--appendfsync") + 1]);
    }

    [Fact]
    public void EachComposeServiceBuildsTheDockerfileForItselfAndPublishesItsPort()
    {
        var text = Repo.Read("docker-compose.yml");
        var services = Compose()["services"]!.AsObject();
        foreach (var (name, port) in Ports)
        {
            var project = $"{char.ToUpperInvariant(name[0])}{name[1..]}";
            var build = services[name]!["build"]!;
            Assert.Equal(".", build["context"]!.ToString());
            Assert.Equal(project, build["args"]!["SERVICE"]!.ToString());
            Assert.Equal(port.ToString(System.Globalization.CultureInfo.InvariantCulture), build["args"]!["PORT"]!.ToString());
            Assert.True(Directory.Exists(Repo.PathOf("services", $"GrpcImages.{project}")), $"no project for {name}");
            Assert.Contains($"\"{port}:{port}\"", text);
            Assert.Contains($"http://{name}:{port}", text);
        }
    }

    [Fact]
    public void TheGatewayBuildsItselfAndPublishesItsEcsPort()
    {
        var gateway = Compose()["services"]!["gateway"]!;
        Assert.Equal("Gateway", gateway["build"]!["args"]!["SERVICE"]!.ToString());
        Assert.Equal("5105", gateway["environment"]!["Gateway__HttpPort"]!.ToString());
        Assert.Contains("5105:5105", gateway["ports"]!.AsArray().Select(p => p!.ToString()));
        Assert.True(Directory.Exists(Repo.PathOf("services", "GrpcImages.Gateway")));
    }

    [Fact]
    public void R38_TheConsoleBuildsItselfAndPublishesItsPages()
    {
        var console = Compose()["services"]!["console"]!;
        Assert.Equal("Console", console["build"]!["args"]!["SERVICE"]!.ToString());
        Assert.Equal("5110", console["environment"]!["Console__HttpPort"]!.ToString());
        Assert.Contains("5110:5110", console["ports"]!.AsArray().Select(p => p!.ToString()));
        // The console is built on the client library: the image build copies it before restoring.
        Assert.Contains("COPY clients/GrpcImages.Client/GrpcImages.Client.csproj", Repo.Read("Dockerfile"));
    }

    [Fact]
    public void TheDockerfileRestoresBeforeItCopiesSourcesAndRunsAsNonRoot()
    {
        var dockerfile = Repo.Read("Dockerfile");
        var restore = dockerfile.IndexOf("RUN dotnet restore services/GrpcImages.${SERVICE}/GrpcImages.${SERVICE}.csproj", StringComparison.Ordinal);
        var sources = dockerfile.IndexOf("COPY services/GrpcImages.${SERVICE}/ services/", StringComparison.Ordinal);
        Assert.True(restore > 0 && sources > restore, "restore must come before the sources are copied");
        Assert.Contains("dotnet publish services/GrpcImages.${SERVICE}/GrpcImages.${SERVICE}.csproj -c Release --no-restore", dockerfile);
        Assert.Contains("USER $APP_UID", dockerfile);
        Assert.Contains("Service__Port=${PORT}", dockerfile);
        Assert.Contains("exec dotnet \\\"GrpcImages.${SERVICE}.dll\\\"", dockerfile);
        Assert.Contains("qemu-utils", dockerfile); // for the transfer service's imports and exports
    }

    [Fact]
    public void SecretsComeFromFilesNotFromTheComposeFile()
    {
        var compose = Compose();
        Assert.Equal("./.data/signing.key", compose["secrets"]!["signing_key"]!["file"]!.ToString());
        Assert.DoesNotContain("SigningKey:", Repo.Read("docker-compose.yml"));
        Assert.Contains("Identity__SigningKeyFile: /run/secrets/signing_key", Repo.Read("docker-compose.yml"));
    }
}
