// The storage-fault soak: under load, SIGKILL the agent, then damage its buffer the way a bad
// disk or a careless restore would (truncate, scribble over or delete the newest LevelDB log),
// restart, and repeat. At the end every acknowledged id must be in the verified archive, or be
// covered by a loss the chain records (a successor genesis naming the origin and a lost range);
// a loss nothing records is silent, and a conflicting checkpoint is a fork. Both must be 0.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { randomBytes, randomInt } from 'node:crypto';
import { startBenchAgent } from '../lib/agent.js';
import { IdSet, archivedIdCounts } from './ids.js';
import { startSenders, type IdSource } from './senders.js';
import { listFiles } from '../../test/helpers/entries.js';
import { parseObjectName } from '../../verify/layout.js';
import { DirArchiveReader } from '../../verify/dir-archive.js';
import { parseVerifierKey } from '../../verify/note.js';
import { verifyArchive } from '../../verify/verifier.js';

export type Fault = 'none' | 'truncate-log' | 'scribble-log' | 'delete-log';
const FAULTS: Fault[] = ['none', 'truncate-log', 'scribble-log', 'delete-log'];

export interface SoakFaultsOptions {
  rounds: number;
  minRunMs?: number;
  maxRunMs?: number;
  log?: (m: string) => void;
}

export interface SoakFaultsResult {
  acked: number;
  archived: number;
  lost: number;
  recordedLoss: number; // lost ids covered by a loss a successor genesis records
  flagged: number; // lost ids of a chain that ends without a stop entry and that no successor names (verify reports it)
  silent: number; // lost ids nothing accounts for
  forks: number;
  origins: number;
  verifyProblems: string[];
  faults: Record<Fault, number>;
  line: string;
}

async function damage(bufferDir: string, fault: Fault): Promise<string> {
  if (fault === 'none') return 'none';
  const logs = (await fs.readdir(bufferDir).catch(() => [] as string[])).filter((f) => f.endsWith('.log')).sort();
  const newest = logs[logs.length - 1];
  if (newest === undefined) return `${fault}: no log`;
  const file = path.join(bufferDir, newest);
  const size = (await fs.stat(file)).size;
  if (fault === 'delete-log') {
    await fs.rm(file);
    return `deleted ${newest} (${size} B)`;
  }
  if (fault === 'truncate-log') {
    const to = size === 0 ? 0 : randomInt(size);
    await fs.truncate(file, to);
    return `truncated ${newest} ${size} -> ${to} B`;
  }
  if (size === 0) return `scribble: ${newest} empty`;
  const at = randomInt(size);
  const n = Math.min(size - at, 1 + randomInt(512));
  const fh = await fs.open(file, 'r+');
  await fh.write(randomBytes(n), 0, n, at);
  await fh.close();
  return `scribbled ${n} B at ${at} of ${newest}`;
}

interface ArchiveFacts {
  /** origin -> acknowledged entries of it that a successor genesis records as lost. */
  recorded: Map<string, number>;
  /** Origins whose last archived entry is a stop entry. */
  stopped: Set<string>;
  /** Origins with at least one archived batch. */
  present: Set<string>;
}

async function archiveFacts(archiveDir: string): Promise<ArchiveFacts> {
  const recorded = new Map<string, number>();
  const stopped = new Set<string>();
  const last = new Map<string, { end: number; name: string }>();
  const names = await listFiles(archiveDir);
  for (const name of names) {
    const p = parseObjectName(name);
    if (p && p.kind === 'entries' && (last.get(p.origin)?.end ?? -1) < p.end) last.set(p.origin, { end: p.end, name });
  }
  for (const [origin, { name }] of last) {
    const lines = (await fs.readFile(path.join(archiveDir, name), 'utf8')).trimEnd().split('\n');
    if (/"eventName":"sealtrail\.stop"/.test(lines[lines.length - 1]!)) stopped.add(origin);
  }
  for (const name of names) {
    const p = parseObjectName(name);
    if (!p || p.kind !== 'entries' || p.start !== 0) continue;
    const first = (await fs.readFile(path.join(archiveDir, name), 'utf8')).split('\n', 1)[0]!;
    const rec = (
      JSON.parse(first) as { record: { eventName?: string; attributes?: Array<{ key: string; value: Record<string, string> }> } }
    ).record;
    if (rec.eventName !== 'sealtrail.genesis') continue;
    const a = (k: string): string | undefined => {
      const v = rec.attributes?.find((x) => x.key === k)?.value;
      return v === undefined ? undefined : Object.values(v)[0];
    };
    const prev = a('sealtrail.previous_origin');
    if (!prev) continue;
    const lost = Number(a('sealtrail.lost_to') ?? 0) - Number(a('sealtrail.lost_from') ?? 0);
    recorded.set(prev, (recorded.get(prev) ?? 0) + lost);
  }
  return { recorded, stopped, present: new Set(last.keys()) };
}

export async function soakFaults(o: SoakFaultsOptions): Promise<SoakFaultsResult> {
  const log = o.log ?? (() => undefined);
  const ids: IdSource = { next: 0 };
  const all = new IdSet();
  const byOrigin = new Map<string, IdSet>();
  const faults: Record<Fault, number> = { none: 0, 'truncate-log': 0, 'scribble-log': 0, 'delete-log': 0 };
  const b = await startBenchAgent({ shutdownTimeout: '60s' });
  const load = (acked: IdSet) => ({ senders: 4, recordsPerRequest: 50, recordBytes: 250, ids, acked });
  try {
    for (let k = 1; k <= o.rounds; k++) {
      if (k > 1) await b.restart();
      const origin = b.agent.origin;
      const acked = new IdSet();
      const running = startSenders(b.agent, load(acked));
      await new Promise((r) => setTimeout(r, (o.minRunMs ?? 300) + Math.random() * ((o.maxRunMs ?? 1500) - (o.minRunMs ?? 300))));
      b.agent.proc.kill('SIGKILL');
      await running.stop();
      await b.agent.kill();
      const set = byOrigin.get(origin) ?? new IdSet();
      for (const id of acked) {
        set.add(id);
        all.add(id);
      }
      byOrigin.set(origin, set);
      const fault = FAULTS[randomInt(FAULTS.length)]!;
      faults[fault]++;
      log(`round ${k}/${o.rounds}: ${acked.size} acked on ${origin.slice(-8)}; ${await damage(b.bufferDir, fault)}`);
    }
    await b.restart();
    const code = await b.agent.stop();
    if (code !== 0) throw new Error(`graceful stop exited with ${code}`);

    const key = parseVerifierKey(b.agent.verifierKey);
    const v = await verifyArchive(new DirArchiveReader(b.archiveDir), { keys: [key] });
    const forks = v.problems.filter((p) => /FORK|OVERLAPPING|CONFLICT/.test(p.code)).length;
    const counts = await archivedIdCounts(b.archiveDir);
    const facts = await archiveFacts(b.archiveDir);
    let lost = 0;
    let recordedLoss = 0;
    let flagged = 0;
    let silent = 0;
    for (const [origin, set] of byOrigin) {
      let lostHere = 0;
      for (const id of set) if (!counts.has(id)) lostHere++;
      // A recorded range counts entries (own ones too); it can cover at most that many ids.
      const covered = Math.min(lostHere, facts.recorded.get(origin) ?? 0);
      lost += lostHere;
      recordedLoss += covered;
      // The rest is not silent when the chain visibly ends without a stop entry and no
      // successor names it (its successor's genesis was lost too): verify reports that chain.
      const open = facts.present.has(origin) && !facts.stopped.has(origin) && !facts.recorded.has(origin);
      if (open) flagged += lostHere - covered;
      else silent += lostHere - covered;
    }
    const line = `acked=${all.size} archived=${counts.size} lost=${lost} recorded_loss=${recordedLoss} flagged=${flagged} silent=${silent} forks=${forks} origins=${v.origins.length}`;
    return {
      acked: all.size,
      archived: counts.size,
      lost,
      recordedLoss,
      flagged,
      silent,
      forks,
      origins: v.origins.length,
      verifyProblems: v.problems.map((p) => `${p.code}: ${p.message}`),
      faults,
      line,
    };
  } finally {
    await b.agent.kill();
    await fs.rm(b.dir, { recursive: true, force: true });
  }
}
