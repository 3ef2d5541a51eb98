// The s3 sink against a real Ceph RGW with Object Lock (test/setup/s3).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  GetObjectCommand,
  GetObjectLegalHoldCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { isSealtrailError } from '../../lib/errors.js';
import { createS3Sink, S3Sink } from '../../exporters/s3/index.js';
import { createBucket, ensureS3, s3Client, startGateway, type S3Server } from '../setup/s3/server.js';
import { recordingLog, retainSeconds, s3Config } from './s3-helpers.js';

let server: S3Server;
let lockBucket: string;
let plainBucket: string;

before(async () => {
  server = await ensureS3();
  lockBucket = await createBucket(server, { objectLock: true, tag: 'sink' });
  plainBucket = await createBucket(server, { objectLock: false, tag: 'plain' });
});

const NAME = 'sealtrail/a1/0123456789abcdef0123456789abcdef/0000000000000000-0000000000000003.entries.jsonl';
const bytes = (s: string) => new TextEncoder().encode(s);

async function versions(client: S3Client, bucket: string, key: string) {
  const res = await client.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key }));
  return (res.Versions ?? []).filter((v) => v.Key === key);
}

async function withClient<T>(fn: (c: S3Client) => Promise<T>): Promise<T> {
  const c = s3Client(server);
  try {
    return await fn(c);
  } finally {
    c.destroy();
  }
}

test('put writes the object under the prefix with Content-MD5, sha256 metadata and COMPLIANCE retention', async () => {
  const cfg = s3Config(server, { bucket: lockBucket });
  const sink = createS3Sink(cfg, recordingLog());
  await sink.start();
  const body = bytes('{"v":1}\n{"v":2}\n{"v":3}\n');
  const t0 = Date.now();
  assert.equal(await sink.put(NAME, body), 'written');
  await withClient(async (c) => {
    const h = await c.send(new HeadObjectCommand({ Bucket: lockBucket, Key: cfg.prefix + NAME }));
    assert.equal(h.ObjectLockMode, 'COMPLIANCE');
    const until = h.ObjectLockRetainUntilDate!.getTime();
    assert.ok(until >= t0 + 119_000 && until <= Date.now() + 121_000, `retain-until ${h.ObjectLockRetainUntilDate?.toISOString()}`);
    assert.equal(h.Metadata?.['sha256'], createHash('sha256').update(body).digest('hex'));
    assert.equal(h.ETag, `"${createHash('md5').update(body).digest('hex')}"`);
    assert.equal(h.ContentType, 'application/x-ndjson');
  });
  assert.deepEqual(await sink.get(NAME), body);
  await sink.close();
});

test('the same bytes again resolve "exists" and write no second version', async () => {
  const cfg = s3Config(server, { bucket: lockBucket });
  const sink = createS3Sink(cfg, recordingLog());
  await sink.start();
  const body = bytes('same\n');
  assert.equal(await sink.put(NAME, body), 'written');
  assert.equal(await sink.put(NAME, body), 'exists');
  assert.equal(await sink.put(NAME, Uint8Array.from(body)), 'exists');
  await withClient(async (c) => assert.equal((await versions(c, lockBucket, cfg.prefix + NAME)).length, 1));
  await sink.close();
});

test('different bytes under a written name are SINK_CONFLICT and the object is untouched', async () => {
  const cfg = s3Config(server, { bucket: lockBucket });
  const log = recordingLog();
  const sink = createS3Sink(cfg, log);
  await sink.start();
  const body = bytes('original\n');
  await sink.put(NAME, body);
  await assert.rejects(sink.put(NAME, bytes('tampered\n')), (e) => isSealtrailError(e, 'SINK_CONFLICT'));
  // Same length, different bytes: the hash decides, not the size.
  await assert.rejects(sink.put(NAME, bytes('origina1\n')), (e) => isSealtrailError(e, 'SINK_CONFLICT'));
  await withClient(async (c) => assert.equal((await versions(c, lockBucket, cfg.prefix + NAME)).length, 1));
  assert.deepEqual(await sink.get(NAME), body);
  assert.ok(log.warnings.some((w) => w.includes('conflict')));
  await sink.close();
});

test('a planted object (no sha256 metadata) is compared by its bytes: different = conflict, identical = exists', async () => {
  const cfg = s3Config(server, { bucket: lockBucket });
  const sink = createS3Sink(cfg, recordingLog());
  await sink.start();
  const other = NAME.replace('entries.jsonl', 'checkpoint');
  await withClient(async (c) => {
    await c.send(new PutObjectCommand({ Bucket: lockBucket, Key: cfg.prefix + NAME, Body: bytes('planted!\n') }));
    await c.send(new PutObjectCommand({ Bucket: lockBucket, Key: cfg.prefix + other, Body: bytes('copied in\n') }));
  });
  await assert.rejects(sink.put(NAME, bytes('real one\n')), (e) => isSealtrailError(e, 'SINK_CONFLICT'));
  assert.equal(await sink.put(other, bytes('copied in\n')), 'exists');
  await withClient(async (c) => {
    const vs = await versions(c, lockBucket, cfg.prefix + NAME);
    assert.equal(vs.length, 1);
    const got = await c.send(new GetObjectCommand({ Bucket: lockBucket, Key: cfg.prefix + NAME }));
    assert.equal(await got.Body!.transformToString(), 'planted!\n');
  });
  await sink.close();
});

test('get of an absent name is null', async () => {
  const sink = createS3Sink(s3Config(server, { bucket: lockBucket }), recordingLog());
  await sink.start();
  assert.equal(await sink.get(NAME), null);
  await sink.close();
});

test('legal_hold puts each object under legal hold', async () => {
  const cfg = s3Config(server, { bucket: lockBucket, legalHold: true, objectLock: { mode: 'GOVERNANCE', retainDays: retainSeconds(5) } });
  const sink = createS3Sink(cfg, recordingLog());
  await sink.start();
  await sink.put(NAME, bytes('held\n'));
  await withClient(async (c) => {
    const h = await c.send(new GetObjectLegalHoldCommand({ Bucket: lockBucket, Key: cfg.prefix + NAME }));
    assert.equal(h.LegalHold?.Status, 'ON');
    const head = await c.send(new HeadObjectCommand({ Bucket: lockBucket, Key: cfg.prefix + NAME }));
    assert.equal(head.ObjectLockMode, 'GOVERNANCE');
  });
  await sink.close();
});

test('start: a bucket without Object Lock while object_lock is set is a CONFIG error naming the bucket', async () => {
  const sink = createS3Sink(s3Config(server, { bucket: plainBucket }), recordingLog());
  await assert.rejects(sink.start(), (e) => {
    assert.ok(isSealtrailError(e, 'CONFIG'), String(e));
    assert.match(e.message, new RegExp(`Object Lock is not enabled on bucket "${plainBucket}"`));
    return true;
  });
  await sink.close();
});

test('start: without object_lock a plain bucket is accepted, with a warning', async () => {
  const log = recordingLog();
  const sink = createS3Sink(s3Config(server, { bucket: plainBucket, objectLock: null }), log);
  await sink.start();
  assert.ok(log.warnings.some((w) => w.includes('object_lock is not set')));
  assert.equal(await sink.put(NAME, bytes('x\n')), 'written');
  assert.equal(await sink.put(NAME, bytes('x\n')), 'exists');
  await sink.close();
});

test('start: a missing bucket is a CONFIG error naming the bucket', async () => {
  const bucket = `st-missing-${Date.now()}`;
  const sink = createS3Sink(s3Config(server, { bucket }), recordingLog());
  await assert.rejects(sink.start(), (e) => {
    assert.ok(isSealtrailError(e, 'CONFIG'), String(e));
    assert.match(e.message, new RegExp(`bucket "${bucket}" does not exist`));
    return true;
  });
  await sink.close();
});

test('start: a wrong secret key and an unknown access key are CONFIG errors about credentials', async () => {
  for (const over of [{ secretAccessKey: 'wrong-secret-wrong-secret-wrong-secret00' }, { accessKeyId: 'NOSUCHACCESSKEY00000' }]) {
    const sink = createS3Sink(s3Config(server, { bucket: lockBucket, ...over }), recordingLog());
    await assert.rejects(sink.start(), (e) => {
      assert.ok(isSealtrailError(e, 'CONFIG'), String(e));
      assert.match(
        e.message,
        new RegExp(`credentials were rejected for bucket "${lockBucket}" \\(403 (SignatureDoesNotMatch|InvalidAccessKeyId)\\)`),
      );
      return true;
    });
    await sink.close();
  }
});

test('put: wrong credentials and a missing bucket are SINK_PERMANENT', async () => {
  const bad = createS3Sink(
    s3Config(server, { bucket: lockBucket, secretAccessKey: 'wrong-secret-wrong-secret-wrong-secret00' }),
    recordingLog(),
  );
  await assert.rejects(bad.put(NAME, bytes('x\n')), (e) => isSealtrailError(e, 'SINK_PERMANENT') && /403/.test(e.message));
  await bad.close();
  const gone = createS3Sink(s3Config(server, { bucket: `st-missing-${Date.now()}` }), recordingLog());
  await assert.rejects(gone.put(NAME, bytes('x\n')), (e) => isSealtrailError(e, 'SINK_PERMANENT') && /404 NoSuchBucket/.test(e.message));
  await gone.close();
});

test('a stopped gateway is SINK_TRANSIENT at start and put; after restart the put goes through once', async () => {
  const gw = await startGateway();
  try {
    const cfg = s3Config(server, { bucket: lockBucket, endpoint: gw.endpoint });
    const sink = createS3Sink(cfg, recordingLog());
    await sink.start();
    await gw.stop();
    await assert.rejects(sink.put(NAME, bytes('during outage\n')), (e) => isSealtrailError(e, 'SINK_TRANSIENT'));
    const again = createS3Sink(cfg, recordingLog());
    await assert.rejects(again.start(), (e) => isSealtrailError(e, 'SINK_TRANSIENT'));
    await again.close();
    await gw.start();
    assert.equal(await sink.put(NAME, bytes('during outage\n')), 'written');
    await withClient(async (c) => assert.equal((await versions(c, lockBucket, cfg.prefix + NAME)).length, 1));
    await sink.close();
  } finally {
    await gw.stop();
  }
});

test('close is idempotent, safe before start, and a closed sink refuses puts', async () => {
  const sink = new S3Sink(s3Config(server, { bucket: lockBucket }), recordingLog());
  await sink.close();
  await sink.close();
  await assert.rejects(sink.put(NAME, bytes('x\n')), (e) => isSealtrailError(e, 'SINK_PERMANENT'));
});

test('a prefix that does not end in "/" is a CONFIG error', () => {
  assert.throws(
    () => createS3Sink(s3Config(server, { bucket: lockBucket, prefix: 'no-slash' }), recordingLog()),
    (e) => isSealtrailError(e, 'CONFIG'),
  );
});
