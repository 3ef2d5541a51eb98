// The writer on a real full disk (a 20 MiB tmpfs, root only): a failed write publishes nothing,
// the writer reopens LevelDB once space returns, and what it acknowledges afterwards survives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { isSealtrailError } from '../../../lib/errors.js';
import { openDb, readEntries } from '../../../agent/buffer/store.js';
import { tempDir } from '../../helpers/agent.js';
import { openTestWriter, item } from '../../helpers/writer.js';
import { fillDisk } from '../../helpers/full-disk.js';

test('a failed write publishes no state, refuses with STORAGE, and the writer recovers when space returns', async () => {
  const dir = await tempDir();
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=20m', 'tmpfs', dir]);
  const w = await openTestWriter(dir, { maxRecords: 4, sinks: ['a', 'b'] });
  try {
    await w.writer.append([item(0), item(1), item(2), item(3)]); // batch [0,4) sealed
    const before = w.writer.state();
    assert.equal(before.sealedSize, 4);
    const sealedEvents: number[] = [];
    w.writer.on('sealed', (b) => sealedEvents.push(b.end));
    await fillDisk(path.join(dir, 'filler'));
    // Big appends until LevelDB's log cannot take one (a few small ones may still fit).
    const big = Array.from({ length: 64 }, (_, i) => ({
      resource: '{}',
      scope: '{}',
      record: JSON.stringify({ body: { stringValue: 'x'.repeat(4000) + i } }),
    }));
    let failure: unknown = null;
    for (let i = 0; i < 200 && failure === null; i++) await w.writer.append(big).catch((e: unknown) => (failure = e));
    assert.ok(isSealtrailError(failure, 'STORAGE') && failure.retryable, `got ${String(failure)}`);
    const during = w.writer.state();
    assert.ok(w.writer.storageError !== null, 'the writer reports it cannot write');
    // Nothing of the failed commit is visible: the sealed size matches what is stored.
    assert.equal(w.writer.sealedSize, during.sealedSize);
    assert.equal(w.writer.recentBatch(during.sealedSize), undefined);
    await assert.rejects(w.writer.append([item(99)]), (e) => isSealtrailError(e, 'STORAGE'));
    // A cursor may only move to a durable batch boundary.
    await fs.rm(path.join(dir, 'filler'));
    await new Promise<void>((resolve) => w.writer.once('recovered', resolve));
    assert.equal(w.writer.storageError, null);
    await assert.rejects(w.writer.advance('a', 2), (e) => isSealtrailError(e, 'BUFFER_CORRUPT') && /not a batch boundary/.test(e.message));
    await assert.rejects(
      w.writer.advance('a', w.writer.sealedSize + 4),
      (e) => isSealtrailError(e, 'BUFFER_CORRUPT') && /beyond the sealed size/.test(e.message),
    );
    await w.writer.advance('a', 4);
    const r = await w.writer.append([item(100), item(101)]);
    await w.writer.sealNow();
    const size = w.writer.state().chain.size;
    assert.equal(r.first + 2, size);
    await w.close();
    // Reopened from disk: the acknowledged entries are there, linked, and nothing else is missing.
    const again = await openTestWriter(dir, { maxRecords: 4, sinks: ['a', 'b'] });
    assert.equal(again.writer.state().chain.size, size);
    assert.equal(again.store.quarantined, null);
    const lines = (await readEntries(again.store.db, 0, size)).toString().trimEnd().split('\n');
    assert.equal(lines.length, size);
    assert.match(lines[size - 1]!, /"r101"/);
    await again.close();
  } finally {
    await w.writer.close().catch(() => undefined);
    execFileSync('umount', ['-l', dir]);
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test('a batch damaged inside LevelDB is refused with BUFFER_CORRUPT when read back, never handed to a sink', async () => {
  const dir = await tempDir();
  let w = await openTestWriter(dir, { maxRecords: 3, sinks: ['a'] });
  await w.writer.append([item(0), item(1), item(2)]);
  await w.close();
  const db = await openDb(path.join(dir, 'buffer'));
  const [key, value] = (await db.iterator({ gte: 'e!', lt: 'e"' }).all())[0]!;
  await db.put(key, Buffer.from(value.toString().replace('"r1"', '"r7"')), { sync: true });
  await db.close();
  // The head still matches the last entry, so start-up accepts the buffer; the read-back check
  // is what catches the change in the middle of the batch.
  w = await openTestWriter(dir, { maxRecords: 3, sinks: ['a'] });
  const batch = await w.writer.readBatch(0);
  await assert.rejects(w.writer.readLines(batch), (e) => isSealtrailError(e, 'BUFFER_CORRUPT') && /entry 2 read back/.test(e.message));
  await w.close();
  await fs.rm(dir, { recursive: true, force: true });
});

test('a commit missing from the middle of the buffer (a skipped LevelDB log block) is quarantined at start-up', async () => {
  const dir = await tempDir();
  let w = await openTestWriter(dir, { maxRecords: 100, sinks: ['a'] });
  for (let i = 0; i < 4; i++) await w.writer.append([item(2 * i), item(2 * i + 1)]); // four segments, one batch still open
  await w.close();
  const db = await openDb(path.join(dir, 'buffer'));
  await db.del('e!0000000000000004', { sync: true }); // the third commit vanished; the head still matches entry 7
  await db.close();
  w = await openTestWriter(dir, { maxRecords: 100, sinks: ['a'] });
  assert.ok(w.store.quarantined, 'quarantined');
  assert.match(w.store.quarantined.reason, /entries from 4 are missing/);
  assert.equal(w.store.quarantined.previousOrigin, 'sealtrail/t/0123456789abcdef0123456789abcdef');
  assert.deepEqual(w.store.quarantined.lost, { from: 0, to: 8 });
  await w.close();
  await fs.rm(dir, { recursive: true, force: true });
});
