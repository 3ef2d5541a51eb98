// A Sink whose implementation runs in a worker thread (sink-worker.ts). Same interface and
// the same contract: errors come back with their SealtrailError code. If the worker dies,
// calls in flight fail as SINK_TRANSIENT (the forwarder retries them) and the next call starts
// a fresh worker, which repeats the sink's start-up checks first.
import { Worker } from 'node:worker_threads';
import type { ExporterConfig } from '../../config/types.js';
import { SealtrailError } from '../../lib/errors.js';
import type { LogFn } from '../../lib/log.js';
import type { PutResult, Sink } from '../sink.js';
import { notAttempted, type DeliverOptions, type SealedBatch } from '../deliver.js';
import type { Call, Reply, SerializedError } from './protocol.js';
import { spansOwnMemory } from '../../lib/own-memory.js';

type Pending = { resolve: (v: unknown) => void; reject: (e: unknown) => void };
type CallBody = Call extends infer C ? (C extends { id: number } ? Omit<C, 'id'> : never) : never;

export class WorkerSink implements Sink {
  readonly id: string;
  private worker: Worker | null = null;
  private started = false;
  private closed = false;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** The newest delivery: where its batch ends and whether it failed (see queuesDeliveries). */
  private lastDelivery: { end: number; failed: boolean } | null = null;
  readonly queuesDeliveries = true;

  constructor(
    private readonly cfg: ExporterConfig,
    private readonly log: LogFn,
  ) {
    this.id = cfg.id;
  }

  async start(): Promise<void> {
    await this.call({ op: 'start' });
    this.started = true;
  }

  async put(name: string, body: Uint8Array): Promise<PutResult> {
    return (await this.call({ op: 'put', name, body })) as PutResult;
  }

  async get(name: string): Promise<Uint8Array | null> {
    return (await this.call({ op: 'get', name })) as Uint8Array | null;
  }

  /**
   * deliverBatch (entries, then checkpoint) run inside the worker: one round trip per batch.
   * Calls run in call order; one whose batch continues a delivery that failed is refused, here
   * when that failure is known (a worker that died), else by the worker (sink-worker.ts).
   */
  async deliverBatch(batch: SealedBatch, opts: DeliverOptions): Promise<void> {
    const last = this.lastDelivery;
    if (last !== null && last.failed && last.end === batch.start) throw notAttempted(batch);
    const mine = { end: batch.end, failed: false };
    this.lastDelivery = mine;
    try {
      const lines = batch.lines;
      await this.call({ op: 'deliver', batch, opts }, false, opts.transferLines === true && spansOwnMemory(lines) ? [lines.buffer] : []);
    } catch (err) {
      mine.failed = true;
      throw err;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const w = this.worker;
    if (!w) return;
    try {
      await this.call({ op: 'close' }, true);
    } finally {
      await w.terminate();
      this.worker = null;
    }
  }

  private async call(body: CallBody, closing = false, transfer: ArrayBuffer[] = []): Promise<unknown> {
    if (this.closed && !closing) throw new SealtrailError('SINK_TRANSIENT', `sink ${this.id} is closed`);
    let w = this.worker;
    if (!w) {
      w = this.spawn();
      // A replacement worker repeats the start-up checks before doing anything else.
      if (this.started && body.op !== 'start') await this.send(w, { op: 'start' });
    }
    return this.send(w, body, transfer);
  }

  private send(w: Worker, body: CallBody, transfer: ArrayBuffer[] = []): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      w.postMessage({ ...body, id }, transfer);
    });
  }

  private spawn(): Worker {
    const w = new Worker(new URL('./sink-worker.js', import.meta.url), { workerData: { cfg: this.cfg } });
    this.worker = w;
    w.on('message', (m: Reply) => {
      if (m.type === 'log') {
        this.log(m.level, m.msg, m.fields);
        return;
      }
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.value);
      else p.reject(revive(m.error));
    });
    const fail = (why: string): void => {
      if (this.worker === w) this.worker = null;
      for (const [id, p] of this.pending) {
        this.pending.delete(id);
        p.reject(new SealtrailError('SINK_TRANSIENT', `sink ${this.id}: worker ${why}`));
      }
    };
    w.on('error', (err) => {
      this.log('error', 'sink worker failed; it is restarted on the next delivery', { sink: this.id, error: err.message });
      fail(`failed: ${err.message}`);
    });
    w.on('exit', (code) => fail(`exited with code ${code}`));
    return w;
  }
}

function revive(e: SerializedError): Error {
  return e.code ? new SealtrailError(e.code, e.message) : new Error(e.message);
}
