// A cursor move whose LevelDB write fails, on a real full disk (a 20 MiB tmpfs, root only), for
// the writer and for a forwarder on it: the move is refused with STORAGE, the durable cursor,
// the batches and the high-water mark stay where they were, and once the writer has reopened
// LevelDB the same bytes are still there and the move lands on a retry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { isSealtrailError } from '../../../lib/errors.js';
import { countLines } from '../../../agent/buffer/store.js';
import { HighWaterFile, type HighWater } from '../../../agent/buffer/high-water.js';
import { Forwarder } from '../../../agent/delivery/forwarder.js';
import { FileSink } from '../../../exporters/file/file-sink.js';
import type { PutResult } from '../../../exporters/sink.js';
import { checkpointObjectName, entriesObjectName } from '../../../verify/layout.js';
import { tempDir } from '../../helpers/agent.js';
import { readBuffer } from '../../helpers/buffer.js';
import { listFiles } from '../../helpers/entries.js';
import { openTestWriter, item, TEST_ORIGIN } from '../../helpers/writer.js';
import { fillDisk } from '../../helpers/full-disk.js';

/** A bound on waiting for events ('recovered', the forwarder catching up), so a regression fails instead of hanging. */
const WAIT_LIMIT = { timeout: 60_000 };

async function mark(dir: string): Promise<HighWater> {
  const r = await HighWaterFile.read(path.join(dir, 'buffer.hwm'));
  if (r.state !== 'ok') assert.fail(`the high-water mark is ${r.state}`);
  return r.hw;
}

type TestWriter = Awaited<ReturnType<typeof openTestWriter>>;

/**
 * A writer on `dir` holding `count` entries sealed in batches of `maxRecords`, closed and opened
 * again so that LevelDB starts a new, empty log: the next write then needs a page that a full
 * tmpfs cannot give (a small write into a partly used last page of the log would still succeed).
 */
async function sealedAndReopened(dir: string, sink: string, maxRecords: number, count: number): Promise<TestWriter> {
  const first = await openTestWriter(dir, { maxRecords, sinks: [sink] });
  await first.writer.append(Array.from({ length: count }, (_, i) => item(i)));
  assert.equal(first.writer.sealedSize, count);
  await first.close();
  const w = await openTestWriter(dir, { maxRecords, sinks: [sink] });
  const buffer = path.join(dir, 'buffer');
  const logs = (await fs.readdir(buffer)).filter((n) => n.endsWith('.log'));
  assert.equal(logs.length, 1);
  assert.equal((await fs.stat(path.join(buffer, logs[0]!))).size, 0, 'the reopened buffer writes to an empty LevelDB log');
  return w;
}

test('a cursor move that cannot be written: STORAGE, nothing moved or freed, the retry frees the batch', WAIT_LIMIT, async () => {
  const dir = await tempDir();
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=20m', 'tmpfs', dir]);
  let w: TestWriter | null = null;
  try {
    w = await sealedAndReopened(dir, 'a', 4, 8); // batches [0,4) and [4,8); 'a' is the only sink
    const writer = w.writer;
    const before = writer.state();
    assert.equal(before.sealedSize, 8);
    assert.equal(before.lowWater, 0);
    assert.equal(before.entries, 8);
    assert.equal(writer.cursor('a'), 0);
    const batch0 = await writer.readBatch(0);
    const batch4 = await writer.readBatch(4);
    assert.deepEqual([batch0.start, batch0.end, batch4.start, batch4.end], [0, 4, 4, 8]);
    const lines0 = await writer.readLines(batch0);
    const lines4 = await writer.readLines(batch4);
    assert.equal(countLines(lines0), 4);
    assert.match(lines0.toString(), /"r0"/);
    const markBefore = await mark(dir);
    assert.equal(markBefore.deliveredSize, 0);
    assert.equal(markBefore.sealedSize, 8);
    let freed = 0;
    writer.on('freed', () => freed++);

    const filler = path.join(dir, 'filler');
    await fillDisk(filler);
    // 'a' is the only sink, so this commit would also have deleted batch [0,4).
    const failure = await writer.advance('a', 4).then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(isSealtrailError(failure), `the advance rejected with a SealtrailError, got ${String(failure)}`);
    assert.equal(failure.code, 'STORAGE');
    assert.equal(failure.retryable, true);
    assert.match(failure.message, /^buffer write failed: /);
    // Nothing of the failed commit is visible: the durable cursor and ledger are unchanged.
    assert.equal(writer.cursor('a'), 0);
    assert.deepEqual(writer.state(), before);
    assert.equal(freed, 0);
    assert.notEqual(writer.storageError, null);
    assert.deepEqual(await mark(dir), markBefore, 'the high-water mark was not written (deliveredSize stays 0)');
    // While the buffer is being reopened a move is refused, not queued.
    await assert.rejects(writer.advance('a', 4), (e) => isSealtrailError(e, 'STORAGE'));

    await fs.rm(filler);
    if (writer.storageError !== null) await once(writer, 'recovered');
    assert.equal(writer.storageError, null);
    // Reloaded from LevelDB: the move did not land and both batches are there, byte for byte.
    assert.equal(writer.cursor('a'), 0);
    assert.deepEqual(writer.state(), before);
    assert.deepEqual(await writer.readBatch(0), batch0);
    assert.deepEqual(await writer.readLines(batch0), lines0);
    assert.deepEqual(await writer.readBatch(4), batch4);
    assert.deepEqual(await writer.readLines(batch4), lines4);
    assert.deepEqual(await mark(dir), markBefore);
    assert.equal(freed, 0);

    // The retried move lands and frees the batch.
    await writer.advance('a', 4);
    assert.equal(writer.cursor('a'), 4);
    const after = writer.state();
    assert.equal(after.lowWater, 4);
    assert.equal(after.entries, 4);
    assert.equal(after.bytes, before.bytes - batch0.bytes);
    assert.equal(freed, 1);
    assert.equal((await mark(dir)).deliveredSize, 4);
    await assert.rejects(writer.readBatch(0), (e) => isSealtrailError(e, 'BUFFER_CORRUPT') && /not in the buffer/.test(e.message));
    assert.deepEqual(await writer.readLines(batch4), lines4);
    await w.close();
    w = null;
    const stored = await readBuffer(dir);
    assert.deepEqual(stored.cursors, new Map([['a', 4]]));
    assert.deepEqual(
      stored.batches.map((b) => [b.start, b.end]),
      [[4, 8]],
    );
    assert.deepEqual(
      stored.entries.map((e) => e.seq),
      [4, 5, 6, 7],
    );
    assert.equal(stored.head?.lowWater, 4);
  } finally {
    await w?.close().catch(() => undefined);
    execFileSync('umount', ['-l', dir]);
    await fs.rm(dir, { recursive: true, force: true });
  }
});

/** The real file sink, recording what each put answered. */
class RecordingFileSink extends FileSink {
  readonly puts: Array<{ name: string; result: PutResult }> = [];
  override async put(name: string, body: Uint8Array): Promise<PutResult> {
    const result = await super.put(name, body);
    this.puts.push({ name, result });
    return result;
  }
}

test('a forwarder whose cursor move fails redelivers from the durable cursor after recovery', WAIT_LIMIT, async () => {
  const dir = await tempDir();
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=20m', 'tmpfs', dir]);
  const base = await tempDir(); // the archive is on another filesystem, with room
  const archive = path.join(base, 'archive');
  let w: TestWriter | null = null;
  let f: Forwarder | null = null;
  // The forwarder's backoff timer is unref'd (in the agent its servers keep the process alive):
  // hold the event loop open while the test waits for events.
  const keepAlive = setInterval(() => {}, 1000);
  try {
    w = await sealedAndReopened(dir, 'file', 2, 4); // batches [0,2) and [2,4)
    const writer = w.writer;
    const batches = [await writer.readBatch(0), await writer.readBatch(2)];
    const lines = [await writer.readLines(batches[0]!), await writer.readLines(batches[1]!)];
    const entries0 = entriesObjectName(TEST_ORIGIN, 0, 2, false);
    const checkpoint0 = checkpointObjectName(TEST_ORIGIN, 0, 2);

    const sink = new RecordingFileSink({ type: 'file', id: 'file', directory: archive, compression: 'none', immutable: false });
    await sink.start();
    const failures: Array<Record<string, unknown>> = [];
    let failed!: () => void;
    const firstFailure = new Promise<void>((r) => (failed = r));
    f = new Forwarder(sink, writer, false, { initialIntervalMs: 10, maxIntervalMs: 50, multiplier: 2 }, (_level, msg, fields) => {
      if (msg !== 'sink delivery failed; will retry') return;
      failures.push(fields ?? {});
      failed();
    });
    const caughtUp = new Promise<void>((resolve) =>
      writer.on('freed', () => {
        if (writer.cursor('file') === 4) resolve();
      }),
    );

    const filler = path.join(dir, 'filler');
    await fillDisk(filler);
    f.start();
    await firstFailure;
    // Batch [0,2) is in the sink, but its cursor move failed: the durable cursor stays at 0.
    assert.equal(failures[0]!.code, 'STORAGE');
    assert.equal(f.cursor, 0);
    assert.equal(writer.cursor('file'), 0);
    assert.deepEqual(sink.puts.slice(0, 2), [
      { name: entries0, result: 'written' },
      { name: checkpoint0, result: 'written' },
    ]);
    // Reading from the buffer is refused until it is reopened, so nothing more reaches the sink.
    const putsDuringFault = sink.puts.length;

    await fs.rm(filler);
    await caughtUp;
    await f.stop();
    assert.equal(f.cursor, 4);
    assert.equal(writer.state().lowWater, 4);
    assert.equal(writer.state().entries, 0);
    assert.equal((await mark(dir)).deliveredSize, 4);
    assert.ok(
      failures.every((x) => x.code === 'STORAGE'),
      `every failed attempt was the buffer's: ${JSON.stringify(failures)}`,
    );
    // After recovery delivery starts again at the durable cursor: the same batch, which the file
    // sink already holds byte for byte.
    assert.deepEqual(sink.puts.slice(putsDuringFault, putsDuringFault + 2), [
      { name: entries0, result: 'exists' },
      { name: checkpoint0, result: 'exists' },
    ]);
    // Every object was written once and answered 'exists' on every later delivery.
    const seen = new Set<string>();
    for (const p of sink.puts) {
      assert.equal(p.result, seen.has(p.name) ? 'exists' : 'written', `put of ${p.name}`);
      seen.add(p.name);
    }
    assert.equal(seen.size, 4);
    assert.deepEqual((await listFiles(archive)).map((n) => n.split('/').pop()).sort(), [
      '0000000000000000-0000000000000002.checkpoint',
      '0000000000000000-0000000000000002.entries.jsonl',
      '0000000000000002-0000000000000004.checkpoint',
      '0000000000000002-0000000000000004.entries.jsonl',
    ]);
    for (const [i, b] of batches.entries()) {
      assert.deepEqual(await fs.readFile(path.join(archive, entriesObjectName(TEST_ORIGIN, b.start, b.end, false))), lines[i]);
      assert.equal(await fs.readFile(path.join(archive, checkpointObjectName(TEST_ORIGIN, b.start, b.end)), 'utf8'), b.checkpoint);
    }
  } finally {
    clearInterval(keepAlive);
    await f?.stop();
    await w?.close().catch(() => undefined);
    execFileSync('umount', ['-l', dir]);
    await fs.rm(dir, { recursive: true, force: true });
    await fs.rm(base, { recursive: true, force: true });
  }
});
