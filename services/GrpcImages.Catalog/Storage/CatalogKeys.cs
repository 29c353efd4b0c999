using GrpcImages.ServiceDefaults.Validation;
using StackExchange.Redis;

namespace GrpcImages.Catalog.Storage;

/// <summary>
/// The catalog's Redis keys, every one of them. Every key of an owner shares the owner's slot tag,
/// which every id of that owner carries (ResourceIds), so a record is found from its id alone and an
/// owner's changes are single scripts that also run on Redis Cluster.
/// <code>
/// - gi:cat:{t}:img:&lt;image&gt;                  hash  d=Image, s=status, n=name, f=family, t=tags (Records.TagField), v=version, fence=highest worker token seen,
///                                                  task=the task making it while pending, donetask=the task that ended that,
///                                                  trev=the revision of the task whose state the pending image shows last
/// - gi:cat:{t}:holds:&lt;image&gt;                hash  task -> hold kind (1 copy source, 2 export): what keeps the image from deletion (R9, R33)
/// - gi:cat:{t}:unheld:&lt;image&gt;:&lt;task&gt;        string a mark left when a task lets its hold of the image go: the task cannot hold it again (1 day)
/// - gi:cat:{t}:taskres:&lt;task&gt;               string the image or snapshot a task's pending step made (one per task), or "-" when
///                                                  the task was given up before it made one (7 days)
/// - gi:cat:{p}:pimg:&lt;region&gt;:&lt;image&gt;        hash  a public (system) image, named like "ubuntu_22_04_x64_20G_alibase_20240101.vhd"
/// - gi:cat:{t}:imgs:&lt;owner&gt;:&lt;region&gt;        zset  image ids by creation time (owner "system", "marketplace" under {p})
/// - gi:cat:{t}:names:&lt;owner&gt;:&lt;region&gt;       hash  image name -> image id (names are unique per owner and region)
/// - gi:cat:{t}:imgn:&lt;owner&gt;:&lt;region&gt;        hash  status -> how many of the owner's images there are in it (StatusCounts)
/// - gi:cat:{t}:irecv:&lt;image&gt;                set   accounts the image is shared with (from the sharing service's outbox, StatusCounts)
/// - gi:cat:{t}:rcnt:&lt;owner&gt;:&lt;region&gt;        hash  "recipient|status" -> how many of the owner's images there, shared with the recipient, are in it
/// - gi:cat:{r}:rown:&lt;recipient&gt;:&lt;region&gt;    set   owners that shared an image there with the recipient (kept once added), under the recipient's tag
/// - gi:cat:{t}:iusers:&lt;image&gt;               set   instances made from the image (R31)
/// - gi:cat:{p}:iusers:&lt;region&gt;:&lt;image&gt;      set   instances made from a public image
/// - gi:cat:{t}:snap:&lt;snapshot&gt;              hash  d=Snapshot, s=status, m=manifest, v=version, fence, task, donetask, trev (as images)
/// - gi:cat:{t}:snaps:&lt;owner&gt;:&lt;region&gt;       zset  snapshot ids by creation time
/// - gi:cat:{t}:simgs:&lt;snapshot&gt;             set   images using the snapshot
/// - gi:cat:{t}:inst:&lt;instance&gt;              hash  d=Instance, s=status, v=version, m:&lt;disk&gt;=manifest per disk
/// - gi:cat:{t}:insts:&lt;owner&gt;:&lt;region&gt;       zset  instance ids by creation time
/// - gi:cat:{t}:disk:&lt;disk&gt;                  string the instance a disk belongs to
/// - gi:cat:{t}:vpc:&lt;vpc&gt;                    hash  d=Vpc, v (bumped by every vSwitch created in it, which checks its block against the others)
/// - gi:cat:{t}:vpcs:&lt;owner&gt;:&lt;region&gt;        zset  VPC ids by creation time
/// - gi:cat:{t}:vpcsw:&lt;vpc&gt;                  set   the VPC's vSwitches (a VPC is deleted only once it is empty)
/// - gi:cat:{t}:vpcsg:&lt;vpc&gt;                  set   the VPC's security groups (likewise)
/// - gi:cat:{t}:vsw:&lt;vswitch&gt;                hash  d=VSwitch, v
/// - gi:cat:{t}:vsws:&lt;owner&gt;:&lt;region&gt;        zset  vSwitch ids by creation time
/// - gi:cat:{t}:ips:&lt;vswitch&gt;                hash  private address -> instance, of the vSwitch's instances (deleted only when empty)
/// - gi:cat:{t}:cips:&lt;owner&gt;:&lt;region&gt;        hash  private address -> instance, of the owner's classic-network instances
/// - gi:cat:{t}:sg:&lt;group&gt;                   hash  d=SecurityGroup with its rules, v
/// - gi:cat:{t}:sgs:&lt;owner&gt;:&lt;region&gt;         zset  security group ids by creation time
/// - gi:cat:{t}:sginst:&lt;group&gt;               set   the group's instances (deleted only when empty)
/// - gi:cat:{t}:kp:&lt;owner&gt;:&lt;region&gt;:&lt;name&gt;   hash  d=KeyPair (public key only), v
/// - gi:cat:{t}:kps:&lt;owner&gt;:&lt;region&gt;         zset  key pair names by creation time
/// - gi:cat:{t}:kpinst:&lt;owner&gt;:&lt;region&gt;:&lt;name&gt; set the instances the pair is attached to (deleted only when empty)
/// - gi:cat:{t}:eip:&lt;allocation&gt;             hash  d=EipAddress (status and instance included), v
/// - gi:cat:{t}:eips:&lt;owner&gt;:&lt;region&gt;        zset  EIP allocation ids by allocation time
/// - gi:cat:{p}:addrs:&lt;region&gt;               hash  public address -> "holder|unix ms" (an EIP's allocation id or an instance id)
/// - gi:cat:{p}:addrseq:&lt;region&gt;             string how many addresses of the region's block were handed out (the next to try)
/// - gi:cat:{t}:ct:&lt;owner&gt;:&lt;scope&gt;:&lt;token&gt;   string "fingerprint|id" for 24 h (R35); scopes img, inst, snap, replace, vpc, vsw, sg, eip
/// - gi:cat:{t}:gone:&lt;id&gt;                    string an image, snapshot or instance id whose creation was abandoned; its create script refuses it (7 days)
/// - gi:cat:{seed}:done                       hash  region -> version of the platform catalog seeded there
/// - gi:cat:{seed}:runs                       string how many region seedings ran (each region once per version)
/// - gi:cat:{q:jobs}:*                        queue "img|&lt;id&gt;", "snap|&lt;id&gt;", "inst|&lt;id&gt;": images, snapshots and instances being made,
///                                                  recorded before their create (WorkQueue; payload "intent|owner|region|client token|image")
/// - gi:cat:{q:releases}:*                    queue content holds and quota units to give back, retried until done: "content|region|manifest|holder",
///                                                  "holder|region|holder[|final]", "quota|account|region|holder"
/// - gi:cat:{q:seed}:*                        queue "&lt;region&gt;|&lt;version&gt;": seeding a region's platform catalog
/// - channel gi:cat:images:&lt;owner&gt;:&lt;region&gt;    WatchImagesResponse of each save or delete of the owner's images there (ImageStore, PendingResourceStore)
/// </code>
/// {t} is the owner's tag, {p} the tag of the platform owner (public and marketplace images). The
/// queues' own keys are listed in <see cref="ServiceDefaults.Work.WorkQueue"/>. Which store writes
/// which keys: <see cref="ImageStore"/>, <see cref="SnapshotStore"/>, <see cref="InstanceStore"/>,
/// <see cref="PendingResourceStore"/>, <see cref="ImageHoldStore"/>, <see cref="CreationClaimStore"/>,
/// <see cref="PlatformCatalogStore"/>, <see cref="NetworkStore"/> (VPCs, vSwitches, security groups), <see cref="KeyPairStore"/>,
/// <see cref="AddressStore"/> (EIPs and the address pools). An instance's links to them (its address in <c>ips:</c> or <c>cips:</c>,
/// its groups' and key pair's sets) change in the same script as the instance (<see cref="InstanceStore"/>).
/// </summary>
public static class CatalogKeys
{
    public const string Root = "gi:cat:";

    public const string PlatformOwner = "platform";
    public const string SystemIndexOwner = "system";
    public const string MarketplaceIndexOwner = "marketplace";

    /// <summary>The field prefix of a disk's manifest in an instance record.</summary>
    public const string DiskManifestPrefix = "m:";

    public static readonly string PlatformTag = ResourceIds.OwnerTag(PlatformOwner);

    public static string Prefix(string tag) => $"{Root}{{{tag}}}:";

    public static string OwnerTag(string owner) =>
        owner is SystemIndexOwner or MarketplaceIndexOwner or "" ? PlatformTag : ResourceIds.OwnerTag(owner);

    /// <summary>Whether an image id is a public image's name rather than an "m-" id.</summary>
    public static bool IsPublicImageName(string imageId) => !imageId.StartsWith("m-", StringComparison.Ordinal);

    /// <summary>Where changes of an owner's images in a region are announced (pub/sub; cluster-wide on Redis Cluster).</summary>
    public static RedisChannel ImageChannel(string owner, string region) => RedisChannel.Literal($"{Root}images:{owner}:{region}");

    public static string Image(string region, string imageId) =>
        IsPublicImageName(imageId)
            ? $"{Prefix(PlatformTag)}pimg:{region}:{imageId}"
            : $"{Prefix(ResourceIds.TagOf(imageId))}img:{imageId}";

    /// <summary>The prefix the listing script puts before an index member to find its record.</summary>
    public static string ImageRecordPrefix(string indexOwner, string region) =>
        indexOwner == SystemIndexOwner ? $"{Prefix(PlatformTag)}pimg:{region}:" : $"{Prefix(OwnerTag(indexOwner))}img:";

    public static string InstanceRecordPrefix(string owner) => $"{Prefix(OwnerTag(owner))}inst:";

    public static string SnapshotRecordPrefix(string owner) => $"{Prefix(OwnerTag(owner))}snap:";

    public static string Images(string owner, string region) => $"{Prefix(OwnerTag(owner))}imgs:{owner}:{region}";

    /// <summary>The owner's image counts per status (<see cref="StatusCounts"/>); "" for the platform's indexes, which keep none.</summary>
    public static string ImageCounts(string owner, string region) =>
        owner is SystemIndexOwner or MarketplaceIndexOwner ? "" : $"{Prefix(OwnerTag(owner))}imgn:{owner}:{region}";

    /// <summary>The accounts an image is shared with; the scripts find it beside the record (":img:" -> ":irecv:", <see cref="StatusCounts"/>).</summary>
    public static string ImageRecipients(string imageId) => $"{Prefix(ResourceIds.TagOf(imageId))}irecv:{imageId}";

    /// <summary>The owner's counts of shared images per recipient and status; the scripts find it beside the status counts (":imgn:" -> ":rcnt:").</summary>
    public static string RecipientCounts(string owner, string region) => $"{Prefix(OwnerTag(owner))}rcnt:{owner}:{region}";

    /// <summary>The owners that shared an image in the region with the recipient: whose <see cref="RecipientCounts"/> its count reads.</summary>
    public static string SharingOwners(string recipient, string region) => $"{Prefix(OwnerTag(recipient))}rown:{recipient}:{region}";

    public static string Names(string owner, string region) => $"{Prefix(OwnerTag(owner))}names:{owner}:{region}";

    /// <summary>The prefix the listing script puts before an index member to find its users set.</summary>
    public static string ImageUsersPrefix(string indexOwner, string region) =>
        indexOwner == SystemIndexOwner ? $"{Prefix(PlatformTag)}iusers:{region}:" : $"{Prefix(OwnerTag(indexOwner))}iusers:";

    public static string ImageUsers(string region, string imageId) =>
        IsPublicImageName(imageId) ? $"{Prefix(PlatformTag)}iusers:{region}:{imageId}" : $"{Prefix(ResourceIds.TagOf(imageId))}iusers:{imageId}";

    public static string Snapshot(string snapshotId) => $"{Prefix(ResourceIds.TagOf(snapshotId))}snap:{snapshotId}";

    public static string Snapshots(string owner, string region) => $"{Prefix(OwnerTag(owner))}snaps:{owner}:{region}";

    public static string SnapshotImages(string snapshotId) => $"{Prefix(ResourceIds.TagOf(snapshotId))}simgs:{snapshotId}";

    public static string Instance(string instanceId) => $"{Prefix(ResourceIds.TagOf(instanceId))}inst:{instanceId}";

    public static string Instances(string owner, string region) => $"{Prefix(OwnerTag(owner))}insts:{owner}:{region}";

    public static string DiskManifestField(string diskId) => DiskManifestPrefix + diskId;

    public static string Disk(string diskId) => $"{Prefix(ResourceIds.TagOf(diskId))}disk:{diskId}";

    public static string Holds(string imageId) => $"{Prefix(ResourceIds.TagOf(imageId))}holds:{imageId}";

    /// <summary>Marks a task's hold on an image as let go: the task cannot hold the image again.</summary>
    public static string Unheld(string imageId, string taskId) => $"{Prefix(ResourceIds.TagOf(imageId))}unheld:{imageId}:{taskId}";

    public static string TaskResource(string taskId) => $"{Prefix(ResourceIds.TagOf(taskId))}taskres:{taskId}";

    public static string Abandoned(string resourceId) => $"{Prefix(ResourceIds.TagOf(resourceId))}gone:{resourceId}";

    public static string ClientToken(string owner, string scope, string token) => $"{Prefix(OwnerTag(owner))}ct:{owner}:{scope}:{token}";

    public static string Vpc(string vpcId) => $"{Prefix(ResourceIds.TagOf(vpcId))}vpc:{vpcId}";

    public static string VpcRecordPrefix(string owner) => $"{Prefix(OwnerTag(owner))}vpc:";

    public static string Vpcs(string owner, string region) => $"{Prefix(OwnerTag(owner))}vpcs:{owner}:{region}";

    public static string VpcVSwitches(string vpcId) => $"{Prefix(ResourceIds.TagOf(vpcId))}vpcsw:{vpcId}";

    public static string VpcSecurityGroups(string vpcId) => $"{Prefix(ResourceIds.TagOf(vpcId))}vpcsg:{vpcId}";

    public static string VSwitch(string vswitchId) => $"{Prefix(ResourceIds.TagOf(vswitchId))}vsw:{vswitchId}";

    public static string VSwitchRecordPrefix(string owner) => $"{Prefix(OwnerTag(owner))}vsw:";

    public static string VSwitches(string owner, string region) => $"{Prefix(OwnerTag(owner))}vsws:{owner}:{region}";

    public static string VSwitchAddresses(string vswitchId) => $"{Prefix(ResourceIds.TagOf(vswitchId))}ips:{vswitchId}";

    public static string ClassicAddresses(string owner, string region) => $"{Prefix(OwnerTag(owner))}cips:{owner}:{region}";

    public static string SecurityGroup(string groupId) => $"{Prefix(ResourceIds.TagOf(groupId))}sg:{groupId}";

    public static string SecurityGroupRecordPrefix(string owner) => $"{Prefix(OwnerTag(owner))}sg:";

    public static string SecurityGroups(string owner, string region) => $"{Prefix(OwnerTag(owner))}sgs:{owner}:{region}";

    public static string SecurityGroupInstances(string groupId) => $"{Prefix(ResourceIds.TagOf(groupId))}sginst:{groupId}";

    public static string KeyPair(string owner, string region, string name) => $"{KeyPairRecordPrefix(owner, region)}{name}";

    public static string KeyPairRecordPrefix(string owner, string region) => $"{Prefix(OwnerTag(owner))}kp:{owner}:{region}:";

    public static string KeyPairs(string owner, string region) => $"{Prefix(OwnerTag(owner))}kps:{owner}:{region}";

    public static string KeyPairInstances(string owner, string region, string name) => $"{Prefix(OwnerTag(owner))}kpinst:{owner}:{region}:{name}";

    public static string Eip(string allocationId) => $"{Prefix(ResourceIds.TagOf(allocationId))}eip:{allocationId}";

    public static string EipRecordPrefix(string owner) => $"{Prefix(OwnerTag(owner))}eip:";

    public static string Eips(string owner, string region) => $"{Prefix(OwnerTag(owner))}eips:{owner}:{region}";

    public static string AddressPool(string region) => $"{Prefix(PlatformTag)}addrs:{region}";

    public static string AddressSequence(string region) => $"{Prefix(PlatformTag)}addrseq:{region}";

    public const string SeedDone = Root + "{seed}:done";
    public const string SeedRuns = Root + "{seed}:runs";
}
