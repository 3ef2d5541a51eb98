// Scenario: latency under a fixed offered load. One agent; an open-loop gRPC load through a list
// of steps (offered records/s, run in order on the same agent, so the first step sees a fresh
// one). A step above the closed-loop maximum keeps at most `maxInFlight` requests outstanding
// (as many concurrent exporters), to see whether memory stays bounded under overload.
import type { RecordShape } from './lib/requests.js';
import { startBenchAgent } from './lib/agent.js';
import { runLoad } from './lib/load.js';
import { RssSampler, memory } from './lib/proc-stats.js';
import { latencySummary, type Latency } from './lib/stats.js';

/** One open-loop step: what to offer and how the report names it (e.g. '25,000/s', '50 %'). */
export interface OpenLoopTarget {
  label: string;
  recordsPerSec: number;
}

export interface OpenLoopStep {
  label: string;
  offeredRecordsPerSec: number;
  ackedRecordsPerSec: number;
  latency: Latency;
  peakRssBytes: number; // max VmRSS sampled during the step
  refused: number; // requests answered with a refusal
  skipped: number; // scheduled requests not sent: maxInFlight outstanding already
}

export async function openLoop(
  o: {
    steps: OpenLoopTarget[];
    recordsPerRequest: number;
    shape: RecordShape;
    durationMs: number;
    warmupMs: number;
    maxInFlight: number;
  },
  log: (m: string) => void,
): Promise<{ steps: OpenLoopStep[]; hwmBytes: number }> {
  const b = await startBenchAgent();
  const pid = b.agent.proc.pid!;
  const steps: OpenLoopStep[] = [];
  try {
    for (const target of o.steps) {
      const rss = new RssSampler(pid, 50);
      const r = await runLoad({
        transport: 'grpc',
        addr: b.agent.grpc,
        mode: 'open',
        concurrency: 0,
        requestsPerSecond: target.recordsPerSec / o.recordsPerRequest,
        maxInFlight: o.maxInFlight,
        recordsPerRequest: o.recordsPerRequest,
        shape: o.shape,
        warmupMs: o.warmupMs,
        durationMs: o.durationMs,
      });
      const step: OpenLoopStep = {
        label: target.label,
        offeredRecordsPerSec: target.recordsPerSec,
        ackedRecordsPerSec: r.okRecords / r.seconds,
        latency: latencySummary(r.latenciesMs),
        peakRssBytes: rss.stop(),
        refused: Object.values(r.errors).reduce((a, n) => a + n, 0),
        skipped: r.skipped,
      };
      log(
        `open loop ${target.label}: ${Math.round(step.ackedRecordsPerSec)} records/s acked, p99 ${step.latency.p99.toFixed(1)} ms, RSS ${(step.peakRssBytes / 1048576).toFixed(0)} MiB`,
      );
      steps.push(step);
      await new Promise((r) => setTimeout(r, 1000)); // let the backlog of the step settle
    }
    return { steps, hwmBytes: memory(pid).hwm };
  } finally {
    await b.agent.stop();
    await b.remove();
  }
}
