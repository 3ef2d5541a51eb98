// Seal and delivery overhead, and the time from acknowledgement to archive.
//   node dist/bench/seal-delivery.js [--duration 8]
// 1. Closed-loop gRPC ingest (500 x ~250 B records, 16 in flight) into two fresh agents on the
//    default settings: one delivering to its file sink, one whose archive directory is
//    immutable (chattr +i, so the forwarder only fails and backs off: no delivery work).
//    Sealing happens in both. The ratio is the cost of delivery on the ingest path.
// 2. Acknowledgement to archive: one single-record request every 250 ms on the default
//    settings (max_age 5 s); the archive directory is polled every 20 ms for each record's id.
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { startBenchAgent } from './lib/agent.js';
import { runLoad } from './lib/load.js';
import { latencySummary } from './lib/stats.js';
import { idBody } from './lib/requests.js';
import { GrpcLogsClient } from '../test/helpers/otlp-client.js';
import { archiveEntries } from '../test/helpers/entries.js';

const flag = (n: string, d: number): number => {
  const i = process.argv.indexOf(`--${n}`);
  return i >= 0 ? Number(process.argv[i + 1]) : d;
};
const durationMs = flag('duration', 8) * 1000;

async function ingest(withSink: boolean): Promise<number> {
  const b = await startBenchAgent();
  try {
    if (!withSink) {
      await fs.mkdir(b.archiveDir, { recursive: true });
      execFileSync('chattr', ['+i', b.archiveDir]);
    }
    const r = await runLoad({
      transport: 'grpc',
      addr: b.agent.grpc,
      mode: 'closed',
      concurrency: 16,
      recordsPerRequest: 500,
      shape: 250,
      warmupMs: 2000,
      durationMs,
    });
    return r.okRecords / r.seconds;
  } finally {
    if (!withSink) execFileSync('chattr', ['-i', b.archiveDir]);
    await b.remove();
  }
}

async function ackToArchive(): Promise<ReturnType<typeof latencySummary>> {
  const b = await startBenchAgent();
  const client = new GrpcLogsClient(b.agent.grpc);
  const acked = new Map<number, number>();
  const arrived = new Map<number, number>();
  let stop = false;
  const poller = (async () => {
    while (!stop || arrived.size < acked.size) {
      const now = performance.now();
      for (const line of (await archiveEntries(b.archiveDir)).values()) {
        const m = /"key":"id","value":\{"stringValue":"(\d+)"/.exec(line);
        if (m && !arrived.has(Number(m[1]))) arrived.set(Number(m[1]), now);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  try {
    for (let i = 0; i < 60; i++) {
      const res = await client.export(idBody(i, 1, 250));
      if (res.code === 0) acked.set(i, performance.now());
      await new Promise((r) => setTimeout(r, 250));
    }
    stop = true;
    await poller;
    return latencySummary([...acked].map(([id, t]) => arrived.get(id)! - t));
  } finally {
    client.close();
    await b.remove();
  }
}

async function main(): Promise<void> {
  const withSink = await ingest(true);
  const without = await ingest(false);
  const again = await ingest(true);
  console.log(`ingest with file sink delivering: ${Math.round(withSink)} and ${Math.round(again)} records/s`);
  console.log(`ingest with no delivery (sink directory immutable): ${Math.round(without)} records/s`);
  console.log(`delivery costs ${(100 * (1 - (withSink + again) / 2 / without)).toFixed(0)} % of ingest throughput`);
  const l = await ackToArchive();
  console.log(
    `ack -> archive (max_age 5 s, ${l.n} records): p50 ${l.p50.toFixed(0)} ms, p95 ${l.p95.toFixed(0)} ms, p99 ${l.p99.toFixed(0)} ms, max ${l.max.toFixed(0)} ms`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
