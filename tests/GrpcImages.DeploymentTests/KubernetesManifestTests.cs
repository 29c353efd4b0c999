using k8s;
using k8s.Models;

namespace GrpcImages.DeploymentTests;

/// <summary>k8s/ as kustomize renders it: every object parses strictly and every pod is locked down.</summary>
public class KubernetesManifestTests
{
    private static readonly string[] Services = ["catalog", "transfer", "sharing", "kms", "gateway", "console"];
    private static readonly string[] Peers = ["catalog", "transfer", "sharing", "kms"];
    private static readonly Lazy<List<object>> Rendered = new(() =>
        KubernetesYaml.LoadAllFromString(Repo.Run("kubectl", "kustomize", "k8s"), strict: true));

    private static IEnumerable<T> Objects<T>() => Rendered.Value.OfType<T>();

    public static TheoryData<string> ManifestFiles =>
        new(Directory.GetFiles(Repo.PathOf("k8s"), "*.yaml").Select(Path.GetFileName).Where(f => f != "kustomization.yaml")!);

    [Theory]
    [MemberData(nameof(ManifestFiles))]
    public void EachManifestFileParsesStrictly(string file)
    {
        var objects = KubernetesYaml.LoadAllFromString(Repo.Read("k8s", file), strict: true);
        Assert.NotEmpty(objects);
        Assert.All(objects, o => Assert.IsAssignableFrom<IKubernetesObject>(o));
    }

    [Fact]
    public void KustomizeRendersEveryServiceWithItsAccountAndGrpcPort()
    {
        foreach (var name in Services)
        {
            var deployment = Assert.Single(Objects<V1Deployment>(), d => d.Metadata.Name == name);
            Assert.Equal("grpcimages", deployment.Metadata.NamespaceProperty);
            Assert.Equal(name, deployment.Spec.Template.Spec.ServiceAccountName);
            Assert.Contains(Objects<V1ServiceAccount>(), a => a.Metadata.Name == name && a.AutomountServiceAccountToken == false);
            var service = Assert.Single(Objects<V1Service>(), s => s.Metadata.Name == name);
            // Every service has its gRPC port; the transfer service also serves signed download links (R29) and the OSS API, the gateway the ECS API.
            string[] ports = name switch { "transfer" => ["grpc", "downloads", "oss"], "gateway" => ["grpc", "ecs"], "console" => ["grpc", "http"], _ => ["grpc"] };
            Assert.Equal(ports, service.Spec.Ports.Select(p => p.Name));
            Assert.Contains(Objects<V1PodDisruptionBudget>(), p => p.Metadata.Name == name);
            Assert.StartsWith($"grpcimages/{name}:", Assert.Single(deployment.Spec.Template.Spec.Containers).Image);
        }
        var redis = Assert.Single(Objects<V1StatefulSet>());
        Assert.Contains("--appendonly", redis.Spec.Template.Spec.Containers[0].Args);
        Assert.NotEmpty(redis.Spec.VolumeClaimTemplates);
    }

    [Fact]
    public void EveryPodIsLockedDownAndSized()
    {
        var pods = Objects<V1Deployment>().Select(d => d.Spec.Template.Spec)
            .Concat(Objects<V1StatefulSet>().Select(s => s.Spec.Template.Spec)).ToList();
        Assert.Equal(7, pods.Count);
        foreach (var pod in pods)
        {
            Assert.True(pod.SecurityContext.RunAsNonRoot);
            foreach (var container in pod.Containers)
            {
                Assert.False(container.SecurityContext.AllowPrivilegeEscalation);
                Assert.True(container.SecurityContext.ReadOnlyRootFilesystem);
                Assert.Equal(["ALL"], container.SecurityContext.Capabilities.Drop);
                Assert.NotNull(container.Resources.Requests["cpu"]);
                Assert.NotNull(container.Resources.Requests["memory"]);
                Assert.NotNull(container.Resources.Limits["cpu"]);
                Assert.NotNull(container.Resources.Limits["memory"]);
                Assert.NotNull(container.ReadinessProbe);
                Assert.NotNull(container.LivenessProbe);
            }
        }
    }

    [Fact]
    public void ServicesUseNativeGrpcProbesAndLivenessDoesNotDependOnRedis()
    {
        foreach (var deployment in Objects<V1Deployment>())
        {
            var container = Assert.Single(deployment.Spec.Template.Spec.Containers);
            var port = Assert.Single(container.Ports, p => p.Name == "grpc").ContainerPort;
            Assert.Equal(port, container.ReadinessProbe.Grpc.Port);
            Assert.Equal(port, container.LivenessProbe.Grpc.Port);
            Assert.Equal("liveness", container.LivenessProbe.Grpc.Service);
        }
    }

    [Fact]
    public void NetworkPoliciesDenyByDefaultAndKeepRedisForTheServices()
    {
        var policies = Objects<V1NetworkPolicy>().ToDictionary(p => p.Metadata.Name);
        Assert.Empty(policies["default-deny-ingress"].Spec.PodSelector.MatchLabels ?? new Dictionary<string, string>());
        Assert.Null(policies["default-deny-ingress"].Spec.Ingress);
        var redis = policies["redis-from-services"];
        Assert.Equal("service", Assert.Single(Assert.Single(redis.Spec.Ingress).FromProperty).PodSelector.MatchLabels["tier"]);
        Assert.All(Objects<V1Deployment>(), d => Assert.Equal("service", d.Spec.Template.Metadata.Labels["tier"]));
    }

    [Fact]
    public void TheServicesFindEachOtherAndTheirSecretsWhereTheConfigSays()
    {
        var config = Assert.Single(Objects<V1ConfigMap>()).Data;
        foreach (var deployment in Objects<V1Deployment>().Where(d => Peers.Contains(d.Metadata.Name)))
        {
            var name = deployment.Metadata.Name;
            var port = deployment.Spec.Template.Spec.Containers[0].Ports[0].ContainerPort;
            Assert.Equal($"http://{name}:{port}", config[$"Peers__{char.ToUpperInvariant(name[0])}{name[1..]}"]);
            var secret = Assert.Single(deployment.Spec.Template.Spec.Volumes, v => v.Secret is not null).Secret;
            Assert.Equal("grpcimages-identity", secret.SecretName);
        }
        Assert.StartsWith("/var/run/secrets/grpcimages/", config["Identity__SigningKeyFile"]);
        Assert.Equal("redis:6379", config["Redis__Configuration"]);
    }

    [Fact]
    public void R29_TheTransferServiceServesDownloadLinksAndTheOssApiOnThePortsItsPolicyOpens()
    {
        var transfer = Assert.Single(Objects<V1Deployment>(), d => d.Metadata.Name == "transfer").Spec.Template.Spec.Containers[0];
        var port = Assert.Single(transfer.Ports, p => p.Name == "downloads").ContainerPort;
        Assert.Equal(port.ToString(System.Globalization.CultureInfo.InvariantCulture), Assert.Single(transfer.Env, e => e.Name == "ObjectStore__HttpPort").Value);
        var oss = Assert.Single(transfer.Ports, p => p.Name == "oss").ContainerPort;
        Assert.Equal(oss.ToString(System.Globalization.CultureInfo.InvariantCulture), Assert.Single(transfer.Env, e => e.Name == "ObjectStore__OssPort").Value);
        var policy = Assert.Single(Objects<V1NetworkPolicy>(), p => p.Metadata.Name == "allow-downloads");
        Assert.Equal("transfer", policy.Spec.PodSelector.MatchLabels["app"]);
        Assert.Equal(["downloads", "oss"], Assert.Single(policy.Spec.Ingress).Ports.Select(p => p.Port.Value));
    }

    [Fact]
    public void TheGatewayServesTheEcsApiOnThePortItsPolicyOpens()
    {
        var gateway = Assert.Single(Objects<V1Deployment>(), d => d.Metadata.Name == "gateway").Spec.Template.Spec.Containers[0];
        var port = Assert.Single(gateway.Ports, p => p.Name == "ecs").ContainerPort;
        Assert.Equal(port.ToString(System.Globalization.CultureInfo.InvariantCulture), Assert.Single(gateway.Env, e => e.Name == "Gateway__HttpPort").Value);
        var policy = Assert.Single(Objects<V1NetworkPolicy>(), p => p.Metadata.Name == "allow-ecs-api");
        Assert.Equal("gateway", policy.Spec.PodSelector.MatchLabels["app"]);
        Assert.Equal("ecs", Assert.Single(Assert.Single(policy.Spec.Ingress).Ports).Port.Value);
    }

    [Fact]
    public void R38_TheConsoleIsReachedThroughAnIngressThatKeepsABrowserOnOnePod()
    {
        var console = Assert.Single(Objects<V1Deployment>(), d => d.Metadata.Name == "console").Spec.Template.Spec.Containers[0];
        var port = Assert.Single(console.Ports, p => p.Name == "http").ContainerPort;
        Assert.Equal(port.ToString(System.Globalization.CultureInfo.InvariantCulture), Assert.Single(console.Env, e => e.Name == "Console__HttpPort").Value);
        var ingress = Assert.Single(Objects<V1Ingress>(), i => i.Metadata.Name == "console");
        // Interactive server rendering keeps a page's state in one pod: the Ingress must send the browser back to it.
        Assert.Equal("cookie", ingress.Metadata.Annotations["nginx.ingress.kubernetes.io/affinity"]);
        var backend = Assert.Single(Assert.Single(ingress.Spec.Rules).Http.Paths).Backend.Service;
        Assert.Equal(("console", "http"), (backend.Name, backend.Port.Name));
        var policy = Assert.Single(Objects<V1NetworkPolicy>(), p => p.Metadata.Name == "allow-console");
        Assert.Equal("http", Assert.Single(Assert.Single(policy.Spec.Ingress).Ports).Port.Value);
    }
}
