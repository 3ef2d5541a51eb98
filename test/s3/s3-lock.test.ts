// Object Lock holds: a real signed archive is written through the s3 sink into a COMPLIANCE
// bucket on Ceph RGW, then attacked through the S3 API (version deletes, retention shortening,
// overwrites, delete markers). The attacks on the locked versions fail, and the verifier,
// reading s3://bucket/prefix, reads exactly the bytes the sink wrote; overwrites and delete
// markers, which a plain GET reader would see, are reported as problems (exit 1).
import { test, before, after } from 'node:test';
import { execFile } from 'node:child_process';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  GetObjectRetentionCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
  PutObjectRetentionCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { S3Sink } from '../../exporters/s3/index.js';
import { S3ArchiveReader } from '../../verify/s3-archive.js';
import { verifyArchive } from '../../verify/verifier.js';
import { parseVerifierKey } from '../../verify/note.js';
import { buildArchive, tempDir, type Fixture } from '../verify/fixtures.js';
import { createBucket, ensureS3, s3Client, type S3Server } from '../setup/s3/server.js';
import { recordingLog, s3Config } from './s3-helpers.js';
import { CLI } from '../helpers/agent.js';
import type { Report } from '../../verify/report.js';

let server: S3Server;
let admin: S3Client;
let bucket: string;
let dir: string;

before(async () => {
  server = await ensureS3();
  admin = s3Client(server);
  bucket = await createBucket(server, { objectLock: true, tag: 'lock' });
  dir = await tempDir();
});

after(async () => {
  admin?.destroy();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

/** Builds a signed archive of `entries` entries and delivers every object through the sink. */
async function archiveInS3(prefix: string, entries: number, gzip = false): Promise<Fixture> {
  const fx = await buildArchive(path.join(dir, prefix), { entries, batchSize: 4, gzip, stop: true });
  const sink = new S3Sink(s3Config(server, { bucket, prefix }), recordingLog());
  await sink.start();
  for (const b of fx.batches) {
    assert.equal(await sink.put(b.entries, await fs.readFile(path.join(fx.dir, b.entries))), 'written');
    assert.equal(await sink.put(b.checkpoint, await fs.readFile(path.join(fx.dir, b.checkpoint))), 'written');
  }
  await sink.close();
  return fx;
}

async function verifyS3(prefix: string, fx: Fixture, versions?: 'original' | 'current') {
  const reader = new S3ArchiveReader({ bucket, prefix }, { client: s3Client(server), ...(versions ? { versions } : {}) });
  const report = await verifyArchive(reader, { keys: [parseVerifierKey(fx.verifierKey)] });
  return { report, reader };
}

async function firstVersionId(key: string): Promise<string> {
  const res = await admin.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key }));
  const vs = (res.Versions ?? []).filter((v) => v.Key === key);
  assert.ok(vs.length >= 1);
  return vs[vs.length - 1]!.VersionId!; // newest first
}

const statusOf = (e: unknown) => (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
const nameOf = (e: unknown) => (e as { name?: string }).name;

test('an archive written through the sink verifies clean from s3://bucket/prefix', async () => {
  const fx = await archiveInS3('clean/', 11, true);
  const { report } = await verifyS3('clean/', fx);
  assert.deepEqual(report.problems, []);
  assert.equal(report.ok, true);
  assert.equal(report.location, `s3://${bucket}/clean/`);
  assert.equal(report.origins[0]?.entries, 11);
});

test('deleting or shortening a locked batch version is refused with 403 AccessDenied, and verify stays clean', async () => {
  const prefix = 'del/';
  const fx = await archiveInS3(prefix, 9);
  const key = prefix + fx.batches[1]!.entries;
  const VersionId = await firstVersionId(key);
  // A shortened date must still lie in the future when RGW checks it (a past date is a different
  // refusal): halfway between now and the version's real retain-until date (about 120 s out).
  const held = await admin.send(new GetObjectRetentionCommand({ Bucket: bucket, Key: key, VersionId }));
  const until = held.Retention?.RetainUntilDate?.getTime();
  assert.ok(
    until !== undefined && until - Date.now() > 30_000,
    `the sink set a retention about 120 s out (got ${String(held.Retention?.RetainUntilDate)})`,
  );
  const shorter = new Date(Date.now() + (until - Date.now()) / 2);
  for (const cmd of [
    new DeleteObjectCommand({ Bucket: bucket, Key: key, VersionId }),
    new DeleteObjectCommand({ Bucket: bucket, Key: key, VersionId, BypassGovernanceRetention: true }),
    new PutObjectRetentionCommand({ Bucket: bucket, Key: key, VersionId, Retention: { Mode: 'COMPLIANCE', RetainUntilDate: shorter } }),
    new PutObjectRetentionCommand({
      Bucket: bucket,
      Key: key,
      VersionId,
      Retention: { Mode: 'GOVERNANCE', RetainUntilDate: new Date(Date.now() + 86_400_000) },
    }),
  ]) {
    await assert.rejects(admin.send(cmd as never), (e) => statusOf(e) === 403 && nameOf(e) === 'AccessDenied');
  }
  const multi = await admin.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: [{ Key: key, VersionId }] } }));
  assert.equal(multi.Errors?.[0]?.Code, 'AccessDenied');
  assert.equal(await firstVersionId(key), VersionId);
  const { report } = await verifyS3(prefix, fx);
  assert.deepEqual(report.problems, []);
});

test('an overwrite PUT and a delete marker leave the locked first version, which verify reads; the current view shows the tampering', async () => {
  const prefix = 'over/';
  const fx = await archiveInS3(prefix, 9);
  const key = prefix + fx.batches[0]!.entries;
  const original = await fs.readFile(path.join(fx.dir, fx.batches[0]!.entries));
  const VersionId = await firstVersionId(key);
  // RGW ignores If-None-Match on versioned buckets and adds a version; AWS would answer 412.
  let overwrite: unknown = null;
  try {
    await admin.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: Buffer.from('{"v":1,"seq":0}\n'), IfNoneMatch: '*' }));
    await admin.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: Buffer.from('{"v":1,"seq":0}\n') }));
  } catch (e) {
    overwrite = e;
  }
  assert.equal(overwrite, null, 'RGW accepts a PUT over a locked name as a new version');
  const delKey = prefix + fx.batches[1]!.checkpoint;
  const marker = await admin.send(new DeleteObjectCommand({ Bucket: bucket, Key: delKey }));
  assert.equal(marker.DeleteMarker, true);

  const old = await admin.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId }));
  assert.deepEqual(Buffer.from(await old.Body!.transformToByteArray()), original);

  const { report, reader } = await verifyS3(prefix, fx);
  // The chain verifies from the first versions; only the version history is reported.
  assert.deepEqual(
    report.problems.map((p) => [p.code, p.object]),
    [
      ['OBJECT_OVERWRITTEN', fx.batches[0]!.entries],
      ['OBJECT_DELETE_MARKER', fx.batches[1]!.checkpoint],
    ],
  );
  assert.match(
    report.problems[0]!.message,
    /^2 later versions were written over this name; a plain GET returns the newest, whose bytes differ \(16 bytes, .*the first version \(\d+ bytes, .*\) is what was verified$/,
  );
  assert.match(report.problems[1]!.message, /a plain GET or listing finds the object deleted; the first version .* is what was verified$/);
  assert.equal(report.origins[0]?.entries, 9);
  assert.deepEqual(reader.overwritten, [fx.batches[0]!.entries]);

  // What a plain GET sees is tampered, and the verifier says so when asked to read it.
  const current = await verifyS3(prefix, fx, 'current');
  assert.equal(current.report.ok, false);
  const codes = new Set(current.report.problems.map((p) => p.code));
  assert.ok(codes.has('MISSING_CHECKPOINT'), JSON.stringify(current.report.problems));
  assert.ok(
    current.report.problems.some((p) => p.object === fx.batches[0]!.entries),
    JSON.stringify(current.report.problems),
  );
});

/** `sealtrail verify s3://bucket/prefix --json` as a child process, configured through the AWS environment. */
function verifyCli(prefix: string, key: string): Promise<{ code: number; report: Report }> {
  const env = {
    ...process.env,
    AWS_ACCESS_KEY_ID: server.accessKeyId,
    AWS_SECRET_ACCESS_KEY: server.secretAccessKey,
    AWS_REGION: server.region,
    AWS_ENDPOINT_URL_S3: server.endpoint,
  };
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CLI, 'verify', `s3://${bucket}/${prefix}`, '--key', key, '--json'], { env }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      try {
        resolve({ code, report: JSON.parse(stdout) as Report });
      } catch {
        reject(new Error(`verify exited ${code}: ${stderr}`));
      }
    });
  });
}

test('sealtrail verify s3://: a batch overwritten with other bytes and a delete-marked batch are problems (exit 1); the first versions still verify', async () => {
  // Versioned bucket, objects written without retention: anyone with write access can add versions.
  const prefix = 'cli-over/';
  const fx = await buildArchive(path.join(dir, prefix), { entries: 13, batchSize: 4, stop: true });
  const sink = new S3Sink(s3Config(server, { bucket, prefix, objectLock: null }), recordingLog());
  await sink.start();
  for (const b of fx.batches) {
    assert.equal(await sink.put(b.entries, await fs.readFile(path.join(fx.dir, b.entries))), 'written');
    assert.equal(await sink.put(b.checkpoint, await fs.readFile(path.join(fx.dir, b.checkpoint))), 'written');
  }
  await sink.close();
  assert.equal((await verifyCli(prefix, fx.verifierKey)).code, 0);

  const over = fx.batches[1]!.entries;
  const forged = (await fs.readFile(path.join(fx.dir, over), 'utf8')).replace('updated setting', 'deleted account');
  await admin.send(new PutObjectCommand({ Bucket: bucket, Key: prefix + over, Body: Buffer.from(forged) }));
  const gone = fx.batches[2]!.entries;
  assert.equal((await admin.send(new DeleteObjectCommand({ Bucket: bucket, Key: prefix + gone }))).DeleteMarker, true);

  const { code, report } = await verifyCli(prefix, fx.verifierKey);
  assert.equal(code, 1);
  assert.deepEqual(
    report.problems.map((p) => [p.code, p.object]),
    [
      ['OBJECT_OVERWRITTEN', over],
      ['OBJECT_DELETE_MARKER', gone],
    ],
  );
  assert.match(
    report.problems[0]!.message,
    /^1 later version was written over this name; a plain GET returns the newest, whose bytes differ/,
  );
  assert.match(report.problems[1]!.message, /finds the object deleted/);
  assert.deepEqual(
    report.origins.map((o) => o.entries),
    [13],
  );
});

test('the archive reader lists paginated, sorted names relative to the prefix and streams objects', async () => {
  const prefix = 'page/';
  // 1100 objects > one ListObjectVersions / ListObjectsV2 page (1000).
  const names = Array.from({ length: 1100 }, (_, i) => `o/${String((i * 7919) % 1100).padStart(5, '0')}`);
  const sink = new S3Sink(s3Config(server, { bucket, prefix, objectLock: null }), recordingLog());
  for (let i = 0; i < names.length; i += 50) await Promise.all(names.slice(i, i + 50).map((n) => sink.put(n, Buffer.from(n))));
  await sink.close();
  const big = Buffer.alloc(3 << 20, 7);
  await admin.send(new PutObjectCommand({ Bucket: bucket, Key: prefix + 'z-big', Body: big }));
  for (const versions of ['original', 'current'] as const) {
    const reader = new S3ArchiveReader({ bucket, prefix }, { client: s3Client(server), versions });
    const listed: string[] = [];
    for await (const n of reader.list()) listed.push(n);
    assert.deepEqual(listed, [...names].sort().concat('z-big'));
    const chunks: Uint8Array[] = [];
    for await (const c of reader.open('z-big')) chunks.push(c);
    assert.ok(chunks.length > 1, 'streamed in more than one chunk');
    assert.deepEqual(Buffer.concat(chunks), big);
    reader.close();
  }
});
