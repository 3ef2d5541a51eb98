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

/**
 * Sends `body` `count` times, one call after the other, from a client in a worker thread (its
 * buffers count in that thread, not here), and returns the answers and how much this thread's
 * ArrayBuffer memory grew meanwhile. What the receiver refuses and does not free early stays
 * in that figure until the next collection.
 */
export async function sendFromWorker(
  kind: 'grpc' | 'http',
  address: string,
  body: Buffer,
  count: number,
): Promise<{ answers: string[]; grownBytes: number }> {
  const { Worker } = await import('node:worker_threads');
  const { createRequire } = await import('node:module');
  const grpcPath = createRequire(import.meta.url).resolve('@grpc/grpc-js');
  const w = new Worker(
    `const { workerData: d, parentPort } = require('node:worker_threads');
const body = Buffer.from(d.body);
const answers = [];
const next = () => (answers.length < d.count ? one() : parentPort.postMessage(answers));
let one;
if (d.kind === 'grpc') {
  const grpc = require(d.grpcPath);
  const client = new grpc.Client(d.address, grpc.credentials.createInsecure());
  one = () => client.makeUnaryRequest('/opentelemetry.proto.collector.logs.v1.LogsService/Export', (b) => b, (b) => b, body,
    new grpc.Metadata(), (err) => { answers.push(err ? err.code + ' ' + err.details : 'OK'); next(); });
} else {
  const http = require('node:http');
  const [host, port] = [d.address.slice(0, d.address.lastIndexOf(':')), Number(d.address.slice(d.address.lastIndexOf(':') + 1))];
  one = () => {
    const req = http.request({ host, port, method: 'POST', path: '/v1/logs', headers: { 'content-type': 'application/x-protobuf' } }, (res) => {
      const out = [];
      res.on('data', (c) => out.push(c));
      res.on('end', () => { answers.push(res.statusCode + ' ' + Buffer.concat(out).toString('latin1')); next(); });
    });
    req.end(body);
  };
}
one();`,
    { eval: true, workerData: { kind, address, body, count, grpcPath } },
  );
  try {
    const before = process.memoryUsage().arrayBuffers;
    const answers = await new Promise<string[]>((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
    return { answers, grownBytes: process.memoryUsage().arrayBuffers - before };
  } finally {
    await w.terminate();
  }
}

/** Whether this Node can free a buffer's memory before a collection (lib/own-memory.ts). */
export const CAN_FREE = typeof (ArrayBuffer.prototype as { transfer?: unknown }).transfer === 'function';
