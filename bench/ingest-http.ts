// Scenario: the same durable ingest over OTLP/HTTP protobuf (POST /v1/logs, keep-alive sockets).
import { ingestMatrix } from './ingest-grpc.js';
import type { IngestResult } from './lib/ingest.js';
import type { BenchSettings } from './lib/settings.js';

export function ingestHttp(s: BenchSettings, log: (m: string) => void): Promise<IngestResult[]> {
  return ingestMatrix('http', s, log);
}
