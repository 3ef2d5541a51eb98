// Scenario: latency under a fixed offered load. One agent; an open-loop gRPC load at fractions
// of the measured closed-loop maximum (500-record requests), then an overload step above it
// where at most `maxInFlight` requests are outstanding (as many concurrent exporters), to see
// whether memory stays bounded when more is offered than the agent can take.
import type { RecordShape } from './lib/requests.js';
import { startBenchAgent } from './lib/agent.js';
import { runLoad } from './lib/load.js';
import { RssSampler, memory } from './lib/proc-stats.js';
import { latencySummary, type Latency } from './lib/stats.js';

export interface OpenLoopStep {
  fraction: number;
  offeredRecordsPerSec: number;
  ackedRecordsPerSec: number;
  latency: Latency;
  peakRssBytes: number; // max VmRSS sampled during the step
  refused: number; // requests answered with a refusal
  skipped: number; // scheduled requests not sent: maxInFlight outstanding already
}

export async function openLoop(
  o: {
    maxRecordsPerSec: number;
    fractions: number[];
    overload: number;
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
    for (const fraction of [...o.fractions, o.overload]) {
      const offered = o.maxRecordsPerSec * fraction;
      const rss = new RssSampler(pid, 50);
      const r = await runLoad({
        transport: 'grpc',
        addr: b.agent.grpc,
        mode: 'open',
        concurrency: 0,
        requestsPerSecond: offered / o.recordsPerRequest,
        maxInFlight: o.maxInFlight,
        recordsPerRequest: o.recordsPerRequest,
        shape: o.shape,
        warmupMs: o.warmupMs,
        durationMs: o.durationMs,
      });
      const step: OpenLoopStep = {
        fraction,
        offeredRecordsPerSec: offered,
        ackedRecordsPerSec: r.okRecords / r.seconds,
        latency: latencySummary(r.latenciesMs),
        peakRssBytes: rss.stop(),
        refused: Object.values(r.errors).reduce((a, n) => a + n, 0),
        skipped: r.skipped,
      };
      log(
        `open loop ${Math.round(fraction * 100)} %: ${Math.round(step.ackedRecordsPerSec)} records/s acked, p99 ${step.latency.p99.toFixed(1)} ms, RSS ${(step.peakRssBytes / 1048576).toFixed(0)} MiB`,
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
