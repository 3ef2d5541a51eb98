// Scenario: ceilings for the durable ingest, measured in the same run so that the agent's
// figures can be read as ratios that compare across machines.
//  (a) decode + acknowledge: the real receivers and decoder in a child process with an
//      Ingestor that only counts (no chain, no fsync, no seal);
//  (b) raw synced LevelDB: the same entry lines (taken from the archive the agent wrote)
//      put with batch(ops, { sync: true }), group-committed the way the buffer writer does it:
//      `concurrency` producers of `recordsPerRequest` lines, whatever queued while a write was
//      in flight goes into the next single batch, up to 4 MiB of lines. Two layouts: values of
//      up to 256 KiB per group commit (the buffer's segments) and one key per entry (the
//      buffer's earlier layout).
import type { RecordShape } from './lib/requests.js';
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ClassicLevel } from '../agent/buffer/level.js';
import { pos } from '../verify/layout.js';
import { DB_OPTIONS } from '../agent/buffer/store.js';
import { COMMIT_MAX_BYTES, SEGMENT_MAX_BYTES } from '../agent/buffer/writer.js';
import { runLoad } from './lib/load.js';
import { cpuSeconds, memory } from './lib/proc-stats.js';
import { latencySummary, type Latency } from './lib/stats.js';
import { listFiles } from '../test/helpers/entries.js';

export interface DecodeCeilingResult {
  transport: 'grpc' | 'http';
  recordsPerSec: number;
  latency: Latency;
  cpuSecPerMillion: number;
  peakRssBytes: number;
}

export async function decodeAckCeiling(o: {
  transport: 'grpc' | 'http';
  concurrency: number;
  recordsPerRequest: number;
  shape: RecordShape;
  durationMs: number;
  warmupMs: number;
}): Promise<DecodeCeilingResult> {
  const server = path.join(path.dirname(fileURLToPath(import.meta.url)), 'lib', 'ceiling-server.js');
  const child = spawn(process.execPath, [server], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((r) => child.once('exit', r));
  try {
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout }).once('line', resolve);
      child.once('exit', (c) => reject(new Error(`ceiling server exited with ${c}`)));
    });
    const addrs = JSON.parse(line) as { grpc: string; http: string };
    const pid = child.pid!;
    let cpu0 = 0;
    const load = await runLoad(
      {
        transport: o.transport,
        addr: addrs[o.transport],
        mode: 'closed',
        concurrency: o.concurrency,
        recordsPerRequest: o.recordsPerRequest,
        shape: o.shape,
        warmupMs: o.warmupMs,
        durationMs: o.durationMs,
      },
      { onMeasureStart: () => (cpu0 = cpuSeconds(pid)) },
    );
    const cpu = cpuSeconds(pid) - cpu0;
    return {
      transport: o.transport,
      recordsPerSec: load.okRecords / load.seconds,
      latency: latencySummary(load.latenciesMs),
      cpuSecPerMillion: (cpu / load.okRecords) * 1e6,
      peakRssBytes: memory(pid).hwm,
    };
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

/** Up to `max` entry lines from an archive directory written by the agent. */
export async function archiveLines(archiveDir: string, max: number): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (const name of await listFiles(archiveDir)) {
    if (!name.endsWith('.entries.jsonl')) continue;
    const lines = (await fs.readFile(path.join(archiveDir, name), 'utf8')).split('\n');
    for (const l of lines) if (l !== '' && !l.includes('"sealtrail.')) out.push(Buffer.from(l, 'utf8'));
    if (out.length >= max) break;
  }
  return out.slice(0, max);
}

const NL = Buffer.from('\n');

export interface LevelCeilingResult {
  recordsPerSec: number;
  batchesPerSec: number;
  meanBatchRecords: number;
  latency: Latency; // per producer chunk, enqueue to durable
}

const entryKey = (seq: number): string => `e!${pos(seq)}`;

/** One commit's entry puts as the buffer stores them: segments cut once they reach SEGMENT_MAX_BYTES. */
function asSegments(ops: Array<{ type: 'put'; key: string; value: Buffer }>): Array<{ type: 'put'; key: string; value: Buffer }> {
  const out: Array<{ type: 'put'; key: string; value: Buffer }> = [];
  let parts: Buffer[] = [];
  let key = '';
  let bytes = 0;
  for (const op of ops) {
    if (parts.length === 0) key = op.key;
    parts.push(op.value, NL);
    bytes += op.value.length + 1;
    if (bytes >= SEGMENT_MAX_BYTES) {
      out.push({ type: 'put', key, value: Buffer.concat(parts) });
      parts = [];
      bytes = 0;
    }
  }
  if (parts.length > 0) out.push({ type: 'put', key, value: Buffer.concat(parts) });
  return out;
}

export async function leveldbCeiling(o: {
  lines: Buffer[];
  concurrency: number;
  recordsPerRequest: number;
  durationMs: number;
  warmupMs: number;
  segments: boolean;
}): Promise<LevelCeilingResult> {
  if (o.lines.length === 0) throw new Error('no entry lines for the LevelDB ceiling');
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sealtrail-bench-level-'));
  const db = new ClassicLevel<string, Buffer>(dir, DB_OPTIONS);
  await db.open();
  type Job = { ops: Array<{ type: 'put'; key: string; value: Buffer }>; done: () => void };
  let queue: Job[] = [];
  let running = false;
  let seq = 0;
  let li = 0;
  let batches = 0;
  let batchRecords = 0;
  let measuring = false;
  const drain = async (): Promise<void> => {
    running = true;
    while (queue.length > 0) {
      // As the buffer's writer: jobs in order while their lines fit in COMMIT_MAX_BYTES, at least one.
      let n = 0;
      let bytes = 0;
      for (; n < queue.length; n++) {
        let size = 0;
        for (const op of queue[n]!.ops) size += op.value.length;
        if (n > 0 && bytes + size > COMMIT_MAX_BYTES) break;
        bytes += size;
      }
      const jobs = queue.slice(0, n);
      queue = queue.slice(n);
      let ops = jobs.flatMap((j) => j.ops);
      const entries = ops.length;
      if (o.segments) ops = asSegments(ops);
      ops.push({ type: 'put', key: 'h!head', value: Buffer.from(`{"size":${seq}}`) });
      await db.batch(ops, { sync: true });
      if (measuring) {
        batches++;
        batchRecords += entries;
      }
      for (const j of jobs) j.done();
    }
    running = false;
  };
  const put = (n: number): Promise<void> =>
    new Promise((resolve) => {
      const ops: Job['ops'] = [];
      for (let i = 0; i < n; i++) ops.push({ type: 'put', key: entryKey(seq++), value: o.lines[li++ % o.lines.length]! });
      queue.push({ ops, done: resolve });
      if (!running) void drain();
    });
  const t0 = performance.now();
  const from = t0 + o.warmupMs;
  const end = from + o.durationMs;
  let records = 0;
  const lat: number[] = [];
  await Promise.all(
    Array.from({ length: o.concurrency }, async () => {
      while (performance.now() < end) {
        const s = performance.now();
        if (s >= from) measuring = true;
        await put(o.recordsPerRequest);
        if (s >= from && performance.now() <= end) {
          records += o.recordsPerRequest;
          lat.push(performance.now() - s);
        }
      }
    }),
  );
  await db.close();
  await fs.rm(dir, { recursive: true, force: true });
  const secs = o.durationMs / 1000;
  return {
    recordsPerSec: records / secs,
    batchesPerSec: batches / secs,
    meanBatchRecords: batchRecords / Math.max(1, batches),
    latency: latencySummary(lat),
  };
}
