// Storage faults against the real agent (child process) on real LevelDB: a second agent on a
// live data directory, a full disk (a real tmpfs), a buffer that went back in time, a lost
// LevelDB log, and a stop during a sink's retry backoff. Each case ends with the question the
// product promises to answer: is every acknowledged record archived (once), or is its loss
// recorded in the chain, and did the agent never sign a fork?
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { eventually, startAgent, startAgentWith, tempDir, testConfig, type AgentProcess } from '../helpers/agent.js';
import { encodeRequest, postHttp } from '../helpers/otlp-client.js';
import { listFiles } from '../helpers/entries.js';
import { runCli } from '../helpers/cli.js';
import { parseObjectName } from '../../verify/layout.js';

interface ArchivedEntry {
  origin: string;
  seq: number;
  json: { record: { eventName?: string; attributes?: Array<{ key: string; value: Record<string, unknown> }> } };
}

async function archive(dir: string): Promise<ArchivedEntry[]> {
  const out: ArchivedEntry[] = [];
  for (const name of await listFiles(dir)) {
    const p = parseObjectName(name);
    if (!p || p.kind !== 'entries') continue;
    for (const line of (await fs.readFile(path.join(dir, name), 'utf8')).split('\n')) {
      if (line === '') continue;
      const json = JSON.parse(line) as ArchivedEntry['json'] & { seq: number };
      out.push({ origin: p.origin, seq: json.seq, json });
    }
  }
  return out;
}

const attrOf = (e: ArchivedEntry, key: string): unknown => {
  const v = e.json.record.attributes?.find((a) => a.key === key)?.value;
  return v === undefined ? undefined : Object.values(v)[0];
};

const ids = (entries: ArchivedEntry[]): string[] => entries.map((e) => attrOf(e, 'id')).filter((x): x is string => typeof x === 'string');

async function post(agent: AgentProcess, id: string): Promise<number> {
  return (await postHttp(agent.http, encodeRequest([{ body: `record ${id}`, attributes: { audit: true, id } }]))).status;
}

async function readyz(agent: AgentProcess): Promise<number> {
  return (await fetch(`http://${agent.telemetry}/readyz`)).status;
}

test('a second agent on a live data directory exits with DATA_DIR_IN_USE and changes nothing', async () => {
  const dir = await tempDir();
  const configPath = path.join(dir, 'config.yaml');
  await fs.writeFile(configPath, testConfig(dir));
  const first = await startAgent({ configPath });
  try {
    assert.equal(await post(first, 'before'), 200);
    const dataBefore = (await fs.readdir(path.join(dir, 'data'))).sort();
    const second = await startAgent({ configPath }).then(
      () => null,
      (err: Error) => err.message,
    );
    assert.ok(second !== null, 'the second agent must not become ready');
    assert.match(second, /"code":"DATA_DIR_IN_USE"/);
    assert.ok(second.includes(path.join(dir, 'data')), 'the error names the directory');
    assert.ok(second.includes(`pid ${first.proc.pid}`), `the error names the holder's pid ${first.proc.pid}`);
    assert.deepEqual((await fs.readdir(path.join(dir, 'data'))).sort(), dataBefore, 'no quarantine, no new files');
    assert.equal(await post(first, 'after'), 200, 'the live agent keeps serving');
    assert.equal(await first.stop(), 0);
    const entries = await archive(path.join(dir, 'archive'));
    assert.equal(new Set(entries.map((e) => e.origin)).size, 1, 'one chain');
    assert.deepEqual(ids(entries), ['before', 'after']);
    assert.equal(entries.filter((e) => e.json.record.eventName === 'sealtrail.genesis').length, 1);
  } finally {
    await first.kill();
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test('a lock left by a killed agent does not stop the next start', async () => {
  const dir = await tempDir();
  const yaml = testConfig(dir);
  const a = await startAgentWith(dir, yaml);
  const origin = a.origin;
  await a.kill();
  const b = await startAgentWith(dir, yaml);
  try {
    assert.equal(b.origin, origin, 'same chain after kill -9');
    assert.equal(await b.stop(), 0);
  } finally {
    await b.kill();
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test('full disk: 503 and /readyz 503 while full, recovery without restart, nothing acknowledged is lost after kill -9', async () => {
  const dir = await tempDir();
  const mnt = path.join(dir, 'data');
  await fs.mkdir(mnt);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=20m', 'tmpfs', mnt]);
  const yaml = testConfig(dir, { maxAge: '100ms' });
  let agent: AgentProcess | null = null;
  try {
    agent = await startAgentWith(dir, yaml);
    const acked: string[] = [];
    for (let i = 0; i < 5; i++) if ((await post(agent, `pre-${i}`)) === 200) acked.push(`pre-${i}`);
    // Fill the disk to the last byte.
    const filler = path.join(mnt, 'filler');
    const fh = await fs.open(filler, 'w');
    const chunk = Buffer.alloc(1 << 16, 0x61);
    try {
      for (;;) await fh.write(chunk);
    } catch (err) {
      assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC');
    }
    try {
      for (;;) await fh.write(chunk.subarray(0, 512));
    } catch {
      /* full */
    }
    await fh.close();
    // Requests until the buffer write fails (a few may still fit in LevelDB's open log block).
    let status = 0;
    for (let i = 0; i < 2000 && status !== 503; i++) {
      const id = `full-${i}`;
      status = await post(agent, id);
      if (status === 200) acked.push(id);
    }
    assert.equal(status, 503, 'a write on a full disk is refused as retryable');
    assert.equal(await readyz(agent), 503, '/readyz tells the truth while the buffer cannot write');
    // Space returns: the running agent recovers by itself.
    await fs.rm(filler);
    await eventually(async () => (await readyz(agent!)) === 200, 30000, '/readyz 200 after space returns');
    for (const id of ['after-1', 'after-2', 'after-3']) {
      const s = await eventually(async () => ((await post(agent!, id)) === 200 ? 200 : null), 30000, `${id} accepted`);
      assert.equal(s, 200);
      acked.push(id);
    }
    await agent.kill();
    agent = await startAgentWith(dir, yaml);
    assert.equal(await agent.stop(), 0);
    const v = await runCli(['verify', path.join(dir, 'archive'), '--key', path.join(mnt, 'keys', 'test-agent.pub')]);
    assert.equal(v.code, 0, v.stdout + v.stderr);
    const entries = await archive(path.join(dir, 'archive'));
    assert.equal(new Set(entries.map((e) => e.origin)).size, 1, 'the chain continued: no quarantine, no new origin');
    const archived = ids(entries);
    for (const id of acked) assert.equal(archived.filter((x) => x === id).length, 1, `acknowledged ${id} is archived exactly once`);
  } finally {
    await agent?.kill();
    execFileSync('umount', ['-l', mnt]);
    await fs.rm(dir, { recursive: true, force: true });
  }
});

async function newestLog(bufferDir: string): Promise<string> {
  const logs = (await fs.readdir(bufferDir)).filter((f) => f.endsWith('.log')).sort();
  assert.ok(logs.length > 0, 'LevelDB has a log file');
  return path.join(bufferDir, logs[logs.length - 1]!);
}

for (const fault of ['truncate', 'delete'] as const) {
  test(`a buffer whose newest log was ${fault}d after a graceful stop is quarantined; the new chain names the old one, no fork`, async () => {
    const dir = await tempDir();
    const yaml = testConfig(dir, { maxAge: '100ms' });
    try {
      const a = await startAgentWith(dir, yaml);
      const first = a.origin;
      for (let i = 0; i < 20; i++) assert.equal(await post(a, `a-${i}`), 200);
      assert.equal(await a.stop(), 0);
      const log = await newestLog(path.join(dir, 'data', 'buffer'));
      if (fault === 'truncate') await fs.truncate(log, Math.floor((await fs.stat(log)).size / 2));
      else await fs.rm(log);

      const b = await startAgentWith(dir, yaml);
      assert.notEqual(b.origin, first, 'a buffer that went back in time never continues its origin');
      await b.waitForLog((l) => l.level === 'error' && /quarantined/.test(l.msg));
      for (let i = 0; i < 5; i++) assert.equal(await post(b, `b-${i}`), 200);
      assert.equal(await b.stop(), 0);

      const v = await runCli(['verify', path.join(dir, 'archive'), '--key', path.join(dir, 'data', 'keys', 'test-agent.pub'), '--json']);
      assert.doesNotMatch(v.stdout, /FORK|OVERLAPPING_BATCH/);
      assert.equal(v.code, 0, v.stdout + v.stderr);
      const entries = await archive(path.join(dir, 'archive'));
      const genesis = entries.find((e) => e.origin === b.origin && e.json.record.eventName === 'sealtrail.genesis')!;
      assert.equal(attrOf(genesis, 'sealtrail.previous_origin'), first);
      assert.match(String(attrOf(genesis, 'sealtrail.previous_checkpoint')), new RegExp(`^${first.replace(/\//g, '\\/')}\\n\\d+\\n`));
      // Everything of the first chain was delivered before the fault: nothing lost.
      assert.equal(attrOf(genesis, 'sealtrail.lost_from'), attrOf(genesis, 'sealtrail.lost_to'));
      const all = ids(entries);
      for (let i = 0; i < 20; i++) assert.equal(all.filter((x) => x === `a-${i}`).length, 1, `a-${i} archived once`);
      assert.deepEqual(await fs.readdir(path.join(dir, 'data')).then((f) => f.filter((x) => x.includes('quarantine')).length), 1);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
}

test('acknowledged entries lost with the LevelDB log are recorded in the new genesis, never a silent reset', async () => {
  const dir = await tempDir();
  const archiveDir = path.join(dir, 'archive');
  const yaml = testConfig(dir, { maxAge: '100ms' });
  try {
    const a = await startAgentWith(dir, yaml);
    const first = a.origin;
    // The start batch (genesis + start) is delivered at once; wait until the agent has recorded
    // that, or a copy written just before the sink fails would be in the archive but not in the mark.
    await eventually(
      async () => (await a.metrics()).get('sealtrail_sink_batches_delivered_total{sink="file"}') === 1,
      20000,
      'the start batch delivered',
    );
    // The sink fails from now on (an immutable directory), so nothing more is delivered before the fault.
    execFileSync('chattr', ['-R', '+i', archiveDir]);
    for (let i = 0; i < 10; i++) assert.equal(await post(a, `lost-${i}`), 200);
    await a.kill();
    await fs.truncate(await newestLog(path.join(dir, 'data', 'buffer')), 0);
    execFileSync('chattr', ['-R', '-i', archiveDir]);

    const b = await startAgentWith(dir, yaml);
    assert.notEqual(b.origin, first);
    assert.equal(await b.stop(), 0);
    const entries = await archive(archiveDir);
    const genesis = entries.find((e) => e.origin === b.origin && e.json.record.eventName === 'sealtrail.genesis')!;
    assert.equal(attrOf(genesis, 'sealtrail.previous_origin'), first);
    const from = Number(attrOf(genesis, 'sealtrail.lost_from'));
    const to = Number(attrOf(genesis, 'sealtrail.lost_to'));
    // genesis + start + 10 records were acknowledged; only what reached the sink before it
    // failed is in the archive, and the recorded loss starts right after it.
    const delivered = entries.filter((e) => e.origin === first).length;
    assert.equal(delivered, 2);
    assert.equal(from, delivered);
    assert.ok(to >= 12, `lost range [${from}, ${to}) covers the 10 acknowledged records`);
    assert.ok(
      !ids(entries).some(
        (id) => id.startsWith('lost-') && Number(id.slice(5)) >= 0 && entries.find((e) => attrOf(e, 'id') === id)!.seq >= from,
      ),
    );
    assert.match(String(attrOf(genesis, 'sealtrail.quarantine_reason')), /went back in time|empty/);
    // The loss is a problem no reader can miss: verify names it and exits 1.
    const v = await runCli(['verify', archiveDir, '--key', path.join(dir, 'data', 'keys', 'test-agent.pub'), '--json']);
    assert.equal(v.code, 1, v.stdout + v.stderr);
    const report = JSON.parse(v.stdout) as { problems: Array<{ code: string; message: string }> };
    assert.deepEqual([...new Set(report.problems.map((p) => p.code))], ['RECORDED_LOSS']);
    assert.ok(report.problems[0]!.message.includes(first), report.problems[0]!.message);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test('SIGTERM during a long sink backoff stops the agent promptly and cleanly', async () => {
  const dir = await tempDir();
  const archiveDir = path.join(dir, 'archive');
  const yaml = testConfig(dir, { retryInitial: '30s', retryMax: '60s', shutdownTimeout: '1s' });
  const a = await startAgentWith(dir, yaml);
  execFileSync('chattr', ['-R', '+i', archiveDir]);
  try {
    assert.equal(await post(a, 'x'), 200);
    await a.waitForLog((l) => l.msg === 'sink delivery failed; will retry');
    const t0 = Date.now();
    assert.equal(await a.stop(), 0);
    const took = Date.now() - t0;
    // Not a speed goal: a stop that waited out the 15-30 s backoff would take at least 15 s.
    assert.ok(took < 14000, `stop took ${took} ms`);
    assert.ok(a.logs.some((l) => l.msg === 'stopped'));
  } finally {
    await a.kill();
    execFileSync('chattr', ['-R', '-i', archiveDir]);
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test('a disk that stops answering: SIGTERM still ends the agent, and the restart loses nothing acknowledged', async () => {
  // A frozen ext4 (fsfreeze on a loop mount) blocks every write as a hung disk does. The
  // shutdown cannot finish (an in-flight commit never completes), so `sealtrail run` abandons
  // it at its bound, names the stage it was stuck in, and exits 1 once the kernel lets the
  // blocked threads go.
  // mkfs.ext4 and fsfreeze live in /usr/sbin, which a non-login PATH may lack.
  const sbin = (tool: string): string => ['/usr/sbin', '/sbin'].map((d) => path.join(d, tool)).find((p) => existsSync(p)) ?? tool;
  const dir = await tempDir();
  const mnt = path.join(dir, 'data');
  const image = path.join(dir, 'data.img');
  await fs.mkdir(mnt);
  await fs.writeFile(image, '');
  await fs.truncate(image, 64 << 20);
  execFileSync(sbin('mkfs.ext4'), ['-q', image]);
  execFileSync('mount', ['-o', 'loop', image, mnt]);
  const yaml = testConfig(dir, { maxAge: '100ms', shutdownTimeout: '1s' });
  let agent: AgentProcess | null = null;
  let frozen = false;
  try {
    agent = await startAgentWith(dir, yaml);
    const acked: string[] = [];
    for (let i = 0; i < 5; i++) if ((await post(agent, `pre-${i}`)) === 200) acked.push(`pre-${i}`);
    assert.equal(acked.length, 5);
    execFileSync(sbin('fsfreeze'), ['-f', mnt]);
    frozen = true;
    // This request's commit blocks on the frozen disk: it is never acknowledged while frozen.
    const pending = post(agent, 'during').then(
      (status) => status,
      () => 'connection closed',
    );
    const first = await Promise.race([pending, new Promise((r) => setTimeout(() => r('no answer'), 1000))]);
    assert.equal(first, 'no answer');
    const bound = 5000 + 1000 + 5000 + 15_000;
    agent.proc.kill('SIGTERM');
    const overran = await agent.waitForLog((l) => l.msg === 'shutdown overran its bound; exiting without finishing it', bound + 15_000);
    assert.equal(overran.bound_ms, bound);
    // The receivers wait for the in-flight request, whose commit waits for the disk.
    assert.equal(overran.stuck_in, 'closing receivers');
    execFileSync(sbin('fsfreeze'), ['-u', mnt]);
    frozen = false;
    const code = await new Promise<number | null>((resolve) => {
      if (agent!.proc.exitCode !== null) resolve(agent!.proc.exitCode);
      else agent!.proc.once('exit', (c) => resolve(c));
    });
    assert.equal(code, 1);
    // Whatever the client saw, an answer of 200 is a promise like the others.
    if ((await pending) === 200) acked.push('during');

    // The next start recovers the buffer and delivers every acknowledged record.
    agent = await startAgentWith(dir, yaml);
    assert.equal(await agent.stop(), 0);
    const archived = new Set(ids(await archive(path.join(dir, 'archive'))));
    assert.deepEqual(
      acked.filter((id) => !archived.has(id)),
      [],
    );
    const verify = await runCli(['verify', path.join(dir, 'archive'), '--key', path.join(mnt, 'keys', 'test-agent.pub')]);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  } finally {
    if (frozen) execFileSync(sbin('fsfreeze'), ['-u', mnt]);
    await agent?.kill();
    execFileSync('umount', [mnt]);
    await fs.rm(dir, { recursive: true, force: true });
  }
});
