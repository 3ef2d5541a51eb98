// The interface every sink implements, and the rules the conformance suite
// (exporters/conformance/suite.ts) checks for each of them:
//  - put() resolves only once the object is durable in the sink;
//  - put() of identical bytes under an existing name is a no-op that resolves 'exists';
//  - put() of different bytes under an existing name rejects with SINK_CONFLICT and leaves
//    the existing object untouched; a sink never overwrites or deletes what it wrote;
//  - transient failures reject with SINK_TRANSIENT (retried forever by the forwarder, logged
//    as warnings), permanent ones with SINK_PERMANENT (logged as errors, and retried with the
//    same capped backoff: the batch stays buffered until an operator fixes the cause).

import type { DeliverOptions, SealedBatch } from './deliver.js';

export type PutResult = 'written' | 'exists';

export interface Sink {
  /** Component id from the config, e.g. "file" or "s3/archive"; keys the delivery cursor. */
  readonly id: string;
  /** Start-up checks (directory writable, bucket exists, Object Lock on, ...). Fails fast. */
  start(): Promise<void>;
  /** Writes `body` under `name` exactly once (see the rules above). */
  put(name: string, body: Uint8Array): Promise<PutResult>;
  /** Reads an object back, or null when absent. Used to compare on conflicts. */
  get(name: string): Promise<Uint8Array | null>;
  /** Releases resources. Safe to call twice and before start(). */
  close(): Promise<void>;
  /**
   * Optional: delivers a whole sealed batch with exactly the semantics of deliverBatch() in
   * deliver.ts (entries object, then checkpoint). WorkerSink has it, to cross to its worker once.
   */
  deliverBatch?(batch: SealedBatch, opts: DeliverOptions): Promise<void>;
  /**
   * True when deliverBatch may be called again before the previous call settled: the calls run
   * one after the other in call order, and one whose batch starts where a failed delivery's
   * batch ended rejects (SINK_TRANSIENT) without touching the sink. WorkerSink does this, so a
   * forwarder can hand over the next batch while one is being written.
   */
  readonly queuesDeliveries?: boolean;
}
