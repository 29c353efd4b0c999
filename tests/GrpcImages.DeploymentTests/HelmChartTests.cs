using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Json.Schema;

namespace GrpcImages.DeploymentTests;

/// <summary>helm/grpcimages without a helm binary: values against the schema, and every value reference of the templates.</summary>
public partial class HelmChartTests
{
    private static readonly string Chart = Repo.PathOf("helm", "grpcimages");
    private static readonly JsonSchema Schema = JsonSchema.FromText(File.ReadAllText(Path.Combine(Chart, "values.schema.json")));

    private static JsonNode Values() => Repo.ToJson(Repo.LoadYaml(File.ReadAllText(Path.Combine(Chart, "values.yaml"))))!;

    private static EvaluationResults Evaluate(JsonNode values) =>
        Schema.Evaluate(System.Text.Json.JsonDocument.Parse(values.ToJsonString()).RootElement,
            new EvaluationOptions { OutputFormat = OutputFormat.List });

    [Fact]
    public void TheDefaultValuesFollowTheSchema()
    {
        var result = Evaluate(Values());
        Assert.True(result.IsValid, string.Join("; ", (result.Details ?? []).Where(d => d.Errors is not null).SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Value}"))));
    }

    [Theory]
    [InlineData("catalog.replicas", 0)]
    [InlineData("kms.port", 70000)]
    [InlineData("image.pullPolicy", "Sometimes")]
    [InlineData("transfer.storage.accessMode", "ReadOnlyMany")]
    public void TheSchemaRefusesBadValues(string path, object value)
    {
        var values = Values();
        var parts = path.Split('.');
        var node = values;
        foreach (var part in parts[..^1])
        {
            node = node[part]!;
        }
        node[parts[^1]] = JsonValue.Create(value);

        Assert.False(Evaluate(values).IsValid);
    }

    [Fact]
    public void TheSchemaRefusesUnknownKeysAndAnExternalRedisWithoutAnAddress()
    {
        var typo = Values();
        typo["catalog"]!["replica"] = 3;
        Assert.False(Evaluate(typo).IsValid);

        var external = Values();
        external["redis"]!["enabled"] = false;
        Assert.False(Evaluate(external).IsValid);
        external["redis"]!["configuration"] = "redis-0:26379,serviceName=mymaster";
        Assert.True(Evaluate(external).IsValid);
    }

    [Fact]
    public void EveryValueTheTemplatesReferenceExists()
    {
        var values = Values();
        var references = Directory.GetFiles(Path.Combine(Chart, "templates"))
            .SelectMany(f => ValueReference().Matches(File.ReadAllText(f)).Select(m => (File: Path.GetFileName(f), Path: m.Groups[1].Value)))
            .ToList();
        Assert.NotEmpty(references);
        foreach (var (file, path) in references)
        {
            JsonNode? node = values;
            foreach (var part in path.Split('.'))
            {
                Assert.True(node is JsonObject obj && obj.ContainsKey(part), $"{file} refers to .Values.{path}, which values.yaml does not define");
                node = node[part];
            }
        }
    }

    [Fact]
    public void EveryServiceHasItsOwnTemplateAndValueBlock()
    {
        var values = Values().AsObject();
        foreach (var service in new[] { "catalog", "transfer", "sharing", "kms", "gateway", "console" })
        {
            Assert.True(File.Exists(Path.Combine(Chart, "templates", $"{service}.yaml")));
            Assert.True(values.ContainsKey(service));
            Assert.Contains($".Values.{service}", File.ReadAllText(Path.Combine(Chart, "templates", $"{service}.yaml")));
        }
    }

    [Fact]
    public void EveryValueHasACommentAboveIt()
    {
        var lines = File.ReadAllLines(Path.Combine(Chart, "values.yaml"));
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            if (KeyLine().IsMatch(line) && !IsUnderResources(lines, i))
            {
                Assert.True(i > 0 && lines[i - 1].TrimStart().StartsWith('#'), $"values.yaml line {i + 1} ({line.Trim()}) has no comment above it");
            }
        }
    }

    [Fact]
    public void TheChartDefaultsTheImageTagToItsAppVersion()
    {
        var helpers = File.ReadAllText(Path.Combine(Chart, "templates", "_helpers.tpl"));
        Assert.Contains("default $root.Chart.AppVersion $root.Values.image.tag", helpers);
        Assert.Matches("appVersion: \"?[0-9]+\\.[0-9]+\\.[0-9]+", File.ReadAllText(Path.Combine(Chart, "Chart.yaml")));
    }

    // Resource quantities (requests/limits cpu and memory) are self-explanatory under their block's comment.
    private static bool IsUnderResources(string[] lines, int index)
    {
        var indent = lines[index].Length - lines[index].TrimStart().Length;
        for (var i = index - 1; i >= 0; i--)
        {
            var other = lines[i];
            var otherIndent = other.Length - other.TrimStart().Length;
            if (other.Trim().Length > 0 && !other.TrimStart().StartsWith('#') && otherIndent < indent)
            {
                return other.Trim() is "resources:" or "requests:" or "limits:";
            }
        }
        return false;
    }

    [GeneratedRegex(@"\.Values\.([A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*)")]
    private static partial Regex ValueReference();

    [GeneratedRegex(@"^\s*[A-Za-z][A-Za-z0-9]*:")]
    private static partial Regex KeyLine();
}
