// The clients as an ECS user makes them: the current SDK (ACS3-HMAC-SHA256) and pop-core (signature 1.0).
const Ecs = require('@alicloud/ecs20140526');
const { $OpenApiUtil } = require('@alicloud/openapi-core');
const PopCore = require('@alicloud/pop-core');

const endpoint = process.env.ECS_ENDPOINT;
const region = 'cn-hangzhou';
const otherRegion = 'cn-shanghai';

// Generous timeouts: pop-core's default of 3 s made one slow call (a busy 2-core machine) fail every
// step after it. The tests assert behaviour, never speed.
const timeoutMs = 30_000;

function ecs(keyId, secret) {
  return new Ecs.default(new $OpenApiUtil.Config({
    accessKeyId: keyId, accessKeySecret: secret, endpoint, protocol: 'http', regionId: region, readTimeout: timeoutMs, connectTimeout: timeoutMs,
  }));
}

function pop(keyId, secret) {
  return new PopCore({ accessKeyId: keyId, accessKeySecret: secret, endpoint: `http://${endpoint}`, apiVersion: '2014-05-26', opts: { timeout: timeoutMs } });
}

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests with tests/ecs-sdk/run.sh`);
  return value;
};

const owner = () => ({ id: env('OWNER_ID'), ecs: ecs(env('OWNER_KEY_ID'), env('OWNER_SECRET')), pop: pop(env('OWNER_KEY_ID'), env('OWNER_SECRET')) });
const recipient = () => ({ id: env('RECIPIENT_ID'), ecs: ecs(env('RECIPIENT_KEY_ID'), env('RECIPIENT_SECRET')), pop: pop(env('RECIPIENT_KEY_ID'), env('RECIPIENT_SECRET')) });

/** The error a call raised (its code is the rule's), or a failure when it succeeded. */
async function failure(promise) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('the call succeeded; an error was expected');
}

/** Polls until check returns a value (at most 3 minutes: copies and creates are background work). */
async function eventually(what, check) {
  const until = Date.now() + 180_000;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

async function imageStatus(client, imageId, regionId = region) {
  const found = await client.describeImages(new Ecs.DescribeImagesRequest({ regionId, imageId, status: 'Creating,Waiting,Available,UnAvailable,CreateFailed' }));
  return found.body.images.image[0]?.status;
}

module.exports = { Ecs, ecs, pop, env, owner, recipient, failure, eventually, imageStatus, region, otherRegion };
