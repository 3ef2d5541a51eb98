// Test setup for the s3 sink: a single-node Ceph with RADOS Gateway on 127.0.0.1 (start-s3.sh,
// adapted from the shared recipe). ensureS3() installs the Debian packages when missing and
// starts the cluster once per data dir ($SEALTRAIL_S3_DATA, default /tmp/sealtrail-ceph); it is
// idempotent and safe to call from test files running in parallel (the script takes a lock).
// A failure to start throws: a missing server is a test failure, never a skip.
//
// Tests that stop the gateway (outages) use startGateway(): a private radosgw on its own port,
// on the same cluster, so stopping it does not disturb other test files.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, mkdirSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';

export interface S3Server {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

export const S3_DATA_DIR = path.resolve(process.env['SEALTRAIL_S3_DATA'] || '/tmp/sealtrail-ceph');
const START_TIMEOUT_MS = 10 * 60_000; // first run installs packages

function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('test/setup/s3: cannot find the repository root');
    dir = up;
  }
  return dir;
}

const SCRIPTS = path.join(repoRoot(), 'test', 'setup', 's3');

function run(file: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('bash', [file, ...args], { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${path.basename(file)} failed: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

let started: Promise<S3Server> | undefined;

/** Starts (or finds running) the Ceph RGW test server and returns how to reach it. */
export function ensureS3(): Promise<S3Server> {
  started ??= run(path.join(SCRIPTS, 'start-s3.sh'), [S3_DATA_DIR], START_TIMEOUT_MS).then((out) => {
    const kv = new Map(
      out
        .split('\n')
        .filter((l) => l.includes('='))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    const get = (k: string) => {
      const v = kv.get(k);
      if (!v) throw new Error(`start-s3.sh did not print ${k}:\n${out}`);
      return v;
    };
    return {
      endpoint: get('S3_ENDPOINT'),
      accessKeyId: get('S3_ACCESS_KEY'),
      secretAccessKey: get('S3_SECRET_KEY'),
      region: get('S3_REGION'),
    };
  });
  started.catch(() => (started = undefined)); // a later call may retry; this one still fails
  return started;
}

/** Stops the whole cluster (not used by the tests, which share it; for local clean-up). */
export async function stopS3(): Promise<void> {
  await run(path.join(SCRIPTS, 'stop-s3.sh'), [S3_DATA_DIR], 60_000);
  started = undefined;
}

/** A client with the test user's credentials, configured as the sink configures its own. */
export function s3Client(server: S3Server, endpoint = server.endpoint): S3Client {
  return new S3Client({
    endpoint,
    region: server.region,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** Creates a bucket with a unique name (`st-<tag>-<random>`), with or without Object Lock. */
export async function createBucket(server: S3Server, opts: { objectLock: boolean; tag?: string }): Promise<string> {
  const bucket = `st-${opts.tag ?? 't'}-${randomBytes(6).toString('hex')}`;
  const client = s3Client(server);
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket, ObjectLockEnabledForBucket: opts.objectLock }));
  } finally {
    client.destroy();
  }
  return bucket;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function answers(endpoint: string): Promise<boolean> {
  try {
    const res = await fetch(endpoint + '/', { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A private radosgw on the shared cluster, which a test may stop and start at will. */
export interface Gateway {
  readonly endpoint: string;
  /** Stops radosgw (SIGTERM via its pid file, SIGKILL after 10 s) and waits until it is gone. */
  stop(): Promise<void>;
  /** Starts it again on the same port and waits until it answers. */
  start(): Promise<void>;
}

/** Stops private gateways left behind by test processes that died without stopping them. */
function sweepOrphanGateways(): void {
  const runDir = path.join(S3_DATA_DIR, 'run');
  for (const f of readdirSync(runDir)) {
    const m = /^client\.rgw\.t(\d+)[0-9a-f]{6}\.pid$/.exec(f);
    if (!m || existsSync(`/proc/${m[1]}`)) continue; // its test process still runs
    try {
      const p = Number(readFileSync(path.join(runDir, f), 'utf8').trim());
      if (readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(f.slice(0, -'.pid'.length))) process.kill(p, 'SIGTERM');
    } catch {
      // already gone
    }
  }
}

export async function startGateway(): Promise<Gateway> {
  await ensureS3();
  sweepOrphanGateways();
  const name = `client.rgw.t${process.pid}${randomBytes(3).toString('hex')}`;
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const conf = path.join(S3_DATA_DIR, 'ceph.conf');
  const rgwData = path.join(S3_DATA_DIR, 'rgw-private', name);
  const pidFile = path.join(S3_DATA_DIR, 'run', `${name}.pid`);
  mkdirSync(rgwData, { recursive: true });

  const pid = (): number | null => {
    try {
      const p = Number(readFileSync(pidFile, 'utf8').trim());
      // Only our daemon: the pid must still run radosgw with this name.
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8');
      return cmd.includes(name) ? p : null;
    } catch {
      return null;
    }
  };

  const gw: Gateway = {
    endpoint,
    async start() {
      if (pid() === null) {
        await new Promise<void>((resolve, reject) =>
          execFile(
            'radosgw',
            ['-c', conf, '-n', name, `--rgw_frontends=beast endpoint=127.0.0.1:${port}`, `--rgw_data=${rgwData}`],
            (err, _o, stderr) => (err ? reject(new Error(`radosgw ${name} failed to start: ${err.message}\n${stderr}`)) : resolve()),
          ),
        );
      }
      for (let i = 0; i < 600; i++) {
        if (await answers(endpoint)) return;
        await sleep(100);
      }
      throw new Error(`radosgw ${name} did not answer on ${endpoint} (logs: ${S3_DATA_DIR}/log)`);
    },
    async stop() {
      const p = pid();
      if (p === null) return;
      const signal = (sig: NodeJS.Signals) => {
        try {
          process.kill(p, sig);
        } catch {
          // exited in between
        }
      };
      signal('SIGTERM');
      for (let i = 0; i < 100 && pid() !== null; i++) await sleep(100);
      if (pid() !== null) signal('SIGKILL');
      while (pid() !== null) await sleep(50);
      await unlink(pidFile).catch(() => {});
    },
  };
  await gw.start();
  return gw;
}
