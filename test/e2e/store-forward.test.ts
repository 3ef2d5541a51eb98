// Store and forward against the real agent process: end to end with the real OTel
// SDK, sink outage (one and two sinks), SIGKILL during delivery, a conflicting object under a
// batch name, and a full buffer while the sink is down. Sinks are made to fail for real with
// `chattr +i` (we run as root, so chmod would not stop the agent from writing).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { promisify } from 'node:util';
import { LoggerProvider, SimpleLogRecordProcessor, type LogRecordExporter, type ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { eventually, startAgentWith, tempDir, testConfig, type AgentProcess, type LogLine } from '../helpers/agent.js';
import { makeExporter, sdkClient } from '../helpers/otel.js';
import { encodeRequest, postHttp, GrpcLogsClient } from '../helpers/otlp-client.js';
import { allEntries, attr, isOwn, listFiles } from '../helpers/entries.js';
import { readBuffer } from '../helpers/buffer.js';
import { parseObjectName, entriesObjectName } from '../../verify/layout.js';
import { parseNote, verifyNote, parseVerifierKey, parseCheckpointBody } from '../../verify/note.js';
import { CompactFrontier, leafHash } from '../../verify/merkle.js';

const execFileP = promisify(execFile);

async function chattr(flag: '+i' | '-i', p: string, recursive = false): Promise<void> {
  await execFileP('chattr', recursive ? ['-R', flag, p] : [flag, p]);
}

async function cleanup(dir: string, agents: AgentProcess[] = []): Promise<void> {
  for (const a of agents) await a.kill().catch(() => undefined);
  await chattr('-i', dir, true).catch(() => undefined);
  await fs.rm(dir, { recursive: true, force: true });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const metric = (m: Map<string, number>, name: string, sink?: string): number => {
  const v = m.get(sink === undefined ? name : `${name}{sink="${sink}"}`);
  if (v === undefined) throw new Error(`metric ${name}${sink ? `{sink="${sink}"}` : ''} is missing`);
  return v;
};
const lag = (m: Map<string, number>, sink = 'file'): number => metric(m, 'sealtrail_sink_lag_entries', sink);

/** Sends one request of audit records with the given ids; true when acknowledged. */
async function send(agent: AgentProcess, ids: string[], grpc: GrpcLogsClient | null): Promise<boolean> {
  const body = encodeRequest(ids.map((id) => ({ body: `record ${id}`, attributes: { audit: true, id } })));
  try {
    if (grpc) return (await grpc.export(body, 10000)).code === 0;
    return (await postHttp(agent.http, body)).status === 200;
  } catch {
    return false;
  }
}

interface ArchivedBatch {
  start: number;
  end: number;
  entries: string;
  checkpoint: string;
}

/**
 * Checks an archive directory completely: only object names of the layout (no temp files),
 * mode 0444, exactly one entries and one checkpoint object per batch, batches contiguous from
 * 0, every checkpoint signed by `verifierKey` for `origin` with size = batch end and root =
 * the Merkle root recomputed from the archived entries, and the entries one hash chain.
 */
async function checkArchive(
  archiveDir: string,
  origin: string,
  verifierKey: string,
): Promise<{ batches: ArchivedBatch[]; lines: string[] }> {
  const key = parseVerifierKey(verifierKey);
  const byRange = new Map<string, { start: number; end: number; entries?: string; checkpoint?: string }>();
  for (const f of await listFiles(archiveDir)) {
    const p = parseObjectName(f);
    assert.ok(p, `unexpected file in the archive: ${f}`);
    assert.equal(p.origin, origin, `${f} belongs to another origin`);
    const st = await fs.stat(path.join(archiveDir, f));
    assert.equal(st.mode & 0o777, 0o444, `${f} has mode ${(st.mode & 0o777).toString(8)}`);
    const k = `${p.start}-${p.end}`;
    const b = byRange.get(k) ?? { start: p.start, end: p.end };
    if (p.kind === 'checkpoint') b.checkpoint = f;
    else {
      assert.equal(b.entries, undefined, `two entries objects for batch ${k}`);
      b.entries = f;
    }
    byRange.set(k, b);
  }
  const sorted = [...byRange.values()].sort((a, b) => a.start - b.start);
  const frontier = new CompactFrontier();
  const lines: string[] = [];
  const batches: ArchivedBatch[] = [];
  let expectStart = 0;
  for (const b of sorted) {
    assert.equal(b.start, expectStart, `batch ${b.start}-${b.end} does not follow the previous batch (expected start ${expectStart})`);
    assert.ok(b.entries, `batch ${b.start}-${b.end} has no entries object`);
    assert.ok(b.checkpoint, `batch ${b.start}-${b.end} has no checkpoint object`);
    let data = await fs.readFile(path.join(archiveDir, b.entries));
    if (b.entries.endsWith('.gz')) data = zlib.gunzipSync(data);
    const ls = data.toString('utf8').split('\n');
    assert.equal(ls.pop(), '', `${b.entries} does not end with a newline`);
    assert.equal(ls.length, b.end - b.start, `${b.entries} holds ${ls.length} lines`);
    for (const l of ls) {
      frontier.append(leafHash(Buffer.from(l, 'utf8')));
      lines.push(l);
    }
    const note = parseNote(await fs.readFile(path.join(archiveDir, b.checkpoint), 'utf8'));
    verifyNote(note, [key]); // throws unless signed by the agent's key
    const cp = parseCheckpointBody(note.text);
    assert.equal(cp.origin, origin);
    assert.equal(cp.size, b.end, `${b.checkpoint} has size ${cp.size}`);
    assert.deepEqual(
      Buffer.from(cp.root),
      Buffer.from(frontier.root()),
      `${b.checkpoint}: root differs from the root of the archived entries`,
    );
    batches.push({ start: b.start, end: b.end, entries: b.entries, checkpoint: b.checkpoint });
    expectStart = b.end;
  }
  let prev = '0'.repeat(64);
  lines.forEach((l, i) => {
    const j = JSON.parse(l) as { seq: number; prev: string };
    assert.equal(j.seq, i);
    assert.equal(j.prev, prev, `entry ${i} does not link to entry ${i - 1}`);
    prev = Buffer.from(leafHash(Buffer.from(l, 'utf8'))).toString('hex');
  });
  if (batches.length > 0) assert.equal(batches[batches.length - 1]!.end, lines.length, 'the last checkpoint covers every entry');
  return { batches, lines };
}

const appIds = (lines: string[]): string[] =>
  lines
    .map((line) => ({ line, json: JSON.parse(line) }) as Parameters<typeof isOwn>[0])
    .filter((e) => !isOwn(e))
    .map((e) => String(attr(e, 'id')));

const ownEvents = (lines: string[]): string[] =>
  lines.map((l) => (JSON.parse(l) as { record: { eventName?: string } }).record.eventName ?? '').filter((n) => n.startsWith('sealtrail.'));

const isConflictLog = (l: LogLine): boolean => l.level === 'error' && /conflict/i.test(l.msg);

describe('store and forward (real agent process)', { concurrency: true }, () => {
  for (const compression of ['none', 'gzip'] as const) {
    it(`end to end with the real OTel SDK (compression ${compression}): all records archived in verified, contiguous batches`, async () => {
      const dir = await tempDir();
      const agents: AgentProcess[] = [];
      try {
        const agent = await startAgentWith(dir, testConfig(dir, { maxRecords: 40, maxAge: '200ms', compression }));
        agents.push(agent);
        const N = 300;
        const grpc = sdkClient('grpc', agent, { batch: true, serviceName: 'e2e' });
        const http = sdkClient('http-proto', agent, { batch: true, serviceName: 'e2e' });
        for (let i = 0; i < N; i++) {
          (i % 2 === 0 ? grpc : http).logger.emit({ body: `audit event ${i}`, attributes: { audit: true, id: `e${i}` } });
        }
        await grpc.flush();
        await http.flush();
        await grpc.shutdown();
        await http.shutdown();
        assert.equal(metric(await agent.metrics(), 'sealtrail_records_accepted_total'), N);
        assert.equal(await agent.stop(), 0);

        const { batches, lines } = await checkArchive(path.join(dir, 'archive'), agent.origin, agent.verifierKey);
        assert.equal(lines.length, N + 3, 'N records plus genesis, start and stop');
        assert.deepEqual(ownEvents(lines), ['sealtrail.genesis', 'sealtrail.start', 'sealtrail.stop']);
        const ids = appIds(lines);
        assert.equal(ids.length, N);
        assert.deepEqual(new Set(ids), new Set(Array.from({ length: N }, (_, i) => `e${i}`)));
        assert.ok(batches.length >= Math.ceil(N / 40), `only ${batches.length} batches`);
        for (const b of batches) assert.ok(b.end - b.start <= 40, `batch ${b.start}-${b.end} exceeds max_records`);

        const buf = await readBuffer(path.join(dir, 'data'));
        assert.deepEqual(buf.entries, [], 'the buffer holds no entries after everything was delivered');
        assert.deepEqual(buf.batches, []);
        assert.equal(buf.head?.chain.size, lines.length);
        assert.equal(buf.head?.sealedSize, lines.length);
        assert.equal(buf.cursors.get('file'), lines.length);
        // The helper's independent view (archive ∪ buffer) agrees.
        assert.deepEqual(
          (await allEntries(dir)).map((e) => e.line),
          lines,
        );
        const suffix = compression === 'gzip' ? '.entries.jsonl.gz' : '.entries.jsonl';
        for (const b of batches) assert.ok(b.entries.endsWith(suffix), `${b.entries} for compression ${compression}`);
      } finally {
        await cleanup(dir, agents);
      }
    });
  }

  it('sink outage: records are still acknowledged, lag grows, and after healing every batch is delivered once, in order', async () => {
    const dir = await tempDir();
    const archive = path.join(dir, 'archive');
    const agents: AgentProcess[] = [];
    try {
      await fs.mkdir(archive);
      await chattr('+i', archive);
      const agent = await startAgentWith(dir, testConfig(dir, { maxRecords: 20, maxAge: '100ms' }));
      agents.push(agent);
      const grpc = new GrpcLogsClient(agent.grpc);
      const sent: string[] = [];
      const round = async (r: number): Promise<void> => {
        for (let i = 0; i < 10; i++) {
          const ids = Array.from({ length: 10 }, (_, j) => `o${r}-${i}-${j}`);
          assert.equal(await send(agent, ids, i % 2 === 0 ? grpc : null), true, 'acknowledged while the sink is down');
          sent.push(...ids);
        }
      };
      await round(0);
      const m1 = await eventually(
        async () => {
          const m = await agent.metrics();
          return metric(m, 'sealtrail_sealed_size') >= 100 && metric(m, 'sealtrail_sink_errors_total', 'file') > 0 ? m : null;
        },
        20000,
        'first batches sealed and failing',
      );
      assert.equal(lag(m1), metric(m1, 'sealtrail_sealed_size'), 'nothing delivered: lag = every sealed entry');
      await round(1);
      const m2 = await eventually(
        async () => {
          const m = await agent.metrics();
          return metric(m, 'sealtrail_sealed_size') >= 200 ? m : null;
        },
        20000,
        'second round sealed',
      );
      assert.ok(lag(m2) > lag(m1), `lag grew: ${lag(m1)} -> ${lag(m2)}`);
      assert.equal(lag(m2), metric(m2, 'sealtrail_sealed_size'));
      assert.ok(metric(m2, 'sealtrail_sink_errors_total', 'file') > 0);
      assert.equal(metric(m2, 'sealtrail_records_accepted_total'), 200);
      assert.equal(metric(m2, 'sealtrail_sink_batches_delivered_total', 'file'), 0);
      assert.deepEqual(await listFiles(archive), [], 'nothing reached the unwritable directory');

      await chattr('-i', archive);
      const healed = await eventually(
        async () => {
          const m = await agent.metrics();
          return lag(m) === 0 && metric(m, 'sealtrail_sealed_size') >= 200 ? m : null;
        },
        30000,
        'lag back to 0',
      );
      const recovered = await agent.waitForLog((l) => l.msg === 'sink recovered', 1000);
      assert.equal(recovered.batch_start, 0, 'delivery resumed with the first batch');
      grpc.close();
      assert.equal(await agent.stop(), 0);

      const { batches, lines } = await checkArchive(archive, agent.origin, agent.verifierKey);
      assert.deepEqual(appIds(lines).sort(), [...sent].sort(), 'every acknowledged record, each once');
      assert.deepEqual(ownEvents(lines), ['sealtrail.genesis', 'sealtrail.start', 'sealtrail.stop']);
      // Each batch was written once, in log order: checkpoint k is older than entries k+1.
      const ctime = async (f: string): Promise<bigint> => (await fs.stat(path.join(archive, f), { bigint: true })).ctimeNs;
      for (let i = 1; i < batches.length; i++) {
        assert.ok(
          (await ctime(batches[i - 1]!.checkpoint)) <= (await ctime(batches[i]!.entries)),
          `batch ${batches[i]!.start} was written before batch ${batches[i - 1]!.start}`,
        );
      }
      assert.ok(metric(healed, 'sealtrail_sink_batches_delivered_total', 'file') >= 1);
      const buf = await readBuffer(path.join(dir, 'data'));
      assert.deepEqual(buf.entries, []);
      assert.equal(buf.cursors.get('file'), lines.length);
    } finally {
      await cleanup(dir, agents);
    }
  });

  it('sink outage with two sinks: the good one gets everything while the bad one lags; after healing both archives are identical', async () => {
    const dir = await tempDir();
    const good = path.join(dir, 'good');
    const bad = path.join(dir, 'bad');
    const agents: AgentProcess[] = [];
    try {
      await fs.mkdir(bad);
      await chattr('+i', bad);
      const exporters = {
        yaml: `  file/good:\n    directory: ${good}\n    compression: none\n  file/bad:\n    directory: ${bad}\n    compression: none\n`,
        ids: ['file/good', 'file/bad'],
      };
      const agent = await startAgentWith(dir, testConfig(dir, { maxRecords: 20, maxAge: '100ms', exporters }));
      agents.push(agent);
      const sent: string[] = [];
      for (let i = 0; i < 15; i++) {
        const ids = Array.from({ length: 10 }, (_, j) => `t${i}-${j}`);
        assert.equal(await send(agent, ids, null), true);
        sent.push(...ids);
      }
      const m = await eventually(
        async () => {
          const x = await agent.metrics();
          return metric(x, 'sealtrail_sealed_size') >= 150 &&
            lag(x, 'file/good') === 0 &&
            metric(x, 'sealtrail_sink_errors_total', 'file/bad') > 0
            ? x
            : null;
        },
        30000,
        'good sink caught up',
      );
      assert.equal(lag(m, 'file/bad'), metric(m, 'sealtrail_sealed_size'), 'the bad sink has nothing');
      assert.equal(metric(m, 'sealtrail_sink_errors_total', 'file/good'), 0);
      assert.ok(metric(m, 'sealtrail_buffer_entries') >= 150, 'batches stay buffered until every sink has them');
      const goodNow = await checkArchive(good, agent.origin, agent.verifierKey);
      assert.equal(goodNow.lines.length, metric(m, 'sealtrail_sealed_size'));
      assert.deepEqual(await listFiles(bad), []);

      await chattr('-i', bad);
      await eventually(
        async () => {
          const x = await agent.metrics();
          return lag(x, 'file/good') === 0 && lag(x, 'file/bad') === 0;
        },
        30000,
        'both sinks caught up',
      );
      assert.equal(await agent.stop(), 0);

      const g = await checkArchive(good, agent.origin, agent.verifierKey);
      const b = await checkArchive(bad, agent.origin, agent.verifierKey);
      assert.deepEqual(appIds(g.lines).sort(), [...sent].sort());
      const files = await listFiles(good);
      assert.deepEqual(await listFiles(bad), files, 'same object names in both sinks');
      for (const f of files) {
        assert.deepEqual(await fs.readFile(path.join(bad, f)), await fs.readFile(path.join(good, f)), `${f} differs between the sinks`);
      }
      assert.deepEqual(b.lines, g.lines);
      const buf = await readBuffer(path.join(dir, 'data'));
      assert.deepEqual(buf.entries, []);
      assert.equal(buf.cursors.get('file/good'), g.lines.length);
      assert.equal(buf.cursors.get('file/bad'), g.lines.length);
    } finally {
      await cleanup(dir, agents);
    }
  });

  it('crash during delivery: SIGKILL mid-delivery, restart; the archive is complete with no partial files and no conflicting duplicates', async (t) => {
    const dir = await tempDir();
    const archive = path.join(dir, 'archive');
    const data = path.join(dir, 'data');
    const yaml = testConfig(dir, { maxRecords: 5, maxAge: '50ms' });
    const agents: AgentProcess[] = [];
    const allLogs: LogLine[] = [];
    const acked = new Set<string>();
    let nextId = 0;
    let origin = '';
    let staleTemps: string[] = [];
    const KILLS = 3;
    try {
      await fs.mkdir(archive);
      for (let round = 0; round < KILLS; round++) {
        if (round === 0) await chattr('+i', archive); // hold every batch back until we let go
        const agent = await startAgentWith(dir, yaml);
        agents.push(agent);
        if (round === 0) origin = agent.origin;
        assert.equal(agent.origin, origin);
        const leaf = path.join(archive, origin);
        if (round > 0) {
          // start-up removed the temp files the kill left behind (before it delivered anything new)
          for (const t of staleTemps) await assert.rejects(fs.stat(path.join(archive, t)), { code: 'ENOENT' }, `${t} survived the restart`);
          await chattr('+i', leaf);
        }
        // Queue up ~60 small batches while the sink is blocked.
        const grpc = new GrpcLogsClient(agent.grpc);
        for (let i = 0; i < 60; i += 4) {
          await Promise.all(
            [0, 1, 2, 3].map(async (k) => {
              const ids = Array.from({ length: 5 }, () => `c${nextId++}`);
              if (await send(agent, ids, k % 2 === 0 ? grpc : null)) for (const id of ids) acked.add(id);
            }),
          );
        }
        const before = await agent.metrics();
        assert.ok(lag(before) >= 250, `lag before letting go: ${lag(before)}`);
        const cursorBefore = metric(before, 'sealtrail_sealed_size') - lag(before);
        // Keep sending while the sink delivers, then kill when a few batches are through.
        let stop = false;
        const sender = (async () => {
          while (!stop) {
            const ids = Array.from({ length: 3 }, () => `c${nextId++}`);
            const ok = await send(agent, ids, null);
            if (ok) for (const id of ids) acked.add(id);
          }
        })();
        await chattr('-i', archive);
        if (round > 0) await chattr('-i', leaf);
        // The counter is per process, and a restarted agent may deliver some backlog before the
        // leaf is locked again: count from the snapshot, not from zero.
        const target = metric(before, 'sealtrail_sink_batches_delivered_total', 'file') + 1 + round * 4;
        await eventually(
          async () => metric(await agent.metrics(), 'sealtrail_sink_batches_delivered_total', 'file') >= target,
          30000,
          'delivery started',
        );
        stop = true;
        await agent.kill();
        await sender;
        grpc.close();
        allLogs.push(...agent.logs);

        const buf = await readBuffer(data);
        const cursor = buf.cursors.get('file') ?? 0;
        assert.ok(cursor > cursorBefore, `round ${round}: some batches were delivered (cursor ${cursorBefore} -> ${cursor})`);
        assert.ok(
          cursor < (buf.head?.sealedSize ?? 0),
          `round ${round}: the kill landed before delivery finished (cursor ${cursor}, sealed ${buf.head?.sealedSize})`,
        );
        staleTemps = (await listFiles(archive)).filter((f) => path.basename(f).startsWith('.tmp-'));
        t.diagnostic(`round ${round}: killed at cursor ${cursor} of ${buf.head?.sealedSize} sealed; ${staleTemps.length} temp files left`);
      }

      const final = await startAgentWith(dir, yaml);
      agents.push(final);
      for (const t of staleTemps) await assert.rejects(fs.stat(path.join(archive, t)), { code: 'ENOENT' }, `${t} survived the restart`);
      await eventually(async () => lag(await final.metrics()) === 0, 60000, 'final delivery');
      assert.equal(await final.stop(), 0);
      allLogs.push(...final.logs);

      const { lines } = await checkArchive(archive, origin, final.verifierKey); // no temp files, no partial or doubled objects
      const buf = await readBuffer(data);
      assert.deepEqual(buf.entries, [], 'everything was delivered');
      assert.equal(buf.cursors.get('file'), lines.length);
      assert.deepEqual(
        (await allEntries(dir)).map((e) => e.line),
        lines,
        'the archive alone holds the whole chain',
      );
      const ids = new Set(appIds(lines));
      const lost = [...acked].filter((id) => !ids.has(id));
      assert.deepEqual(lost, [], `lost ${lost.length} of ${acked.size} acknowledged records`);
      const events = ownEvents(lines);
      assert.equal(events.filter((e) => e === 'sealtrail.genesis').length, 1);
      assert.equal(events.filter((e) => e === 'sealtrail.start').length, KILLS + 1);
      assert.equal(events.filter((e) => e === 'sealtrail.stop').length, 1);
      assert.deepEqual(allLogs.filter(isConflictLog), [], 'redelivery after a crash never conflicts');
    } finally {
      await cleanup(dir, agents);
    }
  });

  it('conflict: a different file under a batch name is reported, never overwritten, and the other sink goes on', async () => {
    const dir = await tempDir();
    const archive = path.join(dir, 'archive');
    const second = path.join(dir, 'second');
    const data = path.join(dir, 'data');
    const agents: AgentProcess[] = [];
    const exporters = {
      yaml: `  file:\n    directory: ${archive}\n    compression: none\n  file/second:\n    directory: ${second}\n    compression: none\n`,
      ids: ['file', 'file/second'],
    };
    const yaml = testConfig(dir, { maxRecords: 10, maxAge: '100ms', shutdownTimeout: '1s', exporters });
    try {
      await fs.mkdir(archive);
      await chattr('+i', archive);
      const a1 = await startAgentWith(dir, yaml);
      agents.push(a1);
      for (let i = 0; i < 3; i++)
        assert.equal(
          await send(
            a1,
            Array.from({ length: 10 }, (_, j) => `k${i}-${j}`),
            null,
          ),
          true,
        );
      await eventually(
        async () => {
          const m = await a1.metrics();
          return (
            metric(m, 'sealtrail_sealed_size') >= 30 && lag(m, 'file/second') === 0 && metric(m, 'sealtrail_sink_errors_total', 'file') > 0
          );
        },
        20000,
        'file sink failing, second sink caught up',
      );
      assert.equal(await a1.stop(), 0);

      const before = await readBuffer(data);
      const first = [...before.batches].sort((x, y) => x.start - y.start)[0];
      assert.ok(first, 'undelivered batches stay in the buffer');
      assert.equal(first.start, 0);
      assert.equal(before.cursors.get('file'), 0);
      const name = entriesObjectName(a1.origin, first.start, first.end, false);

      await chattr('-i', archive);
      const planted = path.join(archive, name);
      await fs.mkdir(path.dirname(planted), { recursive: true });
      const plantedBytes = Buffer.from('{"planted":"not the agent\'s batch"}\n');
      await fs.writeFile(planted, plantedBytes);
      const plantedIno = (await fs.stat(planted)).ino;

      const a2 = await startAgentWith(dir, yaml);
      agents.push(a2);
      const conflict = await a2.waitForLog(isConflictLog, 20000);
      assert.equal(conflict.sink, 'file');
      assert.equal(conflict.batch_start, 0);
      const m = await eventually(
        async () => {
          const x = await a2.metrics();
          return metric(x, 'sealtrail_sink_conflict', 'file') === 1 ? x : null;
        },
        10000,
        'conflict gauge',
      );
      assert.equal(metric(m, 'sealtrail_sink_conflict', 'file/second'), 0);

      // The healthy sink keeps delivering new batches.
      for (let i = 0; i < 2; i++)
        assert.equal(
          await send(
            a2,
            Array.from({ length: 10 }, (_, j) => `n${i}-${j}`),
            null,
          ),
          true,
        );
      const m2 = await eventually(
        async () => {
          const x = await a2.metrics();
          return metric(x, 'sealtrail_sealed_size') >= first.end + 20 && lag(x, 'file/second') === 0 ? x : null;
        },
        20000,
        'second sink delivers after the conflict',
      );
      assert.equal(lag(m2, 'file'), metric(m2, 'sealtrail_sealed_size'), 'the conflicted sink did not move');
      assert.equal(metric(m2, 'sealtrail_sink_conflict', 'file'), 1);
      assert.equal(await a2.stop(), 0);

      assert.deepEqual(await fs.readFile(planted), plantedBytes, 'the planted file was not modified');
      assert.equal((await fs.stat(planted)).ino, plantedIno, 'the planted file was not replaced');
      assert.deepEqual(await listFiles(archive), [name], 'nothing else was written to the conflicted sink (no checkpoint for the batch)');

      const after = await readBuffer(data);
      assert.deepEqual(
        after.batches.find((b) => b.start === first.start),
        first,
        'the conflicted batch is still in the buffer, unchanged',
      );
      assert.equal(after.cursors.get('file'), 0, 'the conflicted sink cursor did not pass the batch');
      for (let s = first.start; s < first.end; s++)
        assert.ok(
          after.entries.some((e) => e.seq === s),
          `entry ${s} stays buffered`,
        );
      const s2 = await checkArchive(second, a2.origin, a2.verifierKey);
      assert.equal(after.cursors.get('file/second'), s2.lines.length);
      assert.deepEqual(
        (await allEntries(dir, second)).map((e) => e.line),
        s2.lines,
        'the second sink has the whole chain',
      );
      const ids = appIds(s2.lines);
      assert.equal(ids.length, 50);
    } finally {
      await cleanup(dir, agents);
    }
  });

  it('full buffer with the real OTel SDK: refusals are retryable, the SDK retries succeed after the sink heals, and records in = records out', async (t) => {
    const dir = await tempDir();
    const archive = path.join(dir, 'archive');
    const agents: AgentProcess[] = [];
    try {
      await fs.mkdir(archive);
      await chattr('+i', archive);
      const agent = await startAgentWith(
        dir,
        testConfig(dir, { bufferMaxSize: '64KiB', maxBytes: '16KiB', maxRecords: 20, maxAge: '100ms' }),
      );
      agents.push(agent);

      // Accepted before the buffer fills (raw clients: we know exactly what was acknowledged).
      const grpc = new GrpcLogsClient(agent.grpc);
      const early = ['pre-0', 'pre-1', 'pre-2', 'pre-3', 'pre-4', 'pre-5'];
      assert.equal(await send(agent, early.slice(0, 3), grpc), true);
      assert.equal(await send(agent, early.slice(3), null), true);

      // The SDK, through its real OTLP/HTTP exporter, counted per record by the export callback.
      const counting = new CountingExporter(makeExporter('http-proto', agent));
      const provider = new LoggerProvider({
        resource: resourceFromAttributes({ 'service.name': 'full-buffer' }),
        processors: [new SimpleLogRecordProcessor({ exporter: counting })],
      });
      const logger = provider.getLogger('full-buffer', '1');
      const filler = 'x'.repeat(300);
      let emitted = 0;
      let refused = 0;
      while (refused === 0 && emitted < 3000) {
        for (let i = 0; i < 5; i++) logger.emit({ body: `${filler} ${emitted}`, attributes: { audit: true, id: `s${emitted++}` } });
        await sleep(20);
        refused = metric(await agent.metrics(), 'sealtrail_records_refused_total');
      }
      assert.ok(refused > 0, `the agent never refused (emitted ${emitted})`);

      // The refusals, seen on the wire: retryable codes with a retry hint.
      const refusedIds = ['refused-grpc', 'refused-http'];
      const body = (id: string): Buffer => encodeRequest([{ body: filler, attributes: { audit: true, id } }]);
      const g = await grpc.export(body(refusedIds[0]!));
      assert.equal(g.code, 14, `gRPC refusal is UNAVAILABLE, got ${g.code} ${g.details}`);
      const h = await postHttp(agent.http, body(refusedIds[1]!));
      assert.ok(h.status === 503 || h.status === 429, `HTTP refusal status ${h.status}`);
      const retryAfter = h.headers.get('retry-after');
      assert.ok(retryAfter !== null && /^\d+$/.test(retryAfter), `Retry-After: ${retryAfter}`);

      // The gRPC exporter of this SDK (0.223) does not retry at all: whatever it reports as
      // failed must simply not be in the archive, and the same accounting must hold.
      const grpcCounting = new CountingExporter(makeExporter('grpc', agent));
      const grpcProvider = new LoggerProvider({
        resource: resourceFromAttributes({ 'service.name': 'full-buffer-grpc' }),
        processors: [new SimpleLogRecordProcessor({ exporter: grpcCounting })],
      });
      const grpcLogger = grpcProvider.getLogger('full-buffer', '1');
      const grpcEmitted = 5;
      for (let i = 0; i < grpcEmitted; i++) grpcLogger.emit({ body: filler, attributes: { audit: true, id: `g${i}` } });
      await eventually(
        () => grpcCounting.pending === 0 && grpcCounting.ok.size + grpcCounting.failed.size === grpcEmitted,
        30000,
        'gRPC SDK exports settled',
      );

      // Heal the sink well within the SDK's retry window (one retry after Retry-After seconds,
      // inside its 10 s export timeout).
      await chattr('-i', archive);
      await eventually(() => counting.pending === 0, 60000, 'every SDK export settled');
      await provider.forceFlush();
      await provider.shutdown();
      await grpcProvider.shutdown();
      grpc.close();
      await eventually(async () => lag(await agent.metrics()) === 0, 30000, 'sink caught up');
      const end = await agent.metrics();
      const accepted = metric(end, 'sealtrail_records_accepted_total');
      // `refused` records of the HTTP SDK were refused before we healed; failed is 0 below, so
      // the SDK's own retries delivered them.
      t.diagnostic(
        `HTTP SDK: emitted ${emitted}, refused at least once ${refused}, exported ${counting.ok.size}, failed ${counting.failed.size}; ` +
          `gRPC SDK while full: emitted ${grpcEmitted}, exported ${grpcCounting.ok.size}, failed ${grpcCounting.failed.size}`,
      );
      assert.equal(await agent.stop(), 0);

      const { lines } = await checkArchive(archive, agent.origin, agent.verifierKey);
      const ids = appIds(lines);
      assert.equal(new Set(ids).size, ids.length, 'no record archived twice');
      const sdkArchived = ids.filter((id) => id.startsWith('s'));
      assert.equal(counting.ok.size + counting.failed.size, emitted, 'the SDK reported on every record');
      assert.deepEqual(new Set(sdkArchived), counting.ok, 'archived = what the SDK reported as exported');
      assert.equal(emitted, sdkArchived.length + counting.failed.size, 'emitted == archived + failed');
      assert.equal(counting.failed.size, 0, `the SDK gave up on ${counting.failed.size} records`);
      const grpcArchived = ids.filter((id) => id.startsWith('g'));
      assert.deepEqual(new Set(grpcArchived), grpcCounting.ok, 'gRPC SDK: archived = reported as exported');
      assert.equal(grpcEmitted, grpcArchived.length + grpcCounting.failed.size, 'gRPC SDK: emitted == archived + failed');
      for (const id of early) assert.ok(ids.includes(id), `${id} (accepted before the buffer filled) is archived`);
      for (const id of refusedIds) assert.ok(!ids.includes(id), `${id} was refused and is not archived`);
      assert.equal(ids.length, accepted, 'every acknowledged record is archived');
      const buf = await readBuffer(path.join(dir, 'data'));
      assert.deepEqual(buf.entries, []);
    } finally {
      await cleanup(dir, agents);
    }
  });
});

/** Wraps the SDK's real exporter to count, per record id, what it reported as exported or failed. */
class CountingExporter implements LogRecordExporter {
  readonly ok = new Set<string>();
  readonly failed = new Set<string>();
  pending = 0;
  constructor(private readonly inner: LogRecordExporter) {}
  export(records: ReadableLogRecord[], done: Parameters<LogRecordExporter['export']>[1]): void {
    this.pending++;
    this.inner.export(records, (result) => {
      this.pending--;
      for (const r of records) ((result.code as number) === 0 ? this.ok : this.failed).add(r.attributes['id'] as string);
      done(result);
    });
  }
  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}
