// The agent runs every sink in a worker thread (exporters/worker). The same conformance
// suite runs through that boundary, so error codes, durability and write-once behaviour
// survive it; the worker's own failure handling is tested after it.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { WorkerSink } from '../../exporters/worker/worker-sink.js';
import { isSealtrailError } from '../../lib/errors.js';
import { assertRejectsCode, freshOrigin, makeTestBatch, sinkConformanceSuite } from './conformance.js';
import { makeFileHarness, type FileHarness } from './file-harness.js';
import { checkpointObjectName, entriesObjectName } from '../../verify/layout.js';
import { gunzipSync } from 'node:zlib';

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
