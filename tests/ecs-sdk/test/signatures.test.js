// Requests that must not be served: forged, expired, replayed, from unknown or disabled keys, or beyond a RAM user's actions.
const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const { Ecs, ecs, pop, env, failure, region } = require('../lib/sdk');

describe('signatures, clocks, nonces and keys', () => {
  it('a request signed with the wrong secret is SignatureDoesNotMatch (both versions)', async () => {
    const v3 = await failure(ecs(env('OWNER_KEY_ID'), 'not-the-secret').describeRegions(new Ecs.DescribeRegionsRequest({})));
    assert.equal(v3.code, 'SignatureDoesNotMatch');
    assert.equal(v3.statusCode, 400);
    const v1 = await failure(pop(env('OWNER_KEY_ID'), 'not-the-secret').request('DescribeRegions', {}, { method: 'POST' }));
    assert.equal(v1.code, 'SignatureDoesNotMatch');
  });

  it('an unknown AccessKey is InvalidAccessKeyId.NotFound', async () => {
    const error = await failure(pop('LTAI0000000000000000nope', 'whatever').request('DescribeRegions', {}, { method: 'POST' }));
    assert.equal(error.code, 'InvalidAccessKeyId.NotFound');
    const v3 = await failure(ecs('LTAI0000000000000000nope', 'whatever').describeRegions(new Ecs.DescribeRegionsRequest({})));
    assert.equal(v3.code, 'InvalidAccessKeyId.NotFound');
    assert.equal(v3.statusCode, 404);
  });

  it('a disabled AccessKey is refused', async () => {
    const error = await failure(ecs(env('DISABLED_KEY_ID'), env('DISABLED_SECRET')).describeRegions(new Ecs.DescribeRegionsRequest({})));
    assert.equal(error.code, 'InvalidAccessKeyId.Inactive');
  });

  it('a timestamp more than 15 minutes off is InvalidTimeStamp.Expired', async () => {
    // pop-core lets a caller's parameters override its own: a correctly signed request from the past.
    const client = pop(env('OWNER_KEY_ID'), env('OWNER_SECRET'));
    const old = new Date(Date.now() - 16 * 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const error = await failure(client.request('DescribeRegions', { Timestamp: old }, { method: 'POST' }));
    assert.equal(error.code, 'InvalidTimeStamp.Expired');
    const future = new Date(Date.now() + 16 * 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    assert.equal((await failure(client.request('DescribeRegions', { Timestamp: future }, { method: 'POST' }))).code, 'InvalidTimeStamp.Expired');
  });

  it('a replayed nonce is SignatureNonceUsed', async () => {
    const client = pop(env('OWNER_KEY_ID'), env('OWNER_SECRET'));
    const nonce = `replay-${Date.now()}-${Math.random()}`;
    const first = await client.request('DescribeRegions', { SignatureNonce: nonce }, { method: 'POST' });
    assert.ok(first.Regions.Region.length > 0);
    const again = await failure(client.request('DescribeRegions', { SignatureNonce: nonce }, { method: 'POST' }));
    assert.equal(again.code, 'SignatureNonceUsed');
  });

  it('a parameter changed after signing is SignatureDoesNotMatch', async () => {
    const client = pop(env('OWNER_KEY_ID'), env('OWNER_SECRET'));
    const [, entry] = await new (require('@alicloud/pop-core'))({
      accessKeyId: env('OWNER_KEY_ID'), accessKeySecret: env('OWNER_SECRET'), endpoint: client.endpoint, apiVersion: '2014-05-26',
    }, true).request('DescribeImages', { RegionId: region, ImageOwnerAlias: 'system' });
    const tampered = entry.url.replace('ImageOwnerAlias=system', 'ImageOwnerAlias=self').replace(/SignatureNonce=[^&]+/, 'SignatureNonce=tampered-' + Date.now());
    const response = await fetch(tampered);
    const body = await response.json();
    assert.equal(response.status, 400);
    assert.equal(body.Code, 'SignatureDoesNotMatch');
    assert.match(body.RequestId, /\S/);
    assert.equal(typeof body.HostId, 'string');
    assert.equal(typeof body.Recommend, 'string');
  });

  it('a RAM user acts within its actions only', async () => {
    const viewer = ecs(env('VIEWER_KEY_ID'), env('VIEWER_SECRET'));
    const images = await viewer.describeImages(new Ecs.DescribeImagesRequest({ regionId: region, imageOwnerAlias: 'system' }));
    assert.ok(images.body.totalCount > 0);
    const error = await failure(viewer.runInstances(new Ecs.RunInstancesRequest({ regionId: region, imageId: images.body.images.image[0].imageId })));
    assert.equal(error.code, 'Forbidden.RAM');
    assert.equal(error.statusCode, 403);
  });

  it('unknown actions, versions and parameters are refused as the real API refuses them', async () => {
    const client = pop(env('OWNER_KEY_ID'), env('OWNER_SECRET'));
    const action = await failure(client.request('DescribeEverything', {}, { method: 'POST' }));
    assert.equal(action.code, 'InvalidAction.NotFound');
    const version = await failure(pop(env('OWNER_KEY_ID'), env('OWNER_SECRET')).request('DescribeRegions', { Version: '2099-01-01' }, { method: 'POST' }));
    assert.equal(version.code, 'InvalidVersion');
    const parameter = await failure(client.request('DescribeRegions', { NoSuchParameter: 'x' }, { method: 'POST' }));
    assert.equal(parameter.code, 'InvalidParameter');
    assert.match(parameter.message, /NoSuchParameter/);
  });
});
