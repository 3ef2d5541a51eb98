// The crash soak: under continuous load, SIGKILL the agent at random moments K times and
// restart it on the same directory; then stop it gracefully, verify the archive with the
// verifier library and check that every acknowledged id is in it.
import { promises as fs } from 'node:fs';
import { startBenchAgent } from '../lib/agent.js';
import { IdSet, account, type Accounting } from './ids.js';
import { startSenders, type IdSource } from './senders.js';
import { verifyDir } from './verify-dir.js';

export interface SoakCrashOptions {
  kills: number;
  senders?: number; // default 4 (2 gRPC, 2 HTTP)
  recordsPerRequest?: number; // default 100
  recordBytes?: number; // default 250
  minRunMs?: number; // a kill lands between min and max after the agent is ready
  maxRunMs?: number;
  log?: (m: string) => void;
}

export interface SoakCrashResult extends Accounting {
  verifyOk: boolean;
  verifyProblems: string[];
  verifiedEntries: number;
  killsWithRequestsInFlight: number;
  seconds: number;
  line: string;
}

export async function soakCrash(o: SoakCrashOptions): Promise<SoakCrashResult> {
  const log = o.log ?? (() => undefined);
  const t0 = performance.now();
  const acked = new IdSet();
  const ids: IdSource = { next: 0 };
  const minRun = o.minRunMs ?? 200;
  const maxRun = o.maxRunMs ?? 2000;
  const load = { senders: o.senders ?? 4, recordsPerRequest: o.recordsPerRequest ?? 100, recordBytes: o.recordBytes ?? 250, ids, acked };
  const b = await startBenchAgent({ shutdownTimeout: '120s' });
  const origin = b.agent.origin;
  let killsWithRequestsInFlight = 0;
  try {
    for (let k = 1; k <= o.kills; k++) {
      if (k > 1) await b.restart();
      if (b.agent.origin !== origin) throw new Error(`restart ${k} started a new chain (${b.agent.origin}), not ${origin}`);
      const running = startSenders(b.agent, load);
      const runMs = minRun + Math.random() * (maxRun - minRun);
      await new Promise((r) => setTimeout(r, runMs));
      const inFlight = running.stats.inFlight;
      if (inFlight > 0) killsWithRequestsInFlight++;
      b.agent.proc.kill('SIGKILL');
      await running.stop();
      await b.agent.kill(); // waits for the exit
      log(`kill ${k}/${o.kills} after ${Math.round(runMs)} ms with ${inFlight} requests in flight; acked so far ${acked.size}`);
    }
    // Last run: some load, then a graceful stop that seals and delivers everything.
    await b.restart();
    const running = startSenders(b.agent, load);
    await new Promise((r) => setTimeout(r, minRun));
    await running.stop();
    const code = await b.agent.stop();
    if (code !== 0) throw new Error(`graceful stop exited with ${code}`);
    const v = await verifyDir(b.archiveDir, b.agent.verifierKey);
    const a = await account(acked, b.archiveDir);
    const verifyOk = v.ok;
    const line = `acked=${a.acked} archived=${a.archived} lost=${a.lost} duplicates=${a.duplicates} verify=${verifyOk ? 'ok' : 'failed'}`;
    if (a.lost > 0) log(`lost ids (first 10): ${a.lostSample.join(', ')}`);
    if (!verifyOk) log(`verify problems: ${v.problems.join('; ')} (origins ${v.origins})`);
    log(
      `${v.entries} entries verified; ${killsWithRequestsInFlight} of ${o.kills} kills landed with requests in flight; ${((performance.now() - t0) / 1000).toFixed(0)} s`,
    );
    return {
      ...a,
      verifyOk,
      verifyProblems: v.problems,
      verifiedEntries: v.entries,
      killsWithRequestsInFlight,
      seconds: (performance.now() - t0) / 1000,
      line,
    };
  } finally {
    await b.agent.kill();
    await fs.rm(b.dir, { recursive: true, force: true });
  }
}
