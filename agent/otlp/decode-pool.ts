// Decodes request bodies in a worker thread (decode-worker.ts). The main thread then only
// chains, hashes and commits: decoding, filtering and encoding a request is most of its CPU,
// and while it ran on the main thread every group commit, delivery and answer waited behind it.
// One worker keeps requests in arrival order. If the worker dies, the requests it held fail
// with a retryable error and the next request starts a new one.
import { Worker } from 'node:worker_threads';
import { SealtrailError } from '../../lib/errors.js';
import { spansOwnMemory } from '../../lib/own-memory.js';
import type { LogFn } from '../../lib/log.js';
import type { AuditContextProcessor } from '../context/audit-context.js';
import type { DecodedRequest } from './model.js';
import type { DecodeCall, DecodeInit, DecodeReply } from './decode-protocol.js';

export type BodyFormat = 'protobuf' | 'json';

/** How receivers turn a body into a DecodedRequest. */
export interface RequestDecoder {
  /** Takes `body` over: the caller must not read it after this call (it may be detached). */
  decode(body: Buffer, format: BodyFormat): Promise<DecodedRequest>;
}

/**
 * The body's bytes as a Uint8Array whose memory can be transferred to the worker. A body that
 * spans its own ArrayBuffer (grpc-js's message, the HTTP receiver's concatenated body) is
 * handed over as is, which detaches it here: one copy less per request, and less Buffer memory
 * for V8 to collect on this thread. Anything else is copied: a small body may share Node's
 * Buffer pool, and a view of a bigger buffer would carry (and detach) all of it.
 */
export function transferable(body: Buffer): Uint8Array<ArrayBuffer> {
  if (spansOwnMemory(body)) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  const copy = new Uint8Array(body.byteLength);
  copy.set(body);
  return copy;
}

// The worker's heap holds one request's decoded form at a time per request in flight; the
// decode budgets (max_request_canonical_size) bound each.
const WORKER_LIMITS = { maxOldGenerationSizeMb: 256, maxYoungGenerationSizeMb: 32 };

export class DecodePool implements RequestDecoder {
  private worker: Worker | null = null;
  private nextId = 1;
  private closed = false;
  private readonly pending = new Map<number, { resolve: (r: DecodedRequest) => void; reject: (e: unknown) => void }>();

  constructor(
    private readonly init: DecodeInit,
    private readonly context: AuditContextProcessor | null,
    private readonly log: LogFn,
  ) {}

  decode(body: Buffer, format: BodyFormat): Promise<DecodedRequest> {
    if (this.closed) return Promise.reject(new SealtrailError('SHUTTING_DOWN', 'the agent is shutting down', { retryAfterSeconds: 5 }));
    const w = this.worker ?? this.spawn();
    const bytes = transferable(body);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const call: DecodeCall = { id, format, body: bytes };
      w.postMessage(call, [bytes.buffer]);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }

  private spawn(): Worker {
    const w = new Worker(new URL('./decode-worker.js', import.meta.url), { workerData: this.init, resourceLimits: WORKER_LIMITS });
    this.worker = w;
    w.on('message', (m: DecodeReply) => this.settle(m));
    const fail = (why: string): void => {
      if (this.worker === w) this.worker = null;
      for (const [id, p] of this.pending) {
        this.pending.delete(id);
        p.reject(new SealtrailError('OVERLOADED', `the decode worker ${why}; retry`, { retryAfterSeconds: 1 }));
      }
    };
    w.on('error', (err) => {
      const why = `${err.name}: ${err.message}`;
      this.log('error', 'decode worker failed; a new one starts with the next request', { error: why });
      fail(`failed (${why})`);
    });
    w.on('exit', (code) => {
      if (!this.closed) fail(`exited with code ${code}`);
    });
    return w;
  }

  private settle(m: DecodeReply): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (!m.ok) {
      const e = m.error;
      if (e.contextReject && this.context) p.reject(this.context.rejected(e.contextReject));
      else p.reject(e.code ? new SealtrailError(e.code, e.message) : new Error(e.message));
      return;
    }
    const prepared = m.prepared;
    if (prepared.tails !== null) {
      // Structured clone hands back a Uint8Array: make it a Buffer again (no copy).
      const b = prepared.tails.bytes;
      prepared.tails.bytes = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
    }
    p.resolve({ records: [], schemaUrlsDropped: prepared.schemaUrlsDropped, prepared, decodedBytes: m.decodedBytes });
  }
}
