using System.CommandLine;
using Google.Rpc;
using Grpc.Core;

namespace GrpcImages.Cli;

/// <summary>
/// imgctl: accounts and tokens, images, instances, sharing, quotas and KMS keys of a GrpcImages
/// cluster. Errors print the gRPC code and the rule's code (ErrorInfo.reason) and exit with 1.
/// </summary>
public static class ImgCtl
{
    internal static readonly Option<string?> Token = new("--token") { Description = "Bearer token (default: $IMGCTL_TOKEN)", Recursive = true };
    internal static readonly Option<string> Region = new("--region")
    {
        Description = "Region (default: $IMGCTL_REGION or cn-hangzhou)",
        Recursive = true,
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("IMGCTL_REGION") ?? "cn-hangzhou",
    };
    internal static readonly Option<bool> Json = new("--json") { Description = "Print protobuf JSON", Recursive = true };
    internal static readonly Option<string> CatalogUrl = Endpoint("--catalog", "IMGCTL_CATALOG", 5101);
    internal static readonly Option<string> TransferUrl = Endpoint("--transfer", "IMGCTL_TRANSFER", 5102);
    internal static readonly Option<string> SharingUrl = Endpoint("--sharing", "IMGCTL_SHARING", 5103);
    internal static readonly Option<string> KmsUrl = Endpoint("--kms", "IMGCTL_KMS", 5104);

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        var root = new RootCommand("imgctl: the command line of a GrpcImages cluster.")
        {
            Options = { Token, Region, Json, CatalogUrl, TransferUrl, SharingUrl, KmsUrl },
        };
        foreach (var command in Commands.All(output))
        {
            root.Subcommands.Add(command);
        }
        try
        {
            return await root.Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
        }
        catch (RpcException ex)
        {
            var reason = ex.GetRpcStatus()?.GetDetail<ErrorInfo>()?.Reason;
            var fields = ex.GetRpcStatus()?.GetDetail<BadRequest>()?.FieldViolations.Select(v => v.Field) ?? [];
            await error.WriteLineAsync($"error: {ex.StatusCode}{(reason is null ? "" : $" {reason}")}: {ex.Status.Detail}" +
                (fields.Any() ? $" (field: {string.Join(", ", fields)})" : ""));
            return 1;
        }
    }

    internal static Connection Connect(ParseResult parse) => new(
        parse.GetValue(CatalogUrl)!, parse.GetValue(TransferUrl)!, parse.GetValue(SharingUrl)!, parse.GetValue(KmsUrl)!,
        parse.GetValue(Token) ?? Environment.GetEnvironmentVariable("IMGCTL_TOKEN"));

    internal static Output Out(ParseResult parse, TextWriter writer) => new(writer, parse.GetValue(Json));

    private static Option<string> Endpoint(string name, string variable, int port) => new(name)
    {
        Description = $"The {name[2..]} service (default: ${variable} or http://127.0.0.1:{port})",
        Recursive = true,
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable(variable) ?? $"http://127.0.0.1:{port}",
    };
}
