// Durable ingest under a closed-loop load: a fresh agent (child process, default durable
// settings, file sink), `concurrency` requests in flight, measured after a warm-up.
import type { RecordShape } from './requests.js';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import { startBenchAgent } from './agent.js';
import { runLoad } from './load.js';
import { RssSampler, cpuSeconds, diskBytes, machineBusySeconds, memory, selfCpuSeconds } from './proc-stats.js';
import { latencySummary, type Latency } from './stats.js';

export interface IngestSpec {
  transport: 'grpc' | 'http';
  concurrency: number;
  recordsPerRequest: number;
  shape: RecordShape;
  durationMs: number;
  warmupMs: number;
  /** Buffer size (default 1GiB as shipped); a small one reaches the backpressure steady state quickly. */
  bufferMaxSize?: string;
  /** Keep the agent's directory (archive) for a later step; the caller removes it. */
  keep?: boolean;
}

export interface IngestResult {
  spec: IngestSpec;
  recordsPerSec: number;
  requestsPerSec: number;
  latency: Latency;
  cpuSecPerMillion: number;
  peakRssBytes: number;
  bufferBytesPerEntry: number; // du of the LevelDB directory / buffered entries, sampled under load
  bufferEntriesSampled: number;
  entryBytes: number; // logical entry line bytes per buffered entry (buffer gauge)
  archiveBytesPerEntry: number;
  /** Entries the file sink received per second during the window (sealed size - sink lag). */
  deliveredPerSec: number;
  /** Buffered entries gained per second during the window (ingest outrunning delivery). */
  bufferGrowthPerSec: number;
  /** Share of the machine's CPU used by processes other than the agent and the bench (noise). */
  otherCpuShare: number;
  errors: Record<string, number>;
  dir: string;
  archiveDir: string;
  verifierKey: string;
}

export async function runIngest(spec: IngestSpec): Promise<IngestResult> {
  const b = await startBenchAgent({ bufferMaxSize: spec.bufferMaxSize });
  const pid = b.agent.proc.pid!;
  const rss = new RssSampler(pid);
  let cpu0 = 0;
  let busy0 = 0;
  let self0 = 0;
  let sample: Promise<{ du: number; entries: number; bytes: number }> | null = null;
  const t0 = { v: 0 };
  let atStart: Promise<Map<string, number>> | null = null;
  const footprint = async () => {
    const m = await b.agent.metrics();
    return { du: diskBytes(b.bufferDir), entries: m.get('sealtrail_buffer_entries') ?? NaN, bytes: m.get('sealtrail_buffer_bytes') ?? NaN };
  };
  const load = await runLoad(
    {
      transport: spec.transport,
      addr: spec.transport === 'grpc' ? b.agent.grpc : b.agent.http,
      mode: 'closed',
      concurrency: spec.concurrency,
      recordsPerRequest: spec.recordsPerRequest,
      shape: spec.shape,
      warmupMs: spec.warmupMs,
      durationMs: spec.durationMs,
    },
    {
      onMeasureStart: () => {
        cpu0 = cpuSeconds(pid);
        busy0 = machineBusySeconds();
        self0 = selfCpuSeconds();
        t0.v = performance.now();
        atStart = b.agent.metrics();
        // Buffer footprint while loaded, late in the window.
        sample = new Promise((resolve) => setTimeout(() => resolve(footprint()), spec.durationMs * 0.8));
      },
    },
  );
  const cpu1 = cpuSeconds(pid);
  const other = machineBusySeconds() - busy0 - (cpu1 - cpu0) - (selfCpuSeconds() - self0);
  const peakRss = Math.max(rss.stop(), memory(pid).hwm);
  const buf = await (sample as unknown as Promise<{ du: number; entries: number; bytes: number }>);
  const m = await b.agent.metrics();
  const secs = (performance.now() - t0.v) / 1000;
  const m0 = await (atStart as unknown as Promise<Map<string, number>>);
  const delivered = (x: Map<string, number>): number =>
    (x.get('sealtrail_sealed_size') ?? NaN) - (x.get('sealtrail_sink_lag_entries{sink="file"}') ?? NaN);
  const deliveredPerSec = (delivered(m) - delivered(m0)) / secs;
  const bufferGrowthPerSec = ((m.get('sealtrail_buffer_entries') ?? NaN) - (m0.get('sealtrail_buffer_entries') ?? NaN)) / secs;
  const chainSize = m.get('sealtrail_chain_size') ?? NaN;
  const code = await b.agent.stop();
  if (code !== 0) throw new Error(`agent exited with ${code} on a graceful stop`);
  const archiveBytes = diskBytes(b.archiveDir);
  const res: IngestResult = {
    spec,
    recordsPerSec: load.okRecords / load.seconds,
    requestsPerSec: load.okRequests / load.seconds,
    latency: latencySummary(load.latenciesMs),
    cpuSecPerMillion: load.okRecords > 0 ? ((cpu1 - cpu0) / load.okRecords) * 1e6 : NaN,
    peakRssBytes: peakRss,
    bufferBytesPerEntry: buf.du / buf.entries,
    bufferEntriesSampled: buf.entries,
    entryBytes: buf.bytes / buf.entries,
    archiveBytesPerEntry: archiveBytes / chainSize,
    deliveredPerSec,
    bufferGrowthPerSec,
    otherCpuShare: Math.max(0, other) / (load.seconds * os.cpus().length),
    errors: load.errors,
    dir: b.dir,
    archiveDir: b.archiveDir,
    verifierKey: b.agent.verifierKey,
  };
  if (!spec.keep) await fs.rm(b.dir, { recursive: true, force: true });
  return res;
}
