// The outage soak: under load, the file sink's directory becomes unwritable (chattr +i, so
// this needs root and a filesystem with inode flags), the buffer fills, the agent starts
// refusing (backpressure), then the directory is made writable again and the backlog drains.
// Finally a graceful stop, verify, and every acknowledged id must be in the archive.
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { startBenchAgent } from '../lib/agent.js';
import { RssSampler } from '../lib/proc-stats.js';
import { IdSet, account, type Accounting } from './ids.js';
import { startSenders, type IdSource } from './senders.js';
import { verifyDir } from './verify-dir.js';

export interface SoakOutageOptions {
  bufferMaxSize?: string; // default 128MiB, so that it fills within seconds
  outageAfterRefusalMs?: number; // how long the outage lasts once refusals started (default 5 s)
  maxOutageMs?: number; // give up waiting for refusals after this long (default 120 s)
  senders?: number;
  recordsPerRequest?: number;
  log?: (m: string) => void;
}

export interface SoakOutageResult extends Accounting {
  bufferMaxBytes: number;
  peakBufferBytes: number;
  peakBufferEntries: number;
  secondsToFill: number; // outage start -> first refusal
  refusedRequests: number;
  ackedDuringOutage: number;
  drainSeconds: number; // sink restored -> sealed backlog delivered (lag 0)
  peakRssBytes: number;
  verifyOk: boolean;
  verifyProblems: string[];
  line: string;
}

const chattr = (flag: '+i' | '-i', dir: string): void => {
  execFileSync('chattr', ['-R', flag, dir], { stdio: 'ignore' });
};

export async function soakOutage(o: SoakOutageOptions = {}): Promise<SoakOutageResult> {
  const log = o.log ?? (() => undefined);
  const acked = new IdSet();
  const ids: IdSource = { next: 0 };
  const bufferMaxSize = o.bufferMaxSize ?? '128MiB';
  const b = await startBenchAgent({ bufferMaxSize, retryInitial: '200ms', retryMax: '1s', shutdownTimeout: '120s' });
  const metric = async (name: string): Promise<number> => (await b.agent.metrics()).get(name) ?? NaN;
  const lag = async (): Promise<number> => {
    const m = await b.agent.metrics();
    for (const [k, v] of m) if (k.startsWith('sealtrail_sink_lag_entries')) return v;
    return NaN;
  };
  let immutable = false;
  const restore = (): void => {
    if (immutable) chattr('-i', b.archiveDir);
    immutable = false;
  };
  const onSignal = (): void => {
    restore();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  const rss = new RssSampler(b.agent.proc.pid!, 100);
  let peakBytes = 0;
  let peakEntries = 0;
  const watch = setInterval(() => {
    void b.agent.metrics().then(
      (m) => {
        peakBytes = Math.max(peakBytes, m.get('sealtrail_buffer_bytes') ?? 0);
        peakEntries = Math.max(peakEntries, m.get('sealtrail_buffer_entries') ?? 0);
      },
      () => undefined,
    );
  }, 100);
  try {
    const load = startSenders(b.agent, {
      senders: o.senders ?? 4,
      recordsPerRequest: o.recordsPerRequest ?? 200,
      recordBytes: 250,
      ids,
      acked,
      pauseOnRefusalMs: 100,
    });
    await sleep(2000);
    await fs.mkdir(b.archiveDir, { recursive: true });
    chattr('+i', b.archiveDir);
    immutable = true;
    const outageStart = performance.now();
    const ackedBefore = acked.size;
    log(`sink directory made immutable; ${acked.size} records acked before`);
    const deadline = outageStart + (o.maxOutageMs ?? 120_000);
    while (load.stats.refused === 0 && performance.now() < deadline) await sleep(50);
    const secondsToFill = (performance.now() - outageStart) / 1000;
    if (load.stats.refused === 0) log(`no refusal within ${(o.maxOutageMs ?? 120_000) / 1000} s`);
    else log(`refusals started after ${secondsToFill.toFixed(1)} s; buffer ${(peakBytes / 1048576).toFixed(0)} MiB`);
    await sleep(o.outageAfterRefusalMs ?? 5000);
    const ackedDuringOutage = acked.size - ackedBefore;
    const refusedRequests = load.stats.refused;
    await load.stop();
    restore();
    const restoredAt = performance.now();
    log(`sink restored; sink lag ${await lag()} entries, buffer ${((await metric('sealtrail_buffer_bytes')) / 1048576).toFixed(0)} MiB`);
    while ((await lag()) > 0 && performance.now() < restoredAt + 300_000) await sleep(50);
    const drainSeconds = (performance.now() - restoredAt) / 1000;
    log(
      `backlog delivered in ${drainSeconds.toFixed(1)} s; buffer now ${((await metric('sealtrail_buffer_bytes')) / 1048576).toFixed(1)} MiB`,
    );
    const peakRssBytes = rss.stop();
    const code = await b.agent.stop();
    if (code !== 0) throw new Error(`graceful stop exited with ${code}`);
    const v = await verifyDir(b.archiveDir, b.agent.verifierKey);
    const a = await account(acked, b.archiveDir);
    const line = `peak_buffer=${(peakBytes / 1048576).toFixed(1)}MiB refused_requests=${refusedRequests} drain=${drainSeconds.toFixed(1)}s acked=${a.acked} archived=${a.archived} lost=${a.lost} duplicates=${a.duplicates} verify=${v.ok ? 'ok' : 'failed'}`;
    return {
      ...a,
      bufferMaxBytes: parseSize(bufferMaxSize),
      peakBufferBytes: peakBytes,
      peakBufferEntries: peakEntries,
      secondsToFill,
      refusedRequests,
      ackedDuringOutage,
      drainSeconds,
      peakRssBytes,
      verifyOk: v.ok,
      verifyProblems: v.problems,
      line,
    };
  } finally {
    clearInterval(watch);
    rss.stop();
    restore();
    process.removeListener('SIGINT', onSignal);
    await b.agent.kill();
    await fs.rm(b.dir, { recursive: true, force: true });
  }
}

function parseSize(s: string): number {
  const m = /^(\d+)(KiB|MiB|GiB)?$/.exec(s);
  if (!m) return NaN;
  return Number(m[1]) * (({ KiB: 1024, MiB: 1048576, GiB: 1073741824 } as Record<string, number>)[m[2] ?? ''] ?? 1);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
