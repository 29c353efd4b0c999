// The resources around instances (key pairs, VPCs and vSwitches, zones and instance types, security groups,
// EIPs and public addresses, disks, tags) through @alicloud/pop-core, one call per action, each with its rule;
// then the parameter shapes Terraform's image resources send.
const { describe, it, before } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { owner, recipient, failure, eventually, region } = require('../lib/sdk');

describe('resources around instances through @alicloud/pop-core', () => {
  let client, other, instanceId, vpcId, vswitchId, zoneId, groupId, allocationId, imageId;
  const call = (action, params = {}) => client.request(action, { RegionId: region, ...params }, { method: 'POST' });
  const code = async (promise) => {
    const error = await failure(promise);
    return error.data?.Code ?? error.code;
  };

  before(async () => {
    client = owner().pop;
    other = recipient().pop;
  });

  it('DescribeZones and DescribeInstanceTypes: what Packer picks a zone by', async () => {
    const zones = (await call('DescribeZones')).Zones.Zone;
    assert.ok(zones.length >= 2);
    zoneId = zones[0].ZoneId;
    assert.ok(zones[0].AvailableResourceCreation.ResourceTypes.includes('VSwitch'));
    assert.ok(zones[0].AvailableInstanceTypes.InstanceTypes.includes('ecs.g7.large'));
    const types = (await call('DescribeInstanceTypes', { 'InstanceTypes.1': 'ecs.g7.large' })).InstanceTypes.InstanceType;
    assert.deepEqual(types.map((t) => [t.InstanceTypeId, t.CpuCoreCount, t.MemorySize]), [['ecs.g7.large', 2, 8]]);
  });

  it('CreateVpc, DescribeVpcs; a block that is not private is refused', async () => {
    vpcId = (await call('CreateVpc', { CidrBlock: '192.168.0.0/16', VpcName: 'pop-vpc' })).VpcId;
    const vpcs = (await call('DescribeVpcs', { VpcId: vpcId })).Vpcs.Vpc;
    assert.deepEqual(vpcs.map((v) => [v.VpcId, v.CidrBlock, v.Status, v.VpcName]), [[vpcId, '192.168.0.0/16', 'Available', 'pop-vpc']]);
    assert.match(await code(call('CreateVpc', { CidrBlock: '8.8.0.0/16' })), /^InvalidCidrBlock/);
    assert.match(await code(call('CreateVpc', { CidrBlock: 'not-a-block' })), /^InvalidCidrBlock/);
  });

  it('CreateVSwitch nests in its VPC, in a zone of the region, and does not overlap a sibling', async () => {
    vswitchId = (await call('CreateVSwitch', { VpcId: vpcId, ZoneId: zoneId, CidrBlock: '192.168.1.0/24' })).VSwitchId;
    const listed = (await call('DescribeVSwitches', { VpcId: vpcId })).VSwitches.VSwitch;
    assert.deepEqual(listed.map((v) => [v.VSwitchId, v.ZoneId, v.CidrBlock, v.Status]), [[vswitchId, zoneId, '192.168.1.0/24', 'Available']]);
    assert.ok(listed[0].AvailableIpAddressCount > 200);
    assert.match(await code(call('CreateVSwitch', { VpcId: vpcId, ZoneId: zoneId, CidrBlock: '10.0.0.0/24' })), /^InvalidCidrBlock/);
    assert.match(await code(call('CreateVSwitch', { VpcId: vpcId, ZoneId: zoneId, CidrBlock: '192.168.1.128/25' })), /^InvalidCidrBlock/);
    assert.match(await code(call('CreateVSwitch', { VpcId: vpcId, ZoneId: 'cn-nowhere-z', CidrBlock: '192.168.2.0/24' })), /^InvalidZoneId/);
  });

  it('CreateSecurityGroup, AuthorizeSecurityGroup(Egress), DescribeSecurityGroupAttribute, RevokeSecurityGroup(Egress)', async () => {
    groupId = (await call('CreateSecurityGroup', { VpcId: vpcId, SecurityGroupName: 'pop-sg' })).SecurityGroupId;
    await call('AuthorizeSecurityGroup', { SecurityGroupId: groupId, IpProtocol: 'tcp', PortRange: '22/22', SourceCidrIp: '10.0.0.0/8' });
    await call('AuthorizeSecurityGroupEgress', { SecurityGroupId: groupId, IpProtocol: 'all', PortRange: '-1/-1', DestCidrIp: '0.0.0.0/0' });
    const rules = (await call('DescribeSecurityGroupAttribute', { SecurityGroupId: groupId })).Permissions.Permission;
    assert.deepEqual(rules.map((r) => [r.Direction, r.IpProtocol, r.PortRange]).sort(), [['egress', 'ALL', '-1/-1'], ['ingress', 'TCP', '22/22']]);
    assert.match(await code(call('AuthorizeSecurityGroup', { SecurityGroupId: groupId, IpProtocol: 'tcp', PortRange: '70000/1', SourceCidrIp: '0.0.0.0/0' })), /^InvalidIpPortRange/);
    await call('RevokeSecurityGroup', { SecurityGroupId: groupId, IpProtocol: 'tcp', PortRange: '22/22', SourceCidrIp: '10.0.0.0/8' });
    await call('RevokeSecurityGroupEgress', { SecurityGroupId: groupId, IpProtocol: 'all', PortRange: '-1/-1', DestCidrIp: '0.0.0.0/0' });
    assert.deepEqual((await call('DescribeSecurityGroupAttribute', { SecurityGroupId: groupId })).Permissions.Permission, []);
    const groups = (await call('DescribeSecurityGroups', { VpcId: vpcId })).SecurityGroups.SecurityGroup;
    assert.deepEqual(groups.map((g) => g.SecurityGroupId), [groupId]);
  });

  it('CreateInstance makes a Stopped VPC instance with a private address of its vSwitch; DescribeInstances shows where it is', async () => {
    const publicImage = 'ubuntu_22_04_x64_20G_alibase_20240101.vhd';
    instanceId = (await call('CreateInstance', {
      ImageId: publicImage, InstanceType: 'ecs.g7.large', VSwitchId: vswitchId, SecurityGroupId: groupId, 'DataDisk.1.Size': 40, HostName: 'pop-host',
    })).InstanceId;
    const found = (await call('DescribeInstances', { InstanceIds: JSON.stringify([instanceId]) })).Instances.Instance[0];
    assert.equal(found.Status, 'Stopped');
    assert.equal(found.VpcAttributes.VpcId, vpcId);
    assert.equal(found.ZoneId, zoneId);
    assert.match(found.VpcAttributes.PrivateIpAddress.IpAddress[0], /^192\.168\.1\./);
    assert.deepEqual(found.SecurityGroupIds.SecurityGroupId, [groupId]);
    assert.equal(found.InstanceType, 'ecs.g7.large');
    assert.equal(found.HostName, 'pop-host');
    // A type that does not exist, and a group of another VPC, are refused before anything is made.
    assert.match(await code(call('CreateInstance', { ImageId: publicImage, InstanceType: 'ecs.nothing.large' })), /^InvalidInstanceType/);
    assert.match(await code(call('CreateInstance', { ImageId: publicImage, VSwitchId: vswitchId, SecurityGroupId: 'sg-aaaaaaaaaaaaaaaaaaaa' })), /^InvalidSecurityGroupId/);
  });

  it('DescribeDisks lists the instance\'s system and data disks', async () => {
    const disks = (await call('DescribeDisks', { InstanceId: instanceId })).Disks.Disk;
    assert.deepEqual(disks.map((d) => [d.Type, d.Size, d.InstanceId]), [['system', 20, instanceId], ['data', 40, instanceId]]);
    const data = (await call('DescribeDisks', { InstanceId: instanceId, DiskType: 'data' })).Disks.Disk;
    assert.equal(data.length, 1);
  });

  it('CreateKeyPair returns a private key; ImportKeyPair takes a public one; AttachKeyPair, DescribeKeyPairs, DetachKeyPair, DeleteKeyPairs', async () => {
    const name = `pop-key-${Date.now()}`;
    const created = await call('CreateKeyPair', { KeyPairName: name });
    const privateKey = crypto.createPrivateKey(created.PrivateKeyBody);
    assert.equal(privateKey.asymmetricKeyType, 'rsa');
    assert.match(created.KeyPairFingerPrint, /^[0-9a-f]{2}(:[0-9a-f]{2}){15}$/);
    assert.match(await code(call('CreateKeyPair', { KeyPairName: name })), /^KeyPair\.AlreadyExist/);

    const { publicKey } = crypto.generateKeyPairSync('ed25519');
    const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
    const blob = Buffer.concat([lengthPrefixed(Buffer.from('ssh-ed25519')), lengthPrefixed(raw)]);
    const imported = await call('ImportKeyPair', { KeyPairName: `${name}-imported`, PublicKeyBody: `ssh-ed25519 ${blob.toString('base64')} pop@test` });
    assert.equal(imported.KeyPairName, `${name}-imported`);
    assert.match(await code(call('ImportKeyPair', { KeyPairName: `${name}-bad`, PublicKeyBody: 'ssh-rsa bm90IGEga2V5' })), /^InvalidKeyPair|^InvalidPublicKeyBody/);

    const attached = await call('AttachKeyPair', { KeyPairName: name, InstanceIds: JSON.stringify([instanceId]) });
    assert.equal(attached.FailCount, '0');
    assert.equal((await call('DescribeInstances', { InstanceIds: JSON.stringify([instanceId]) })).Instances.Instance[0].KeyPairName, name);
    const listed = (await call('DescribeKeyPairs', { KeyPairName: name })).KeyPairs.KeyPair;
    assert.deepEqual(listed.map((k) => [k.KeyPairName, k.KeyPairFingerPrint]), [[name, created.KeyPairFingerPrint]]);
    await call('DetachKeyPair', { KeyPairName: name, InstanceIds: JSON.stringify([instanceId]) });
    await call('DeleteKeyPairs', { KeyPairNames: JSON.stringify([name, `${name}-imported`]) });
    assert.deepEqual((await call('DescribeKeyPairs', { KeyPairName: name })).KeyPairs.KeyPair, []);
  });

  it('AllocateEipAddress, AssociateEipAddress, DescribeEipAddresses, UnassociateEipAddress, ReleaseEipAddress; AllocatePublicIpAddress', async () => {
    const eip = await call('AllocateEipAddress', { Bandwidth: 5 });
    allocationId = eip.AllocationId;
    await call('AssociateEipAddress', { AllocationId: allocationId, InstanceId: instanceId });
    const inUse = (await call('DescribeEipAddresses', { AllocationId: allocationId })).EipAddresses.EipAddress[0];
    assert.deepEqual([inUse.Status, inUse.InstanceId, inUse.IpAddress], ['InUse', instanceId, eip.EipAddress]);
    // An instance with an EIP has its public address already.
    assert.match(await code(call('AllocatePublicIpAddress', { InstanceId: instanceId })), /./);
    assert.match(await code(call('ReleaseEipAddress', { AllocationId: allocationId })), /^IncorrectEipStatus|^InvalidIpStatus|^OperationDenied/);
    await call('UnassociateEipAddress', { AllocationId: allocationId, InstanceId: instanceId });
    await call('ReleaseEipAddress', { AllocationId: allocationId });
    assert.deepEqual((await call('DescribeEipAddresses', { AllocationId: allocationId })).EipAddresses.EipAddress, []);
    const ip = (await call('AllocatePublicIpAddress', { InstanceId: instanceId })).IpAddress;
    assert.equal((await call('DescribeInstances', { InstanceIds: JSON.stringify([instanceId]) })).Instances.Instance[0].PublicIpAddress.IpAddress[0], ip);
  });

  it('TagResources, ListTagResources, DescribeTags, UntagResources; AddTags and RemoveTags', async () => {
    await call('TagResources', { ResourceType: 'instance', 'ResourceId.1': instanceId, 'Tag.1.Key': 'env', 'Tag.1.Value': 'pop' });
    const listed = (await call('ListTagResources', { ResourceType: 'instance', 'ResourceId.1': instanceId })).TagResources.TagResource;
    assert.deepEqual(listed.map((t) => [t.ResourceId, t.TagKey, t.TagValue]), [[instanceId, 'env', 'pop']]);
    const tags = (await call('DescribeTags', { ResourceType: 'instance', ResourceId: instanceId })).Tags.Tag;
    assert.deepEqual(tags.map((t) => [t.TagKey, t.TagValue, t.ResourceTypeCount.Instance]), [['env', 'pop', 1]]);
    await call('UntagResources', { ResourceType: 'instance', 'ResourceId.1': instanceId, 'TagKey.1': 'env' });
    assert.deepEqual((await call('ListTagResources', { ResourceType: 'instance', 'ResourceId.1': instanceId })).TagResources.TagResource, []);
    await call('AddTags', { ResourceType: 'instance', ResourceId: instanceId, 'Tag.1.Key': 'old', 'Tag.1.Value': 'style' });
    assert.equal((await call('DescribeInstances', { InstanceIds: JSON.stringify([instanceId]) })).Instances.Instance[0].Tags.Tag[0].TagKey, 'old');
    await call('RemoveTags', { ResourceType: 'instance', ResourceId: instanceId, 'Tag.1.Key': 'old' });
    assert.deepEqual((await call('DescribeInstances', { InstanceIds: JSON.stringify([instanceId]) })).Instances.Instance[0].Tags.Tag, []);
    assert.match(await code(call('TagResources', { ResourceType: 'vpc', 'ResourceId.1': vpcId, 'Tag.1.Key': 'a' })), /^InvalidResourceType/);
  });

  it('another account sees none of it: NOT_FOUND, never a leak', async () => {
    const as = (action, params) => other.request(action, { RegionId: region, ...params }, { method: 'POST' });
    assert.match(await code(as('DeleteVpc', { VpcId: vpcId })), /NotFound/);
    assert.match(await code(as('DeleteVSwitch', { VSwitchId: vswitchId })), /NotFound/);
    assert.match(await code(as('DeleteSecurityGroup', { SecurityGroupId: groupId })), /NotFound/);
    assert.match(await code(as('DescribeSecurityGroupAttribute', { SecurityGroupId: groupId })), /NotFound/);
    assert.match(await code(as('TagResources', { ResourceType: 'instance', 'ResourceId.1': instanceId, 'Tag.1.Key': 'x' })), /NotFound/);
    assert.deepEqual((await as('DescribeVpcs', {})).Vpcs.Vpc.filter((v) => v.VpcId === vpcId), []);
  });

  it('deleting in the wrong order is DependencyViolation; in the right order everything goes', async () => {
    assert.match(await code(call('DeleteVpc', { VpcId: vpcId })), /^DependencyViolation/);
    assert.match(await code(call('DeleteVSwitch', { VSwitchId: vswitchId })), /^DependencyViolation/);
    assert.match(await code(call('DeleteSecurityGroup', { SecurityGroupId: groupId })), /^DependencyViolation/);
    await call('DeleteInstance', { InstanceId: instanceId, Force: true });
    await call('DeleteSecurityGroup', { SecurityGroupId: groupId });
    await call('DeleteVSwitch', { VSwitchId: vswitchId });
    await call('DeleteVpc', { VpcId: vpcId });
    assert.deepEqual((await call('DescribeVpcs', { VpcId: vpcId })).Vpcs.Vpc, []);
  });

  it('DeleteSnapshot: a snapshot of an image stays until the image goes; a missing one is NotFound', async () => {
    const publicImage = 'ubuntu_22_04_x64_20G_alibase_20240101.vhd';
    const instance = (await call('RunInstances', { ImageId: publicImage })).InstanceIdSets.InstanceIdSet[0];
    imageId = (await call('CreateImage', { InstanceId: instance, ImageName: `pop-snap-${Date.now()}` })).ImageId;
    await eventually('the image', async () => (await call('DescribeImages', { ImageId: imageId })).Images.Image[0]?.Status === 'Available');
    const snapshotId = (await call('DescribeImages', { ImageId: imageId })).Images.Image[0].DiskDeviceMappings.DiskDeviceMapping[0].SnapshotId;
    assert.match(await code(client.request('DeleteSnapshot', { SnapshotId: snapshotId }, { method: 'POST' })), /./);
    await call('DeleteImage', { ImageId: imageId, Force: true });
    await client.request('DeleteSnapshot', { SnapshotId: snapshotId }, { method: 'POST' });
    assert.match(await code(client.request('DeleteSnapshot', { SnapshotId: snapshotId }, { method: 'POST' })), /^InvalidSnapshotId\.NotFound/);
    await call('DeleteInstance', { InstanceId: instance, Force: true });
  });
});

describe('the shapes Terraform\'s image resources send', () => {
  let client, instanceId, imageId, family;
  const call = (action, params = {}) => client.request(action, { RegionId: region, ...params }, { method: 'POST' });

  before(async () => {
    client = owner().pop;
    const publicImage = 'ubuntu_22_04_x64_20G_alibase_20240101.vhd';
    instanceId = (await call('RunInstances', { ImageId: publicImage })).InstanceIdSets.InstanceIdSet[0];
    family = `tf-family-${Date.now()}`;
    // alicloud_image: CreateImage with tags, then polled through DescribeImages with comma-separated statuses.
    imageId = (await call('CreateImage', { InstanceId: instanceId, ImageName: `tf-${Date.now()}`, ImageFamily: family, 'Tag.1.Key': 'tf', 'Tag.1.Value': 'yes' })).ImageId;
    await eventually('the image', async () =>
      (await call('DescribeImages', { ImageId: imageId, Status: 'Creating,Waiting,Available,UnAvailable,CreateFailed' })).Images.Image[0]?.Status === 'Available');
  });

  it('ModifyImageAttribute with ImageFamily, BootMode, LicenseType and Features.NvmeSupport', async () => {
    await call('ModifyImageAttribute', { ImageId: imageId, ImageFamily: family, BootMode: 'UEFI', LicenseType: 'BYOL', 'Features.NvmeSupport': 'supported' });
    const image = (await call('DescribeImages', { ImageId: imageId })).Images.Image[0];
    assert.deepEqual([image.ImageFamily, image.BootMode, image.LicenseType, image.Features.NvmeSupport], [family, 'UEFI', 'BYOL', 'supported']);
    assert.match((await failure(call('ModifyImageAttribute', { ImageId: imageId, BootMode: 'LEGACY' }))).data.Code, /^InvalidBootMode/);
  });

  it('DescribeImages with Tag.N, ActionType and Usage', async () => {
    const byTag = await call('DescribeImages', { ImageOwnerAlias: 'self', Status: 'Available,Deprecated', 'Tag.1.Key': 'tf', 'Tag.1.Value': 'yes', ActionType: 'CreateEcs' });
    assert.deepEqual(byTag.Images.Image.map((i) => i.ImageId), [imageId]);
    const unused = await call('DescribeImages', { ImageOwnerAlias: 'self', ImageId: imageId, Usage: 'none' });
    assert.deepEqual(unused.Images.Image.map((i) => i.ImageId), [imageId]);
    const used = await call('DescribeImages', { ImageOwnerAlias: 'self', ImageId: imageId, Usage: 'instance' });
    assert.deepEqual(used.Images.Image, []);
    assert.equal((await failure(call('DescribeImages', { Usage: 'sometimes' }))).data.Code, 'InvalidParameter');
  });

  it('DescribeImageFromFamily answers the family\'s newest Available image', async () => {
    const found = await call('DescribeImageFromFamily', { ImageFamily: family });
    assert.equal(found.Image.ImageId, imageId);
    const none = await call('DescribeImageFromFamily', { ImageFamily: `${family}-empty` });
    assert.deepEqual(Object.keys(none.Image), []);
  });

  it('DeleteImage with Force (alicloud_image\'s delete)', async () => {
    await call('DeleteImage', { ImageId: imageId, Force: true });
    assert.deepEqual((await call('DescribeImages', { ImageId: imageId })).Images.Image, []);
    await call('DeleteInstance', { InstanceId: instanceId, Force: true });
  });
});

function lengthPrefixed(bytes) {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}
