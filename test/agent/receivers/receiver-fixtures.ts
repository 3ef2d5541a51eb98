// Shared pieces of the receiver tests: an in-test Ingestor that records what it got (the
// receiver is under test here, not the pipeline) and receiver configs bound to 127.0.0.1:0.
import type { Ingestor, IngestResult } from '../../../agent/pipeline/ingest.js';
import type { DecodedRequest } from '../../../agent/otlp/model.js';
import type { GrpcReceiverConfig, HttpReceiverConfig } from '../../../config/types.js';
import type { LogFn } from '../../../lib/log.js';
import type { BodyFormat, RequestDecoder } from '../../../agent/otlp/decode-pool.js';
import { decodeJsonRequest } from '../../../agent/otlp/decode-json.js';
import { decodeProtobufRequest } from '../../../agent/otlp/decode-protobuf.js';
import { encodeRequest } from '../../helpers/otlp-client.js';

export class RecordingIngestor implements Ingestor {
  readonly requests: DecodedRequest[] = [];
  /** When set, every ingest call rejects with it. */
  fail: Error | null = null;
  private waiters: Array<() => void> = [];

  async ingest(req: DecodedRequest): Promise<IngestResult> {
    if (this.fail) throw this.fail;
    this.requests.push(req);
    for (const w of this.waiters.splice(0)) w();
    return { accepted: req.records.length, filtered: 0 };
  }

  get records() {
    return this.requests.flatMap((r) => r.records);
  }

  /** Resolves once at least `n` records have arrived. */
  async waitForRecords(n: number): Promise<void> {
    while (this.records.length < n) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }
}

export const quietLog: LogFn = () => {};

export function grpcConfig(over: Partial<GrpcReceiverConfig> = {}): GrpcReceiverConfig {
  return { endpoint: '127.0.0.1:0', maxRecvMsgSize: 4 << 20, readTimeoutMs: 30_000, tls: null, auth: { bearerToken: null }, ...over };
}

export function httpConfig(over: Partial<HttpReceiverConfig> = {}): HttpReceiverConfig {
  return {
    endpoint: '127.0.0.1:0',
    maxRequestBodySize: 4 << 20,
    maxDecompressedSize: 16 << 20,
    readHeaderTimeoutMs: 10_000,
    readTimeoutMs: 30_000,
    tls: null,
    auth: { bearerToken: null },
    ...over,
  };
}

export const OPTS = { maxDepth: 64, log: quietLog };

/** gzip of `size` zero bytes, produced by streaming so the test never holds the inflated data. */
export async function gzipBomb(size: number): Promise<Buffer> {
  const { createGzip } = await import('node:zlib');
  const gz = createGzip({ level: 9 });
  const out: Buffer[] = [];
  gz.on('data', (c: Buffer) => out.push(c));
  const done = new Promise<void>((resolve, reject) => {
    gz.on('end', resolve);
    gz.on('error', reject);
  });
  const chunk = Buffer.alloc(1 << 20);
  for (let sent = 0; sent < size; sent += chunk.length) {
    if (!gz.write(chunk)) await new Promise((r) => gz.once('drain', r));
  }
  gz.end();
  await done;
  return Buffer.concat(out);
}

/** The receivers' in-thread decoders behind the RequestDecoder interface, counting the calls. */
export class CountingDecoder implements RequestDecoder {
  calls = 0;
  async decode(body: Buffer, format: BodyFormat): Promise<DecodedRequest> {
    this.calls++;
    return format === 'json' ? decodeJsonRequest(body) : decodeProtobufRequest(body);
  }
}

/** A protobuf request of `n` audit records with a few attributes each. */
export function manyRecords(n: number): Buffer {
  const records = [];
  for (let i = 0; i < n; i++)
    records.push({ body: `user ${i} opened /doc/${i}`, attributes: { audit: true, actor: `u-${i}`, action: 'read' } });
  return encodeRequest(records);
}
