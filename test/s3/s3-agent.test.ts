// End to end with the s3 sink: applications using the real OpenTelemetry SDK send audit records
// to the real agent (a child process) whose exporter is `s3` on a real Ceph RGW with Object
// Lock; the archive read back from s3://bucket/prefix verifies clean. Then an outage: the
// agent's radosgw is stopped mid-run and started again, and everything arrives, in order,
// each batch exactly once (one version per object name).
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { GetObjectCommand, ListObjectVersionsCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { CLI, startAgentWith, tempDir, testConfig, eventually, type AgentProcess } from '../helpers/agent.js';
import { sdkClient } from '../helpers/otel.js';
import { S3ArchiveReader } from '../../verify/s3-archive.js';
import { verifyArchive } from '../../verify/verifier.js';
import { parseVerifierKey } from '../../verify/note.js';
import { checkpointObjectName, entriesObjectName, parseObjectName } from '../../verify/layout.js';
import { createBucket, ensureS3, s3Client, startGateway, type S3Server } from '../setup/s3/server.js';

let server: S3Server;
let bucket: string;

before(async () => {
  server = await ensureS3();
  bucket = await createBucket(server, { objectLock: true, tag: 'e2e' });
});

function s3ExporterYaml(prefix: string, endpoint: string): { yaml: string; ids: string[] } {
  return {
    yaml: `  s3/archive:
    bucket: ${bucket}
    prefix: ${prefix}
    region: ${server.region}
    endpoint: ${endpoint}
    force_path_style: true
    access_key_id: \${env:TEST_S3_KEY}
    secret_access_key: \${env:TEST_S3_SECRET}
    object_lock:
      mode: COMPLIANCE
      retain_days: 1
`,
    ids: ['s3/archive'],
  };
}

async function start(dir: string, prefix: string, endpoint: string, maxRecords: number, maxAge = '200ms'): Promise<AgentProcess> {
  const yaml = testConfig(dir, { maxRecords, maxAge, exporters: s3ExporterYaml(prefix, endpoint) });
  return startAgentWith(dir, yaml, { TEST_S3_KEY: server.accessKeyId, TEST_S3_SECRET: server.secretAccessKey });
}

/** Every version of every key under the prefix (a second version of a name would show twice). */
async function allVersions(client: S3Client, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let KeyMarker: string | undefined;
  let VersionIdMarker: string | undefined;
  do {
    const res = await client.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: prefix, KeyMarker, VersionIdMarker }));
    for (const v of res.Versions ?? []) keys.push(v.Key!.slice(prefix.length));
    assert.equal((res.DeleteMarkers ?? []).length, 0);
    KeyMarker = res.IsTruncated ? res.NextKeyMarker : undefined;
    VersionIdMarker = res.IsTruncated ? res.NextVersionIdMarker : undefined;
  } while (KeyMarker);
  return keys;
}

/** The app records' bodies in archive order, read through the S3 archive reader. */
async function archivedBodies(reader: S3ArchiveReader): Promise<string[]> {
  const bodies: string[] = [];
  const names: string[] = [];
  for await (const n of reader.list()) names.push(n);
  for (const n of names.filter((x) => parseObjectName(x)?.kind === 'entries')) {
    const chunks: Uint8Array[] = [];
    for await (const c of reader.open(n)) chunks.push(c);
    for (const line of Buffer.concat(chunks).toString('utf8').split('\n')) {
      if (line === '') continue;
      const e = JSON.parse(line) as { record: { eventName?: string; body?: { stringValue?: string } } };
      if (!(e.record.eventName ?? '').startsWith('sealtrail.')) bodies.push(e.record.body?.stringValue ?? '');
    }
  }
  return bodies;
}

async function verifyS3(prefix: string, verifierKey: string) {
  const reader = new S3ArchiveReader({ bucket, prefix }, { client: s3Client(server) });
  const report = await verifyArchive(reader, { keys: [parseVerifierKey(verifierKey)] });
  return { report, reader };
}

/** `sealtrail verify s3://bucket/prefix --json`, configured through the AWS environment. */
function verifyCli(prefix: string, verifierKey: string): Promise<{ code: number; report: { ok: boolean; problems: unknown[] } }> {
  const env = {
    ...process.env,
    AWS_ACCESS_KEY_ID: server.accessKeyId,
    AWS_SECRET_ACCESS_KEY: server.secretAccessKey,
    AWS_REGION: server.region,
    AWS_ENDPOINT_URL_S3: server.endpoint,
  };
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [CLI, 'verify', `s3://${bucket}/${prefix}`, '--key', verifierKey, '--json'],
      { env },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        try {
          resolve({ code, report: JSON.parse(stdout) });
        } catch {
          reject(new Error(`verify exited ${code}: ${stderr}`));
        }
      },
    );
  });
}

function assertOneVersionEach(keys: string[]): void {
  assert.equal(new Set(keys).size, keys.length, `a name has more than one version: ${keys.join(', ')}`);
  for (const k of keys) assert.ok(parseObjectName(k), `unexpected object ${k}`);
}

describe('agent with the s3 exporter on Ceph RGW', () => {
  it('OTel SDK -> agent -> s3 Object Lock; verify s3://bucket/prefix is clean', async () => {
    const dir = await tempDir();
    const prefix = `e2e-${randomBytes(4).toString('hex')}/`;
    const agent = await start(dir, prefix, server.endpoint, 4);
    // Batching processor: the SDK exporters drop exports beyond 30 concurrent ones.
    const client = sdkClient('grpc', agent, { serviceName: 'billing', scope: 'billing.audit', batch: true });
    const sent: string[] = [];
    for (let i = 0; i < 17; i++) {
      sent.push(`invoice ${i} approved`);
      client.logger.emit({ body: `invoice ${i} approved`, attributes: { audit: true, 'invoice.id': i } });
      client.logger.emit({ body: `noise ${i}`, attributes: { audit: false } });
    }
    await client.flush();
    await client.shutdown();
    assert.equal(await agent.stop(), 0);

    const { report, reader } = await verifyS3(prefix, agent.verifierKey);
    assert.deepEqual(report.problems, []);
    assert.equal(report.ok, true);
    assert.equal(report.origins.length, 1);
    assert.equal(report.origins[0]!.origin, agent.origin);
    assert.deepEqual(await archivedBodies(reader), sent);
    const cli = await verifyCli(prefix, agent.verifierKey);
    assert.deepEqual(cli.report.problems, []);
    assert.equal(cli.report.ok, true);
    assert.equal(cli.code, 0);
    const admin = s3Client(server);
    assertOneVersionEach(await allVersions(admin, prefix));
    admin.destroy();
    reader.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('outage: radosgw stopped mid-run and restarted; everything arrives in order, each batch once', async () => {
    const gw = await startGateway();
    const dir = await tempDir();
    const prefix = `outage-${randomBytes(4).toString('hex')}/`;
    const admin = s3Client(server);
    let agent: AgentProcess | undefined;
    try {
      agent = await start(dir, prefix, gw.endpoint, 5);
      const lag = async () => (await agent!.metrics()).get('sealtrail_sink_lag_entries{sink="s3/archive"}');
      const client = sdkClient('http-proto', agent, { serviceName: 'ledger', batch: true });
      const sent: string[] = [];
      const emit = (n: number) => {
        for (let i = 0; i < n; i++) {
          const body = `transfer ${sent.length}`;
          sent.push(body);
          client.logger.emit({ eventName: 'audit.transfer', body });
        }
      };
      const arrived = async () => (await archivedBodies(new S3ArchiveReader({ bucket, prefix }, { client: admin }))).length;
      emit(12);
      await client.flush();
      await eventually(async () => (await arrived()) === 12, 20_000, 'first records delivered');
      const before = (await allVersions(admin, prefix)).length;
      assert.ok(before >= 4, `objects before the outage: ${before}`);

      await gw.stop();
      emit(23); // accepted into the buffer while the store is down
      await client.flush();
      await eventually(
        async () => ((await agent!.metrics()).get('sealtrail_sink_errors_total{sink="s3/archive"}') ?? 0) >= 2,
        20_000,
        'failed deliveries during the outage',
      );
      assert.ok(((await lag()) ?? 0) > 0, 'entries wait in the buffer during the outage');
      assert.equal((await allVersions(admin, prefix)).length, before);
      emit(6);
      await client.flush();

      await gw.start();
      await eventually(async () => (await arrived()) === sent.length, 30_000, 'backlog delivered after restart');
      await eventually(async () => (await lag()) === 0, 10_000, 'sink cursor caught up');
      await client.shutdown();
      assert.equal(await agent.stop(), 0);

      const { report, reader } = await verifyS3(prefix, agent.verifierKey);
      assert.deepEqual(report.problems, []);
      assert.equal(report.ok, true);
      assert.deepEqual(await archivedBodies(reader), sent);
      assertOneVersionEach(await allVersions(admin, prefix));
      reader.close();
    } finally {
      await agent?.kill();
      admin.destroy();
      await gw.stop();
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('store unreachable at start-up: the agent starts, buffers, and delivers once the store is up', async () => {
    const gw = await startGateway();
    await gw.stop();
    const dir = await tempDir();
    const prefix = `late-${randomBytes(4).toString('hex')}/`;
    const admin = s3Client(server);
    let agent: AgentProcess | undefined;
    try {
      agent = await start(dir, prefix, gw.endpoint, 5);
      await agent.waitForLog((l) => l.msg.startsWith('sink unreachable at start-up') && l.sink === 's3/archive', 5_000);
      const client = sdkClient('http-proto', agent, { serviceName: 'ledger' });
      const sent = Array.from({ length: 9 }, (_, i) => `late ${i}`);
      for (const body of sent) client.logger.emit({ eventName: 'audit.late', body });
      await client.flush();
      await eventually(
        async () => (await agent!.metrics()).get('sealtrail_records_accepted_total') === 9,
        10_000,
        'records acknowledged while the store is down',
      );
      await gw.start();
      const arrived = async () => (await archivedBodies(new S3ArchiveReader({ bucket, prefix }, { client: admin }))).length;
      await eventually(async () => (await arrived()) === sent.length, 30_000, 'buffered records delivered once the store is up');
      await client.shutdown();
      assert.equal(await agent.stop(), 0);
      const { report, reader } = await verifyS3(prefix, agent.verifierKey);
      assert.deepEqual(report.problems, []);
      assert.deepEqual(await archivedBodies(reader), sent);
      reader.close();
    } finally {
      await agent?.kill();
      admin.destroy();
      await gw.stop();
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('conflict: a different object planted under a batch name stops the sink; it is never overwritten', async () => {
    const dir = await tempDir();
    const prefix = `conflict-${randomBytes(4).toString('hex')}/`;
    const admin = s3Client(server);
    let agent: AgentProcess | undefined;
    try {
      // Start-up seals [0,2) (genesis and start entry) at once; after that batches seal on count
      // only, so they are exactly [2,6), [6,10), ...
      agent = await start(dir, prefix, server.endpoint, 4, '1h');
      const planted = Buffer.from('{"planted":true}\n');
      const key = prefix + entriesObjectName(agent.origin, 6, 10, false);
      await admin.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: planted }));
      const client = sdkClient('grpc', agent, { batch: true });
      for (let i = 0; i < 10; i++) client.logger.emit({ eventName: 'audit.x', body: `x ${i}` });
      await client.flush();
      await client.shutdown();
      await eventually(
        async () => (await agent!.metrics()).get('sealtrail_sink_conflict{sink="s3/archive"}') === 1,
        20_000,
        'sink stopped on conflict',
      );
      await agent.waitForLog((l) => l.level === 'error' && /conflict/.test(l.msg));
      const versions = await allVersions(admin, prefix);
      assert.deepEqual(
        versions.filter((k) => prefix + k === key),
        [key.slice(prefix.length)],
      );
      const got = await admin.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      assert.deepEqual(Buffer.from(await got.Body!.transformToByteArray()), planted);
      // The batch before it was delivered; the conflicting batch's checkpoint and later batches were not.
      assert.ok(versions.includes(checkpointObjectName(agent.origin, 2, 6)));
      assert.ok(!versions.includes(checkpointObjectName(agent.origin, 6, 10)));
      assert.ok(!versions.some((k) => parseObjectName(k)?.start === 10));
    } finally {
      await agent?.kill();
      admin.destroy();
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('misconfiguration: the agent refuses to start with a message naming the bucket and the problem', async () => {
    const plain = await createBucket(server, { objectLock: false, tag: 'e2e-plain' });
    const missing = `st-missing-${randomBytes(4).toString('hex')}`;
    const cases: Array<{ bucket: string; secret: string; expect: RegExp }> = [
      { bucket: plain, secret: server.secretAccessKey, expect: new RegExp(`Object Lock is not enabled on bucket [\\\\"]*${plain}`) },
      { bucket: missing, secret: server.secretAccessKey, expect: new RegExp(`bucket [\\\\"]*${missing}[\\\\"]* does not exist`) },
      {
        bucket,
        secret: 'not-the-secret-not-the-secret-not-the-sec',
        expect: new RegExp(`credentials were rejected for bucket [\\\\"]*${bucket}`),
      },
    ];
    for (const c of cases) {
      const dir = await tempDir();
      const yaml = testConfig(dir, { exporters: s3ExporterYaml('misconfig/', server.endpoint) }).replace(
        `bucket: ${bucket}`,
        `bucket: ${c.bucket}`,
      );
      await assert.rejects(startAgentWith(dir, yaml, { TEST_S3_KEY: server.accessKeyId, TEST_S3_SECRET: c.secret }), (err: Error) => {
        assert.match(err.message, /exited with code [1-9]/);
        assert.match(err.message, c.expect);
        assert.match(err.message, /"code":"CONFIG"/);
        return true;
      });
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
