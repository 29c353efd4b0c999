// Alibaba's OSS SDK for Node (ali-oss 6.23.0), unchanged, against the OSS endpoint of scripts/run.sh, then the ECS SDK
// importing what it uploaded and ali-oss downloading what an export wrote. Run by tests/oss-sdk/run.sh.
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const OSS = require('ali-oss');
const Ecs = require('@alicloud/ecs20140526');
const { $OpenApiUtil } = require('@alicloud/openapi-core');

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests with tests/oss-sdk/run.sh`);
  return value;
};
const endpoint = `http://${env('OSS_ENDPOINT')}`;
const region = 'cn-hangzhou';
const timeout = 120_000;
const client = (keyId, secret, options = {}) =>
  new OSS({ accessKeyId: keyId, accessKeySecret: secret, endpoint, region: `oss-${region}`, timeout, ...options });
const owner = (options) => client(env('OWNER_KEY_ID'), env('OWNER_SECRET'), options);
const stranger = (options) => client(env('OTHER_KEY_ID'), env('OTHER_SECRET'), options);
// What curl answers for a URL: the status and the body.
const curl = (url, ...args) => {
  const out = execFileSync('curl', ['-s', '-g', '-w', '\n%{http_code}', ...args, url]).toString();
  const cut = out.lastIndexOf('\n');
  return { status: Number(out.slice(cut + 1)), body: out.slice(0, cut) };
};
async function failure(promise) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('the call succeeded; an error was expected');
}
// A TCP relay to the endpoint that counts the bytes clients send through it and, once shouldCut says so, destroys every
// connection it carries (the client sees its sockets reset mid-request, as when a network link drops) and refuses new ones.
async function relay(target, shouldCut) {
  const sockets = new Set();
  const state = { sent: 0, cut: false };
  const server = net.createServer((client) => {
    if (state.cut) return client.destroy();
    const upstream = net.connect(Number(target.port), target.hostname);
    sockets.add(client).add(upstream);
    const drop = () => { client.destroy(); upstream.destroy(); sockets.delete(client); sockets.delete(upstream); };
    client.on('data', (data) => {
      state.sent += data.length;
      if (!state.cut && shouldCut(state)) {
        state.cut = true;
        for (const socket of sockets) socket.destroy();
        return;
      }
      if (!upstream.write(data)) client.pause();
    });
    upstream.on('drain', () => client.resume());
    upstream.pipe(client);
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(state, {
    endpoint: `http://127.0.0.1:${server.address().port}`,
    close: () => { for (const socket of sockets) socket.destroy(); server.close(); },
  });
}
// A file's MD5, read as a stream (the big file is 1 GiB); remembered, as the file does not change.
const md5Files = new Map();
const md5File = (file) => {
  if (!md5Files.has(file)) md5Files.set(file, md5Stream(fs.createReadStream(file)));
  return md5Files.get(file);
};
async function md5Stream(stream) {
  const hash = crypto.createHash('md5');
  for await (const piece of stream) hash.update(piece);
  return hash.digest('hex');
}

describe('ali-oss against the OSS endpoint', () => {
  const bucket = `oss-sdk-${Date.now()}`;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'oss-sdk-'));
  const big = path.join(work, 'big.bin');
  const bigMiB = Number(process.env.OSS_MULTIPART_MIB || 1024);
  let oss;

  before(async () => {
    oss = owner();
    await oss.putBucket(bucket);
    oss.useBucket(bucket);
    // Random bytes (no zero chunk the store would skip), written in 8 MiB pieces to keep memory flat.
    const fd = fs.openSync(big, 'w');
    for (let i = 0; i < bigMiB / 8; i++) fs.writeSync(fd, crypto.randomBytes(8 * 1024 * 1024));
    fs.closeSync(fd);
  });

  after(() => fs.rmSync(work, { recursive: true, force: true }));

  it('put, then head and get back the same bytes with the MD5 as ETag', async () => {
    const body = crypto.randomBytes(300_000);
    const put = await oss.put('dir/small.bin', body);
    const md5 = crypto.createHash('md5').update(body).digest('hex').toUpperCase();
    assert.equal(put.res.headers.etag, `"${md5}"`);
    assert.match(put.res.headers['x-oss-request-id'], /\S/);
    const head = await oss.head('dir/small.bin');
    assert.equal(Number(head.res.headers['content-length']), body.length);
    assert.ok(Buffer.compare((await oss.get('dir/small.bin')).content, body) === 0);
  });

  it('get with a range answers 206 and those bytes; a range past the end is 416 InvalidRange', async () => {
    const body = Buffer.from('0123456789abcdefghij');
    await oss.put('range.txt', body);
    const got = await oss.get('range.txt', { headers: { Range: 'bytes=5-9' } });
    assert.equal(got.res.status, 206);
    assert.equal(got.content.toString(), '56789');
    assert.equal(got.res.headers['content-range'], 'bytes 5-9/20');
    const error = await failure(oss.get('range.txt', { headers: { Range: 'bytes=100-200' } }));
    assert.equal(error.status, 416);
    const notModified = await oss.get('range.txt', { headers: { 'If-None-Match': (await oss.head('range.txt')).res.headers.etag } });
    assert.equal(notModified.res.status, 304);
  });

  it(`multipartUpload of ${bigMiB} MiB in 8 MiB parts, 5 at a time, read back whole`, async () => {
    const result = await oss.multipartUpload('big.bin', big, { partSize: 8 * 1024 * 1024, parallel: 5 });
    assert.equal(result.res.status, 200);
    const head = await oss.head('big.bin');
    assert.match(head.res.headers.etag, new RegExp(`-${bigMiB / 8}"$`));
    assert.equal(Number(head.res.headers['content-length']), bigMiB * 1024 * 1024);
    const stream = await oss.getStream('big.bin');
    assert.equal(await md5Stream(stream.stream), await md5File(big));
  });

  it(`multipartUpload whose TCP connections are cut midway resumes from its checkpoint, sending only the parts not done`, async () => {
    const partSize = 8 * 1024 * 1024;
    const size = fs.statSync(big).size;
    // The first attempt goes through a relay that cuts every connection once a third of the file has passed it and two parts are done.
    let checkpoint;
    const cutting = await relay(new URL(endpoint), (r) => checkpoint && checkpoint.doneParts.length >= 2 && r.sent > size / 3);
    const error = await failure(owner({ endpoint: cutting.endpoint, bucket, retryMax: 0 }).multipartUpload('resumed.bin', big, {
      partSize, parallel: 5, progress: (_, cpt) => { checkpoint = cpt; },
    }));
    cutting.close();
    assert.ok(cutting.cut, `the relay cut the connections (the upload failed with ${error.name}: ${error.message})`);
    assert.ok(checkpoint && checkpoint.doneParts.length >= 1, 'parts were uploaded before the cut');
    assert.ok(checkpoint.doneParts.length < size / partSize, 'the cut came before the last part');
    const listed = await oss.listParts('resumed.bin', checkpoint.uploadId);
    assert.ok(listed.parts.length >= checkpoint.doneParts.length);
    // The resume, through a relay that only counts: it sends the parts the checkpoint does not hold, not the whole file again.
    const counting = await relay(new URL(endpoint), () => false);
    const done = checkpoint.doneParts.length;
    const resumed = await owner({ endpoint: counting.endpoint, bucket }).multipartUpload('resumed.bin', big, { checkpoint, partSize, parallel: 5 });
    counting.close();
    assert.equal(resumed.res.status, 200);
    assert.ok(counting.sent < size - done * partSize + 4 * 1024 * 1024, `the resume sent ${counting.sent} bytes for ${size - done * partSize} left`);
    assert.equal(await md5Stream((await oss.getStream('resumed.bin')).stream), await md5File(big));
  });

  it('multipartUploadCopy makes an object of a range of another with UploadPartCopy, 8 MiB parts', async () => {
    const length = 20 * 1024 * 1024 + 4321;
    const start = 1024 * 1024;
    const result = await oss.multipartUploadCopy('copied.bin', { sourceKey: 'big.bin', sourceBucketName: bucket, startOffset: start, endOffset: start + length },
      { partSize: 8 * 1024 * 1024, parallel: 3 });
    assert.equal(result.res.status, 200);
    const head = await oss.head('copied.bin');
    assert.equal(Number(head.res.headers['content-length']), length);
    assert.match(head.res.headers.etag, /-3"$/);
    const expected = Buffer.alloc(length);
    const fd = fs.openSync(big, 'r');
    fs.readSync(fd, expected, 0, length, start);
    fs.closeSync(fd);
    assert.ok(Buffer.compare((await oss.get('copied.bin')).content, expected) === 0);
  });

  it('signatureUrl (V1) and signatureUrlV4 are fetched with curl; an expired one is AccessDenied', async () => {
    await oss.put('signed.txt', Buffer.from('signed bytes'));
    // ali-oss makes no URL for an IP endpoint: it signs for the region's name, which curl maps to this endpoint (--resolve), as DNS would.
    const port = new URL(endpoint).port;
    const named = owner({ endpoint: `http://oss-${region}.aliyuncs.com:${port}`, bucket });
    const resolve = ['--resolve', `${bucket}.oss-${region}.aliyuncs.com:${port}:127.0.0.1`];
    const v1 = curl(named.signatureUrl('signed.txt', { expires: 600 }), ...resolve);
    assert.deepEqual(v1, { status: 200, body: 'signed bytes' });
    const v4 = curl(await owner({ endpoint: `http://oss-${region}.aliyuncs.com:${port}`, bucket, authorizationV4: true }).signatureUrlV4('GET', 600, {}, 'signed.txt'), ...resolve);
    assert.deepEqual(v4, { status: 200, body: 'signed bytes' });
    const expired = curl(named.signatureUrl('signed.txt', { expires: -60 }), ...resolve);
    assert.equal(expired.status, 403);
    assert.match(expired.body, /<Code>AccessDenied<\/Code>/);
    const tampered = curl(named.signatureUrl('signed.txt', { expires: 600 }).replace('signed.txt', 'range.txt'), ...resolve);
    assert.equal(tampered.status, 403);
    assert.match(tampered.body, /<Code>SignatureDoesNotMatch<\/Code>/);
  });

  it('authorizationV4: true puts, gets and lists', async () => {
    const v4 = owner({ authorizationV4: true, bucket });
    await v4.put('v4/object.txt', Buffer.from('four'));
    assert.equal((await v4.get('v4/object.txt')).content.toString(), 'four');
    const listed = await v4.listV2({ prefix: 'v4/' });
    assert.deepEqual(listed.objects.map((o) => o.name), ['v4/object.txt']);
    const wrong = client(env('OWNER_KEY_ID'), 'not-the-secret', { authorizationV4: true, bucket });
    assert.equal((await failure(wrong.get('v4/object.txt'))).code, 'SignatureDoesNotMatch');
  });

  it('list and listV2 with prefix, delimiter and pages', async () => {
    for (const name of ['tree/a.txt', 'tree/b/1.txt', 'tree/b/2.txt', 'tree/c.txt']) await oss.put(name, Buffer.from(name));
    const folded = await oss.list({ prefix: 'tree/', delimiter: '/' });
    assert.deepEqual(folded.objects.map((o) => o.name), ['tree/a.txt', 'tree/c.txt']);
    assert.deepEqual(folded.prefixes, ['tree/b/']);
    const first = await oss.listV2({ prefix: 'tree/', 'max-keys': 2 });
    assert.deepEqual(first.objects.map((o) => o.name), ['tree/a.txt', 'tree/b/1.txt']);
    assert.equal(first.isTruncated, true);
    const second = await oss.listV2({ prefix: 'tree/', 'max-keys': 2, 'continuation-token': first.nextContinuationToken });
    assert.deepEqual(second.objects.map((o) => o.name), ['tree/b/2.txt', 'tree/c.txt']);
    const buckets = await oss.listBuckets({ prefix: bucket });
    assert.deepEqual(buckets.buckets.map((b) => b.name), [bucket]);
  });

  it('copy makes a second object of the same bytes and ETag', async () => {
    const source = await oss.head('dir/small.bin');
    const copied = await oss.copy('dir/copy.bin', 'dir/small.bin');
    assert.equal(copied.res.status, 200);
    assert.equal((await oss.head('dir/copy.bin')).res.headers.etag, source.res.headers.etag);
    assert.ok(Buffer.compare((await oss.get('dir/copy.bin')).content, (await oss.get('dir/small.bin')).content) === 0);
  });

  it('deleteMulti deletes the objects it names', async () => {
    const result = await oss.deleteMulti(['tree/a.txt', 'tree/c.txt'], { quiet: false });
    assert.deepEqual(result.deleted.map((d) => d.Key).sort(), ['tree/a.txt', 'tree/c.txt']);
    assert.equal((await failure(oss.head('tree/a.txt'))).status, 404);
  });

  it('abortMultipartUpload ends the upload and releases its parts', async () => {
    const { uploadId } = await oss.initMultipartUpload('aborted.bin');
    const part = await oss.uploadPart('aborted.bin', uploadId, 1, big, 0, 200 * 1024);
    assert.match(part.etag, /\S/);
    assert.equal((await oss.abortMultipartUpload('aborted.bin', uploadId)).res.status, 204);
    assert.equal((await failure(oss.listParts('aborted.bin', uploadId))).code, 'NoSuchUpload');
  });

  it('a public-read bucket is read anonymously; a private one is AccessDenied to anyone else', async () => {
    const publicBucket = `${bucket}-pub`;
    await oss.putBucket(publicBucket, { acl: 'public-read' });
    await owner({ bucket: publicBucket }).put('open.txt', Buffer.from('for everyone'));
    assert.deepEqual(curl(`${endpoint}/${publicBucket}/open.txt`), { status: 200, body: 'for everyone' });
    const closed = curl(`${endpoint}/${bucket}/signed.txt`);
    assert.equal(closed.status, 403);
    assert.match(closed.body, /<Code>AccessDenied<\/Code>/);
    const other = stranger({ bucket });
    const error = await failure(other.get('signed.txt'));
    assert.equal(error.code, 'AccessDenied');
    assert.equal((await failure(other.list())).code, 'AccessDenied');
  });

  describe('with the ECS SDK', () => {
    const ecs = new Ecs.default(new $OpenApiUtil.Config({
      accessKeyId: env('OWNER_KEY_ID'), accessKeySecret: env('OWNER_SECRET'), endpoint: env('ECS_ENDPOINT'), protocol: 'http', regionId: region,
      readTimeout: 30_000, connectTimeout: 30_000,
    }));
    const waitTask = async (taskId) => {
      const until = Date.now() + 300_000;
      for (;;) {
        const t = (await ecs.describeTaskAttribute(new Ecs.DescribeTaskAttributeRequest({ regionId: region, taskId }))).body;
        if (['Finished', 'Failed', 'Cancelled'].includes(t.taskStatus)) return t;
        if (Date.now() > until) throw new Error(`task ${taskId} did not end`);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    };
    let imageId;

    it('ImportImage of a QCOW2 uploaded by ali-oss', async () => {
      await oss.multipartUpload('disk.qcow2', env('QCOW2_FILE'), { partSize: 1024 * 1024 });
      const r = await ecs.importImage(new Ecs.ImportImageRequest({
        regionId: region, imageName: `oss-import-${Date.now()}`, OSType: 'linux', platform: 'Ubuntu', architecture: 'x86_64',
        diskDeviceMapping: [new Ecs.ImportImageRequestDiskDeviceMapping({ OSSBucket: bucket, OSSObject: 'disk.qcow2', format: 'QCOW2' })],
      }));
      imageId = r.body.imageId;
      const task = await waitTask(r.body.taskId);
      assert.equal(task.taskStatus, 'Finished', JSON.stringify(task));
    });

    it("an ExportImage's object is downloaded through ali-oss", async () => {
      const r = await ecs.exportImage(new Ecs.ExportImageRequest({ regionId: region, imageId, OSSBucket: bucket, OSSPrefix: 'exp', imageFormat: 'RAW' }));
      const task = await waitTask(r.body.taskId);
      assert.equal(task.taskStatus, 'Finished', JSON.stringify(task));
      const name = `exp_${imageId}_system.raw`;
      const head = await oss.head(name);
      assert.equal(Number(head.res.headers['content-length']), 1024 * 1024 * 1024);
      const range = await oss.get(name, { headers: { Range: 'bytes=0-1023' } });
      assert.equal(range.content.length, 1024);
    });
  });
});
