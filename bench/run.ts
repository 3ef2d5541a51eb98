// `npm run bench`: runs every scenario once and writes docs/benchmarks.md (machine, settings,
// results against the issue-11 targets, ratios to the ceilings). Settings: see lib/settings.ts
// (flags or BENCH_* env), e.g.
//   node dist/bench/run.js --duration 10 --concurrency 16 --records 100,500,2000 --sizes audit,250,1024
//   node dist/bench/run.js --quick        (audit records only, 3 s steps)
import { promises as fs, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../test/helpers/agent.js';
import { ingestGrpc } from './ingest-grpc.js';
import { ingestHttp } from './ingest-http.js';
import { sustained } from './sustained.js';
import { openLoop, type OpenLoopStep, type OpenLoopTarget } from './latency-open-loop.js';
import { archiveLines, decodeAckCeiling, leveldbCeiling, type DecodeCeilingResult, type LevelCeilingResult } from './ceilings.js';
import { verifyThroughput, type VerifyResult } from './verify-archive.js';
import type { IngestResult } from './lib/ingest.js';
import { shapeLabel, type RecordShape } from './lib/requests.js';
import { readSettings, type BenchSettings } from './lib/settings.js';
import { fmtInt, fmtMiB, fmtMs } from './lib/stats.js';
import { machineBusySeconds } from './lib/proc-stats.js';
import { FIXED_STEP, fractionLabel, isRealistic, targetsTable, transportName } from './lib/targets.js';

const MAX_IN_FLIGHT = 64; // open loop: as many concurrent exporters
const OVERLOAD = 1.5; // open-loop overload step, times the measured maximum

/** Share of the machine's CPU that other processes may use before the report flags the run. */
const BUSY_MACHINE = 0.05;

/** Servers the S3 test tier leaves running (test/setup/s3): their disk I/O moves fsync latency. */
const CEPH_COMMANDS = new Set(['ceph-mon', 'ceph-mgr', 'ceph-osd', 'radosgw']);

/** Names of the Ceph processes running on this machine (from /proc/<pid>/comm). */
function cephRunning(): string[] {
  const found = new Set<string>();
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      if (CEPH_COMMANDS.has(comm)) found.add(comm);
    } catch {
      // gone meanwhile
    }
  }
  return [...found].sort();
}

/** Share of all cores busy over `ms` while this process does nothing: other work on the machine. */
async function otherLoad(ms = 3000): Promise<{ share: number; seconds: number; ceph: string[] }> {
  const before = machineBusySeconds();
  await new Promise((r) => setTimeout(r, ms));
  return { share: (machineBusySeconds() - before) / ((ms / 1000) * os.cpus().length), seconds: ms / 1000, ceph: cephRunning() };
}

/** Whether the run's figures are disturbed by other work on the machine. */
const disturbed = (idle: { share: number; ceph: string[] }): boolean => idle.share > BUSY_MACHINE || idle.ceph.length > 0;

const log = (m: string): void => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${m}`);

async function main(): Promise<void> {
  const s = readSettings();
  const started = new Date();
  const t0 = performance.now();
  // The reference workload (issue 11): 500-record requests of audit records.
  const ref = {
    recordsPerRequest: s.recordsPerRequest.includes(500) ? 500 : s.recordsPerRequest[0]!,
    shape: 'audit' as RecordShape,
  };
  log(`settings ${JSON.stringify(s)}`);
  const idle = await otherLoad();
  if (idle.share > BUSY_MACHINE)
    log(
      `WARNING: other processes kept ${(idle.share * 100).toFixed(0)} % of the machine's CPU busy before the run; the figures will be disturbed (a Ceph cluster left by the S3 test tier? bash test/setup/s3/stop-s3.sh /tmp/sealtrail-ceph)`,
    );
  if (idle.ceph.length > 0)
    log(
      `WARNING: the S3 test tier's Ceph is running (${idle.ceph.join(', ')}); its disk I/O disturbs fsync latency: bash test/setup/s3/stop-s3.sh /tmp/sealtrail-ceph`,
    );

  const grpc = s.transports.includes('grpc') ? await ingestGrpc(s, log, ref) : [];
  const http = s.transports.includes('http') ? await ingestHttp(s, log) : [];
  const steady = s.transports.includes('grpc') ? await sustained(s, ref, log) : null;
  const refRun = grpc.find((r) => r.spec.recordsPerRequest === ref.recordsPerRequest && r.spec.shape === ref.shape);
  try {
    const common = { concurrency: s.concurrency, ...ref, durationMs: s.durationMs, warmupMs: s.warmupMs };
    const decode: DecodeCeilingResult[] = [];
    for (const transport of s.transports) {
      const c = await decodeAckCeiling({ transport, ...common });
      log(`ceiling decode+ack ${transport}: ${Math.round(c.recordsPerSec)} records/s`);
      decode.push(c);
    }
    const level: Array<LevelCeilingResult & { segments: boolean }> = [];
    if (refRun) {
      const lines = await archiveLines(refRun.archiveDir, 50_000);
      for (const segments of [true, false]) {
        const l = await leveldbCeiling({
          lines,
          concurrency: s.concurrency,
          recordsPerRequest: ref.recordsPerRequest,
          durationMs: s.durationMs,
          warmupMs: s.warmupMs,
          segments,
        });
        log(
          `ceiling LevelDB sync (${segments ? 'segments of up to 256 KiB' : 'one key per entry'}): ${Math.round(l.recordsPerSec)} records/s`,
        );
        level.push({ ...l, segments });
      }
    }
    const open = await openLoop(
      {
        steps: openLoopTargets(refRun?.recordsPerSec, s.levels),
        ...ref,
        durationMs: s.openLoopMs,
        warmupMs: s.warmupMs,
        maxInFlight: MAX_IN_FLIGHT,
      },
      log,
    );
    let verify: VerifyResult | null = null;
    if (refRun) {
      verify = verifyThroughput(refRun.archiveDir, refRun.verifierKey);
      log(`verify: ${Math.round(verify.entriesPerSec)} entries/s`);
    }
    const md = render({
      s,
      started,
      minutes: (performance.now() - t0) / 60000,
      grpc,
      http,
      decode,
      level,
      open: open.steps,
      openHwm: open.hwmBytes,
      verify,
      refRun: refRun ?? null,
      ref,
      steady,
      idle,
    });
    const out = path.resolve(REPO_ROOT, s.out);
    await fs.mkdir(path.dirname(out), { recursive: true });
    await fs.writeFile(out, md);
    log(`wrote ${path.relative(REPO_ROOT, out)} in ${((performance.now() - t0) / 60000).toFixed(1)} min`);
  } finally {
    if (refRun) await fs.rm(refRun.dir, { recursive: true, force: true });
  }
}

/** 25,000/s first (on the fresh agent), then fractions of the measured maximum (50 % always), then overload. */
function openLoopTargets(maxRecordsPerSec: number | undefined, levels: number[]): OpenLoopTarget[] {
  if (!maxRecordsPerSec) return [FIXED_STEP];
  const fractions = [...new Set([...levels, 0.5])].sort((a, b) => a - b);
  return [
    FIXED_STEP,
    ...fractions.map((f) => ({ label: fractionLabel(f), recordsPerSec: maxRecordsPerSec * f })),
    { label: `${fractionLabel(OVERLOAD)} (overload)`, recordsPerSec: maxRecordsPerSec * OVERLOAD },
  ];
}

interface Report {
  s: BenchSettings;
  started: Date;
  minutes: number;
  grpc: IngestResult[];
  http: IngestResult[];
  decode: DecodeCeilingResult[];
  level: Array<LevelCeilingResult & { segments: boolean }>;
  open: OpenLoopStep[];
  openHwm: number;
  verify: VerifyResult | null;
  refRun: IngestResult | null;
  ref: { recordsPerRequest: number; shape: RecordShape };
  steady: IngestResult | null;
  /** Other processes' CPU share measured before the run. */
  idle: { share: number; seconds: number; ceph: string[] };
}

function ingestTable(rows: IngestResult[], withTransport = false): string {
  const t = withTransport ? ['transport | ', '---|'] : ['', ''];
  const head = `| ${t[0]}records/request | record size | acked records/s | requests/s | p50 ms | p95 ms | p99 ms | agent CPU s per 1M records | peak RSS MiB | entry line B | buffer B/entry on disk (entries buffered) | archive B/entry | delivered to sink records/s | buffer growth entries/s | refusals | other CPU |\n|${t[1]}---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n`;
  return (
    head +
    rows
      .map((r) => {
        const errs = Object.values(r.errors).reduce((a, n) => a + n, 0);
        const transport = withTransport ? `${transportName(r.spec.transport)} | ` : '';
        return `| ${transport}${r.spec.recordsPerRequest} | ${shapeLabel(r.spec.shape)} | ${fmtInt(r.recordsPerSec)} | ${fmtInt(r.requestsPerSec)} | ${fmtMs(r.latency.p50)} | ${fmtMs(r.latency.p95)} | ${fmtMs(r.latency.p99)} | ${r.cpuSecPerMillion.toFixed(1)} | ${fmtMiB(r.peakRssBytes)} | ${fmtInt(r.entryBytes)} | ${fmtInt(r.bufferBytesPerEntry)} (${fmtInt(r.bufferEntriesSampled)}) | ${fmtInt(r.archiveBytesPerEntry)} | ${fmtInt(r.deliveredPerSec)} | ${fmtInt(r.bufferGrowthPerSec)} | ${errs} | ${(r.otherCpuShare * 100).toFixed(0)} % |`;
      })
      .join('\n') +
    '\n'
  );
}

const refLabelOf = (r: Report): string => `${r.ref.recordsPerRequest}-record requests of ${shapeLabel(r.ref.shape)} records`;

function machineSection(idle: Report['idle']): string[] {
  const cpus = os.cpus();
  const ceph = idle.ceph.length > 0 ? `; the S3 test tier's Ceph was running (${idle.ceph.join(', ')})` : '';
  const busy = `${(idle.share * 100).toFixed(0)} % of all cores busy over ${idle.seconds} s before the run${ceph}`;
  return [
    '## Machine',
    '',
    `- CPU: ${cpus[0]?.model ?? 'unknown'}, ${cpus.length} cores`,
    `- RAM: ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `- OS: ${os.type()} ${os.release()} (${os.arch()})`,
    `- Node.js ${process.version}`,
    disturbed(idle) ? `- **Other load: ${busy}: the machine was not quiet and the figures are disturbed.**` : `- Other load: ${busy}.`,
    '',
  ];
}

function settingsSection(r: Report): string[] {
  return [
    '## Settings',
    '',
    `- Agent: the real CLI (\`dist/cli/main.js run\`) as a child process on the embedded default settings (buffer 1 GiB, seal at 10,000 records / 4 MiB / 5 s, every acknowledgement after an fsync'd LevelDB group commit), ports 0, file sink (no compression) into a temp dir.`,
    `- Load generator: bench/lib/load-worker.ts in a worker thread of the bench process; pre-encoded \`ExportLogsServiceRequest\`s (8 distinct bodies rotated), real gRPC (@grpc/grpc-js, one channel) or real HTTP/1.1 (node:http keep-alive, one socket per in-flight request).`,
    `- Record shapes: "audit" is the realistic audit record of issue 11, about 310 B of protobuf per record: one resource with service.name and host.name, one scope with name and version; each record has timeUnixNano and observedTimeUnixNano, severity 9 "INFO", a ~110-character string body and 6 attributes (audit=true, actor, action, resource, result, environment). A size in bytes is a synthetic record of that many protobuf bytes on the wire (pseudo-random text body + 3 attributes + event name). The stored entry line is bigger: canonical OTLP/JSON plus the chain envelope (column "entry line B").`,
    `- Reference workload: ${refLabelOf(r)} (the ceilings, the sustained run, the open loop and verify use it).`,
    `- Closed loop: concurrency ${r.s.concurrency} requests in flight; warm-up ${r.s.warmupMs / 1000} s, then ${r.s.durationMs / 1000} s measured. Only acknowledged records count (gRPC OK / HTTP 200).`,
    `- CPU: utime+stime of the agent process, all threads (/proc/<pid>/stat), over the measured window. Peak RSS: VmHWM of the agent process (/proc/<pid>/status). Buffer B/entry: \`du -sb data/buffer\` / buffered entries, sampled at 80 % of the window (LevelDB log + tables, snappy-compressed, including not-yet-compacted deletions). Archive B/entry: \`du -sb archive\` / chain size after a graceful stop (checkpoints included).`,
    `- "Other CPU": share of the machine's CPU (all cores, /proc/stat) used during the window by processes other than the agent and the bench — other work on a shared machine; rows where it is high are disturbed.`,
    `- Open loop: requests start on a fixed schedule whatever the answers; latency counts from the scheduled start (no coordinated omission), ${r.s.openLoopMs / 1000} s per step after a ${r.s.warmupMs / 1000} s warm-up, at most ${MAX_IN_FLIGHT} requests outstanding.`,
    `- Profile: \`node dist/bench/profile.js --shape audit\` prints the agent's top self-time functions under the reference load.`,
    '',
  ];
}

function summarySection(r: Report): string[] {
  const lines = ['## Summary against the targets', ''];
  lines.push(
    ...targetsTable({
      ingest: [...r.grpc, ...r.http],
      refRun: r.refRun,
      refLabel: refLabelOf(r),
      steady: r.steady,
      open: r.open,
      openHwm: r.openHwm,
    }),
    '',
  );
  lines.push(
    'Throughput figure: min(acknowledged, delivered to the file sink) records/s in the measured window; met needs acknowledged >= 100,000 and delivered >= 98 % of acknowledged. The open-loop steps are in "Latency under a fixed load"; every agent memory figure counts for the 300 MiB row (ingest rows, sustained, open-loop steps including overload).',
    '',
  );
  if (r.refRun) lines.push(deliveryNote(r.refRun), '');
  return lines;
}

function deliveryNote(ref: IngestResult): string {
  const growthBytes = ref.bufferGrowthPerSec * ref.entryBytes;
  const rates = `in the reference run the file sink received ${fmtInt(ref.deliveredPerSec)} records/s while ${fmtInt(ref.recordsPerSec)} were acknowledged`;
  // Within 2 % counts as keeping up: the window's edges make the two rates differ slightly.
  if (ref.bufferGrowthPerSec <= 0.02 * ref.recordsPerSec)
    return `Delivery kept up with acknowledgement: ${rates} (buffer change ${fmtInt(ref.bufferGrowthPerSec)} entries/s). Other rows show where it does not (column "buffer growth").`;
  return (
    `Acknowledged is not yet sustainable indefinitely: ${rates}, so the buffer grew by ${fmtInt(ref.bufferGrowthPerSec)} entries/s` +
    (growthBytes > 0
      ? ` (about ${(growthBytes / 1048576).toFixed(0)} MiB/s of entry lines: the default 1 GiB buffer would be full after about ${fmtInt(1073741824 / growthBytes)} s, and from then on the agent refuses what the sink cannot take).`
      : '.')
  );
}

function ingestSections(r: Report): string[] {
  const lines: string[] = [];
  // Ordered by request size, gRPC before HTTP (stable sort), so the two transports sit side by side.
  const realistic = [...r.grpc, ...r.http].filter(isRealistic).sort((a, b) => a.spec.recordsPerRequest - b.spec.recordsPerRequest);
  const sizes = [...new Set(realistic.map((x) => x.spec.recordsPerRequest))].join(' and ');
  lines.push(`## Durable ingest, realistic audit records (${sizes || 'none'} per request)`, '');
  lines.push(
    realistic.length > 0 ? ingestTable(realistic, true) : 'Not run (needs the audit shape and 500 or 2000 records per request).\n',
  );
  const other = (rows: IngestResult[], title: string): void => {
    const rest = rows.filter((x) => !isRealistic(x));
    if (rest.length > 0)
      lines.push(`## Durable ingest, ${title}${realistic.length > 0 ? ', other shapes and request sizes' : ''}`, '', ingestTable(rest));
  };
  other(r.grpc, 'OTLP/gRPC');
  other(r.http, 'OTLP/HTTP protobuf');
  if (r.steady) {
    lines.push(`## Sustained end to end (gRPC, ${refLabelOf(r)}, buffer max_size 128 MiB, full before the window)`, '');
    lines.push(
      'The buffer fills during a 15 s warm-up; in the measured window the agent acknowledges only what the sink drains, refusing the rest (UNAVAILABLE, retried by the generator after 20 ms). This is the rate it sustains indefinitely.',
      '',
    );
    lines.push(ingestTable([r.steady]));
  }
  return lines;
}

function ceilingsSection(r: Report): string[] {
  const agentMax = r.refRun?.recordsPerSec ?? NaN;
  const lines = [`## Ceilings (${refLabelOf(r)}, concurrency ${r.s.concurrency})`, ''];
  lines.push(
    "agent / ceiling: the agent's closed-loop rate on the same workload divided by the ceiling, a ratio that compares across machines.",
    '',
  );
  lines.push('| ceiling | records/s | p99 ms | agent records/s on the same workload | agent / ceiling |', '|---|---:|---:|---:|---:|');
  for (const c of r.decode) {
    const agent = (c.transport === 'grpc' ? r.grpc : r.http).find(
      (x) => x.spec.recordsPerRequest === r.ref.recordsPerRequest && x.spec.shape === r.ref.shape,
    );
    lines.push(
      `| (a) decode + acknowledge, no durability, ${c.transport} (CPU ${c.cpuSecPerMillion.toFixed(1)} s per 1M, RSS ${fmtMiB(c.peakRssBytes)} MiB) | ${fmtInt(c.recordsPerSec)} | ${fmtMs(c.latency.p99)} | ${agent ? fmtInt(agent.recordsPerSec) : 'n/a'} | ${agent ? (agent.recordsPerSec / c.recordsPerSec).toFixed(2) : 'n/a'} |`,
    );
  }
  for (const l of r.level) {
    lines.push(
      `| (b) raw LevelDB batch(sync: true) of the same entry lines, same group commit (at most 4 MiB), ${l.segments ? 'segments of up to 256 KiB per commit (as the buffer stores them)' : 'one key per entry'} (mean ${fmtInt(l.meanBatchRecords)} entries / ${fmtInt(l.batchesPerSec)} fsyncs per s) | ${fmtInt(l.recordsPerSec)} | ${fmtMs(l.latency.p99)} | ${fmtInt(agentMax)} | ${(agentMax / l.recordsPerSec).toFixed(2)} |`,
    );
  }
  lines.push('');
  return lines;
}

function openLoopSection(r: Report): string[] {
  const lines = [`## Latency under a fixed load (open loop, gRPC, ${refLabelOf(r)})`, ''];
  lines.push(
    r.refRun
      ? `Steps in this order on one agent: ${FIXED_STEP.label} first (a fresh agent), then fractions of the measured closed-loop maximum (${fmtInt(r.refRun.recordsPerSec)} records/s), then ${fractionLabel(OVERLOAD)} of it from at most ${MAX_IN_FLIGHT} outstanding requests: the check there is that memory stays bounded.`
      : `Only the fixed ${FIXED_STEP.label} step: the fractions need the closed-loop gRPC reference run, which did not run.`,
    '',
  );
  lines.push(
    `| step | offered records/s | acked records/s | p50 ms | p95 ms | p99 ms | max ms | peak RSS MiB | refused | not sent (${MAX_IN_FLIGHT} outstanding) |`,
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const x of r.open) {
    lines.push(
      `| ${x.label} | ${fmtInt(x.offeredRecordsPerSec)} | ${fmtInt(x.ackedRecordsPerSec)} | ${fmtMs(x.latency.p50)} | ${fmtMs(x.latency.p95)} | ${fmtMs(x.latency.p99)} | ${fmtMs(x.latency.max)} | ${fmtMiB(x.peakRssBytes)} | ${x.refused} | ${x.skipped} |`,
    );
  }
  lines.push(
    '',
    `Peak RSS per step: max VmRSS sampled every 50 ms during the step. Agent VmHWM over all open-loop steps: ${fmtMiB(r.openHwm)} MiB.`,
    '',
  );
  return lines;
}

function verifySection(v: VerifyResult | null): string[] {
  if (!v) return [];
  return [
    '## Verify throughput (archive of the gRPC reference run)',
    '',
    '| entries | archive MB | seconds | entries/s | MB/s | verifier peak RSS MiB |',
    '|---:|---:|---:|---:|---:|---:|',
    `| ${fmtInt(v.entries)} | ${(v.archiveBytes / 1e6).toFixed(1)} | ${v.seconds.toFixed(2)} | ${fmtInt(v.entriesPerSec)} | ${v.mbPerSec.toFixed(1)} | ${fmtMiB(v.peakRssBytes)} |`,
    '',
  ];
}

function render(r: Report): string {
  return [
    '# Benchmarks',
    '',
    `Generated by \`npm run bench\` (bench/run.ts) on ${r.started.toISOString()}; the run took ${r.minutes.toFixed(1)} min. Re-run to replace this file.`,
    '',
    ...machineSection(r.idle),
    ...settingsSection(r),
    ...summarySection(r),
    ...ingestSections(r),
    ...ceilingsSection(r),
    ...openLoopSection(r),
    ...verifySection(r.verify),
  ].join('\n');
}

await main();
