using System.Text.Json.Nodes;

namespace GrpcImages.DeploymentTests;

/// <summary>docker-compose.yml and the Dockerfiles (no Docker engine here: checked as text).</summary>
public class ComposeAndDockerfileTests
{
    private static readonly Dictionary<string, int> Ports = new() { ["catalog"] = 5101, ["transfer"] = 5102, ["sharing"] = 5103, ["kms"] = 5104 };

    private static JsonObject Compose() => Repo.ToJson(Repo.LoadYaml(Repo.Read("docker-compose.yml")))!.AsObject();

    [Fact]
    public void ComposeRunsRedisWithAofAndTheFourServices()
    {
        var services = Compose()["services"]!.AsObject();
        Assert.Equal(["catalog", "kms", "redis", "sharing", "transfer"], services.Select(s => s.Key).Order());
        var redis = services["redis"]!["command"]!.AsArray().Select(n => n!.ToString()).ToList();
        Assert.Equal("yes", redis[redis.IndexOf("--appendonly") + 1]);
        Assert.Equal("everysec", redis[redis.IndexOf("--appendfsync") + 1]);
    }

    [Fact]
    public void EachComposeServiceBuildsItsOwnDockerfileAndPublishesItsPort()
    {
        var text = Repo.Read("docker-compose.yml");
        var services = Compose()["services"]!.AsObject();
        foreach (var (name, port) in Ports)
        {
            var project = $"GrpcImages.{char.ToUpperInvariant(name[0])}{name[1..]}";
            Assert.Contains($"dockerfile: services/{project}/Dockerfile", text);
            Assert.Contains($"\"{port}:{port}\"", text);
            Assert.Contains($"http://{name}:{port}", text);

            var dockerfile = Repo.Read("services", project, "Dockerfile");
            Assert.Contains($"dotnet publish services/{project}/{project}.csproj", dockerfile);
            Assert.Contains($"ENTRYPOINT [\"dotnet\", \"{project}.dll\"]", dockerfile);
            Assert.Contains($"Service__Port={port}", dockerfile);
            Assert.Contains("USER $APP_UID", dockerfile);
            Assert.NotNull(services[name]);
        }
        Assert.Contains("qemu-utils", Repo.Read("services", "GrpcImages.Transfer", "Dockerfile"));
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
