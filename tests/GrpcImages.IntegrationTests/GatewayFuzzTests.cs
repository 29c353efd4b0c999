using GrpcImages.Contracts.Kms.V1;
using GrpcImages.Gateway.Ecs;
using GrpcImages.Testing;

namespace GrpcImages.IntegrationTests;

/// <summary>
/// Every action of the gateway with hostile parameters, correctly signed: each answer is a clear
/// 4xx with a code, or a success, never a 5xx (bad input is never the server's error).
/// </summary>
public class GatewayFuzzTests(ClusterFixture fixture, ITestOutputHelper output) : ClusterTest(fixture, output)
{
    private static readonly string[] Hostile =
    [
        "", " ", "-1", "0", "99999999999999999999", "1e9", "true", "[]", "[1,2", "[\"a\",", "{}", "null", "\u0000", "%00", "../../etc/passwd",
        "m-' OR 1=1", "\ud83d\ude00", new('x', 8 * 1024), "oss://bucket/../x", "http://169.254.169.254/", "cn-hangzhou,cn-hangzhou", "*",
    ];

    private static readonly string[] Names =
    [
        "RegionId", "ImageId", "InstanceId", "SnapshotId", "DiskId", "TaskId", "PageNumber", "PageSize", "Status", "ImageOwnerAlias", "ImageName",
        "Force", "Amount", "SystemDisk.Size", "DataDisk.1.Size", "DataDisk.1.SnapshotId", "AddAccount.1", "RemoveAccount.1", "DestinationRegionId",
        "DiskDeviceMapping.1.SnapshotId", "DiskDeviceMapping.1.Size", "DiskDeviceMapping.1.DiskType", "DiskDeviceMapping.1.OSSBucket",
        "DiskDeviceMapping.1.OSSObject", "DiskDeviceMapping.1.Format", "InstanceIds", "SnapshotIds", "TaskAction", "TaskStatus", "OSSBucket",
        "ImageFormat", "Encrypted", "KMSKeyId", "Tag.1.Key", "Tag.1.Value", "Architecture", "LicenseType", "OSType",
        "KeyPairName", "KeyPairNames", "PublicKeyBody", "VpcId", "VSwitchId", "ZoneId", "CidrBlock", "SecurityGroupId", "SecurityGroupIds",
        "IpProtocol", "PortRange", "SourceCidrIp", "DestCidrIp", "Policy", "Priority", "NicType", "Permissions.1.IpProtocol", "Permissions.1.PortRange",
        "AllocationId", "Bandwidth", "InternetChargeType", "InstanceType", "InternetMaxBandwidthOut", "HostName", "Description", "ResourceType",
        "ResourceId", "ResourceId.1", "TagKey.1", "All", "NextToken", "ImageFamily", "BootMode", "Features.NvmeSupport", "Usage", "ActionType",
        "DiskIds", "DiskType", "InstanceTypes.1", "Filter.1.Key", "Filter.1.Value", "Direction", "EipAddress", "AssociatedInstanceId",
    ];

    [Fact]
    public async Task HostileParametersNeverMakeAServerError()
    {
        var account = await Cluster.NewAccountAsync();
        var key = await account.Client<AccessKeyService.AccessKeyServiceClient>().CreateAccessKeyAsync(new CreateAccessKeyRequest { AccountId = account.AccountId });
        using var ecs = new EcsClient(await Cluster.StartGatewayAsync(), key.AccessKey.AccessKeyId, key.AccessKeySecret);
        var random = new Random(12);
        var failures = new List<string>();
        var calls = 0;
        var reached = 0; // calls whose parameters the action took, so they went past the parameter check
        var accepted = new Dictionary<string, HashSet<string>>();
        foreach (var action in ActionTable.Actions.Keys)
        {
            // Which names the action takes: a name it does not take is refused by name, whatever its value.
            var taken = accepted[action] = [];
            foreach (var name in Names.Where(n => n != "RegionId"))
            {
                var (_, probe) = await ecs.CallAsync(action, ("RegionId", "cn-hangzhou"), (name, "x"));
                if (!(probe.TryGetProperty("Message", out var m) && m.GetString()!.Contains($"\"{name}\" is not a parameter of", StringComparison.Ordinal)))
                {
                    taken.Add(name);
                }
            }
        }
        foreach (var action in ActionTable.Actions.Keys)
        {
            for (var round = 0; round < 6; round++)
            {
                // Half the rounds send only parameters the action takes (learned from its refusals), half anything.
                var pool = round % 2 == 0 && accepted.TryGetValue(action, out var taken) && taken.Count > 0 ? taken.ToArray() : Names;
                var parameters = pool.OrderBy(_ => random.Next()).Take(random.Next(1, 6))
                    .Select(n => (n, Hostile[random.Next(Hostile.Length)]))
                    .Append(("RegionId", round % 2 == 0 ? "cn-hangzhou" : Hostile[random.Next(Hostile.Length)]))
                    .DistinctBy(p => p.Item1)
                    .ToArray();
                var (status, body) = await ecs.CallAsync(action, parameters);
                calls++;
                var code = body.TryGetProperty("Code", out var c) ? c.GetString() : null;
                var unknown = code == "InvalidParameter" && body.GetProperty("Message").GetString()!.Contains("is not a parameter of", StringComparison.Ordinal);
                reached += unknown ? 0 : 1;
                if (status >= 500 || (status >= 400 && string.IsNullOrEmpty(code)))
                {
                    failures.Add($"{action} {string.Join(' ', parameters.Select(p => $"{p.Item1}={(p.Item2.Length > 20 ? p.Item2[..20] + "..." : p.Item2)}"))}: {status} {code}");
                }
            }
        }
        Assert.True(failures.Count == 0, $"{failures.Count} of {calls} calls:\n" + string.Join('\n', failures));
        Assert.True(reached > calls / 3, $"only {reached} of {calls} calls went past the parameter check");
    }
}
