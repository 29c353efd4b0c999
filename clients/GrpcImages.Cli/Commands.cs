using System.CommandLine;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Common.V1;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.Contracts.Sharing.V1;
using Duration = Google.Protobuf.WellKnownTypes.Duration;

namespace GrpcImages.Cli;

/// <summary>The command tree. Each action is a thin call of one or two typed clients.</summary>
internal static partial class Commands
{
    public static IEnumerable<Command> All(TextWriter output) =>
        [Tokens(output), WhoAmI(output), Accounts(output), Regions(output), Images(output), Instances(output), Snapshots(output), Tasks(output), Buckets(output), Objects(output), Quotas(output), Kms(output), AccessKeys(output), Directories(output),
            KeyPairs(output), Vpcs(output), VSwitches(output), SecurityGroups(output), Eips(output), Tags(output), Zones(output), InstanceTypes(output), Disks(output)];

    private static Command Cmd(string name, string description, TextWriter output, Func<ParseResult, Connection, Output, Task> action, params Symbol[] symbols)
    {
        var command = new Command(name, description);
        foreach (var symbol in symbols)
        {
            switch (symbol)
            {
                case Argument argument:
                    command.Arguments.Add(argument);
                    break;
                case Option option:
                    command.Options.Add(option);
                    break;
            }
        }
        command.SetAction(async (parse, _) =>
        {
            using var connection = ImgCtl.Connect(parse);
            await action(parse, connection, ImgCtl.Out(parse, output));
            return 0;
        });
        return command;
    }

    private static Command Group(string name, string description, params Command[] commands)
    {
        var group = new Command(name, description);
        foreach (var command in commands)
        {
            group.Subcommands.Add(command);
        }
        return group;
    }

    private static Argument<string> Id(string name) => new(name);

    private static Option<string[]> List(string name, string description) =>
        new(name) { Description = description, AllowMultipleArgumentsPerToken = true, CustomParser = r => r.Tokens.SelectMany(t => t.Value.Split(',', StringSplitOptions.RemoveEmptyEntries)).ToArray() };

    // ---- tokens and accounts ----

    private static Command Tokens(TextWriter output)
    {
        var name = new Option<string>("--name") { Description = "The operator's name", DefaultValueFactory = _ => "admin" };
        var credential = new Option<string?>("--credential") { Description = "The operator's credential" };
        var credentialFile = new Option<string?>("--credential-file") { Description = "A file holding the operator's credential (.data/operator.credential locally)" };
        var account = Id("account-id");
        var user = Id("user-name");
        var ttl = new Option<int>("--ttl-hours") { Description = "Lifetime of the token in hours (at most 168)", DefaultValueFactory = _ => 12 };
        async Task Issue(IssueTokenRequest request, ParseResult parse, Connection c, Output o)
        {
            request.Ttl = Duration.FromTimeSpan(TimeSpan.FromHours(parse.GetValue(ttl)));
            var issued = await c.Kms<AccountService.AccountServiceClient>().IssueTokenAsync(request);
            if (parse.GetValue(ImgCtl.Json))
            {
                o.Message(issued);
            }
            else
            {
                o.Line(issued.Token);
            }
        }
        return Group("token", "Get a token (prints it, for IMGCTL_TOKEN).",
            Cmd("operator", "The operator's token, from its bootstrap credential.", output, (p, c, o) => Issue(new IssueTokenRequest
            {
                OperatorName = p.GetValue(name)!,
                OperatorCredential = p.GetValue(credential) ?? File.ReadAllText(p.GetValue(credentialFile) ?? throw new ArgumentException("Give --credential or --credential-file.")).Trim(),
            }, p, c, o), name, credential, credentialFile, ttl),
            Cmd("account", "An account root's token (as the operator or that root).", output,
                (p, c, o) => Issue(new IssueTokenRequest { AccountId = p.GetValue(account)! }, p, c, o), account, ttl),
            Cmd("ram-user", "A RAM user's token.", output,
                (p, c, o) => Issue(new IssueTokenRequest { RamUser = new RamUserSubject { AccountId = p.GetValue(account)!, UserName = p.GetValue(user)! } }, p, c, o),
                account, user, ttl));
    }

    private static Command WhoAmI(TextWriter output) =>
        Cmd("whoami", "Who the token stands for.", output, async (_, c, o) =>
        {
            var principal = (await c.Kms<AccountService.AccountServiceClient>().GetCallerIdentityAsync(new GetCallerIdentityRequest())).Principal;
            o.Message(principal, ("kind", () => principal.Kind.ToString()), ("account", () => principal.AccountId), ("name", () => principal.Name),
                ("site", () => principal.Site.ToString()), ("actions", () => string.Join(" ", principal.AllowedActions)));
        });

    private static Command Accounts(TextWriter output)
    {
        var site = new Option<Site>("--site") { Description = "Cn, Intl or Jp", Required = true };
        var name = new Option<string>("--name") { Description = "Display name", Required = true };
        var id = new Option<string>("--id") { Description = "A chosen 16-digit id", DefaultValueFactory = _ => "" };
        var org = new Option<string>("--organization") { Description = "An existing resource directory (rd-...) the account joins at its root folder (R37)", DefaultValueFactory = _ => "" };
        var accountId = Id("account-id");
        void Show(Output o, Account a) => o.Message(a, ("account", () => a.AccountId), ("site", () => a.Site.ToString()),
            ("name", () => a.DisplayName), ("organization", () => a.OrganizationId));
        return Group("accounts", "Accounts (the operator creates them).",
            Cmd("create", "Create an account; prints its id.", output, async (p, c, o) =>
            {
                var account = (await c.Kms<AccountService.AccountServiceClient>().CreateAccountAsync(new CreateAccountRequest
                {
                    AccountId = p.GetValue(id)!, Site = p.GetValue(site), DisplayName = p.GetValue(name)!, OrganizationId = p.GetValue(org)!,
                })).Account;
                o.Id(account, account.AccountId);
            }, site, name, id, org),
            Cmd("get", "Show an account.", output, async (p, c, o) =>
                Show(o, (await c.Kms<AccountService.AccountServiceClient>().GetAccountAsync(new GetAccountRequest { AccountId = p.GetValue(accountId)! })).Account), accountId));
    }

    private static Command AccessKeys(TextWriter output)
    {
        var account = new Option<string>("--account") { Description = "The account (default: the token's own)", DefaultValueFactory = _ => "" };
        var user = new Option<string>("--user") { Description = "A RAM user of the account (default: the account's root)", DefaultValueFactory = _ => "" };
        var keyId = Id("access-key-id");
        async Task<string> AccountOf(ParseResult p, Connection c) => p.GetValue(account) is { Length: > 0 } given
            ? given
            : (await c.Kms<AccountService.AccountServiceClient>().GetCallerIdentityAsync(new GetCallerIdentityRequest())).Principal.AccountId;
        async Task SetStatus(ParseResult p, Connection c, Output o, AccessKeyStatus status)
        {
            var key = (await c.Kms<AccessKeyService.AccessKeyServiceClient>().UpdateAccessKeyAsync(new UpdateAccessKeyRequest
            {
                AccountId = await AccountOf(p, c), AccessKeyId = p.GetValue(keyId)!, Status = status,
            })).AccessKey;
            o.Message(key, ("access key", () => key.AccessKeyId), ("status", () => key.Status.ToString()));
        }
        return Group("accesskeys", "AccessKey pairs for Alibaba Cloud's SDKs and the ECS gateway.",
            Cmd("create", "Create a pair; prints the id and the secret (shown only now).", output, async (p, c, o) =>
            {
                var created = await c.Kms<AccessKeyService.AccessKeyServiceClient>().CreateAccessKeyAsync(new CreateAccessKeyRequest
                {
                    AccountId = await AccountOf(p, c), UserName = p.GetValue(user)!,
                });
                o.Message(created, ("access key id", () => created.AccessKey.AccessKeyId), ("secret", () => created.AccessKeySecret));
            }, account, user),
            Cmd("list", "List a principal's pairs.", output, async (p, c, o) =>
            {
                var response = await c.Kms<AccessKeyService.AccessKeyServiceClient>().ListAccessKeysAsync(new ListAccessKeysRequest
                {
                    AccountId = await AccountOf(p, c), UserName = p.GetValue(user)!,
                });
                o.List(response.AccessKeys, response, ("ACCESS KEY", k => k.AccessKeyId), ("USER", k => k.UserName), ("STATUS", k => k.Status.ToString()));
            }, account, user),
            Cmd("disable", "Disable a pair: it signs nothing until enabled.", output, (p, c, o) => SetStatus(p, c, o, AccessKeyStatus.Inactive), keyId, account),
            Cmd("enable", "Enable a pair.", output, (p, c, o) => SetStatus(p, c, o, AccessKeyStatus.Active), keyId, account),
            Cmd("delete", "Delete a pair.", output, async (p, c, o) =>
            {
                await c.Kms<AccessKeyService.AccessKeyServiceClient>().DeleteAccessKeyAsync(new DeleteAccessKeyRequest
                {
                    AccountId = await AccountOf(p, c), AccessKeyId = p.GetValue(keyId)!,
                });
                o.Line($"deleted {p.GetValue(keyId)}");
            }, keyId, account));
    }

    private static Command Regions(TextWriter output) =>
        Cmd("regions", "The regions the cluster serves.", output, async (_, c, o) =>
        {
            var response = await c.Catalog<RegionService.RegionServiceClient>().ListRegionsAsync(new ListRegionsRequest());
            o.List(response.Regions, response, ("REGION", r => r.RegionId), ("NAME", r => r.LocalName));
        });

    // ---- images ----

    private static Command Images(TextWriter output)
    {
        var imageId = Id("image-id");
        var alias = new Option<ImageOwnerAlias>("--alias") { Description = "System, Self, Others or Marketplace (default: all)" };
        var status = new Option<ImageStatus[]>("--status") { Description = "States to list (default: Available)", AllowMultipleArgumentsPerToken = true };
        var name = new Option<string>("--name") { Description = "Image name; a trailing * matches a prefix", DefaultValueFactory = _ => "" };
        var tags = List("--tag", "Only images with these tags, key=value (a key alone matches any value)");
        var usage = new Option<ImageUsage>("--usage") { Description = "Instance (used by instances) or None" };
        var bootMode = new Option<BootMode>("--boot-mode") { Description = "Bios or Uefi" };
        var license = new Option<LicenseType>("--license") { Description = "The license type (R28), e.g. Byol" };
        var nvme = new Option<NvmeSupport>("--nvme") { Description = "Supported or Unsupported" };
        var instance = new Option<string>("--instance") { Description = "Create from this instance (R1)", DefaultValueFactory = _ => "" };
        var snapshots = List("--snapshot", "Create from these snapshots: one system, up to 16 data (R2)");
        var description = new Option<string?>("--description");
        var family = new Option<string?>("--family");
        var encrypted = new Option<bool>("--encrypted") { Description = "Encrypt (R20)" };
        var key = new Option<string>("--kms-key-id") { Description = "The CMK to encrypt with", DefaultValueFactory = _ => "" };
        var wait = new Option<bool>("--wait") { Description = "Wait until the image is Available" };
        var force = new Option<bool>("--force") { Description = "Delete even when used by instances or shared (R31, R32)" };
        var deprecate = new Option<bool?>("--deprecated") { Description = "true to deprecate, false to undeprecate" };
        var add = List("--add", "Accounts to share with (at most 10)");
        var remove = List("--remove", "Accounts to stop sharing with (at most 10)");
        var addOrg = List("--add-org", "Organization targets to share with (R37): your resource directory (rd-...), a folder of it (r-..., fd-...) or a member account, at most 10");
        var removeOrg = List("--remove-org", "Organization targets to stop sharing with, at most 10");

        return Group("images", "Custom, public, marketplace and shared images.",
            Cmd("list", "List images visible in the region.", output, async (p, c, o) =>
            {
                var request = new ListImagesRequest
                {
                    RegionId = p.GetValue(ImgCtl.Region)!, OwnerAlias = p.GetValue(alias), ImageName = p.GetValue(name)!, PageSize = 100, Usage = p.GetValue(usage),
                    Tags = { (p.GetValue(tags) ?? []).Select(t => t.Split('=', 2) is [var k, var v] ? new Tag { Key = k, Value = v } : new Tag { Key = t }) },
                };
                request.Statuses.AddRange(p.GetValue(status) ?? []);
                var all = new ListImagesResponse();
                do
                {
                    var page = await c.Catalog<ImageService.ImageServiceClient>().ListImagesAsync(request);
                    all.Images.AddRange(page.Images);
                    request.PageToken = page.NextPageToken;
                } while (request.PageToken.Length > 0);
                o.List(all.Images, all, ("IMAGE", i => i.ImageId), ("NAME", i => i.ImageName), ("OWNER", i => i.OwnerAlias.ToString()),
                    ("STATUS", i => i.Status.ToString()), ("PROGRESS", i => $"{i.Progress}%"), ("GiB", i => i.SizeGib.ToString()), ("OS", i => i.OsName),
                    ("ENCRYPTED", i => i.Encryption?.Encrypted == true ? "yes" : ""));
            }, alias, status, name, tags, usage),
            Cmd("get", "Show an image.", output, async (p, c, o) =>
                ShowImage(o, (await c.Catalog<ImageService.ImageServiceClient>().GetImageAsync(new GetImageRequest { RegionId = p.GetValue(ImgCtl.Region)!, ImageId = p.GetValue(imageId)! })).Image),
                imageId),
            Cmd("create", "Create an image from an instance or from snapshots.", output, async (p, c, o) =>
            {
                var images = c.Catalog<ImageService.ImageServiceClient>();
                var request = new CreateImageRequest
                {
                    RegionId = p.GetValue(ImgCtl.Region)!, InstanceId = p.GetValue(instance)!, ImageName = p.GetValue(name)!,
                    Description = p.GetValue(description) ?? "", ImageFamily = p.GetValue(family) ?? "",
                    Encryption = new EncryptionSpec { Encrypted = p.GetValue(encrypted), KmsKeyId = p.GetValue(key)! },
                };
                request.DiskDeviceMappings.AddRange((p.GetValue(snapshots) ?? []).Select(s => new DiskDeviceMappingSpec { SnapshotId = s }));
                var image = (await images.CreateImageAsync(request)).Image;
                while (p.GetValue(wait) && image.Status is ImageStatus.Creating or ImageStatus.Waiting)
                {
                    await Task.Delay(500);
                    image = (await images.GetImageAsync(new GetImageRequest { RegionId = image.RegionId, ImageId = image.ImageId })).Image;
                }
                ShowImage(o, image);
            }, instance, snapshots, name, description, family, encrypted, key, wait),
            Cmd("update", "Rename, describe, set the family, boot mode, license or NVMe support, deprecate or undeprecate an image.", output, async (p, c, o) =>
            {
                var request = new UpdateImageRequest
                {
                    RegionId = p.GetValue(ImgCtl.Region)!, ImageId = p.GetValue(imageId)!, BootMode = p.GetValue(bootMode), LicenseType = p.GetValue(license), NvmeSupport = p.GetValue(nvme),
                };
                if (p.GetValue(name) is { Length: > 0 } newName)
                {
                    request.ImageName = newName;
                }
                if (p.GetValue(description) is { } text)
                {
                    request.Description = text;
                }
                if (p.GetValue(family) is { } newFamily)
                {
                    request.ImageFamily = newFamily;
                }
                if (p.GetValue(deprecate) is { } deprecated)
                {
                    request.Deprecated = deprecated;
                }
                ShowImage(o, (await c.Catalog<ImageService.ImageServiceClient>().UpdateImageAsync(request)).Image);
            }, imageId, name, description, family, deprecate, bootMode, license, nvme),
            Cmd("delete", "Delete an image (deleting a missing image succeeds).", output, async (p, c, o) =>
            {
                var deleted = await c.Catalog<ImageService.ImageServiceClient>().DeleteImageAsync(new DeleteImageRequest
                {
                    RegionId = p.GetValue(ImgCtl.Region)!, ImageId = p.GetValue(imageId)!, Force = p.GetValue(force),
                });
                o.Message(deleted, ("deleted", () => deleted.Deleted ? "yes" : "no such image"));
            }, imageId, force),
            CopyImage(output),
            CancelCopy(output),
            ImportImage(output),
            ExportImage(output),
            Cmd("share", "Share an image with accounts (R13), or with one's resource directory, its folders or member accounts (R37); or stop sharing it.", output, async (p, c, o) =>
            {
                var response = await c.Sharing<SharingService.SharingServiceClient>().ModifyImageSharePermissionAsync(new ModifyImageSharePermissionRequest
                {
                    RegionId = p.GetValue(ImgCtl.Region)!, ImageId = p.GetValue(imageId)!, AddAccountIds = { p.GetValue(add) ?? [] }, RemoveAccountIds = { p.GetValue(remove) ?? [] },
                    AddOrganizationTargets = { p.GetValue(addOrg) ?? [] }, RemoveOrganizationTargets = { p.GetValue(removeOrg) ?? [] },
                });
                ShowGrants(o, response.Grants, response.OrganizationGrants, response);
            }, imageId, add, remove, addOrg, removeOrg),
            Cmd("shared-with", "The accounts and organization targets an image is shared with (R19, R37).", output, async (p, c, o) =>
            {
                var response = await c.Sharing<SharingService.SharingServiceClient>().DescribeImageSharePermissionAsync(new DescribeImageSharePermissionRequest
                {
                    RegionId = p.GetValue(ImgCtl.Region)!, ImageId = p.GetValue(imageId)!, PageSize = 100,
                });
                ShowGrants(o, response.Grants, response.OrganizationGrants, response);
            }, imageId));
    }

    /// <summary>Account and organization grants in one table, oldest first.</summary>
    private static void ShowGrants(Output o, IEnumerable<ShareGrant> accounts, IEnumerable<OrganizationGrant> organizations, Google.Protobuf.IMessage page) =>
        o.List(
            accounts.Select(g => (Grantee: g.AccountId, Kind: "account", g.ShareTime))
                .Concat(organizations.Select(g => (Grantee: g.Target.TargetId, Kind: g.Target.Kind switch
                {
                    OrganizationTargetKind.Directory => "directory",
                    OrganizationTargetKind.Folder => "folder",
                    _ => "member account",
                }, g.ShareTime)))
                .OrderBy(g => g.ShareTime.ToDateTimeOffset()).ToList(),
            page, ("GRANTEE", g => g.Grantee), ("KIND", g => g.Kind), ("SHARED", g => g.ShareTime.ToDateTimeOffset().ToString("u")));

    private static void ShowImage(Output o, Image i) => o.Message(i,
        ("image", () => i.ImageId), ("name", () => i.ImageName), ("region", () => i.RegionId), ("owner", () => $"{i.OwnerAlias} {i.OwnerAccountId}".Trim()),
        ("status", () => $"{i.Status} {i.Progress}%"), ("size", () => $"{i.SizeGib} GiB"), ("os", () => i.OsName), ("license", () => i.LicenseType.ToString()),
        ("product code", () => i.ProductCode), ("encrypted", () => i.Encryption?.Encrypted == true ? i.Encryption.KmsKeyId : "no"),
        ("disks", () => string.Join(", ", i.DiskDeviceMappings.Select(m => $"{m.Device} {m.SizeGib} GiB {m.SnapshotId}"))));

    // ---- instances ----

    private static Command Instances(TextWriter output)
    {
        var instanceId = Id("instance-id");
        var image = new Option<string>("--image") { Description = "The image", Required = true };
        var name = new Option<string>("--name") { DefaultValueFactory = _ => "" };
        var systemDisk = new Option<long>("--system-disk-gib") { Description = "System disk size (default: the image's)" };
        var dataDisks = new Option<long[]>("--data-disk-gib") { Description = "Blank data disks, by size", AllowMultipleArgumentsPerToken = true };
        var encrypted = new Option<bool>("--encrypted") { Description = "Encrypt the system disk (R20)" };
        var key = new Option<string>("--kms-key-id") { DefaultValueFactory = _ => "" };
        var type = new Option<string>("--type") { Description = "The instance type (default ecs.g7.large; see `imgctl instance-types`)", DefaultValueFactory = _ => "" };
        var zone = new Option<string>("--zone") { Description = "The zone (default: the vSwitch's, or the region's first)", DefaultValueFactory = _ => "" };
        var vswitch = new Option<string>("--vswitch") { Description = "A vSwitch: makes a VPC instance there", DefaultValueFactory = _ => "" };
        var groups = List("--security-group", "Security groups of the vSwitch's VPC (or classic ones), at most 5");
        var keyPair = new Option<string>("--key-pair") { Description = "A key pair to attach (Linux only)", DefaultValueFactory = _ => "" };
        var stopped = new Option<bool>("--stopped") { Description = "Create it Stopped, as ECS's CreateInstance does" };
        Func<ParseResult, Connection, Output, Task> Change(Func<InstanceService.InstanceServiceClient, string, string, Task<Instance>> call) =>
            async (p, c, o) => ShowInstance(o, await call(c.Catalog<InstanceService.InstanceServiceClient>(), p.GetValue(ImgCtl.Region)!, p.GetValue(instanceId)!));

        return Group("instances", "Instances made from images.",
            Cmd("create", "Create a Running instance.", output, async (p, c, o) =>
            {
                var request = new CreateInstanceRequest
                {
                    RegionId = p.GetValue(ImgCtl.Region)!, ImageId = p.GetValue(image)!, InstanceName = p.GetValue(name)!, SystemDiskSizeGib = p.GetValue(systemDisk),
                    SystemDiskEncryption = new EncryptionSpec { Encrypted = p.GetValue(encrypted), KmsKeyId = p.GetValue(key)! },
                    InstanceType = p.GetValue(type)!, ZoneId = p.GetValue(zone)!, VswitchId = p.GetValue(vswitch)!, SecurityGroupIds = { p.GetValue(groups) ?? [] },
                    KeyPairName = p.GetValue(keyPair)!, CreateStopped = p.GetValue(stopped),
                };
                request.DataDisks.AddRange((p.GetValue(dataDisks) ?? []).Select(size => new DataDiskSpec { SizeGib = size }));
                ShowInstance(o, (await c.Catalog<InstanceService.InstanceServiceClient>().CreateInstanceAsync(request)).Instance);
            }, image, name, systemDisk, dataDisks, encrypted, key, type, zone, vswitch, groups, keyPair, stopped),
            Cmd("list", "List your instances in the region.", output, async (p, c, o) =>
            {
                var response = await c.Catalog<InstanceService.InstanceServiceClient>().ListInstancesAsync(new ListInstancesRequest { RegionId = p.GetValue(ImgCtl.Region)!, PageSize = 100 });
                o.List(response.Instances, response, ("INSTANCE", i => i.InstanceId), ("NAME", i => i.InstanceName), ("STATUS", i => i.Status.ToString()),
                    ("IMAGE", i => i.ImageId), ("LICENSE", i => i.LicenseType.ToString()));
            }),
            Cmd("get", "Show an instance.", output, Change(async (s, r, id) => (await s.GetInstanceAsync(new GetInstanceRequest { RegionId = r, InstanceId = id })).Instance), instanceId),
            Cmd("stop", "Stop an instance.", output, Change(async (s, r, id) => (await s.StopInstanceAsync(new StopInstanceRequest { RegionId = r, InstanceId = id })).Instance), instanceId),
            Cmd("start", "Start an instance.", output, Change(async (s, r, id) => (await s.StartInstanceAsync(new StartInstanceRequest { RegionId = r, InstanceId = id })).Instance), instanceId),
            Cmd("reinit", "Re-initialize a Stopped instance's system disk from its image (R31).", output,
                Change(async (s, r, id) => (await s.ReinitializeSystemDiskAsync(new ReinitializeSystemDiskRequest { RegionId = r, InstanceId = id })).Instance), instanceId),
            Cmd("replace-system-disk", "Replace a Stopped instance's system disk with another image (R28).", output, async (p, c, o) =>
                ShowInstance(o, (await c.Catalog<InstanceService.InstanceServiceClient>().ReplaceSystemDiskAsync(new ReplaceSystemDiskRequest
                {
                    RegionId = p.GetValue(ImgCtl.Region)!, InstanceId = p.GetValue(instanceId)!, ImageId = p.GetValue(image)!,
                })).Instance), instanceId, image),
            Cmd("delete", "Delete an instance.", output, async (p, c, o) =>
            {
                var deleted = await c.Catalog<InstanceService.InstanceServiceClient>().DeleteInstanceAsync(new DeleteInstanceRequest
                {
                    RegionId = p.GetValue(ImgCtl.Region)!, InstanceId = p.GetValue(instanceId)!,
                });
                o.Message(deleted, ("deleted", () => deleted.Deleted ? "yes" : "no such instance"));
            }, instanceId));
    }

    private static void ShowInstance(Output o, Instance i) => o.Message(i,
        ("instance", () => i.InstanceId), ("name", () => i.InstanceName), ("status", () => i.Status.ToString()), ("image", () => i.ImageId),
        ("license", () => i.LicenseType.ToString()), ("os", () => i.OsName),
        ("type", () => $"{i.InstanceType} in {i.ZoneId}"), ("network", () => i.VswitchId.Length > 0 ? $"{i.VpcId} {i.VswitchId} {i.PrivateIpAddress}" : $"classic {i.PrivateIpAddress}"),
        ("public address", () => i.Eip?.IpAddress ?? i.PublicIpAddress), ("security groups", () => string.Join(", ", i.SecurityGroupIds)), ("key pair", () => i.KeyPairName),
        ("system disk", () => $"{i.SystemDisk?.DiskId} {i.SystemDisk?.SizeGib} GiB{(i.SystemDisk?.Encryption?.Encrypted == true ? " encrypted" : "")}"),
        ("data disks", () => string.Join(", ", i.DataDisks.Select(d => $"{d.DiskId} {d.SizeGib} GiB"))));

    // ---- snapshots ----

    private static Command Snapshots(TextWriter output)
    {
        var snapshotId = Id("snapshot-id");
        var disk = new Option<string>("--disk") { Description = "A disk of one of your instances", Required = true };
        var name = new Option<string>("--name") { DefaultValueFactory = _ => "" };
        void Show(Output o, Snapshot s) => o.Message(s, ("snapshot", () => s.SnapshotId), ("status", () => $"{s.Status} {s.Progress}%"),
            ("disk", () => $"{s.SourceDiskId} ({s.SourceDiskType}, {s.SourceDiskSizeGib} GiB)"), ("images", () => string.Join(", ", s.ImageIds)));
        return Group("snapshots", "Snapshots of your disks (R2: images from snapshots).",
            Cmd("create", "Snapshot a disk.", output, async (p, c, o) => Show(o, (await c.Catalog<SnapshotService.SnapshotServiceClient>().CreateSnapshotAsync(
                new CreateSnapshotRequest { RegionId = p.GetValue(ImgCtl.Region)!, DiskId = p.GetValue(disk)!, SnapshotName = p.GetValue(name)! })).Snapshot), disk, name),
            Cmd("list", "Your snapshots in the region.", output, async (p, c, o) =>
            {
                var response = await c.Catalog<SnapshotService.SnapshotServiceClient>().ListSnapshotsAsync(new ListSnapshotsRequest { RegionId = p.GetValue(ImgCtl.Region)!, PageSize = 100 });
                o.List(response.Snapshots, response, ("SNAPSHOT", s => s.SnapshotId), ("STATUS", s => s.Status.ToString()), ("PROGRESS", s => $"{s.Progress}%"),
                    ("DISK", s => $"{s.SourceDiskType} {s.SourceDiskSizeGib} GiB"), ("IMAGES", s => string.Join(",", s.ImageIds)));
            }),
            Cmd("get", "Show a snapshot.", output, async (p, c, o) => Show(o, (await c.Catalog<SnapshotService.SnapshotServiceClient>().GetSnapshotAsync(
                new GetSnapshotRequest { RegionId = p.GetValue(ImgCtl.Region)!, SnapshotId = p.GetValue(snapshotId)! })).Snapshot), snapshotId),
            Cmd("delete", "Delete a snapshot no image uses.", output, async (p, c, o) =>
            {
                var deleted = await c.Catalog<SnapshotService.SnapshotServiceClient>().DeleteSnapshotAsync(
                    new DeleteSnapshotRequest { RegionId = p.GetValue(ImgCtl.Region)!, SnapshotId = p.GetValue(snapshotId)! });
                o.Message(deleted, ("deleted", () => deleted.Deleted ? "yes" : "no such snapshot"));
            }, snapshotId),
            CopySnapshot(output));
    }

    // ---- quotas and KMS ----

    private static Command Quotas(TextWriter output)
    {
        var kind = new Option<QuotaKind>("--kind") { Description = "Images, SharedImages or AccountsPerImage", Required = true };
        var limit = new Option<int>("--limit") { Description = "The limit asked for", Required = true };
        var reason = new Option<string>("--reason") { DefaultValueFactory = _ => "" };
        var requestId = Id("request-id");
        var show = Cmd("show", "Your quotas with their limits and usage.", output, async (p, c, o) =>
        {
            var response = await c.Sharing<QuotaService.QuotaServiceClient>().GetQuotasAsync(new GetQuotasRequest { RegionId = p.GetValue(ImgCtl.Region)! });
            o.List(response.Quotas, response, ("QUOTA", q => q.Kind.ToString()), ("REGION", q => q.RegionId), ("LIMIT", q => q.Limit.ToString()), ("USAGE", q => q.Usage.ToString()));
        });
        return Group("quotas", "Quotas and requests to raise them (R3, R14, R15).",
            show,
            Cmd("request", "Ask for a higher limit.", output, async (p, c, o) => ShowRequest(o, (await c.Sharing<QuotaService.QuotaServiceClient>().RequestQuotaIncreaseAsync(new RequestQuotaIncreaseRequest
            {
                Kind = p.GetValue(kind), RegionId = p.GetValue(ImgCtl.Region)!, DesiredLimit = p.GetValue(limit), Reason = p.GetValue(reason)!,
            })).Request), kind, limit, reason),
            Cmd("requests", "Quota requests: yours, or everyone's for an operator.", output, async (p, c, o) =>
            {
                var response = await c.Sharing<QuotaService.QuotaServiceClient>().ListQuotaRequestsAsync(new ListQuotaRequestsRequest { PageSize = 100 });
                o.List(response.Requests, response, ("REQUEST", r => r.RequestId), ("ACCOUNT", r => r.AccountId), ("QUOTA", r => r.Kind.ToString()),
                    ("LIMIT", r => r.DesiredLimit.ToString()), ("STATE", r => r.State.ToString()));
            }),
            Cmd("approve", "Approve a request (operator).", output, async (p, c, o) => ShowRequest(o, (await c.Sharing<QuotaService.QuotaServiceClient>()
                .ApproveQuotaRequestAsync(new ApproveQuotaRequestRequest { RequestId = p.GetValue(requestId)! })).Request), requestId),
            Cmd("reject", "Reject a request (operator).", output, async (p, c, o) => ShowRequest(o, (await c.Sharing<QuotaService.QuotaServiceClient>()
                .RejectQuotaRequestAsync(new RejectQuotaRequestRequest { RequestId = p.GetValue(requestId)! })).Request), requestId));
    }

    private static void ShowRequest(Output o, QuotaRequest r) => o.Message(r,
        ("request", () => r.RequestId), ("account", () => r.AccountId), ("quota", () => r.Kind.ToString()), ("limit", () => r.DesiredLimit.ToString()),
        ("state", () => r.State.ToString()), ("decided by", () => r.DecidedBy));

    private static Command Kms(TextWriter output)
    {
        var keyId = Id("key-id");
        var role = Id("role-name");
        var description = new Option<string>("--description") { DefaultValueFactory = _ => "" };
        void ShowKey(Output o, Key k) => o.Message(k, ("key", () => k.KeyId), ("state", () => k.State.ToString()), ("region", () => k.RegionId),
            ("service key", () => k.ServiceKey ? "yes" : "no"), ("description", () => k.Description));
        return Group("kms", "KMS keys and service roles (R20-R23).",
            Cmd("enable", "Enable KMS in the region.", output, async (p, c, o) =>
                o.Message(await c.Kms<KeyService.KeyServiceClient>().EnableKmsAsync(new EnableKmsRequest { RegionId = p.GetValue(ImgCtl.Region)! }), ("enabled", () => "yes"))),
            Cmd("create-key", "Create a customer master key (CMK).", output, async (p, c, o) =>
                ShowKey(o, (await c.Kms<KeyService.KeyServiceClient>().CreateKeyAsync(new CreateKeyRequest { RegionId = p.GetValue(ImgCtl.Region)!, Description = p.GetValue(description)! })).Key),
                description),
            Cmd("keys", "Your keys in the region.", output, async (p, c, o) =>
            {
                var response = await c.Kms<KeyService.KeyServiceClient>().ListKeysAsync(new ListKeysRequest { RegionId = p.GetValue(ImgCtl.Region)!, PageSize = 100 });
                o.List(response.Keys, response, ("KEY", k => k.KeyId), ("STATE", k => k.State.ToString()), ("SERVICE KEY", k => k.ServiceKey ? "yes" : ""), ("DESCRIPTION", k => k.Description));
            }),
            Cmd("disable-key", "Disable a CMK (R23).", output, async (p, c, o) =>
                ShowKey(o, (await c.Kms<KeyService.KeyServiceClient>().DisableKeyAsync(new DisableKeyRequest { RegionId = p.GetValue(ImgCtl.Region)!, KeyId = p.GetValue(keyId)! })).Key), keyId),
            Cmd("enable-key", "Enable a CMK.", output, async (p, c, o) =>
                ShowKey(o, (await c.Kms<KeyService.KeyServiceClient>().EnableKeyAsync(new EnableKeyRequest { RegionId = p.GetValue(ImgCtl.Region)!, KeyId = p.GetValue(keyId)! })).Key), keyId),
            Cmd("create-role", "Authorize a service role, e.g. AliyunECSShareEncryptImageDefaultRole.", output, async (p, c, o) =>
            {
                var created = (await c.Kms<RoleService.RoleServiceClient>().CreateServiceRoleAsync(new CreateServiceRoleRequest { RoleName = p.GetValue(role)! })).Role;
                o.Message(created, ("role", () => created.RoleName), ("arn", () => created.Arn));
            }, role));
    }
}
