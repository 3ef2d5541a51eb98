// Scenario: durable OTLP/gRPC ingest over the matrix of request and record sizes.
import { runIngest, type IngestResult } from './lib/ingest.js';
import type { BenchSettings } from './lib/settings.js';

export async function ingestMatrix(
  transport: 'grpc' | 'http',
  s: BenchSettings,
  log: (m: string) => void,
  keep?: { recordsPerRequest: number; recordBytes: number },
): Promise<IngestResult[]> {
  const out: IngestResult[] = [];
  for (const recordBytes of s.recordBytes) {
    for (const recordsPerRequest of s.recordsPerRequest) {
      const r = await runIngest({
        transport,
        concurrency: s.concurrency,
        recordsPerRequest,
        recordBytes,
        durationMs: s.durationMs,
        warmupMs: s.warmupMs,
        keep: keep?.recordsPerRequest === recordsPerRequest && keep.recordBytes === recordBytes,
      });
      log(
        `${transport} ${recordsPerRequest} x ${recordBytes} B: ${Math.round(r.recordsPerSec)} records/s, p99 ${r.latency.p99.toFixed(1)} ms`,
      );
      out.push(r);
    }
  }
  return out;
}

export function ingestGrpc(
  s: BenchSettings,
  log: (m: string) => void,
  keep?: { recordsPerRequest: number; recordBytes: number },
): Promise<IngestResult[]> {
  return ingestMatrix('grpc', s, log, keep);
}
