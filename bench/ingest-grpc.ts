// Scenario: durable OTLP ingest over the matrix of record shapes and request sizes.
import { runIngest, type IngestResult } from './lib/ingest.js';
import { shapeLabel, type RecordShape } from './lib/requests.js';
import type { BenchSettings } from './lib/settings.js';

export async function ingestMatrix(
  transport: 'grpc' | 'http',
  s: BenchSettings,
  log: (m: string) => void,
  keep?: { recordsPerRequest: number; shape: RecordShape },
): Promise<IngestResult[]> {
  const out: IngestResult[] = [];
  for (const shape of s.shapes) {
    for (const recordsPerRequest of s.recordsPerRequest) {
      const r = await runIngest({
        transport,
        concurrency: s.concurrency,
        recordsPerRequest,
        shape,
        durationMs: s.durationMs,
        warmupMs: s.warmupMs,
        keep: keep?.recordsPerRequest === recordsPerRequest && keep.shape === shape,
      });
      log(
        `${transport} ${recordsPerRequest} x ${shapeLabel(shape)}: ${Math.round(r.recordsPerSec)} records/s, p99 ${r.latency.p99.toFixed(1)} ms, ${r.cpuSecPerMillion.toFixed(1)} CPU s/1M, RSS ${(r.peakRssBytes / 1048576).toFixed(0)} MiB`,
      );
      out.push(r);
    }
  }
  return out;
}

export function ingestGrpc(
  s: BenchSettings,
  log: (m: string) => void,
  keep?: { recordsPerRequest: number; shape: RecordShape },
): Promise<IngestResult[]> {
  return ingestMatrix('grpc', s, log, keep);
}
