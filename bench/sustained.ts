// Scenario: sustained end to end. Acknowledgements can outrun delivery to the sink for as long
// as the buffer has room; the rate an agent sustains forever is the one at which the buffer
// stays full and backpressure (refusals) matches ingest to delivery. A 128 MiB buffer gets
// there within the warm-up; the measured window then shows that steady state.
import type { RecordShape } from './lib/requests.js';
import { runIngest, type IngestResult } from './lib/ingest.js';
import type { BenchSettings } from './lib/settings.js';

export async function sustained(
  s: BenchSettings,
  ref: { recordsPerRequest: number; shape: RecordShape },
  log: (m: string) => void,
): Promise<IngestResult> {
  const r = await runIngest({
    transport: 'grpc',
    concurrency: s.concurrency,
    ...ref,
    durationMs: s.durationMs,
    warmupMs: Math.max(s.warmupMs, 15000),
    bufferMaxSize: '128MiB',
  });
  log(`sustained (128 MiB buffer, full): ${Math.round(r.recordsPerSec)} records/s acked, ${Math.round(r.deliveredPerSec)} delivered/s`);
  return r;
}
