// The forwarder on a real buffer and a real file sink.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { Forwarder } from '../../../agent/delivery/forwarder.js';
import { FileSink } from '../../../exporters/file/file-sink.js';
import path from 'node:path';
import { tempDir } from '../../helpers/agent.js';
import { openTestWriter, item } from '../../helpers/writer.js';
import { listFiles } from '../../helpers/entries.js';
import { createSink } from '../../../exporters/factory.js';
import { openDb } from '../../../agent/buffer/store.js';
import { entriesObjectName } from '../../../verify/layout.js';

async function setup(archive: string) {
  const dir = await tempDir();
  const { writer, close } = await openTestWriter(dir, { maxRecords: 2, sinks: ['file'] });
  const sink = new FileSink({ type: 'file', id: 'file', directory: archive, compression: 'none', immutable: false }, () => {});
  const f = new Forwarder(sink, writer, false, { initialIntervalMs: 1000, maxIntervalMs: 1000, multiplier: 2 }, () => {});
  return {
    dir,
    writer,
    f,
    close: async () => {
      await f.stop();
      await close();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

/** Lets real I/O (LevelDB, the file sink) run until `cond` holds; setImmediate is never mocked. */
async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1_000_000 && !cond(); i++) await new Promise((r) => setImmediate(r));
  assert.ok(cond(), what);
}

test('new batches do not cut a retry backoff short', async (t) => {
  // Only setTimeout is mocked: the backoff sleep waits for tick(), the buffer and sink I/O are real.
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const base = await tempDir();
  const archive = path.join(base, 'not-a-dir');
  await fs.writeFile(archive, 'a file where the archive directory should be'); // every put fails (transient)
  const s = await setup(archive);
  try {
    s.f.start();
    await s.writer.append([item(0), item(1)]);
    await until(() => s.f.errors === 1 && s.f.state === 'retrying', 'the first delivery failed and the forwarder sleeps');
    // 39 more batches are sealed while the forwarder backs off (0.5-1 s, no mocked time passes).
    for (let i = 1; i < 40; i++) await s.writer.append([item(2 * i), item(2 * i + 1)]);
    assert.equal(s.writer.state().sealedSize, 80);
    // Each append was a synced LevelDB write: a woken forwarder would have failed again meanwhile.
    assert.equal(s.f.errors, 1, 'sealing new batches did not wake the backing-off forwarder');
    t.mock.timers.tick(1000); // the longest possible backoff
    await until(() => s.f.errors === 2 && s.f.state === 'retrying', 'the retry ran after the backoff');
    assert.equal(s.f.cursor, 0);
  } finally {
    await s.close();
    await fs.rm(base, { recursive: true, force: true });
  }
});

test('batches are delivered in order and the cursor follows', async () => {
  const base = await tempDir();
  const archive = path.join(base, 'archive');
  const s = await setup(archive);
  try {
    s.f.start();
    await s.writer.append(Array.from({ length: 6 }, (_, i) => item(i)));
    for (let t = 0; t < 200 && s.f.cursor < 6; t++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(s.f.cursor, 6);
    const names = (await listFiles(archive)).map((n) => n.split('/').pop());
    assert.deepEqual(names, [
      '0000000000000000-0000000000000002.checkpoint',
      '0000000000000000-0000000000000002.entries.jsonl',
      '0000000000000002-0000000000000004.checkpoint',
      '0000000000000002-0000000000000004.entries.jsonl',
      '0000000000000004-0000000000000006.checkpoint',
      '0000000000000004-0000000000000006.entries.jsonl',
    ]);
    assert.equal(s.writer.state().entries, 0, 'delivered batches left the buffer');
  } finally {
    await s.close();
    await fs.rm(base, { recursive: true, force: true });
  }
});

// Batches sealed by an earlier process are read back from LevelDB, and their links are checked
// where they are delivered: in the sink worker for the agent's sinks, in deliverBatch for a sink
// run on this thread. A damaged one never reaches the archive; an intact one is delivered.
for (const where of ['sink worker', 'this thread'] as const) {
  test(`a batch read back from the buffer is checked before delivery (${where}): damaged refused with BUFFER_CORRUPT, intact delivered`, async () => {
    const base = await tempDir();
    const dir = path.join(base, 'data');
    const archive = path.join(base, 'archive');
    let w = await openTestWriter(dir, { maxRecords: 3, sinks: ['file'] });
    await w.writer.append([item(0), item(1), item(2), item(3), item(4), item(5)]); // two sealed batches
    await w.close();
    // Change one record of the second batch; the head still matches the last entry.
    const db = await openDb(path.join(dir, 'buffer'));
    const segments = await db.iterator({ gte: 'e!', lt: 'e"' }).all();
    const [key, value] = segments.find(([, v]) => v.includes('"r4"'))!;
    await db.put(key, Buffer.from(value.toString().replace('"r4"', '"r9"')), { sync: true });
    await db.close();
    w = await openTestWriter(dir, { maxRecords: 3, sinks: ['file'] });
    const cfg = { type: 'file', id: 'file', directory: archive, compression: 'none', immutable: false } as const;
    const sink = where === 'sink worker' ? createSink(cfg, () => {}) : new FileSink(cfg, () => {});
    const logged: Array<Record<string, unknown>> = [];
    const f = new Forwarder(
      sink,
      w.writer,
      false,
      { initialIntervalMs: 60_000, maxIntervalMs: 60_000, multiplier: 2 },
      (_l, _m, fields) => {
        if (fields) logged.push(fields);
      },
    );
    try {
      assert.equal(w.writer.recentLines(0), undefined, 'the batches are not in memory: they are read back');
      f.start();
      await until(() => f.errors === 1, 'the damaged batch failed');
      // The first batch's cursor move may still be on its way to disk; the second never moves it.
      await until(() => f.cursor === 3, 'the intact first batch was delivered');
      assert.equal(logged[0]?.code, 'BUFFER_CORRUPT');
      // Entry 4 changed, so entry 5 no longer links to it.
      assert.match(f.lastError ?? '', /entry 5 read back from the buffer is damaged/);
      const names = (await listFiles(archive)).map((n) => n.split('/').pop());
      assert.deepEqual(names, ['0000000000000000-0000000000000003.checkpoint', '0000000000000000-0000000000000003.entries.jsonl']);
    } finally {
      await f.stop();
      await sink.close();
      await w.close();
      await fs.rm(base, { recursive: true, force: true });
    }
  });
}

test('a worker sink gets the next batch while one is written, and none after a batch that failed', async () => {
  const base = await tempDir();
  const dir = path.join(base, 'data');
  const archive = path.join(base, 'archive');
  const w = await openTestWriter(dir, { maxRecords: 2, sinks: ['file'] });
  const sink = createSink({ type: 'file', id: 'file', directory: archive, compression: 'none', immutable: false }, () => {});
  const f = new Forwarder(sink, w.writer, false, { initialIntervalMs: 60_000, maxIntervalMs: 60_000, multiplier: 2 }, () => {});
  try {
    assert.equal(sink.queuesDeliveries, true);
    await w.writer.append(Array.from({ length: 8 }, (_, i) => item(i))); // four sealed batches
    // A directory where batch [2, 4)'s entries object goes: that delivery is a conflict.
    const blocker = path.join(archive, ...entriesObjectName(w.writer.origin, 2, 4, false).split('/'));
    await fs.mkdir(blocker, { recursive: true });
    f.start();
    await until(() => f.state === 'conflict', 'the forwarder stopped on the conflict');
    await until(() => f.cursor === 2, 'the first batch was delivered and its cursor moved');
    assert.match(f.lastError ?? '', /0000000000000002-0000000000000004\.entries\.jsonl already exists/);
    const names = (await listFiles(archive)).map((n) => n.split('/').pop());
    // Batch [4, 6) was handed over with [2, 4) in flight, and was refused when [2, 4) failed.
    assert.deepEqual(names, ['0000000000000000-0000000000000002.checkpoint', '0000000000000000-0000000000000002.entries.jsonl']);
  } finally {
    await f.stop();
    await sink.close();
    await w.close();
    await fs.rm(base, { recursive: true, force: true });
  }
});

test('a batch that cannot be read while the one before it is delivered: the log names it, and the one before keeps its place', async () => {
  const base = await tempDir();
  const dir = path.join(base, 'data');
  const archive = path.join(base, 'archive');
  let w = await openTestWriter(dir, { maxRecords: 3, sinks: ['file'] });
  for (let b = 0; b < 3; b++) await w.writer.append([item(3 * b), item(3 * b + 1), item(3 * b + 2)]); // three sealed batches
  await w.close();
  // Reopened, the batches are read back from LevelDB. The second batch's segment then loses its
  // last line on disk (start-up checks passed before): reading [3, 6) fails while [0, 3) is in
  // the sink's worker.
  w = await openTestWriter(dir, { maxRecords: 3, sinks: ['file'] });
  const segments = await w.store.db.iterator({ gte: 'e!', lt: 'e"' }).all();
  const damaged = segments.filter(([, v]) => v.includes('"r4"'));
  assert.equal(damaged.length, 1);
  const [key, value] = damaged[0]!;
  assert.ok(!value.includes('"r2"') && !value.includes('"r6"'), 'the segment holds only the second batch');
  await w.store.db.put(key, value.subarray(0, value.lastIndexOf(0x0a, value.length - 2) + 1), { sync: true });
  const sink = createSink({ type: 'file', id: 'file', directory: archive, compression: 'none', immutable: false }, () => {});
  const logged: Array<{ msg: string; fields: Record<string, unknown> }> = [];
  const f = new Forwarder(sink, w.writer, false, { initialIntervalMs: 60_000, maxIntervalMs: 60_000, multiplier: 2 }, (_l, msg, fields) => {
    if (fields) logged.push({ msg, fields });
  });
  try {
    assert.equal(w.writer.state().sealedSize, 9);
    f.start();
    await until(() => f.errors === 1, 'reading the second batch failed');
    const failed = logged.filter((l) => l.msg === 'sink delivery failed; will retry');
    assert.equal(failed.length, 1);
    assert.equal(failed[0]!.fields.code, 'BUFFER_CORRUPT');
    assert.match(String(failed[0]!.fields.error), /entries 5\.\.5 are missing from the buffer/);
    assert.equal(failed[0]!.fields.batch_start, 3, 'the log names the batch that failed, not the one in flight');
    // [0, 3) landed while [3, 6) was read: its cursor moves now, not after the retry (a minute
    // away) that would deliver it a second time.
    await until(() => f.cursor === 3, 'the batch that landed before the failure moved the cursor');
    assert.equal(f.errors, 1);
    assert.equal(f.state, 'retrying');
  } finally {
    await f.stop();
    await sink.close();
    await w.close();
    await fs.rm(base, { recursive: true, force: true });
  }
});

/** Records of about 2 KB: a batch of 40 is past the 64 KiB from which lines are handed over whole. */
const bigItem = (i: number) => ({
  resource: '{}',
  scope: '{}',
  record: JSON.stringify({ body: { stringValue: `r${i} ${'x'.repeat(2000)}` } }),
});

test('the only sink takes the lines of a batch instead of a copy, and a retry reads them back from the buffer', async () => {
  const base = await tempDir();
  const dir = path.join(base, 'data');
  const archive = path.join(base, 'archive');
  const w = await openTestWriter(dir, { maxRecords: 40, sinks: ['file'] });
  const sink = createSink({ type: 'file', id: 'file', directory: archive, compression: 'none', immutable: false }, () => {});
  const f = new Forwarder(sink, w.writer, false, { initialIntervalMs: 50, maxIntervalMs: 50, multiplier: 1 }, () => {});
  try {
    await w.writer.append(Array.from({ length: 40 }, (_, i) => bigItem(i)));
    const held = w.writer.recentLines(0)!;
    assert.ok(held.length > 80_000);
    const expected = Buffer.from(held);
    // A file where the batch's directory goes: the first delivery fails (transient), the retry lands.
    const blocker = path.join(archive, ...w.writer.origin.split('/'));
    await fs.mkdir(path.dirname(blocker), { recursive: true });
    await fs.writeFile(blocker, 'in the way');
    f.start();
    await until(() => f.errors >= 1, 'the first delivery failed');
    assert.equal(f.cursor, 0);
    // Handed to the sink's worker: this thread's view is empty, and the buffer no longer holds them in memory.
    assert.equal(held.byteLength, 0, 'the lines were transferred, not copied');
    assert.equal(w.writer.recentLines(0), undefined);
    await fs.rm(blocker);
    await until(() => f.cursor === 40, 'the retry delivered the batch');
    const stored = await fs.readFile(path.join(archive, ...entriesObjectName(w.writer.origin, 0, 40, false).split('/')));
    assert.ok(stored.equals(expected), 'the retry delivered the same bytes, read back from LevelDB');
  } finally {
    await f.stop();
    await sink.close();
    await w.close();
    await fs.rm(base, { recursive: true, force: true });
  }
});

test('with two sinks each gets a copy of the lines of a batch, and the buffer keeps them until both have it', async () => {
  const base = await tempDir();
  const dir = path.join(base, 'data');
  const w = await openTestWriter(dir, { maxRecords: 40, sinks: ['a', 'b'] });
  const sinks = ['a', 'b'].map((id) =>
    createSink({ type: 'file', id, directory: path.join(base, id), compression: 'none', immutable: false }, () => {}),
  );
  const [fa, fb] = sinks.map(
    (s) => new Forwarder(s, w.writer, false, { initialIntervalMs: 50, maxIntervalMs: 50, multiplier: 1 }, () => {}),
  );
  try {
    await w.writer.append(Array.from({ length: 40 }, (_, i) => bigItem(i)));
    const held = w.writer.recentLines(0)!;
    const expected = Buffer.from(held);
    fa!.start();
    await until(() => fa!.cursor === 40, 'sink a has the batch');
    assert.ok(held.equals(expected), 'still held whole for sink b');
    assert.equal(w.writer.recentLines(0), held);
    fb!.start();
    await until(() => fb!.cursor === 40, 'sink b has the batch');
    for (const id of ['a', 'b']) {
      const stored = await fs.readFile(path.join(base, id, ...entriesObjectName(w.writer.origin, 0, 40, false).split('/')));
      assert.ok(stored.equals(expected), `sink ${id} got the batch's bytes`);
    }
  } finally {
    await fa!.stop();
    await fb!.stop();
    for (const s of sinks) await s.close();
    await w.close();
    await fs.rm(base, { recursive: true, force: true });
  }
});
