using System.Text.Json.Nodes;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Gateway.Ecs;

namespace GrpcImages.Gateway.Actions;

/// <summary>The key pair actions of ECS 2014-05-26 on the catalog.</summary>
public static class KeyPairActions
{
    public static async Task<JsonObject> CreateKeyPair(EcsCall call)
    {
        var p = call.Parameters;
        var request = new CreateKeyPairRequest { RegionId = call.Region, KeyPairName = p.Required("KeyPairName") };
        var created = await call.Rpc(o => call.Clients.KeyPairs.CreateKeyPairAsync(request, o));
        return new JsonObject
        {
            ["KeyPairName"] = created.KeyPair.KeyPairName,
            ["KeyPairId"] = created.KeyPair.KeyPairName,
            ["KeyPairFingerPrint"] = created.KeyPair.KeyPairFingerPrint,
            ["PrivateKeyBody"] = created.PrivateKeyBody,
        };
    }

    public static async Task<JsonObject> ImportKeyPair(EcsCall call)
    {
        var p = call.Parameters;
        var request = new ImportKeyPairRequest
        {
            RegionId = call.Region,
            KeyPairName = p.Required("KeyPairName"),
            PublicKeyBody = p.Required("PublicKeyBody"),
        };
        var imported = await call.Rpc(o => call.Clients.KeyPairs.ImportKeyPairAsync(request, o));
        return new JsonObject { ["KeyPairName"] = imported.KeyPair.KeyPairName, ["KeyPairFingerPrint"] = imported.KeyPair.KeyPairFingerPrint };
    }

    public static async Task<JsonObject> DescribeKeyPairs(EcsCall call)
    {
        var p = call.Parameters;
        var region = call.Region;
        var name = p.Optional("KeyPairName");
        var fingerPrint = p.Text("KeyPairFingerPrint");
        var (page, total, number, size) = await call.PageAsync<KeyPair>(async token =>
        {
            var request = new ListKeyPairsRequest { RegionId = region, KeyPairFingerPrint = fingerPrint, PageSize = 100, PageToken = token };
            if (name is not null)
            {
                request.KeyPairNames.Add(name);
            }
            var list = await call.Rpc(o => call.Clients.KeyPairs.ListKeyPairsAsync(request, o));
            return (list.KeyPairs, list.NextPageToken);
        }, maxSize: 50);
        return new JsonObject
        {
            ["TotalCount"] = total,
            ["PageNumber"] = number,
            ["PageSize"] = size,
            ["KeyPairs"] = Shapes.Wrap("KeyPair", page.Select(k => (JsonNode)new JsonObject
            {
                ["KeyPairName"] = k.KeyPairName,
                ["KeyPairFingerPrint"] = k.KeyPairFingerPrint,
                ["CreationTime"] = Shapes.Time(k.CreateTime),
                ["PublicKey"] = k.PublicKey,
                ["ResourceGroupId"] = "",
                ["Tags"] = Shapes.Wrap("Tag", []),
            })),
        };
    }

    public static async Task<JsonObject> DeleteKeyPairs(EcsCall call)
    {
        var request = new DeleteKeyPairsRequest { RegionId = call.Region };
        request.KeyPairNames.AddRange(RequiredList(call, "KeyPairNames"));
        await call.Rpc(o => call.Clients.KeyPairs.DeleteKeyPairsAsync(request, o));
        return EcsCall.Ok();
    }

    public static async Task<JsonObject> AttachKeyPair(EcsCall call)
    {
        var request = new AttachKeyPairRequest { RegionId = call.Region, KeyPairName = call.Parameters.Required("KeyPairName") };
        request.InstanceIds.AddRange(RequiredList(call, "InstanceIds"));
        await call.Rpc(o => call.Clients.KeyPairs.AttachKeyPairAsync(request, o));
        return Results(request.KeyPairName, request.InstanceIds);
    }

    public static async Task<JsonObject> DetachKeyPair(EcsCall call)
    {
        var request = new DetachKeyPairRequest { RegionId = call.Region, KeyPairName = call.Parameters.Required("KeyPairName") };
        request.InstanceIds.AddRange(RequiredList(call, "InstanceIds"));
        var detached = await call.Rpc(o => call.Clients.KeyPairs.DetachKeyPairAsync(request, o));
        return Results(request.KeyPairName, detached.DetachedInstanceIds);
    }

    private static IReadOnlyList<string> RequiredList(EcsCall call, string name) =>
        call.Parameters.JsonList(name) is { Count: > 0 } items ? items : throw EcsException.MissingParameter(name);

    // The real API answers per instance; here the call is all or nothing, so every listed instance succeeded.
    private static JsonObject Results(string keyPairName, Google.Protobuf.Collections.RepeatedField<string> instanceIds) => new()
    {
        ["KeyPairName"] = keyPairName,
        ["TotalCount"] = instanceIds.Count.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["FailCount"] = "0",
        ["Results"] = Shapes.Wrap("Result", instanceIds.Select(id => (JsonNode)new JsonObject
        {
            ["InstanceId"] = id,
            ["Success"] = "true",
            ["Code"] = "200",
            ["Message"] = "successful",
        })),
    };
}
