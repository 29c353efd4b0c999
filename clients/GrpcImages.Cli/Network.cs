using System.CommandLine;
using System.Globalization;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Common.V1;

namespace GrpcImages.Cli;

/// <summary>
/// The resources around instances (issue 21): key pairs, VPCs and vSwitches, security groups, EIPs, tags, and what a
/// region offers (zones, instance types). Creates print the new id alone, like the other groups.
/// </summary>
internal static partial class Commands
{
    private static string Region(ParseResult p) => p.GetValue(ImgCtl.Region)!;

    private static string Count(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static Command KeyPairs(TextWriter output)
    {
        var name = Id("key-pair-name");
        var names = new Argument<string[]>("key-pair-names") { Arity = ArgumentArity.OneOrMore };
        var privateKeyFile = new Option<string?>("--private-key-file") { Description = "Write the private key to this file (mode 600) instead of printing it" };
        var publicKeyFile = new Option<string?>("--public-key-file") { Description = "The OpenSSH public key to import, e.g. ~/.ssh/id_ed25519.pub" };
        var publicKey = new Option<string?>("--public-key") { Description = "The OpenSSH public key line itself" };
        var filter = List("--name", "Only these names; a trailing * matches a prefix");
        var instances = List("--instance", "Instances (at most 50)");
        KeyPairService.KeyPairServiceClient Pairs(Connection c) => c.Catalog<KeyPairService.KeyPairServiceClient>();
        void Show(Output o, KeyPair k) => o.Message(k, ("key pair", () => k.KeyPairName), ("fingerprint", () => k.KeyPairFingerPrint),
            ("instances", () => string.Join(", ", k.InstanceIds)), ("public key", () => k.PublicKey));

        return Group("keypairs", "SSH key pairs of the region: made here (the private key shown once) or imported.",
            Cmd("create", "Create an RSA key pair; prints its private key (or writes it to --private-key-file).", output, async (p, c, o) =>
            {
                var created = await Pairs(c).CreateKeyPairAsync(new CreateKeyPairRequest { RegionId = Region(p), KeyPairName = p.GetValue(name)! });
                if (p.GetValue(privateKeyFile) is { } file)
                {
                    await File.WriteAllTextAsync(file, created.PrivateKeyBody);
                    if (!OperatingSystem.IsWindows())
                    {
                        File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite); // ssh refuses a private key others can read
                    }
                    Show(o, created.KeyPair);
                }
                else if (p.GetValue(ImgCtl.Json))
                {
                    o.Message(created);
                }
                else
                {
                    o.Line(created.PrivateKeyBody.TrimEnd());
                }
            }, name, privateKeyFile),
            Cmd("import", "Import the public key of a pair made elsewhere.", output, async (p, c, o) =>
            {
                var body = p.GetValue(publicKey) ?? (p.GetValue(publicKeyFile) is { } file
                    ? await File.ReadAllTextAsync(file)
                    : throw new ArgumentException("Give --public-key-file or --public-key."));
                Show(o, (await Pairs(c).ImportKeyPairAsync(new ImportKeyPairRequest { RegionId = Region(p), KeyPairName = p.GetValue(name)!, PublicKeyBody = body.Trim() })).KeyPair);
            }, name, publicKeyFile, publicKey),
            Cmd("list", "Your key pairs in the region, newest first.", output, async (p, c, o) =>
            {
                var request = new ListKeyPairsRequest { RegionId = Region(p), KeyPairNames = { p.GetValue(filter) ?? [] }, PageSize = 100 };
                var all = new ListKeyPairsResponse();
                do
                {
                    var page = await Pairs(c).ListKeyPairsAsync(request);
                    all.KeyPairs.AddRange(page.KeyPairs);
                    all.TotalSize = page.TotalSize;
                    request.PageToken = page.NextPageToken;
                } while (request.PageToken.Length > 0);
                o.List(all.KeyPairs, all, ("KEY PAIR", k => k.KeyPairName), ("FINGERPRINT", k => k.KeyPairFingerPrint), ("INSTANCES", k => string.Join(",", k.InstanceIds)));
            }, filter),
            Cmd("delete", "Delete key pairs (none while one is attached to an instance).", output, async (p, c, o) =>
            {
                var deleted = await Pairs(c).DeleteKeyPairsAsync(new DeleteKeyPairsRequest { RegionId = Region(p), KeyPairNames = { p.GetValue(names)! } });
                o.Message(deleted, ("deleted", () => deleted.Deleted.Count == 0 ? "none (no such key pair)" : string.Join(", ", deleted.Deleted)));
            }, names),
            Cmd("attach", "Attach a key pair to Linux instances (it replaces the pair they had).", output, async (p, c, o) =>
                Show(o, (await Pairs(c).AttachKeyPairAsync(new AttachKeyPairRequest
                {
                    RegionId = Region(p), KeyPairName = p.GetValue(name)!, InstanceIds = { p.GetValue(instances) ?? [] },
                })).KeyPair), name, instances),
            Cmd("detach", "Detach a key pair from instances.", output, async (p, c, o) =>
            {
                var detached = await Pairs(c).DetachKeyPairAsync(new DetachKeyPairRequest
                {
                    RegionId = Region(p), KeyPairName = p.GetValue(name)!, InstanceIds = { p.GetValue(instances) ?? [] },
                });
                o.Message(detached, ("key pair", () => detached.KeyPair.KeyPairName), ("detached from", () => string.Join(", ", detached.DetachedInstanceIds)),
                    ("still attached to", () => string.Join(", ", detached.KeyPair.InstanceIds)));
            }, name, instances));
    }

    private static Command Vpcs(TextWriter output)
    {
        var vpcId = Id("vpc-id");
        var cidr = new Option<string>("--cidr") { Description = "10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 or a block within one, mask 8-24 (default 172.16.0.0/12)", DefaultValueFactory = _ => "" };
        var name = new Option<string>("--name") { DefaultValueFactory = _ => "" };
        var description = new Option<string>("--description") { DefaultValueFactory = _ => "" };
        NetworkService.NetworkServiceClient Networks(Connection c) => c.Catalog<NetworkService.NetworkServiceClient>();
        void Show(Output o, Vpc v) => o.Message(v, ("vpc", () => v.VpcId), ("name", () => v.VpcName), ("cidr", () => v.CidrBlock), ("status", () => v.Status.ToString()),
            ("vswitches", () => string.Join(", ", v.VswitchIds)), ("description", () => v.Description));

        return Group("vpcs", "VPCs: the private networks of a region (at most 10).",
            Cmd("create", "Create a VPC; prints its id.", output, async (p, c, o) =>
            {
                var vpc = (await Networks(c).CreateVpcAsync(new CreateVpcRequest
                {
                    RegionId = Region(p), CidrBlock = p.GetValue(cidr)!, VpcName = p.GetValue(name)!, Description = p.GetValue(description)!,
                })).Vpc;
                o.Id(vpc, vpc.VpcId);
            }, cidr, name, description),
            Cmd("list", "Your VPCs in the region.", output, async (p, c, o) =>
            {
                var response = await Networks(c).ListVpcsAsync(new ListVpcsRequest { RegionId = Region(p), PageSize = 100 });
                o.List(response.Vpcs, response, ("VPC", v => v.VpcId), ("NAME", v => v.VpcName), ("CIDR", v => v.CidrBlock), ("VSWITCHES", v => Count(v.VswitchIds.Count)));
            }),
            Cmd("get", "Show a VPC.", output, async (p, c, o) =>
                Show(o, (await Networks(c).GetVpcAsync(new GetVpcRequest { RegionId = Region(p), VpcId = p.GetValue(vpcId)! })).Vpc), vpcId),
            Cmd("delete", "Delete a VPC without vSwitches or security groups.", output, async (p, c, o) =>
            {
                var deleted = await Networks(c).DeleteVpcAsync(new DeleteVpcRequest { RegionId = Region(p), VpcId = p.GetValue(vpcId)! });
                o.Message(deleted, ("deleted", () => deleted.Deleted ? "yes" : "no such VPC"));
            }, vpcId));
    }

    private static Command VSwitches(TextWriter output)
    {
        var vswitchId = Id("vswitch-id");
        var vpc = new Option<string>("--vpc") { Description = "The VPC", DefaultValueFactory = _ => "" };
        var zone = new Option<string>("--zone") { Description = "A zone of the region (see `imgctl zones`)", DefaultValueFactory = _ => "" };
        var cidr = new Option<string>("--cidr") { Description = "A block within the VPC's, mask 16-29, apart from its other vSwitches'", Required = true };
        var name = new Option<string>("--name") { DefaultValueFactory = _ => "" };
        NetworkService.NetworkServiceClient Networks(Connection c) => c.Catalog<NetworkService.NetworkServiceClient>();
        void Show(Output o, VSwitch v) => o.Message(v, ("vswitch", () => v.VswitchId), ("name", () => v.VswitchName), ("vpc", () => v.VpcId), ("zone", () => v.ZoneId),
            ("cidr", () => v.CidrBlock), ("free addresses", () => Count(v.AvailableIpAddressCount)), ("status", () => v.Status.ToString()));

        return Group("vswitches", "vSwitches: subnets of a VPC in one zone, where VPC instances get their addresses.",
            Cmd("create", "Create a vSwitch; prints its id.", output, async (p, c, o) =>
            {
                var vswitch = (await Networks(c).CreateVSwitchAsync(new CreateVSwitchRequest
                {
                    RegionId = Region(p), VpcId = p.GetValue(vpc)!, ZoneId = p.GetValue(zone)!, CidrBlock = p.GetValue(cidr)!, VswitchName = p.GetValue(name)!,
                })).Vswitch;
                o.Id(vswitch, vswitch.VswitchId);
            }, vpc, zone, cidr, name),
            Cmd("list", "Your vSwitches in the region, of one VPC or zone if asked.", output, async (p, c, o) =>
            {
                var request = new ListVSwitchesRequest { RegionId = Region(p), VpcId = p.GetValue(vpc)!, ZoneId = p.GetValue(zone)!, PageSize = 100 };
                var all = new ListVSwitchesResponse();
                do
                {
                    var page = await Networks(c).ListVSwitchesAsync(request);
                    all.Vswitches.AddRange(page.Vswitches);
                    all.TotalSize = page.TotalSize;
                    request.PageToken = page.NextPageToken;
                } while (request.PageToken.Length > 0);
                o.List(all.Vswitches, all, ("VSWITCH", v => v.VswitchId), ("VPC", v => v.VpcId), ("ZONE", v => v.ZoneId), ("CIDR", v => v.CidrBlock),
                    ("FREE", v => Count(v.AvailableIpAddressCount)), ("NAME", v => v.VswitchName));
            }, vpc, zone),
            Cmd("get", "Show a vSwitch.", output, async (p, c, o) =>
                Show(o, (await Networks(c).GetVSwitchAsync(new GetVSwitchRequest { RegionId = Region(p), VswitchId = p.GetValue(vswitchId)! })).Vswitch), vswitchId),
            Cmd("delete", "Delete a vSwitch without instances.", output, async (p, c, o) =>
            {
                var deleted = await Networks(c).DeleteVSwitchAsync(new DeleteVSwitchRequest { RegionId = Region(p), VswitchId = p.GetValue(vswitchId)! });
                o.Message(deleted, ("deleted", () => deleted.Deleted ? "yes" : "no such vSwitch"));
            }, vswitchId));
    }

    private static Command SecurityGroups(TextWriter output)
    {
        var groupId = Id("security-group-id");
        var vpc = new Option<string>("--vpc") { Description = "The VPC (default: the classic network)", DefaultValueFactory = _ => "" };
        var name = new Option<string>("--name") { DefaultValueFactory = _ => "" };
        var description = new Option<string>("--description") { DefaultValueFactory = _ => "" };
        var direction = new Option<RuleDirection>("--direction") { Description = "Ingress or Egress", DefaultValueFactory = _ => RuleDirection.Ingress };
        var protocol = new Option<string>("--protocol") { Description = "tcp, udp, icmp, gre or all", Required = true };
        var ports = new Option<string>("--ports") { Description = "from/to, e.g. 22/22 (-1/-1 for icmp, gre and all)", DefaultValueFactory = _ => "" };
        var cidr = new Option<string>("--cidr") { Description = "Where traffic comes from (ingress) or goes to (egress)", DefaultValueFactory = _ => "0.0.0.0/0" };
        var nic = new Option<string>("--nic-type") { Description = "internet or intranet", DefaultValueFactory = _ => "" };
        var policy = new Option<string>("--policy") { Description = "accept or drop", DefaultValueFactory = _ => "" };
        var priority = new Option<int>("--priority") { Description = "1-100, 1 first" };
        var ruleDescription = new Option<string>("--rule-description") { DefaultValueFactory = _ => "" };
        SecurityGroupService.SecurityGroupServiceClient Groups(Connection c) => c.Catalog<SecurityGroupService.SecurityGroupServiceClient>();
        SecurityGroupRule Rule(ParseResult p) => new()
        {
            Direction = p.GetValue(direction), IpProtocol = p.GetValue(protocol)!, PortRange = p.GetValue(ports)!, CidrIp = p.GetValue(cidr)!,
            NicType = p.GetValue(nic)!, Policy = p.GetValue(policy)!, Priority = p.GetValue(priority), Description = p.GetValue(ruleDescription)!,
        };
        void Show(Output o, SecurityGroup g)
        {
            if (o.IsJson)
            {
                o.Message(g); // one JSON document, rules included
                return;
            }
            o.Message(g, ("security group", () => g.SecurityGroupId), ("name", () => g.SecurityGroupName), ("vpc", () => g.VpcId.Length > 0 ? g.VpcId : "classic"),
                ("instances", () => Count(g.InstanceCount)));
            o.List(g.Rules, g, ("DIRECTION", r => r.Direction.ToString()), ("PROTOCOL", r => r.IpProtocol), ("PORTS", r => r.PortRange), ("CIDR", r => r.CidrIp),
                ("NIC", r => r.NicType), ("POLICY", r => r.Policy), ("PRIORITY", r => Count(r.Priority)));
        }
        Symbol[] RuleOptions(params Symbol[] first) => [.. first, direction, protocol, ports, cidr, nic, policy, priority, ruleDescription];

        return Group("securitygroups", "Security groups and their ingress and egress rules.",
            Cmd("create", "Create a security group; prints its id.", output, async (p, c, o) =>
            {
                var group = (await Groups(c).CreateSecurityGroupAsync(new CreateSecurityGroupRequest
                {
                    RegionId = Region(p), VpcId = p.GetValue(vpc)!, SecurityGroupName = p.GetValue(name)!, Description = p.GetValue(description)!,
                })).SecurityGroup;
                o.Id(group, group.SecurityGroupId);
            }, vpc, name, description),
            Cmd("list", "Your security groups in the region, of one VPC if asked.", output, async (p, c, o) =>
            {
                var response = await Groups(c).ListSecurityGroupsAsync(new ListSecurityGroupsRequest { RegionId = Region(p), VpcId = p.GetValue(vpc)!, PageSize = 100 });
                o.List(response.SecurityGroups, response, ("SECURITY GROUP", g => g.SecurityGroupId), ("NAME", g => g.SecurityGroupName),
                    ("VPC", g => g.VpcId.Length > 0 ? g.VpcId : "classic"), ("RULES", g => Count(g.Rules.Count)), ("INSTANCES", g => Count(g.InstanceCount)));
            }, vpc),
            Cmd("get", "Show a security group and its rules.", output, async (p, c, o) =>
                Show(o, (await Groups(c).GetSecurityGroupAsync(new GetSecurityGroupRequest { RegionId = Region(p), SecurityGroupId = p.GetValue(groupId)! })).SecurityGroup), groupId),
            Cmd("delete", "Delete a security group no instance belongs to.", output, async (p, c, o) =>
            {
                var deleted = await Groups(c).DeleteSecurityGroupAsync(new DeleteSecurityGroupRequest { RegionId = Region(p), SecurityGroupId = p.GetValue(groupId)! });
                o.Message(deleted, ("deleted", () => deleted.Deleted ? "yes" : "no such security group"));
            }, groupId),
            Cmd("authorize", "Add a rule (one the group has already changes nothing).", output, async (p, c, o) =>
                Show(o, (await Groups(c).AuthorizeSecurityGroupAsync(new AuthorizeSecurityGroupRequest
                {
                    RegionId = Region(p), SecurityGroupId = p.GetValue(groupId)!, Rule = Rule(p),
                })).SecurityGroup), RuleOptions(groupId)),
            Cmd("revoke", "Remove the group's rule equal to the one described.", output, async (p, c, o) =>
            {
                var revoked = await Groups(c).RevokeSecurityGroupAsync(new RevokeSecurityGroupRequest
                {
                    RegionId = Region(p), SecurityGroupId = p.GetValue(groupId)!, Rule = Rule(p),
                });
                if (!revoked.Removed && !p.GetValue(ImgCtl.Json))
                {
                    o.Line("no such rule");
                }
                Show(o, revoked.SecurityGroup);
            }, RuleOptions(groupId)));
    }

    private static Command Eips(TextWriter output)
    {
        var allocationId = Id("allocation-id");
        var instanceId = Id("instance-id");
        var instance = new Option<string>("--instance") { Description = "A VPC instance", Required = true };
        var bandwidth = new Option<int>("--bandwidth") { Description = "Mbit/s, 1-200 (default 5)" };
        var chargeType = new Option<string>("--charge-type") { Description = "PayByTraffic (default) or PayByBandwidth", DefaultValueFactory = _ => "" };
        AddressService.AddressServiceClient Addresses(Connection c) => c.Catalog<AddressService.AddressServiceClient>();
        void Show(Output o, EipAddress e) => o.Message(e, ("eip", () => e.AllocationId), ("address", () => e.IpAddress), ("status", () => e.Status.ToString()),
            ("instance", () => e.InstanceId), ("bandwidth", () => $"{e.Bandwidth} Mbit/s {e.InternetChargeType}"));

        return Group("eips", "Elastic IP addresses and instances' public addresses.",
            Cmd("allocate", "Allocate an EIP; prints its id.", output, async (p, c, o) =>
            {
                var eip = (await Addresses(c).AllocateEipAddressAsync(new AllocateEipAddressRequest
                {
                    RegionId = Region(p), Bandwidth = p.GetValue(bandwidth), InternetChargeType = p.GetValue(chargeType)!,
                })).EipAddress;
                o.Id(eip, eip.AllocationId);
            }, bandwidth, chargeType),
            Cmd("list", "Your EIPs in the region.", output, async (p, c, o) =>
            {
                var response = await Addresses(c).ListEipAddressesAsync(new ListEipAddressesRequest { RegionId = Region(p), PageSize = 100 });
                o.List(response.EipAddresses, response, ("EIP", e => e.AllocationId), ("ADDRESS", e => e.IpAddress), ("STATUS", e => e.Status.ToString()),
                    ("INSTANCE", e => e.InstanceId), ("BANDWIDTH", e => Count(e.Bandwidth)));
            }),
            Cmd("get", "Show an EIP.", output, async (p, c, o) =>
                Show(o, (await Addresses(c).GetEipAddressAsync(new GetEipAddressRequest { RegionId = Region(p), AllocationId = p.GetValue(allocationId)! })).EipAddress), allocationId),
            Cmd("associate", "Associate an Available EIP with a VPC instance.", output, async (p, c, o) =>
                Show(o, (await Addresses(c).AssociateEipAddressAsync(new AssociateEipAddressRequest
                {
                    RegionId = Region(p), AllocationId = p.GetValue(allocationId)!, InstanceId = p.GetValue(instance)!,
                })).EipAddress), allocationId, instance),
            Cmd("unassociate", "Take an EIP off its instance.", output, async (p, c, o) =>
                Show(o, (await Addresses(c).UnassociateEipAddressAsync(new UnassociateEipAddressRequest
                {
                    RegionId = Region(p), AllocationId = p.GetValue(allocationId)!, InstanceId = p.GetValue(instance)!,
                })).EipAddress), allocationId, instance),
            Cmd("release", "Release an Available EIP.", output, async (p, c, o) =>
            {
                var released = await Addresses(c).ReleaseEipAddressAsync(new ReleaseEipAddressRequest { RegionId = Region(p), AllocationId = p.GetValue(allocationId)! });
                o.Message(released, ("released", () => released.Released ? "yes" : "no such EIP"));
            }, allocationId),
            Cmd("public-ip", "Give an instance a fixed public address (prints it).", output, async (p, c, o) =>
            {
                var allocated = await Addresses(c).AllocatePublicIpAddressAsync(new AllocatePublicIpAddressRequest { RegionId = Region(p), InstanceId = p.GetValue(instanceId)! });
                o.Id(allocated, allocated.IpAddress);
            }, instanceId));
    }

    private static Command Tags(TextWriter output)
    {
        var type = new Option<TaggedResourceType>("--type") { Description = "Image, Snapshot or Instance", Required = true };
        var ids = new Argument<string[]>("resource-ids") { Arity = ArgumentArity.ZeroOrMore };
        var tags = List("--tag", "key=value (a key alone: any value when listing, an empty value when adding)");
        var keys = List("--key", "Tag keys to remove");
        var all = new Option<bool>("--all") { Description = "Remove every tag" };
        TagService.TagServiceClient Client(Connection c) => c.Catalog<TagService.TagServiceClient>();
        IEnumerable<Tag> Parsed(ParseResult p) => (p.GetValue(tags) ?? []).Select(t => t.Split('=', 2) is [var k, var v] ? new Tag { Key = k, Value = v } : new Tag { Key = t });

        return Group("tags", "Tags on your images, snapshots and instances (at most 20 each).",
            Cmd("add", "Add tags to resources of one type (a key they have gets the new value).", output, async (p, c, o) =>
            {
                var response = await Client(c).TagResourcesAsync(new TagResourcesRequest
                {
                    RegionId = Region(p), ResourceType = p.GetValue(type), ResourceIds = { p.GetValue(ids) ?? [] }, Tags = { Parsed(p) },
                });
                o.Message(response, ("tagged", () => string.Join(", ", p.GetValue(ids) ?? [])));
            }, type, ids, tags),
            Cmd("remove", "Remove tags by key, or --all, from resources of one type.", output, async (p, c, o) =>
            {
                var response = await Client(c).UntagResourcesAsync(new UntagResourcesRequest
                {
                    RegionId = Region(p), ResourceType = p.GetValue(type), ResourceIds = { p.GetValue(ids) ?? [] }, TagKeys = { p.GetValue(keys) ?? [] }, All = p.GetValue(all),
                });
                o.Message(response, ("untagged", () => string.Join(", ", p.GetValue(ids) ?? [])));
            }, type, ids, keys, all),
            Cmd("list", "The tags of the resources named, or of every resource of the type with all the --tag given.", output, async (p, c, o) =>
            {
                var request = new ListTagResourcesRequest { RegionId = Region(p), ResourceType = p.GetValue(type), ResourceIds = { p.GetValue(ids) ?? [] }, Tags = { Parsed(p) }, PageSize = 1000 };
                var found = new ListTagResourcesResponse();
                do
                {
                    var page = await Client(c).ListTagResourcesAsync(request);
                    found.TagResources.AddRange(page.TagResources);
                    request.PageToken = page.NextPageToken;
                } while (request.PageToken.Length > 0);
                o.List(found.TagResources, found, ("RESOURCE", t => t.ResourceId), ("KEY", t => t.TagKey), ("VALUE", t => t.TagValue));
            }, type, ids, tags));
    }

    private static Command Zones(TextWriter output) =>
        Cmd("zones", "The zones of the region and what each offers.", output, async (p, c, o) =>
        {
            var response = await c.Catalog<RegionService.RegionServiceClient>().ListZonesAsync(new ListZonesRequest { RegionId = Region(p) });
            o.List(response.Zones, response, ("ZONE", z => z.ZoneId), ("NAME", z => z.LocalName), ("INSTANCE TYPES", z => Count(z.AvailableInstanceTypes.Count)),
                ("DISKS", z => string.Join(",", z.AvailableDiskCategories)));
        });

    private static Command InstanceTypes(TextWriter output)
    {
        var zone = new Option<string>("--zone") { Description = "Only types offered in this zone of the region", DefaultValueFactory = _ => "" };
        var image = new Option<string>("--image") { Description = "Only types this image runs on", DefaultValueFactory = _ => "" };
        var family = new Option<string>("--family") { Description = "Only types of this family, e.g. ecs.g7", DefaultValueFactory = _ => "" };
        return Cmd("instance-types", "Instance types: all, those of a zone, or those an image runs on.", output, async (p, c, o) =>
        {
            var narrowed = p.GetValue(zone)!.Length > 0 || p.GetValue(image)!.Length > 0;
            var response = await c.Catalog<RegionService.RegionServiceClient>().ListInstanceTypesAsync(new ListInstanceTypesRequest
            {
                RegionId = narrowed ? Region(p) : "", ZoneId = p.GetValue(zone)!, ImageId = p.GetValue(image)!, InstanceTypeFamily = p.GetValue(family)!,
            });
            o.List(response.InstanceTypes, response, ("INSTANCE TYPE", t => t.InstanceTypeId), ("FAMILY", t => t.InstanceTypeFamily), ("vCPU", t => Count(t.CpuCoreCount)),
                ("MEMORY GiB", t => t.MemorySize.ToString(CultureInfo.InvariantCulture)), ("ARCHITECTURE", t => t.Architecture.ToString()));
        }, zone, image, family);
    }

    private static Command Disks(TextWriter output)
    {
        var instance = new Option<string>("--instance") { Description = "Only the disks of this instance", DefaultValueFactory = _ => "" };
        return Cmd("disks", "The disks of your instances in the region.", output, async (p, c, o) =>
        {
            var request = new ListDisksRequest { RegionId = Region(p), InstanceId = p.GetValue(instance)!, PageSize = 100 };
            var all = new ListDisksResponse();
            do
            {
                var page = await c.Catalog<InstanceService.InstanceServiceClient>().ListDisksAsync(request);
                all.Disks.AddRange(page.Disks);
                request.PageToken = page.NextPageToken;
            } while (request.PageToken.Length > 0);
            o.List(all.Disks, all, ("DISK", d => d.DiskId), ("TYPE", d => d.DiskType.ToString()), ("GiB", d => Count(d.SizeGib)), ("INSTANCE", d => d.InstanceId),
                ("ZONE", d => d.ZoneId), ("DEVICE", d => d.Device));
        }, instance);
    }
}
