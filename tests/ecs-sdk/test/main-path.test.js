// The FAQ's main path through the current official SDK, unchanged, pointed at the gateway.
const { describe, it, before } = require('node:test');
const assert = require('node:assert/strict');
const { Ecs, owner, recipient, failure, eventually, imageStatus, region, otherRegion } = require('../lib/sdk');

describe('the image lifecycle through @alicloud/ecs20140526', () => {
  let a, b, publicImage, instanceId, imageId, copyId;

  before(() => {
    a = owner();
    b = recipient();
  });

  it('describes the regions and the public images', async () => {
    const regions = await a.ecs.describeRegions(new Ecs.DescribeRegionsRequest({}));
    assert.ok(regions.body.regions.region.some((r) => r.regionId === region));
    const images = await a.ecs.describeImages(new Ecs.DescribeImagesRequest({ regionId: region, imageOwnerAlias: 'system', pageSize: 50 }));
    assert.ok(images.body.totalCount > 0);
    assert.equal(images.body.images.image.length, images.body.totalCount);
    publicImage = images.body.images.image.find((i) => i.OSType === 'linux' || i.OSType === undefined && i.platform !== 'Windows Server') ?? images.body.images.image[0];
    assert.equal(publicImage.imageOwnerAlias, 'system');
    assert.match(publicImage.imageId, /\S/);
  });

  it('runs an instance from a public image (R1)', async () => {
    const run = await a.ecs.runInstances(new Ecs.RunInstancesRequest({ regionId: region, imageId: publicImage.imageId, instanceType: 'ecs.g7.large', instanceName: 'sdk-path' }));
    instanceId = run.body.instanceIdSets.instanceIdSet[0];
    assert.match(instanceId, /^i-/);
    const described = await a.ecs.describeInstances(new Ecs.DescribeInstancesRequest({ regionId: region, instanceIds: JSON.stringify([instanceId]) }));
    assert.equal(described.body.totalCount, 1);
    assert.equal(described.body.instances.instance[0].status, 'Running');
    assert.equal(described.body.instances.instance[0].imageId, publicImage.imageId);
  });

  it('creates an image from the instance and waits for it through DescribeImages', async () => {
    const created = await a.ecs.createImage(new Ecs.CreateImageRequest({ regionId: region, instanceId, imageName: `sdk-image-${Date.now()}`, description: 'made by the SDK' }));
    imageId = created.body.imageId;
    assert.match(imageId, /^m-/);
    assert.equal(await eventually('the image to be Available', async () => (await imageStatus(a.ecs, imageId)) === 'Available'), true);
    const mine = await a.ecs.describeImages(new Ecs.DescribeImagesRequest({ regionId: region, imageOwnerAlias: 'self' }));
    const image = mine.body.images.image.find((i) => i.imageId === imageId);
    assert.equal(image.description, 'made by the SDK');
    assert.equal(image.imageOwnerAlias, 'self');
  });

  it('another account cannot see the image before it is shared (NOT_FOUND, never leaked)', async () => {
    const theirs = await b.ecs.describeImages(new Ecs.DescribeImagesRequest({ regionId: region, imageId }));
    assert.equal(theirs.body.totalCount, 0);
    const error = await failure(b.ecs.runInstances(new Ecs.RunInstancesRequest({ regionId: region, imageId, instanceType: 'ecs.g7.large' })));
    assert.equal(error.code, 'InvalidImageId.NotFound');
    assert.equal(error.statusCode, 404);
  });

  it('shares the image; the owner lists the grant (R13, R19)', async () => {
    await a.ecs.modifyImageSharePermission(new Ecs.ModifyImageSharePermissionRequest({ regionId: region, imageId, addAccount: [b.id] }));
    const shares = await a.ecs.describeImageSharePermission(new Ecs.DescribeImageSharePermissionRequest({ regionId: region, imageId }));
    assert.equal(shares.body.totalCount, 1);
    assert.equal(shares.body.accounts.account[0].aliyunId, b.id);
    assert.match(shares.body.accounts.account[0].sharedTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it('the recipient describes it with ImageOwnerAlias=others and runs an instance from it', async () => {
    const shared = await b.ecs.describeImages(new Ecs.DescribeImagesRequest({ regionId: region, imageOwnerAlias: 'others' }));
    const image = shared.body.images.image.find((i) => i.imageId === imageId);
    assert.ok(image, 'the shared image is listed');
    assert.equal(image.imageOwnerAlias, 'others');
    const run = await b.ecs.runInstances(new Ecs.RunInstancesRequest({ regionId: region, imageId, instanceType: 'ecs.g7.large' }));
    assert.match(run.body.instanceIdSets.instanceIdSet[0], /^i-/);
  });

  it('the recipient cannot share it on (R16)', async () => {
    const error = await failure(b.ecs.modifyImageSharePermission(new Ecs.ModifyImageSharePermissionRequest({ regionId: region, imageId, addAccount: [a.id] })));
    assert.equal(error.code, 'InvalidImageId.NotFound');
  });

  it('copies it to another region (R5)', async () => {
    const copy = await a.ecs.copyImage(new Ecs.CopyImageRequest({ regionId: region, imageId, destinationRegionId: otherRegion, destinationImageName: 'sdk-copy' }));
    copyId = copy.body.imageId;
    assert.match(copyId, /^m-/);
    assert.equal(await eventually('the copy to be Available', async () => (await imageStatus(a.ecs, copyId, otherRegion)) === 'Available'), true);
    const tasks = await a.ecs.describeTasks(new Ecs.DescribeTasksRequest({ regionId: otherRegion, taskAction: 'CopyImage' }));
    assert.ok(tasks.body.taskSet.task.some((t) => t.resourceId === copyId && t.taskStatus === 'Finished'));
  });

  it('deleting an image an instance uses needs force (R31)', async () => {
    const refused = await failure(a.ecs.deleteImage(new Ecs.DeleteImageRequest({ regionId: region, imageId })));
    assert.equal(refused.code, 'ImageUsingByInstance');
    assert.equal(refused.statusCode, 400);
    await a.ecs.deleteImage(new Ecs.DeleteImageRequest({ regionId: region, imageId, force: true }));
    const gone = await a.ecs.describeImages(new Ecs.DescribeImagesRequest({ regionId: region, imageId }));
    assert.equal(gone.body.totalCount, 0);
    const theirs = await b.ecs.describeImages(new Ecs.DescribeImagesRequest({ regionId: region, imageOwnerAlias: 'others' }));
    assert.ok(!theirs.body.images.image.some((i) => i.imageId === imageId), 'the share is revoked');
  });

  it('deleting a shared image needs force (R32), and then the recipient loses it', async () => {
    await a.ecs.modifyImageSharePermission(new Ecs.ModifyImageSharePermissionRequest({ regionId: otherRegion, imageId: copyId, addAccount: [b.id] }));
    const refused = await failure(a.ecs.deleteImage(new Ecs.DeleteImageRequest({ regionId: otherRegion, imageId: copyId })));
    assert.equal(refused.code, 'ImageUseShared');
    await a.ecs.deleteImage(new Ecs.DeleteImageRequest({ regionId: otherRegion, imageId: copyId, force: true }));
    const theirs = await b.ecs.describeImages(new Ecs.DescribeImagesRequest({ regionId: otherRegion, imageId: copyId }));
    assert.equal(theirs.body.totalCount, 0);
  });

  it('bad parameters are the rule codes from the exception', async () => {
    const alias = await failure(a.ecs.describeImages(new Ecs.DescribeImagesRequest({ regionId: region, imageOwnerAlias: 'everyone' })));
    assert.equal(alias.code, 'InvalidImageOwnerAlias.ValueNotSupported');
    const region404 = await failure(a.ecs.describeImages(new Ecs.DescribeImagesRequest({ regionId: 'xx-nowhere-1' })));
    assert.match(region404.code, /^InvalidRegionId/);
    const missing = await failure(a.ecs.deleteImage(new Ecs.DeleteImageRequest({ regionId: region })));
    assert.equal(missing.code, 'MissingParameter');
  });
});
