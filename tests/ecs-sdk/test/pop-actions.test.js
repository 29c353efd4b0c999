// One call per served action through @alicloud/pop-core (signature version 1.0, form POST and GET),
// in an order that makes each one meaningful; each either succeeds or fails with its rule's code.
const { describe, it, before } = require('node:test');
const assert = require('node:assert/strict');
const { owner, recipient, env, failure, eventually, region, otherRegion } = require('../lib/sdk');

describe('every action through @alicloud/pop-core', () => {
  let client, publicImage, instanceId, diskId, snapshotId, imageId, copyId, importedId;
  const call = (action, params, method = 'POST') => client.request(action, { RegionId: region, ...params }, { method });

  before(() => {
    client = owner().pop;
  });

  it('DescribeRegions', async () => {
    const r = await client.request('DescribeRegions', {}, { method: 'POST' });
    assert.ok(r.Regions.Region.some((x) => x.RegionId === otherRegion));
  });

  it('DescribeImages (GET)', async () => {
    const r = await call('DescribeImages', { ImageOwnerAlias: 'system', PageSize: 2, PageNumber: 1 }, 'GET');
    assert.equal(r.PageSize, 2);
    assert.equal(r.Images.Image.length, 2);
    assert.ok(r.TotalCount >= 2);
    publicImage = r.Images.Image.find((i) => i.OSType === 'linux')?.ImageId ?? r.Images.Image[0].ImageId;
  });

  it('RunInstances', async () => {
    const r = await call('RunInstances', { ImageId: publicImage, InstanceType: 'ecs.g7.large', Amount: 1, 'SystemDisk.Size': 40 });
    instanceId = r.InstanceIdSets.InstanceIdSet[0];
    assert.match(instanceId, /^i-/);
  });

  it('DescribeInstances', async () => {
    const r = await call('DescribeInstances', { InstanceIds: JSON.stringify([instanceId]) });
    assert.equal(r.Instances.Instance[0].InstanceId, instanceId);
  });

  it('StopInstance (ReplaceSystemDisk and ReInitDisk need a stopped instance)', async () => {
    await client.request('StopInstance', { InstanceId: instanceId }, { method: 'POST' });
    const r = await call('DescribeInstances', { InstanceIds: JSON.stringify([instanceId]) });
    assert.equal(r.Instances.Instance[0].Status, 'Stopped');
  });

  it('ReplaceSystemDisk', async () => {
    const r = await client.request('ReplaceSystemDisk', { InstanceId: instanceId, ImageId: publicImage }, { method: 'POST' });
    diskId = r.DiskId;
    assert.match(diskId, /^d-/);
  });

  it('ReInitDisk', async () => {
    await client.request('ReInitDisk', { DiskId: diskId }, { method: 'POST' });
  });

  it('StartInstance', async () => {
    await client.request('StartInstance', { InstanceId: instanceId }, { method: 'POST' });
    const r = await call('DescribeInstances', { InstanceIds: JSON.stringify([instanceId]) });
    assert.equal(r.Instances.Instance[0].Status, 'Running');
  });

  it('CreateSnapshot', async () => {
    const r = await client.request('CreateSnapshot', { DiskId: diskId, SnapshotName: 'pop-snapshot' }, { method: 'POST' });
    snapshotId = r.SnapshotId;
    assert.match(snapshotId, /^s-/);
  });

  it('DescribeSnapshots', async () => {
    const accomplished = await eventually('the snapshot', async () => {
      const r = await call('DescribeSnapshots', { SnapshotIds: JSON.stringify([snapshotId]) });
      return r.Snapshots.Snapshot[0]?.Status === 'accomplished' && r.Snapshots.Snapshot[0];
    });
    assert.equal(accomplished.SourceDiskId, diskId);
  });

  it('CopySnapshot', async () => {
    const r = await call('CopySnapshot', { SnapshotId: snapshotId, DestinationRegionId: otherRegion, DestinationSnapshotName: 'pop-copy' });
    assert.match(r.SnapshotId, /^s-/);
  });

  it('CreateImage (from a snapshot, flattened DiskDeviceMapping)', async () => {
    const r = await call('CreateImage', { 'DiskDeviceMapping.1.SnapshotId': snapshotId, 'DiskDeviceMapping.1.DiskType': 'system', ImageName: `pop-image-${Date.now()}` });
    imageId = r.ImageId;
    assert.match(imageId, /^m-/);
    await eventually('the image', async () => (await call('DescribeImages', { ImageId: imageId })).Images.Image[0]?.Status === 'Available');
  });

  it('ModifyImageAttribute', async () => {
    await call('ModifyImageAttribute', { ImageId: imageId, Description: 'described by pop-core' });
    const r = await call('DescribeImages', { ImageId: imageId });
    assert.equal(r.Images.Image[0].Description, 'described by pop-core');
  });

  it('ModifyImageSharePermission (AddAccount.1) and DescribeImageSharePermission', async () => {
    await call('ModifyImageSharePermission', { ImageId: imageId, 'AddAccount.1': process.env.RECIPIENT_ID });
    const r = await call('DescribeImageSharePermission', { ImageId: imageId });
    assert.equal(r.Accounts.Account[0].AliyunId, process.env.RECIPIENT_ID);
    await call('ModifyImageSharePermission', { ImageId: imageId, 'RemoveAccount.1': process.env.RECIPIENT_ID });
    assert.equal((await call('DescribeImageSharePermission', { ImageId: imageId })).TotalCount, 0);
  });

  it('CopyImage', async () => {
    const r = await call('CopyImage', { ImageId: imageId, DestinationRegionId: otherRegion });
    copyId = r.ImageId;
    assert.match(copyId, /^m-/);
  });

  it('CancelCopyImage (cancelled, or already done: a rule code)', async () => {
    try {
      await client.request('CancelCopyImage', { RegionId: otherRegion, ImageId: copyId }, { method: 'POST' });
    } catch (error) {
      assert.equal(error.code, 'IncorrectImageStatus'); // the copy ended before the cancel
    }
  });

  it('DescribeTasks, DescribeTaskAttribute, CancelTask', async () => {
    const tasks = await client.request('DescribeTasks', { RegionId: otherRegion, TaskAction: 'CopyImage' }, { method: 'POST' });
    const task = tasks.TaskSet.Task.find((t) => t.ResourceId === copyId);
    assert.ok(task, 'the copy task is listed');
    const attribute = await client.request('DescribeTaskAttribute', { RegionId: otherRegion, TaskId: task.TaskId }, { method: 'POST' });
    assert.equal(attribute.TaskId, task.TaskId);
    assert.equal(attribute.TaskAction, 'CopyImage');
    const finished = await eventually('the copy to end', async () => {
      const t = await client.request('DescribeTaskAttribute', { RegionId: otherRegion, TaskId: task.TaskId }, { method: 'POST' });
      return ['Finished', 'Cancelled', 'Failed'].includes(t.TaskStatus) && t;
    });
    const error = await failure(client.request('CancelTask', { RegionId: otherRegion, TaskId: finished.TaskId }, { method: 'POST' }));
    assert.equal(error.code, 'IncorrectTaskStatus');
  });

  it('ImportImage (a QCOW2 from the bucket) and its task', async () => {
    const r = await call('ImportImage', {
      ImageName: `pop-import-${Date.now()}`, OSType: 'linux', Platform: 'Ubuntu', Architecture: 'x86_64',
      'DiskDeviceMapping.1.OSSBucket': env('BUCKET'), 'DiskDeviceMapping.1.OSSObject': env('OBJECT'), 'DiskDeviceMapping.1.Format': 'QCOW2',
    });
    assert.match(r.ImageId, /^m-/);
    assert.match(r.TaskId, /\S/);
    importedId = r.ImageId;
    const task = await eventually('the import to end', async () => {
      const t = await call('DescribeTaskAttribute', { TaskId: r.TaskId });
      return ['Finished', 'Failed', 'Cancelled'].includes(t.TaskStatus) && t;
    });
    assert.equal(task.TaskStatus, 'Finished', JSON.stringify(task.OperationProgressSet));
    assert.equal(task.TaskAction, 'ImportImage');
    const image = (await call('DescribeImages', { ImageId: importedId })).Images.Image[0];
    assert.equal(image.Status, 'Available');
    assert.equal(image.Size, 1);
  });

  it('ImportImage without the import role is NoSetRoletoECSServiceAcount (R27)', async () => {
    const error = await failure(recipient().pop.request('ImportImage', {
      RegionId: region, 'DiskDeviceMapping.1.OSSBucket': env('BUCKET'), 'DiskDeviceMapping.1.OSSObject': env('OBJECT'),
    }, { method: 'POST' }));
    assert.equal(error.code, 'NoSetRoletoECSServiceAcount');
  });

  it('ExportImage to the bucket as VHD, and to a bucket that does not exist', async () => {
    const r = await call('ExportImage', { ImageId: importedId, OSSBucket: env('BUCKET'), OSSPrefix: 'pop', ImageFormat: 'VHD' });
    const task = await eventually('the export to end', async () => {
      const t = await call('DescribeTaskAttribute', { TaskId: r.TaskId });
      return ['Finished', 'Failed', 'Cancelled'].includes(t.TaskStatus) && t;
    });
    assert.equal(task.TaskStatus, 'Finished', JSON.stringify(task.OperationProgressSet));
    const objects = task.OperationProgressSet.OperationProgress[0].RelatedItemSet.RelatedItem.map((i) => i.Value);
    assert.deepEqual(objects, [`pop_${importedId}_system.vhd`]);

    const error = await failure(call('ExportImage', { ImageId: importedId, OSSBucket: 'no-such-bucket-here', ImageFormat: 'VHD' }));
    assert.equal(error.code, 'InvalidBucketName.NotFound');
    assert.equal(error.data.Code, error.code);
  });

  it('DeleteInstance (running: needs Force)', async () => {
    const refused = await failure(client.request('DeleteInstance', { InstanceId: instanceId }, { method: 'POST' }));
    assert.equal(refused.code, 'IncorrectInstanceStatus');
    await client.request('DeleteInstance', { InstanceId: instanceId, Force: true }, { method: 'POST' });
    assert.equal((await call('DescribeInstances', { InstanceIds: JSON.stringify([instanceId]) })).TotalCount, 0);
  });

  it('DeleteImage', async () => {
    await call('DeleteImage', { ImageId: imageId });
    assert.equal((await call('DescribeImages', { ImageId: imageId })).TotalCount, 0);
  });
});
