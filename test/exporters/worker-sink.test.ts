// The agent runs every sink in a worker thread (exporters/worker). The same conformance
// suite runs through that boundary, so error codes, durability and write-once behaviour
// survive it; the worker's own failure handling is tested after it.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { WorkerSink } from '../../exporters/worker/worker-sink.js';
import { freeOnceDelivered } from '../../exporters/worker/free-delivered.js';
import { isSealtrailError } from '../../lib/errors.js';
import { assertRejectsCode, freshOrigin, makeTestBatch, sinkConformanceSuite } from './conformance.js';
import { makeFileHarness, type FileHarness } from './file-harness.js';
import { checkpointObjectName, entriesObjectName } from '../../verify/layout.js';
import { gunzipSync } from 'node:zlib';
import { promises as fs } from 'node:fs';
import path from 'node:path';

/** The file harness (real directory, real chattr faults) with the sink behind a worker. */
const harness = (): Promise<FileHarness<WorkerSink>> => makeFileHarness({}, (cfg, log) => new WorkerSink(cfg, log));

sinkConformanceSuite({ name: 'file sink in a worker thread', makeSink: harness });

it('a sink worker that dies fails its calls as SINK_TRANSIENT, and the next call starts a new one', async () => {
  const h = await harness();
  try {
    await h.sink.start();
    assert.equal(await h.sink.put('a/x.checkpoint', new TextEncoder().encode('one')), 'written');
    // Kill the worker the way a crash would (private field: this is the failure under test).
    const worker = (h.sink as unknown as { worker: { terminate(): Promise<number> } }).worker;
    // 64 MiB takes the worker far longer to write and fsync than terminate() takes to land.
    const inFlight = h.sink.put('a/y.checkpoint', new Uint8Array(64 << 20));
    await worker.terminate();
    await assert.rejects(inFlight, (e) => isSealtrailError(e, 'SINK_TRANSIENT') && /worker exited/.test(e.message));
    // A fresh worker repeats start() and serves; the write-once rules still hold.
    assert.equal(await h.sink.put('a/x.checkpoint', new TextEncoder().encode('one')), 'exists');
    await assert.rejects(h.sink.put('a/x.checkpoint', new TextEncoder().encode('other')), (e) => isSealtrailError(e, 'SINK_CONFLICT'));
  } finally {
    await h.healFault();
    await h.sink.close();
    await h.cleanup();
  }
});

it('deliverBatch in the worker writes entries then checkpoint, is a no-op when repeated, and reports conflicts by code', async () => {
  const h = await harness();
  try {
    await h.sink.start();
    const origin = freshOrigin();
    const batch = makeTestBatch(origin, 0, 5);
    for (const gzip of [false, true]) {
      await h.sink.deliverBatch(batch, { gzip });
      await h.sink.deliverBatch(batch, { gzip }); // redelivery: no-op
      const entries = await h.readBack(entriesObjectName(origin, 0, 5, gzip));
      const plain = gzip ? new Uint8Array(gunzipSync(entries!)) : entries;
      assert.deepEqual(plain, batch.lines);
      assert.equal(new TextDecoder().decode(await h.readBack(checkpointObjectName(origin, 0, 5))), batch.checkpoint);
    }
    await assertRejectsCode(h.sink.deliverBatch(makeTestBatch(origin, 0, 5, 'other'), { gzip: false }), 'SINK_CONFLICT');
  } finally {
    await h.sink.close();
    await h.cleanup();
  }
});

it("a batch big enough for the worker to free its copy: the caller's lines stay whole, and redelivery and retry still work", async () => {
  const h = await harness();
  try {
    await h.sink.start();
    const origin = freshOrigin();
    const batch = makeTestBatch(origin, 0, 3000); // about 150 KB of lines: memory of its own
    assert.ok(batch.lines.length > 128 << 10);
    const copy = Uint8Array.from(batch.lines);
    // A directory where the entries object goes: the first delivery fails, as a full disk would.
    const blocker = path.join(h.root, ...entriesObjectName(origin, 0, 3000, false).split('/'));
    await fs.mkdir(blocker, { recursive: true });
    await assertRejectsCode(h.sink.deliverBatch(batch, { gzip: false }), 'SINK_CONFLICT');
    await fs.rm(blocker, { recursive: true });
    await h.sink.deliverBatch(batch, { gzip: false }); // the forwarder's retry, same lines
    await h.sink.deliverBatch(batch, { gzip: false }); // a redelivery after a restart: a no-op
    assert.deepEqual(batch.lines, copy, "the caller's lines are not the worker's to free");
    assert.deepEqual(await h.readBack(entriesObjectName(origin, 0, 3000, false)), copy);
    assert.equal(new TextDecoder().decode(await h.readBack(checkpointObjectName(origin, 0, 3000))), batch.checkpoint);
  } finally {
    await h.sink.close();
    await h.cleanup();
  }
});

it('deliveries sent before the previous one settled run in order; one continuing a failed delivery is not attempted', async () => {
  const h = await harness();
  try {
    await h.sink.start();
    const origin = freshOrigin();
    const [b0, b1, b2] = [makeTestBatch(origin, 0, 5), makeTestBatch(origin, 5, 10), makeTestBatch(origin, 10, 15)];
    // A directory where batch [5, 10)'s entries object goes: that delivery fails with a conflict.
    const blocker = path.join(h.root, ...entriesObjectName(origin, 5, 10, false).split('/'));
    await fs.mkdir(blocker, { recursive: true });
    // All three are sent at once, as a forwarder hands over the next batch while one is written.
    const sent = [b0, b1, b2].map((b) => h.sink.deliverBatch(b, { gzip: false }));
    await sent[0];
    await assertRejectsCode(sent[1]!, 'SINK_CONFLICT');
    await assert.rejects(sent[2]!, (e) => isSealtrailError(e, 'SINK_TRANSIENT') && /\[10, 15\) was not attempted/.test(e.message));
    assert.equal(await h.readBack(entriesObjectName(origin, 10, 15, false)), null, 'batch [10, 15) did not reach the sink');
    assert.equal(await h.readBack(checkpointObjectName(origin, 10, 15)), null);
    assert.deepEqual(await h.readBack(entriesObjectName(origin, 0, 5, false)), b0.lines);
    // The forwarder's retry starts again at the failed batch: that runs, and the next follows it.
    await fs.rm(blocker, { recursive: true });
    await h.sink.deliverBatch(b1, { gzip: false });
    await h.sink.deliverBatch(b2, { gzip: false });
    assert.deepEqual(await h.readBack(entriesObjectName(origin, 10, 15, false)), b2.lines);
  } finally {
    await h.sink.close();
    await h.cleanup();
  }
});

it('a delivery lost with its worker is failed: the batch after it is refused, not sent to the new worker', async () => {
  const h = await harness();
  try {
    await h.sink.start();
    const origin = freshOrigin();
    // 64 MiB of lines keep the worker writing and fsyncing far longer than terminate() takes.
    const big = { ...makeTestBatch(origin, 0, 1), lines: new Uint8Array(64 << 20).fill(0x61) };
    const worker = (h.sink as unknown as { worker: { terminate(): Promise<number> } }).worker;
    const first = h.sink.deliverBatch(big, { gzip: false });
    first.catch(() => undefined);
    await worker.terminate();
    await assert.rejects(first, (e) => isSealtrailError(e, 'SINK_TRANSIENT') && /worker exited/.test(e.message));
    const next = makeTestBatch(origin, 1, 3);
    await assert.rejects(
      h.sink.deliverBatch(next, { gzip: false }),
      (e) => isSealtrailError(e, 'SINK_TRANSIENT') && /not attempted/.test(e.message),
    );
    assert.equal(await h.readBack(entriesObjectName(origin, 1, 3, false)), null);
    // A retry of the lost batch goes to a new worker; after it, the next batch is delivered.
    await h.sink.deliverBatch(big, { gzip: false });
    await h.sink.deliverBatch(next, { gzip: false });
    assert.deepEqual(await h.readBack(entriesObjectName(origin, 1, 3, false)), next.lines);
  } finally {
    await h.sink.close();
    await h.cleanup();
  }
});

it("a sink worker frees its copy of a batch's lines once delivered: not after a failure, never for a module sink", async () => {
  // Freeing needs Node >= 22 (lib/own-memory.ts); elsewhere the collector frees them later.
  const canFree = typeof (ArrayBuffer.prototype as { transfer?: unknown }).transfer === 'function';
  const lines = () => new Uint8Array(128 << 10).fill(0x61);
  const delivered = lines();
  const ok = Promise.resolve();
  freeOnceDelivered(ok, delivered, 'file');
  await ok;
  assert.equal(delivered.length, canFree ? 0 : 128 << 10, 'freed after a delivery');
  const failed = lines();
  const fail = Promise.reject(new Error('sink timed out'));
  freeOnceDelivered(fail, failed, 's3');
  await fail.catch(() => undefined);
  assert.equal(failed.length, 128 << 10, 'kept after a failure: the sink may still be writing them');
  assert.ok(failed.every((b) => b === 0x61));
  const kept = lines();
  freeOnceDelivered(ok, kept, 'module');
  await ok;
  assert.equal(kept.length, 128 << 10, "a module sink's copy is its code's to keep");
});
