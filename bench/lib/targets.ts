// The issue-11 targets and how one bench run compares with them: a row per target with the
// figure, the target, figure / target and whether it is met. A target whose row the run did not
// include (e.g. `--records 500` only) reads 'n/a (not run)'.
import type { IngestResult } from './ingest.js';
import type { OpenLoopStep, OpenLoopTarget } from '../latency-open-loop.js';
import { shapeLabel } from './requests.js';
import { fmtInt, fmtMiB, fmtMs } from './stats.js';

const MiB = 1048576;
const RECORDS_PER_SEC = 100_000;
const STRETCH_RECORDS_PER_SEC = 150_000;
const DELIVERED_SHARE = 0.98; // delivered within 2 % of acknowledged: the window's edges differ slightly
const CPU_SEC_PER_MILLION = 12;
const P99_AT_FIXED_MS = 30;
const P99_AT_HALF_MS = 50;
const RSS_AT_FIXED = 200 * MiB;
const RSS_ANY = 300 * MiB;
const NOT_RUN = 'n/a (not run)';

/** The issue-11 request sizes (records per request) of the realistic profile. */
export const TARGET_RECORDS = [500, 2000];
/** The fixed open-loop step, run first on a fresh agent. */
export const FIXED_STEP: OpenLoopTarget = { label: '25,000/s', recordsPerSec: 25_000 };
export const fractionLabel = (f: number): string => `${Math.round(f * 100)} %`;

export const transportName = (t: 'grpc' | 'http'): string => (t === 'grpc' ? 'gRPC' : 'HTTP');
export const rowLabel = (r: IngestResult): string =>
  `${transportName(r.spec.transport)} ${r.spec.recordsPerRequest} x ${shapeLabel(r.spec.shape)}`;
export const isRealistic = (r: IngestResult): boolean => r.spec.shape === 'audit' && TARGET_RECORDS.includes(r.spec.recordsPerRequest);

export interface TargetInputs {
  ingest: IngestResult[]; // closed-loop rows, gRPC and HTTP
  refRun: IngestResult | null; // the gRPC reference run
  refLabel: string;
  steady: IngestResult | null;
  open: OpenLoopStep[];
  openHwm: number;
}

type Row = [what: string, figure: string, target: string, ratio: string, met: string];

const ms = (n: number): string => `${fmtMs(n)} ms`;
const mib = (n: number): string => `${fmtMiB(n)} MiB`;
const cpu = (n: number): string => `${n.toFixed(1)} CPU s per 1M records`;

/** A lower-is-better target; the limit reads `<= 12 CPU s ...` (whole numbers without '.0'). */
function atMost(what: string, value: number | undefined, limit: number, fmt: (n: number) => string, where = ''): Row {
  const target = `<= ${fmt(limit).replace(/\.0+ /, ' ')}`;
  if (value === undefined) return [what, NOT_RUN, target, 'n/a', 'n/a'];
  return [what, `${fmt(value)}${where}`, target, (value / limit).toFixed(2), value <= limit ? 'yes' : 'no'];
}

/** Durable throughput: acknowledged after fsync and delivered to the file sink (min of the two). */
function throughput(ingest: IngestResult[], transport: 'grpc' | 'http', records: number): Row {
  const what = `durable throughput, ${transportName(transport)}, ${records} audit records per request`;
  const target = `>= ${fmtInt(RECORDS_PER_SEC)} records/s (stretch ${fmtInt(STRETCH_RECORDS_PER_SEC)}), delivered within 2 %`;
  const r = ingest.find((x) => x.spec.transport === transport && x.spec.shape === 'audit' && x.spec.recordsPerRequest === records);
  if (!r) return [what, NOT_RUN, target, 'n/a', 'n/a'];
  const acked = r.recordsPerSec;
  const sustained = Math.min(acked, r.deliveredPerSec);
  const keptUp = r.deliveredPerSec >= DELIVERED_SHARE * acked;
  let met = keptUp && acked >= RECORDS_PER_SEC ? 'yes' : 'no';
  if (met === 'yes' && acked >= STRETCH_RECORDS_PER_SEC) met += ', stretch too';
  if (!keptUp) met += ' (delivery behind)';
  const figure = `${fmtInt(sustained)} records/s (acked ${fmtInt(acked)}, delivered ${fmtInt(r.deliveredPerSec)})`;
  return [what, figure, target, (sustained / RECORDS_PER_SEC).toFixed(2), met];
}

/** Every agent memory figure of the run, named by the row it comes from. */
function rssFigures(x: TargetInputs): Array<{ where: string; bytes: number }> {
  const out = x.ingest.map((r) => ({ where: rowLabel(r), bytes: r.peakRssBytes }));
  if (x.steady) out.push({ where: 'sustained', bytes: x.steady.peakRssBytes });
  for (const s of x.open) out.push({ where: `open loop ${s.label}`, bytes: s.peakRssBytes });
  if (x.open.length > 0) out.push({ where: 'open loop, VmHWM over all steps', bytes: x.openHwm });
  return out.filter((f) => Number.isFinite(f.bytes));
}

function targetRows(x: TargetInputs): Row[] {
  const rows: Row[] = [];
  for (const records of TARGET_RECORDS) for (const t of ['grpc', 'http'] as const) rows.push(throughput(x.ingest, t, records));
  rows.push(atMost(`agent CPU (all threads), reference: gRPC, ${x.refLabel}`, x.refRun?.cpuSecPerMillion, CPU_SEC_PER_MILLION, cpu));
  const worstCpu = x.ingest.filter(isRealistic).sort((a, b) => b.cpuSecPerMillion - a.cpuSecPerMillion)[0];
  rows.push(
    atMost(
      'agent CPU (all threads), worst realistic audit row',
      worstCpu?.cpuSecPerMillion,
      CPU_SEC_PER_MILLION,
      cpu,
      worstCpu ? ` (${rowLabel(worstCpu)})` : '',
    ),
  );
  const fixed = x.open.find((s) => s.label === FIXED_STEP.label);
  const half = x.open.find((s) => s.label === fractionLabel(0.5));
  rows.push(atMost(`p99 latency at ${FIXED_STEP.label} offered, open loop`, fixed?.latency.p99, P99_AT_FIXED_MS, ms));
  rows.push(
    atMost(
      'p99 latency at 50 % of the measured maximum, open loop',
      half?.latency.p99,
      P99_AT_HALF_MS,
      ms,
      half ? ` (${fmtInt(half.offeredRecordsPerSec)} records/s offered)` : '',
    ),
  );
  rows.push(atMost(`peak RSS at ${FIXED_STEP.label} offered (max VmRSS during the step)`, fixed?.peakRssBytes, RSS_AT_FIXED, mib));
  const worstRss = rssFigures(x).sort((a, b) => b.bytes - a.bytes)[0];
  rows.push(atMost('peak RSS in every bench row (the highest)', worstRss?.bytes, RSS_ANY, mib, worstRss ? ` (${worstRss.where})` : ''));
  return rows;
}

/** The "Summary against the targets" table as markdown lines. */
export function targetsTable(x: TargetInputs): string[] {
  return [
    '| measure | figure | target | figure / target | met |',
    '|---|---|---|---:|---|',
    ...targetRows(x).map((r) => `| ${r.join(' | ')} |`),
  ];
}
