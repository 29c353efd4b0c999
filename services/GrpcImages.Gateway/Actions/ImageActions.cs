using System.Text.Json.Nodes;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Common.V1;
using GrpcImages.Contracts.Sharing.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.Gateway.Ecs;

namespace GrpcImages.Gateway.Actions;

/// <summary>The image actions of ECS 2014-05-26 on the catalog, sharing and transfer services.</summary>
public static class ImageActions
{
    public static async Task<JsonObject> DescribeRegions(EcsCall call)
    {
        call.Parameters.Accept("InstanceChargeType", "ResourceType");
        var regions = await call.Rpc(o => call.Clients.Regions.ListRegionsAsync(new ListRegionsRequest(), o));
        return new JsonObject
        {
            ["Regions"] = Shapes.Wrap("Region", regions.Regions.Select(r => (JsonNode)new JsonObject
            {
                ["RegionId"] = r.RegionId,
                ["LocalName"] = r.LocalName,
                ["RegionEndpoint"] = "",
                ["Status"] = "available",
            })),
        };
    }

    public static async Task<JsonObject> DescribeImages(EcsCall call)
    {
        var p = call.Parameters;
        var region = call.Region;
        var ids = p.JsonList("ImageId");
        var alias = p.Optional("ImageOwnerAlias") switch
        {
            null => ImageOwnerAlias.Unspecified,
            "system" => ImageOwnerAlias.System,
            "self" => ImageOwnerAlias.Self,
            "others" => ImageOwnerAlias.Others,
            "marketplace" => ImageOwnerAlias.Marketplace,
            var other => throw EcsException.BadRequest("InvalidImageOwnerAlias.ValueNotSupported", $"ImageOwnerAlias \"{other}\" is not one of system, self, others, marketplace."),
        };
        var statuses = p.JsonList("Status").Select(ParseStatus).ToList();
        if (statuses.Count == 0)
        {
            statuses.Add(ImageStatus.Available); // the API's default, by id or not
        }
        var name = p.Text("ImageName");
        var family = p.Text("ImageFamily");
        var tags = call.Tags().ToList();
        var usage = p.Optional("Usage") switch
        {
            null => ImageUsage.Unspecified,
            "instance" => ImageUsage.Instance,
            "none" => ImageUsage.None,
            var other => throw EcsException.InvalidParameter("Usage", $"\"{other}\" is instance or none."),
        };
        // Every image listed here can make an instance and replace a system disk: the action narrows nothing.
        if (p.Optional("ActionType") is { } actionType && actionType is not ("CreateEcs" or "ChangeOS"))
        {
            throw EcsException.InvalidParameter("ActionType", $"\"{actionType}\" is CreateEcs or ChangeOS.");
        }
        p.Flag("ShowExpired");
        p.Flag("IsSupportIoOptimized");
        p.Flag("IsSupportCloudinit");
        var (page, total, number, size) = ids.Count == 0
            ? await call.SkipPageAsync<Image>(async (skip, pageSize, token) =>
            {
                var request = new ListImagesRequest
                {
                    RegionId = region, OwnerAlias = alias, ImageName = name, ImageFamily = family, PageSize = pageSize, PageToken = token, Skip = skip,
                };
                request.Statuses.AddRange(statuses);
                request.Tags.AddRange(tags);
                request.Usage = usage;
                var list = await call.Rpc(o => call.Clients.Images.ListImagesAsync(request, o));
                return (list.Images, list.NextPageToken, list.TotalSize);
            })
            : await call.PageAsync<Image>(async _ =>
            {
                // By id: each one the caller may see; a missing or hidden id is left out, as the real API does.
                p.RefuseUnread();
                var found = new List<Image>();
                foreach (var id in ids)
                {
                    try
                    {
                        found.Add((await call.Clients.Images.GetImageAsync(new GetImageRequest { RegionId = region, ImageId = id }, call.Options)).Image);
                    }
                    catch (Grpc.Core.RpcException error) when (error.StatusCode == Grpc.Core.StatusCode.NotFound)
                    {
                    }
                    catch (Grpc.Core.RpcException error)
                    {
                        throw EcsException.From(error);
                    }
                }
                return (found.Where(i => statuses.Contains(i.Status) && (alias == ImageOwnerAlias.Unspecified || i.OwnerAlias == alias) &&
                                         (usage == ImageUsage.Unspecified || i.Usage == usage) &&
                                         tags.All(t => i.Tags.Any(held => held.Key == t.Key && (t.Value.Length == 0 || held.Value == t.Value)))), "");
            });
        return new JsonObject
        {
            ["RegionId"] = region,
            ["TotalCount"] = total,
            ["PageNumber"] = number,
            ["PageSize"] = size,
            ["Images"] = Shapes.Wrap("Image", page.Select(i => (JsonNode)Shapes.Image(i))),
        };
    }

    public static async Task<JsonObject> CreateImage(EcsCall call)
    {
        var p = call.Parameters;
        var request = new CreateImageRequest
        {
            RegionId = call.Region,
            InstanceId = p.Text("InstanceId"),
            ImageName = p.Text("ImageName"),
            Description = p.Text("Description"),
            ImageFamily = p.Text("ImageFamily"),
            Architecture = p.Optional("Architecture") switch
            {
                null => Architecture.Unspecified,
                "x86_64" => Architecture.X8664,
                "arm64" => Architecture.Arm64,
                var other => throw EcsException.InvalidParameter("Architecture", $"\"{other}\" is x86_64 or arm64."),
            },
            ClientToken = p.Text("ClientToken"),
        };
        if (p.Optional("SnapshotId") is { } snapshot)
        {
            request.DiskDeviceMappings.Add(new DiskDeviceMappingSpec { SnapshotId = snapshot, DiskType = DiskType.System });
        }
        foreach (var disk in p.Objects("DiskDeviceMapping", "SnapshotId", "Size", "DiskType", "Device"))
        {
            request.DiskDeviceMappings.Add(new DiskDeviceMappingSpec
            {
                SnapshotId = disk("SnapshotId") ?? "",
                SizeGib = long.TryParse(disk("Size"), out var gib) ? gib : 0,
                DiskType = disk("DiskType") switch
                {
                    null or "system" => request.DiskDeviceMappings.Count == 0 ? DiskType.System : DiskType.Data,
                    "data" => DiskType.Data,
                    var other => throw EcsException.InvalidParameter("DiskDeviceMapping.N.DiskType", $"\"{other}\" is system or data."),
                },
                Device = disk("Device") ?? "",
            });
        }
        request.Tags.AddRange(call.Tags());
        var created = await call.Rpc(o => call.Clients.Images.CreateImageAsync(request, o));
        return new JsonObject { ["ImageId"] = created.Image.ImageId };
    }

    public static async Task<JsonObject> ModifyImageAttribute(EcsCall call)
    {
        var p = call.Parameters;
        var request = new UpdateImageRequest { RegionId = call.Region, ImageId = p.Required("ImageId") };
        if (p.Optional("ImageName") is { } name)
        {
            request.ImageName = name;
        }
        if (p.Optional("Description") is { } description)
        {
            request.Description = description;
        }
        if (p.Optional("ImageFamily") is { } family)
        {
            request.ImageFamily = family;
        }
        request.BootMode = p.Optional("BootMode") switch
        {
            null => BootMode.Unspecified,
            "BIOS" => BootMode.Bios,
            "UEFI" => BootMode.Uefi,
            var other => throw EcsException.BadRequest("InvalidBootMode.NotSupported", $"The boot mode \"{other}\" is BIOS or UEFI."),
        };
        request.LicenseType = p.Optional("LicenseType") switch
        {
            null => LicenseType.Unspecified,
            "Auto" or "Aliyun" => LicenseType.Aliyun,
            "BYOL" => LicenseType.Byol,
            var other => throw EcsException.BadRequest("InvalidLicenseType.NotSupported", $"The license type \"{other}\" is Auto or BYOL."),
        };
        request.NvmeSupport = p.Optional("Features.NvmeSupport") switch
        {
            null => NvmeSupport.Unspecified,
            "supported" => NvmeSupport.Supported,
            "unsupported" => NvmeSupport.Unsupported,
            var other => throw EcsException.InvalidParameter("Features.NvmeSupport", $"\"{other}\" is supported or unsupported."),
        };
        switch (p.Optional("Status"))
        {
            case null:
                break;
            case "Deprecated":
                request.Deprecated = true;
                break;
            case "Available":
                request.Deprecated = false;
                break;
            case var other:
                throw EcsException.InvalidParameter("Status", $"\"{other}\" is Deprecated or Available.");
        }
        await call.Rpc(o => call.Clients.Images.UpdateImageAsync(request, o));
        return EcsCall.Ok();
    }

    /// <summary>The newest Available image of a family the caller can use (an empty Image when the family has none).</summary>
    public static async Task<JsonObject> DescribeImageFromFamily(EcsCall call)
    {
        var p = call.Parameters;
        var region = call.Region;
        var request = new ListImagesRequest { RegionId = region, ImageFamily = p.Required("ImageFamily"), PageSize = 100, Statuses = { ImageStatus.Available } };
        Image? newest = null;
        var read = 0;
        do
        {
            var list = await call.Rpc(o => call.Clients.Images.ListImagesAsync(request, o));
            foreach (var image in list.Images)
            {
                if (newest is null || image.CreateTime.ToDateTimeOffset() > newest.CreateTime.ToDateTimeOffset())
                {
                    newest = image;
                }
            }
            request.PageToken = list.NextPageToken;
            read += list.Images.Count;
        }
        while (request.PageToken.Length > 0 && read < EcsCall.MaxScanned);
        return new JsonObject { ["Image"] = newest is null ? new JsonObject() : Shapes.Image(newest) };
    }

    public static async Task<JsonObject> DeleteImage(EcsCall call)
    {
        var request = new DeleteImageRequest { RegionId = call.Region, ImageId = call.Parameters.Required("ImageId"), Force = call.Parameters.Flag("Force") };
        await call.Rpc(o => call.Clients.Images.DeleteImageAsync(request, o));
        return EcsCall.Ok();
    }

    public static async Task<JsonObject> ModifyImageSharePermission(EcsCall call)
    {
        var p = call.Parameters;
        if (p.Flag("IsPublic"))
        {
            throw EcsException.BadRequest("InvalidParameter.IsPublic", "Custom images are not published here; share them with accounts instead.");
        }
        p.Accept("LaunchPermission");
        var request = new ModifyImageSharePermissionRequest { RegionId = call.Region, ImageId = p.Required("ImageId") };
        request.AddAccountIds.AddRange(p.List("AddAccount"));
        request.RemoveAccountIds.AddRange(p.List("RemoveAccount"));
        await call.Rpc(o => call.Clients.Sharing.ModifyImageSharePermissionAsync(request, o));
        return EcsCall.Ok();
    }

    public static async Task<JsonObject> DescribeImageSharePermission(EcsCall call)
    {
        var region = call.Region;
        var imageId = call.Parameters.Required("ImageId");
        // R37: organization grants (at most the accounts-per-image quota of them) come whole as ShareGroups; Accounts is paged.
        var groups = new List<OrganizationGrant>();
        var (page, total, number, size) = await call.PageAsync<Contracts.Sharing.V1.ShareGrant>(async token =>
        {
            var response = await call.Rpc(o => call.Clients.Sharing.DescribeImageSharePermissionAsync(
                new DescribeImageSharePermissionRequest { RegionId = region, ImageId = imageId, PageSize = 100, PageToken = token }, o));
            groups.AddRange(response.OrganizationGrants);
            return (response.Grants, response.NextPageToken);
        });
        return new JsonObject
        {
            ["ImageId"] = imageId,
            ["RegionId"] = region,
            ["TotalCount"] = total,
            ["PageNumber"] = number,
            ["PageSize"] = size,
            ["ShareGroups"] = Shapes.Wrap("ShareGroup", groups.Select(g => (JsonNode)new JsonObject
            {
                ["Group"] = g.Target.TargetId,
                ["GroupType"] = g.Target.Kind switch
                {
                    OrganizationTargetKind.Directory => "ResourceDirectory",
                    OrganizationTargetKind.Folder => "Folder",
                    _ => "Account",
                },
                ["SharedTime"] = Shapes.Time(g.ShareTime),
            })),
            ["Accounts"] = Shapes.Wrap("Account", page.Select(g => (JsonNode)new JsonObject
            {
                ["AliyunId"] = g.AccountId,
                ["SharedTime"] = Shapes.Time(g.ShareTime),
            })),
        };
    }

    public static async Task<JsonObject> CopyImage(EcsCall call)
    {
        var p = call.Parameters;
        var region = call.Region;
        var request = new CopyImageRequest
        {
            RegionId = region,
            ImageId = p.Required("ImageId"),
            DestinationRegionId = p.Required("DestinationRegionId"),
            DestinationImageName = p.Text("DestinationImageName"),
            DestinationDescription = p.Text("DestinationDescription"),
            Encryption = call.Encryption(),
            ClientToken = p.Text("ClientToken"),
        };
        p.Accept("EncryptAlgorithm");
        request.Tags.AddRange(call.Tags());
        var copied = await call.Rpc(o => call.Clients.Transfer(region).CopyImageAsync(request, o));
        return new JsonObject { ["ImageId"] = copied.ImageId };
    }

    public static async Task<JsonObject> CancelCopyImage(EcsCall call)
    {
        var region = call.Region;
        var request = new CancelCopyImageRequest { RegionId = region, ImageId = call.Parameters.Required("ImageId") };
        await call.Rpc(o => call.Clients.Transfer(region).CancelCopyImageAsync(request, o));
        return EcsCall.Ok();
    }

    public static async Task<JsonObject> ImportImage(EcsCall call)
    {
        var p = call.Parameters;
        var region = call.Region;
        var request = new ImportImageRequest
        {
            RegionId = region,
            ImageName = p.Text("ImageName"),
            Description = p.Text("Description"),
            OsType = p.Optional("OSType") switch
            {
                null or "linux" => OsType.Linux,
                "windows" => OsType.Windows,
                var other => throw EcsException.InvalidParameter("OSType", $"\"{other}\" is linux or windows."),
            },
            OsName = p.Text("Platform"),
            Architecture = p.Optional("Architecture") switch
            {
                null or "x86_64" => Architecture.X8664,
                "arm64" => Architecture.Arm64,
                var other => throw EcsException.InvalidParameter("Architecture", $"\"{other}\" is x86_64 or arm64."),
            },
            LicenseType = p.Optional("LicenseType") switch
            {
                null or "Auto" or "Aliyun" => LicenseType.Aliyun,
                "BYOL" => LicenseType.Byol,
                var other => throw EcsException.InvalidParameter("LicenseType", $"\"{other}\" is Auto, Aliyun or BYOL."),
            },
            ClientToken = p.Text("ClientToken"),
        };
        p.Accept("RoleName");
        foreach (var disk in p.Objects("DiskDeviceMapping", "OSSBucket", "OSSObject", "Format", "DiskImageSize", "DiskImSize", "Device"))
        {
            var bucket = disk("OSSBucket") ?? throw EcsException.MissingParameter("DiskDeviceMapping.N.OSSBucket");
            var obj = disk("OSSObject") ?? throw EcsException.MissingParameter("DiskDeviceMapping.N.OSSObject");
            request.Disks.Add(new ImportDiskSpec
            {
                SourceUrl = $"oss://{bucket}/{obj}",
                Format = Format(disk("Format"), "DiskDeviceMapping.N.Format"),
                DiskSizeGib = long.TryParse(disk("DiskImageSize") ?? disk("DiskImSize"), out var gib) ? gib : 0,
            });
        }
        request.Tags.AddRange(call.Tags());
        var imported = await call.Rpc(o => call.Clients.Transfer(region).ImportImageAsync(request, o));
        return new JsonObject { ["ImageId"] = imported.ImageId, ["TaskId"] = imported.Task?.TaskId ?? "", ["RegionId"] = region };
    }

    public static async Task<JsonObject> ExportImage(EcsCall call)
    {
        var p = call.Parameters;
        var region = call.Region;
        var request = new ExportImageRequest
        {
            RegionId = region,
            ImageId = p.Required("ImageId"),
            Bucket = p.Required("OSSBucket"),
            ObjectPrefix = p.Text("OSSPrefix"),
            Format = Format(p.Optional("ImageFormat"), "ImageFormat"),
        };
        p.Accept("RoleName");
        var exported = await call.Rpc(o => call.Clients.Transfer(region).ExportImageAsync(request, o));
        return new JsonObject { ["TaskId"] = exported.Task?.TaskId ?? "", ["RegionId"] = region };
    }

    private static ImageStatus ParseStatus(string status) => status switch
    {
        "Creating" => ImageStatus.Creating,
        "Waiting" => ImageStatus.Waiting,
        "Available" => ImageStatus.Available,
        "UnAvailable" => ImageStatus.UnAvailable,
        "CreateFailed" => ImageStatus.CreateFailed,
        "Deprecated" => ImageStatus.Deprecated,
        _ => throw EcsException.InvalidParameter("Status", $"\"{status}\" is one of Creating, Waiting, Available, UnAvailable, CreateFailed, Deprecated."),
    };

    private static DiskImageFormat Format(string? format, string name) => format?.ToUpperInvariant() switch
    {
        null => DiskImageFormat.Unspecified,
        "RAW" => DiskImageFormat.Raw,
        "VHD" => DiskImageFormat.Vhd,
        "QCOW2" => DiskImageFormat.Qcow2,
        "VMDK" => DiskImageFormat.Vmdk,
        _ => throw EcsException.InvalidParameter(name, $"\"{format}\" is RAW, VHD, QCOW2 or VMDK."),
    };
}
