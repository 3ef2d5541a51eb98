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
