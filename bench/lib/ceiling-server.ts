// Ceiling (a), run as its own process like the agent: the real OTLP receivers (decoding
// included) in front of an Ingestor that only counts, so acknowledgements cost no chaining,
// no fsync and no sealing. Prints {"grpc","http"} on stdout once listening; SIGTERM stops it.
import { startGrpcReceiver } from '../../agent/receivers/otlp-grpc.js';
import { startHttpReceiver } from '../../agent/receivers/otlp-http.js';
import type { Ingestor } from '../../agent/pipeline/ingest.js';

const counting: Ingestor = {
  async ingest(req) {
    return { accepted: req.records.length, filtered: 0 };
  },
};
const opts = { maxDepth: 64, log: () => undefined };
const auth = { bearerToken: null };
const grpc = await startGrpcReceiver(
  { endpoint: '127.0.0.1:0', maxRecvMsgSize: 4 << 20, readTimeoutMs: 30_000, tls: null, auth },
  counting,
  opts,
);
const http = await startHttpReceiver(
  {
    endpoint: '127.0.0.1:0',
    maxRequestBodySize: 4 << 20,
    maxDecompressedSize: 16 << 20,
    readHeaderTimeoutMs: 10_000,
    readTimeoutMs: 30_000,
    tls: null,
    auth,
  },
  counting,
  opts,
);
process.stdout.write(JSON.stringify({ grpc: grpc.address, http: http.address }) + '\n');
process.on('SIGTERM', () => {
  void Promise.all([grpc.close(false), http.close(false)]).then(() => {
    process.exit(0);
  });
});
