// The FAQ's main path with GrpcImages.Client: the operator opens two accounts; the first makes an
// image of its instance and shares it; the second finds it among the images shared with it and
// starts an instance from it. Usage:
//   GrpcImages.Sample --operator-credential <credential> [--catalog URL --transfer URL --sharing URL --kms URL --region ID]
using GrpcImages.Client;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Common.V1;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.Contracts.Sharing.V1;
using Microsoft.Extensions.DependencyInjection;

var settings = Args(args);
var region = settings.GetValueOrDefault("region", "cn-hangzhou");
GrpcImagesClientOptions Options(ITokenProvider? tokens) => new()
{
    Catalog = new Uri(settings.GetValueOrDefault("catalog", "http://127.0.0.1:5101")),
    Transfer = new Uri(settings.GetValueOrDefault("transfer", "http://127.0.0.1:5102")),
    Sharing = new Uri(settings.GetValueOrDefault("sharing", "http://127.0.0.1:5103")),
    Kms = new Uri(settings.GetValueOrDefault("kms", "http://127.0.0.1:5104")),
    Tokens = tokens,
};

// The operator, with tokens issued from its credential (and issued again before they expire).
using var anonymous = GrpcImagesClient.Create(Options(null));
using var operatorTokens = IssuedTokenProvider.ForOperator(anonymous.Accounts, settings.GetValueOrDefault("operator-name", "admin"), settings["operator-credential"]);
using var operatorClient = GrpcImagesClient.Create(Options(operatorTokens));
var owner = (await operatorClient.Accounts.CreateAccountAsync(new CreateAccountRequest { Site = Site.Cn, DisplayName = "Sample Owner" })).Account;
var recipient = (await operatorClient.Accounts.CreateAccountAsync(new CreateAccountRequest { Site = Site.Cn, DisplayName = "Sample Recipient" })).Account;
Console.WriteLine($"accounts {owner.AccountId} (owner) and {recipient.AccountId} (recipient)");

// The owner through dependency injection, as an ASP.NET Core or worker application would have it.
using var ownerTokens = IssuedTokenProvider.ForAccount(operatorClient.Accounts, owner.AccountId);
await using var provider = new ServiceCollection()
    .AddGrpcImagesClient(o =>
    {
        var defaults = Options(ownerTokens);
        (o.Catalog, o.Transfer, o.Sharing, o.Kms, o.Tokens) = (defaults.Catalog, defaults.Transfer, defaults.Sharing, defaults.Kms, defaults.Tokens);
    })
    .BuildServiceProvider();
var ownerClient = provider.GetRequiredService<GrpcImagesClient>();

var instance = (await ownerClient.Instances.CreateInstanceAsync(new CreateInstanceRequest
{
    RegionId = region,
    ImageId = "ubuntu_22_04_x64_20G_alibase_20240101.vhd",
})).Instance;
var image = (await ownerClient.Images.CreateImageAsync(new CreateImageRequest { RegionId = region, InstanceId = instance.InstanceId, ImageName = "sample-web-v1" })).Image;
await foreach (var state in ownerClient.WaitForImageAsync(region, image.ImageId, TimeSpan.FromMilliseconds(200)))
{
    Console.WriteLine($"image {state.ImageId} {state.Status} {state.Progress}%");
    image = state;
}
if (image.Status != ImageStatus.Available)
{
    Console.Error.WriteLine($"the image ended {image.Status}: {image.FailureReason}");
    return 1;
}
await ownerClient.Sharing.ModifyImageSharePermissionAsync(new ModifyImageSharePermissionRequest
{
    RegionId = region,
    ImageId = image.ImageId,
    AddAccountIds = { recipient.AccountId },
});
Console.WriteLine($"image {image.ImageId} shared with {recipient.AccountId}");

// The recipient sees it among the images others shared with it and runs an instance of it.
using var recipientTokens = IssuedTokenProvider.ForAccount(operatorClient.Accounts, recipient.AccountId);
using var recipientClient = GrpcImagesClient.Create(Options(recipientTokens));
var shared = (await recipientClient.Images.ListImagesAsync(new ListImagesRequest { RegionId = region, OwnerAlias = ImageOwnerAlias.Others })).Images;
var found = shared.Single(i => i.ImageId == image.ImageId);
var used = (await recipientClient.Instances.CreateInstanceAsync(new CreateInstanceRequest { RegionId = region, ImageId = found.ImageId })).Instance;
Console.WriteLine($"recipient runs instance {used.InstanceId} from image {found.ImageId}");

// Errors carry the rule's code: a shared image cannot be deleted without force (R32).
try
{
    await ownerClient.Images.DeleteImageAsync(new DeleteImageRequest { RegionId = region, ImageId = image.ImageId });
    Console.Error.WriteLine("the shared image was deleted without force");
    return 1;
}
catch (GrpcImagesException ex)
{
    Console.WriteLine($"deleting the shared image without force: {ex.StatusCode} {ex.Reason} (retry safe: {ex.IsRetrySafe})");
}
Console.WriteLine("sample finished");
return 0;

static Dictionary<string, string> Args(string[] args)
{
    var settings = new Dictionary<string, string>(StringComparer.Ordinal);
    for (var i = 0; i + 1 < args.Length; i += 2)
    {
        settings[args[i].TrimStart('-')] = args[i + 1];
    }
    if (!settings.ContainsKey("operator-credential"))
    {
        throw new ArgumentException("Give --operator-credential <the operator's credential>.");
    }
    return settings;
}
