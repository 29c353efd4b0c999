using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.Contracts.Sharing.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.ServiceDefaults.Peers;

namespace GrpcImages.Gateway.Ecs;

/// <summary>The typed clients of the four services, made when first used (the gateway may start before them).</summary>
public sealed class ClusterClients(
    PeerClient<RegionService.RegionServiceClient> regions,
    PeerClient<ImageService.ImageServiceClient> images,
    PeerClient<InstanceService.InstanceServiceClient> instances,
    PeerClient<SnapshotService.SnapshotServiceClient> snapshots,
    PeerClient<SharingService.SharingServiceClient> sharing,
    RegionPeers<TransferService.TransferServiceClient> transfer,
    RegionPeers<TaskService.TaskServiceClient> tasks,
    PeerClient<AccessKeyService.AccessKeyServiceClient> accessKeys,
    PeerClient<NetworkService.NetworkServiceClient> networks,
    PeerClient<SecurityGroupService.SecurityGroupServiceClient> securityGroups,
    PeerClient<KeyPairService.KeyPairServiceClient> keyPairs,
    PeerClient<AddressService.AddressServiceClient> addresses,
    PeerClient<TagService.TagServiceClient> tags)
{
    public RegionService.RegionServiceClient Regions => regions.Client;

    public ImageService.ImageServiceClient Images => images.Client;

    public InstanceService.InstanceServiceClient Instances => instances.Client;

    public SnapshotService.SnapshotServiceClient Snapshots => snapshots.Client;

    public SharingService.SharingServiceClient Sharing => sharing.Client;

    public AccessKeyService.AccessKeyServiceClient AccessKeys => accessKeys.Client;

    public NetworkService.NetworkServiceClient Networks => networks.Client;

    public SecurityGroupService.SecurityGroupServiceClient SecurityGroups => securityGroups.Client;

    public KeyPairService.KeyPairServiceClient KeyPairs => keyPairs.Client;

    public AddressService.AddressServiceClient Addresses => addresses.Client;

    public TagService.TagServiceClient Tags => tags.Client;

    /// <summary>The transfer instance that keeps <paramref name="region"/>'s bytes and tasks.</summary>
    public TransferService.TransferServiceClient Transfer(string region) => transfer.In(region);

    public TaskService.TaskServiceClient Tasks(string region) => tasks.In(region);
}
