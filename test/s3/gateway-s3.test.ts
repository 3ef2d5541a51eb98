// Gateway to S3: two agents deliver through a verifying gateway whose gateway pipeline writes to
// an `s3` sink with Object Lock on the shared Ceph RGW (test/setup/s3); the S3 archive holds
// every agent checkpoint unchanged and verifies with both agents' keys.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { eventually, startAgentWith, tempDir, testConfig, type AgentProcess } from '../helpers/agent.js';
import { runCli } from '../helpers/cli.js';
import { encodeRequest, postHttp } from '../helpers/otlp-client.js';
import { S3ArchiveReader } from '../../verify/s3-archive.js';
import { verifyArchive } from '../../verify/verifier.js';
import { parseVerifierKey } from '../../verify/note.js';
import { walk } from '../exporters/file-harness.js';
import { createBucket, ensureS3, s3Client, type S3Server } from '../setup/s3/server.js';

let server: S3Server;
let bucket: string;

before(async () => {
  server = await ensureS3();
  bucket = await createBucket(server, { objectLock: true, tag: 'gateway' });
});

describe('gateway to S3', () => {
  it('agents -> gateway -> s3 (Object Lock): the S3 archive verifies with the agents keys', async (t) => {
    const dir = await tempDir();
    const keysDir = path.join(dir, 'keys');
    const names = ['edge-1', 'edge-2'];
    for (const n of names) assert.equal((await runCli(['keygen', '--name', n, '--dir', keysDir])).code, 0);
    const prefix = `gw-${randomBytes(4).toString('hex')}/`;
    const gwDir = path.join(dir, 'gateway');
    await fs.mkdir(gwDir);
    const gwYaml = testConfig(gwDir, {
      name: 'gateway',
      exporters: {
        yaml:
          `  file:\n    directory: ${path.join(gwDir, 'archive')}\n` +
          `  s3/archive:\n    bucket: ${bucket}\n    prefix: ${prefix}\n    region: ${server.region}\n    endpoint: ${server.endpoint}\n    force_path_style: true\n` +
          `    access_key_id: \${env:TEST_S3_KEY}\n    secret_access_key: \${env:TEST_S3_SECRET}\n    object_lock: { mode: COMPLIANCE, retain_days: 1 }\n`,
        ids: ['file'],
      },
      extraReceiverYaml: `  sealtrail:\n    endpoint: 127.0.0.1:0\n    trusted_keys:\n${names.map((n) => `      - { origin_prefix: "sealtrail/${n}/", key_file: ${path.join(keysDir, `${n}.pub`)} }\n`).join('')}`,
      extraPipelinesYaml: '    logs/gateway:\n      receivers: [sealtrail]\n      processors: []\n      exporters: [s3/archive]\n',
    });
    const gw = await startAgentWith(gwDir, gwYaml, { TEST_S3_KEY: server.accessKeyId, TEST_S3_SECRET: server.secretAccessKey });
    const agents: AgentProcess[] = [];
    t.after(() => Promise.all([gw.kill(), ...agents.map((a) => a.kill())]));
    const gwAddr = String(gw.logs.find((l) => l.msg === 'ready')!.gateway);
    for (const n of names) {
      const d = path.join(dir, n);
      await fs.mkdir(d);
      const yaml = testConfig(d, {
        name: n,
        maxRecords: 5,
        exporters: {
          yaml: `  file:\n    directory: ${path.join(d, 'archive')}\n  sealtrail/gw:\n    endpoint: http://${gwAddr}\n`,
          ids: ['file', 'sealtrail/gw'],
        },
      }).replace('  shutdown_timeout:', `  signing_key: ${path.join(keysDir, `${n}.key`)}\n  shutdown_timeout:`);
      agents.push(await startAgentWith(d, yaml));
    }
    for (const a of agents) {
      for (let i = 0; i < 4; i++)
        assert.equal(
          (
            await postHttp(
              a.http,
              encodeRequest([
                { body: `r${i}`, attributes: { audit: true } },
                { body: `s${i}`, attributes: { audit: true } },
              ]),
            )
          ).status,
          200,
        );
    }
    for (const a of agents) assert.equal(await a.stop(), 0);
    await eventually(async () => (await gw.metrics()).get('sealtrail_gateway_batches_total')! >= 4, 20000, 'gateway stored batches');
    assert.equal(await gw.stop(), 0);

    const reader = new S3ArchiveReader({ bucket, prefix }, { client: s3Client(server) });
    const keys = await Promise.all(
      names.map(async (n) => parseVerifierKey((await fs.readFile(path.join(keysDir, `${n}.pub`), 'utf8')).trim())),
    );
    const report = await verifyArchive(reader, { keys });
    assert.equal(report.ok, true, JSON.stringify(report).slice(0, 2000));
    const client = s3Client(server);
    for (const n of names) {
      const local = (await walk(path.join(dir, n, 'archive'))).files.filter((f) => f.endsWith('.checkpoint'));
      assert.ok(local.length >= 2, `${n} sealed batches`);
      for (const f of local) {
        const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: prefix + f }));
        const body = Buffer.from(await res.Body!.transformToByteArray());
        assert.ok(body.equals(await fs.readFile(path.join(dir, n, 'archive', f))), `${n}: ${f} unchanged in S3`);
        assert.equal(res.ObjectLockMode, 'COMPLIANCE');
      }
    }
    await fs.rm(dir, { recursive: true, force: true });
  });
});
