// Runs one sink in a worker thread. The agent's main thread is busy chaining records; with
// the sink's many small awaits (open, write, fsync, link, fsync dir, chmod ...) on its own
// event loop, a batch costs the main thread one round trip per object instead of one per step.
import { parentPort, workerData } from 'node:worker_threads';
import { isSealtrailError, errorMessage } from '../../lib/errors.js';
import { createDirectSink } from '../factory.js';
import { checkBeforeDelivery, deliverBatch, notAttempted } from '../deliver.js';
import { freeOnceDelivered } from './free-delivered.js';
import type { Call, Reply, WorkerInit } from './protocol.js';

const port = parentPort;
if (!port) throw new Error('sink-worker.js must run in a worker thread');
const { cfg } = workerData as WorkerInit;
const send = (m: Reply): void => port.postMessage(m);
// Calls posted while the sink loads wait in the port's queue: the listener is attached after.
const sink = await createDirectSink(cfg, (level, msg, fields) =>
  send({ type: 'log', level, msg, ...(fields ? { fields: plain(fields) } : {}) }),
);

port.on('message', (call: Call) => {
  void handle(call).then(
    (value) => send({ type: 'reply', id: call.id, ok: true, value }),
    (err: unknown) =>
      send({ type: 'reply', id: call.id, ok: false, error: { code: isSealtrailError(err) ? err.code : null, message: errorMessage(err) } }),
  );
});

async function handle(call: Call): Promise<unknown> {
  switch (call.op) {
    case 'start':
      return sink.start();
    case 'put':
      return sink.put(call.name, call.body);
    case 'get':
      return sink.get(call.name);
    case 'deliver':
      return queueDelivery(call);
    case 'close':
      return sink.close();
  }
}

/** The newest delivery: where its batch ends, and whether it succeeded. */
let lastDelivery: { end: number; ok: Promise<boolean> } | null = null;

/**
 * Runs deliveries one after the other, in the order they were sent, and refuses one whose
 * batch continues a delivery that failed: batch N+1 never reaches the sink when batch N did
 * not, though the forwarder sent N+1 before it learnt of N's failure. A retry of N itself runs.
 */
function queueDelivery({ batch, opts }: Extract<Call, { op: 'deliver' }>): Promise<void> {
  const prev = lastDelivery;
  const run = (async () => {
    if (prev !== null && !(await prev.ok) && prev.end === batch.start) throw notAttempted(batch);
    // A sink that takes whole batches (the gateway exporter) delivers them itself, after the
    // check deliverBatch would make.
    if (!sink.deliverBatch) return deliverBatch(sink, batch, opts);
    checkBeforeDelivery(batch, opts);
    return sink.deliverBatch(batch, { gzip: opts.gzip });
  })();
  freeOnceDelivered(run, batch.lines, cfg.type);
  lastDelivery = {
    end: batch.end,
    ok: run.then(
      () => true,
      () => false,
    ),
  };
  return run;
}

/** Log fields may hold errors; keep what structured clone can carry. */
function plain(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields))
    out[k] = v instanceof Error ? { message: v.message, code: (v as { code?: unknown }).code } : v;
  return out;
}
