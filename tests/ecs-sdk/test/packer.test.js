// Debian's packer (1.6.6, alicloud-ecs builder, signature 1.0) builds images through the gateway unchanged:
// it is pointed at the cluster with HTTP_PROXY only. Each build is checked afterwards with pop-core:
// the images it printed exist as Packer asked, and nothing it made for the build is left behind.
const { describe, it, before } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { owner, recipient, env, eventually, region, otherRegion } = require('../lib/sdk');

const gateway = `http://${env('ECS_ENDPOINT')}`;
const sourceImage = 'ubuntu_22_04_x64_20G_alibase_20240101.vhd';

/** Runs `packer build` on a template; resolves with its exit code, its machine-readable lines and the artifact's images by region. */
function build(builder, options = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'packer-'));
  const template = path.join(dir, 'template.json');
  fs.writeFileSync(template, JSON.stringify({
    variables: { ak: '{{env `AK`}}', sk: '{{env `SK`}}' },
    builders: [{
      type: 'alicloud-ecs', access_key: '{{user `ak`}}', secret_key: '{{user `sk`}}', region, skip_region_validation: true,
      source_image: sourceImage, instance_type: 'ecs.g7.large', image_name: `web-${Date.now()}`, communicator: 'none', ...builder,
    }],
  }));
  const args = ['build', '-machine-readable', ...(options.force ? ['-force'] : []), template];
  const child = spawn('packer', args, {
    cwd: dir,
    // HOME in the scratch directory: packer writes its config there. HTTPS_PROXY too: the SDK first asks
    // https://location-readonly.aliyuncs.com for the endpoint, and the gateway refuses that CONNECT at once
    // (where a network that drops the packets would cost each call seconds); it then falls back to its own table.
    env: { PATH: process.env.PATH, HOME: dir, AK: env('OWNER_KEY_ID'), SK: env('OWNER_SECRET'), HTTP_PROXY: gateway, HTTPS_PROXY: gateway, CHECKPOINT_DISABLE: '1' },
  });
  let out = '';
  child.stdout.on('data', (chunk) => { out += chunk; options.onOutput?.(out); });
  child.stderr.on('data', (chunk) => { out += chunk; });
  return new Promise((resolve) => child.on('close', (code) => {
    fs.rmSync(dir, { recursive: true, force: true });
    const lines = out.split('\n');
    const artifact = lines.find((l) => l.includes(',artifact,0,id,'));
    const images = Object.fromEntries((artifact?.split(',id,')[1] ?? '').split('%!(PACKER_COMMA)').filter(Boolean).map((pair) => pair.split(':')));
    resolve({ code, out, images });
  }));
}

/** What the owner has in a region that a build makes around its instance: none of it may outlive the build. */
async function leftovers(pop, regionId = region) {
  const call = (action, params = {}) => pop.request(action, { RegionId: regionId, PageSize: 50, ...params }, { method: 'POST' });
  return {
    instances: (await call('DescribeInstances')).Instances.Instance.map((i) => i.InstanceId),
    keyPairs: (await call('DescribeKeyPairs')).KeyPairs.KeyPair.map((k) => k.KeyPairName).filter((n) => n.startsWith('packer_')),
    vpcs: (await call('DescribeVpcs')).Vpcs.Vpc.map((v) => v.VpcId),
    vswitches: (await call('DescribeVSwitches')).VSwitches.VSwitch.map((v) => v.VSwitchId),
    securityGroups: (await call('DescribeSecurityGroups')).SecurityGroups.SecurityGroup.map((g) => g.SecurityGroupId),
    eips: (await call('DescribeEipAddresses')).EipAddresses.EipAddress.map((e) => e.AllocationId),
    temporaryImages: (await call('DescribeImages', { ImageOwnerAlias: 'self', ImageName: 'packer_*', Status: 'Creating,Waiting,Available,CreateFailed' })).Images.Image.map((i) => i.ImageId),
  };
}

const nothingLeft = { instances: [], keyPairs: [], vpcs: [], vswitches: [], securityGroups: [], eips: [], temporaryImages: [] };

describe('packer build (alicloud-ecs) through the gateway', { timeout: 900_000 }, () => {
  let pop, mine;
  const call = (action, params = {}, regionId = region) => pop.request(action, { RegionId: regionId, ...params }, { method: 'POST' });
  const image = async (imageId, regionId = region) =>
    (await call('DescribeImages', { ImageId: imageId, Status: 'Creating,Waiting,Available,CreateFailed' }, regionId)).Images.Image[0];
  const available = (imageId, regionId = region) => eventually(`${imageId} Available`, async () => (await image(imageId, regionId))?.Status === 'Available');

  before(async () => {
    pop = owner().pop;
    // Whatever the other SDK tests left running is theirs: only what appears during a build is compared.
    mine = await leftovers(pop);
  });

  const settled = async () => {
    const now = await leftovers(pop);
    for (const key of Object.keys(now)) now[key] = now[key].filter((id) => !mine[key].includes(id));
    return now;
  };

  it('builds, copies to another region, shares and tags an image; what it printed matches DescribeImages; nothing else is left', async () => {
    const other = recipient();
    const result = await build({ image_copy_regions: [otherRegion], image_share_account: [other.id], tags: { team: 'web' }, image_disk_mappings: [{ disk_size: 40 }] });
    assert.equal(result.code, 0, result.out);
    assert.deepEqual(Object.keys(result.images).sort(), [region, otherRegion]);
    await available(result.images[region]);
    await available(result.images[otherRegion], otherRegion);

    const built = await image(result.images[region]);
    assert.match(built.ImageName, /^web-/);
    assert.deepEqual(built.Tags.Tag.map((t) => [t.TagKey, t.TagValue]), [['team', 'web']]);
    // The instance's 40 GiB data disk became the image's data disk, and Packer tagged its snapshots too.
    const disks = built.DiskDeviceMappings.DiskDeviceMapping;
    assert.deepEqual(disks.map((d) => [d.Type, d.Size]), [['system', '20'], ['data', '40']]);
    const snapshots = (await call('DescribeSnapshots', { SnapshotIds: JSON.stringify(disks.map((d) => d.SnapshotId)) })).Snapshots.Snapshot;
    assert.ok(snapshots.every((s) => s.Tags.Tag.some((t) => t.TagKey === 'team' && t.TagValue === 'web')));
    // Tag filters find it (DescribeImages Tag.N, ListTagResources).
    const byTag = await call('DescribeImages', { ImageOwnerAlias: 'self', 'Tag.1.Key': 'team', 'Tag.1.Value': 'web' });
    assert.ok(byTag.Images.Image.some((i) => i.ImageId === built.ImageId));

    const copy = await image(result.images[otherRegion], otherRegion);
    assert.equal(copy.IsCopied, true);
    assert.equal(copy.Architecture, built.Architecture);
    // Shared in both regions: the recipient sees them among "others".
    for (const [regionId, imageId] of Object.entries(result.images)) {
      const seen = await other.pop.request('DescribeImages', { RegionId: regionId, ImageOwnerAlias: 'others', ImageId: imageId }, { method: 'POST' });
      assert.equal(seen.Images.Image[0]?.ImageId, imageId, `shared in ${regionId}`);
    }
    assert.deepEqual(await settled(), nothingLeft);
  });

  it('builds an encrypted image (a temporary image is copied with encryption, then it and its snapshots are deleted)', async () => {
    const result = await build({ image_encrypted: true });
    assert.equal(result.code, 0, result.out);
    await available(result.images[region]);
    const built = await image(result.images[region]);
    assert.equal(built.Encrypted, true);
    assert.equal(built.IsCopied, true);
    assert.deepEqual(await settled(), nothingLeft);
  });

  it('-force with image_force_delete and image_force_delete_snapshots replaces an image of the same name, its snapshots with it', async () => {
    const name = `web-force-${Date.now()}`;
    const first = await build({ image_name: name });
    assert.equal(first.code, 0, first.out);
    const old = await image(first.images[region]);
    const oldSnapshots = old.DiskDeviceMappings.DiskDeviceMapping.map((d) => d.SnapshotId);

    const second = await build({ image_name: name, image_force_delete: true, image_force_delete_snapshots: true }, { force: true });
    assert.equal(second.code, 0, second.out);
    assert.notEqual(second.images[region], old.ImageId);
    assert.equal(await image(old.ImageId), undefined);
    const still = (await call('DescribeSnapshots', { SnapshotIds: JSON.stringify(oldSnapshots) })).Snapshots.Snapshot;
    assert.deepEqual(still, []);
    const named = (await call('DescribeImages', { ImageOwnerAlias: 'self', ImageName: name })).Images.Image;
    assert.deepEqual(named.map((i) => i.ImageId), [second.images[region]]);
    assert.deepEqual(await settled(), nothingLeft);
  });

  it('builds in a given VPC, vSwitch and security group, which it leaves in place', async () => {
    const vpc = (await call('CreateVpc', { CidrBlock: '10.10.0.0/16' })).VpcId;
    const zone = (await call('DescribeZones')).Zones.Zone[0].ZoneId;
    const vswitch = (await call('CreateVSwitch', { VpcId: vpc, ZoneId: zone, CidrBlock: '10.10.1.0/24' })).VSwitchId;
    const group = (await call('CreateSecurityGroup', { VpcId: vpc })).SecurityGroupId;
    mine.vpcs.push(vpc);
    mine.vswitches.push(vswitch);
    mine.securityGroups.push(group);

    const result = await build({ vpc_id: vpc, vswitch_id: vswitch, security_group_id: group, associate_public_ip_address: true });
    assert.equal(result.code, 0, result.out);
    await available(result.images[region]);
    assert.deepEqual(await settled(), nothingLeft);
    // Still there, and now empty: they delete in order.
    await call('DeleteSecurityGroup', { SecurityGroupId: group });
    await call('DeleteVSwitch', { VSwitchId: vswitch });
    await call('DeleteVpc', { VpcId: vpc });
  });

  it('disable_stop_instance: Packer does not stop the instance; it waits until the guest does (here the test stands in for it)', async () => {
    let stopping;
    const result = await build({ disable_stop_instance: true }, {
      onOutput: (out) => {
        // The instance is stopped from outside once Packer started it, as a guest's own shutdown would.
        const started = /Starting instance: (i-[a-z0-9]+)/.exec(out);
        if (started && !stopping) {
          stopping = eventually('the instance stopped', async () => {
            const found = (await call('DescribeInstances', { InstanceIds: JSON.stringify([started[1]]) })).Instances.Instance[0];
            if (found?.Status !== 'Running') return false;
            await call('StopInstance', { InstanceId: started[1] });
            return true;
          });
        }
      },
    });
    await stopping;
    assert.equal(result.code, 0, result.out);
    assert.doesNotMatch(result.out, /Stopping instance/);
    assert.deepEqual(await settled(), nothingLeft);
  });

  it('a build that fails half way (a copy region that does not exist) cleans up everything it made', async () => {
    const name = `web-failed-${Date.now()}`;
    const result = await build({ image_name: name, image_copy_regions: ['cn-nowhere'] });
    assert.notEqual(result.code, 0);
    assert.match(result.out, /Error copying images/);
    assert.deepEqual(result.images, {});
    assert.deepEqual(await settled(), nothingLeft);
    // The image it made before the copy failed is deleted with its snapshots.
    const named = await call('DescribeImages', { ImageOwnerAlias: 'self', ImageName: name, Status: 'Creating,Waiting,Available,CreateFailed' });
    assert.deepEqual(named.Images.Image, []);
  });

  it('the encrypted, shared, copied template is refused by the rules (R22, R9) and leaves nothing behind', async () => {
    // Packer 1.6.6 encrypts with the default service key, whose images cannot be shared (R22), and copies the
    // temporary image to the copy region and into its own region at once, which R9 refuses.
    const result = await build({ image_encrypted: true, image_copy_regions: [otherRegion], image_share_account: [recipient().id], tags: { team: 'web' } });
    assert.notEqual(result.code, 0);
    assert.match(result.out, /OperationDenied\.ImageCopyConflict|InvalidOperation\.ServiceKeyEncryptedImageUnsupported/);
    const now = await settled();
    assert.deepEqual({ ...now, temporaryImages: [] }, nothingLeft);
  });
});
