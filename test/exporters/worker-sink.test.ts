// The agent runs every sink in a worker thread (exporters/worker). The same conformance
// suite runs through that boundary, so error codes, durability and write-once behaviour
// survive it; the worker's own failure handling is tested after it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { promisify } from 'node:util';
import { WorkerSink } from '../../exporters/worker/worker-sink.js';
import { isSealtrailError } from '../../agent/errors.js';
import { listFiles } from '../helpers/entries.js';
import { assertRejectsCode, freshOrigin, makeTestBatch, sinkConformanceSuite, type SinkHarness } from './conformance.js';
import { checkpointObjectName, entriesObjectName } from '../../verify/layout.js';
import { gunzipSync } from 'node:zlib';

const run = promisify(execFile);
const isRoot = process.getuid?.() === 0;

async function dirsOf(root: string): Promise<string[]> {
  const out = [root];
  for (const f of await listFiles(root)) {
    let d = path.dirname(path.join(root, f));
    while (d.startsWith(root) && d !== root && !out.includes(d)) {
      out.push(d);
      d = path.dirname(d);
    }
  }
  return out;
}

async function writable(root: string, yes: boolean): Promise<void> {
  for (const d of await dirsOf(root).catch(() => [])) {
    if (isRoot) await run('chattr', [yes ? '-i' : '+i', d]).catch(() => {});
    else await fsp.chmod(d, yes ? 0o755 : 0o555).catch(() => {});
  }
}

async function harness(): Promise<SinkHarness & { root: string }> {
  const tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'sealtrail-'));
  const root = path.join(tmp, 'archive');
  const sink = new WorkerSink({ type: 'file', id: 'file', directory: root, compression: 'none', immutable: false }, () => {});
  return {
    sink,
    root,
    async readBack(name) {
      try {
        return new Uint8Array(await fsp.readFile(path.join(root, ...name.split('/'))));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw err;
      }
    },
    listNames: () => listFiles(root),
    injectTransientFault: () => writable(root, false),
    healFault: () => writable(root, true),
    async cleanup() {
      await sink.close();
      if (isRoot) await run('chattr', ['-R', '-i', tmp]).catch(() => {});
      await fsp.rm(tmp, { recursive: true, force: true });
    },
  };
}

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
      await (h.sink as WorkerSink).deliverBatch(batch, { gzip });
      await (h.sink as WorkerSink).deliverBatch(batch, { gzip }); // redelivery: no-op
      const entries = await h.readBack(entriesObjectName(origin, 0, 5, gzip));
      const plain = gzip ? new Uint8Array(gunzipSync(entries!)) : entries;
      assert.deepEqual(plain, batch.lines);
      assert.equal(new TextDecoder().decode((await h.readBack(checkpointObjectName(origin, 0, 5)))!), batch.checkpoint);
    }
    await assertRejectsCode((h.sink as WorkerSink).deliverBatch(makeTestBatch(origin, 0, 5, 'other'), { gzip: false }), 'SINK_CONFLICT');
  } finally {
    await h.cleanup();
  }
});
