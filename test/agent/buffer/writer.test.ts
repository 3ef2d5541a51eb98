// The buffer writer against real LevelDB on disk.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { openDb, openStore, readBatch, readEntries } from '../../../agent/buffer/store.js';
import { HEAD_KEY, SEGMENT_RANGE } from '../../../agent/buffer/keys.js';
import { COMMIT_MAX_BYTES, SEGMENT_MAX_BYTES, commitBufferSize } from '../../../agent/buffer/writer.js';
import { parseNote, parseCheckpointBody, parseVerifierKey, verifyNote } from '../../../verify/note.js';
import { leafHash, rootOfLeaves } from '../../../verify/merkle.js';
import { encodeEntry, ZERO_HASH_HEX } from '../../../agent/chain/entry.js';
import { isSealtrailError } from '../../../lib/errors.js';
import { tempDir } from '../../helpers/agent.js';
import { openTestWriter, item, TEST_ORIGIN, testKey } from '../../helpers/writer.js';

const ORIGIN = TEST_ORIGIN;
const segmentKeys = async (db: { keys(o: object): { all(): Promise<string[]> } }) => db.keys({ ...SEGMENT_RANGE }).all();

test('concurrent appends are group-committed and all land in order', async () => {
  const dir = await tempDir();
  const { store, writer, close } = await openTestWriter(dir);
  const results = await Promise.all(Array.from({ length: 50 }, (_, i) => writer.append([item(i), item(i)])));
  // Jobs queued together share commits, but each gets its own contiguous seq range.
  const firsts = results.map((r) => r.first).sort((a, b) => a - b);
  assert.deepEqual(
    firsts,
    Array.from({ length: 50 }, (_, i) => i * 2),
  );
  const lines = (await readEntries(store.db, 0, 100)).toString().trimEnd().split('\n');
  assert.equal(lines.length, 100);
  let prev = '0'.repeat(64);
  for (const [i, l] of lines.entries()) {
    const e = JSON.parse(l) as { seq: number; prev: string };
    assert.equal(e.seq, i);
    assert.equal(e.prev, prev);
    prev = Buffer.from(leafHash(Buffer.from(l))).toString('hex');
  }
  await close();
  await fs.rm(dir, { recursive: true, force: true });
});

test('a reopened buffer continues the same chain: next seq, same frontier', async () => {
  const dir = await tempDir();
  let w = await openTestWriter(dir);
  await w.writer.append([item(0), item(1), item(2)]);
  const before = w.writer.state();
  await w.close();
  w = await openTestWriter(dir);
  assert.deepEqual(w.writer.state().chain, before.chain);
  const r = await w.writer.append([item(3)]);
  assert.equal(r.first, 3);
  const lines = (await readEntries(w.store.db, 0, 4)).toString().trimEnd().split('\n');
  assert.equal(JSON.parse(lines[3]!).prev, Buffer.from(leafHash(Buffer.from(lines[2]!))).toString('hex'));
  await w.close();
  await fs.rm(dir, { recursive: true, force: true });
});

test('a batch seals exactly at max_records with a checkpoint over the entries', async () => {
  const dir = await tempDir();
  const { store, writer, close } = await openTestWriter(dir, { maxRecords: 4 });
  const sealed: Array<{ start: number; end: number; checkpoint: string }> = [];
  writer.on('sealed', (b) => sealed.push(b));
  await writer.append(Array.from({ length: 10 }, (_, i) => item(i)));
  assert.deepEqual(
    sealed.map((b) => [b.start, b.end]),
    [
      [0, 4],
      [4, 8],
    ],
  );
  const lines = (await readEntries(store.db, 0, 8)).toString().trimEnd().split('\n');
  const note = parseNote(sealed[1]!.checkpoint);
  verifyNote(note, [parseVerifierKey(testKey.verifierKey)]);
  const cp = parseCheckpointBody(note.text);
  assert.equal(cp.origin, ORIGIN);
  assert.equal(cp.size, 8);
  assert.deepEqual(Buffer.from(cp.root), Buffer.from(rootOfLeaves(lines.map((l) => leafHash(Buffer.from(l))))));
  // The remaining two entries are sealed on request.
  assert.equal(await writer.sealNow(), true);
  assert.equal(writer.state().sealedSize, 10);
  assert.equal(await writer.sealNow(), false);
  await close();
  await fs.rm(dir, { recursive: true, force: true });
});

test('max_age seals an open batch', async () => {
  const dir = await tempDir();
  const { writer, close } = await openTestWriter(dir, { maxAgeMs: 50 });
  const sealedOnce = new Promise<{ end: number }>((resolve) => writer.once('sealed', resolve));
  await writer.append([item(0)]);
  const b = await sealedOnce;
  assert.equal(b.end, 1);
  await close();
  await fs.rm(dir, { recursive: true, force: true });
});

test('a full buffer refuses new records with BUFFER_FULL and keeps what it has', async () => {
  const dir = await tempDir();
  const { store, writer, close } = await openTestWriter(dir, { bufferMax: 2000 });
  await writer.append(Array.from({ length: 5 }, (_, i) => item(i)));
  const bytes = writer.state().bytes;
  await assert.rejects(
    writer.append(Array.from({ length: 20 }, (_, i) => item(i))),
    (e) => isSealtrailError(e, 'BUFFER_FULL') && e.retryable,
  );
  assert.equal(writer.state().bytes, bytes);
  assert.equal(writer.state().chain.size, 5);
  // Own entries (start/stop) are never refused.
  await writer.append([item(99)], true);
  assert.equal((await readEntries(store.db, 0, 6)).toString().split('\n').length, 7);
  await close();
  await fs.rm(dir, { recursive: true, force: true });
});

test('batches leave the buffer only when every sink has them', async () => {
  const dir = await tempDir();
  const { store, writer, close } = await openTestWriter(dir, { maxRecords: 2, sinks: ['a', 'b'] });
  await writer.append(Array.from({ length: 6 }, (_, i) => item(i)));
  // Segments never cross a batch boundary: one segment per batch here.
  assert.deepEqual(await segmentKeys(store.db), ['e!0000000000000000', 'e!0000000000000002', 'e!0000000000000004']);
  await writer.advance('a', 4);
  assert.deepEqual(
    await segmentKeys(store.db),
    ['e!0000000000000000', 'e!0000000000000002', 'e!0000000000000004'],
    'sink b has not received batch 0',
  );
  await writer.advance('b', 2);
  assert.deepEqual(await segmentKeys(store.db), ['e!0000000000000002', 'e!0000000000000004']);
  assert.equal((await readEntries(store.db, 2, 6)).toString().split('\n').length, 5);
  assert.equal(writer.state().lowWater, 2);
  assert.equal(writer.state().entries, 4);
  await close();
  await fs.rm(dir, { recursive: true, force: true });
});

test('the lines kept for the forwarders are freed once every sink has the batch, and not before', async () => {
  // Entries of ~5 KB in batches of 20: each batch's lines (~100 KB) have memory of their own,
  // which freeing empties. Freeing needs Node >= 22 (lib/own-memory.ts); elsewhere the lines
  // stay intact until collected, and CI runs this tier on 22 and 24 too.
  const canFree = typeof (ArrayBuffer.prototype as { transfer?: unknown }).transfer === 'function';
  const dir = await tempDir();
  const { store, writer, close } = await openTestWriter(dir, { maxRecords: 20, sinks: ['a', 'b'] });
  const parts = (i: number) => ({
    resource: '{}',
    scope: '{}',
    record: JSON.stringify({ body: { stringValue: `${i} ${'q'.repeat(5000)}` } }),
  });
  await writer.append(Array.from({ length: 60 }, (_, i) => parts(i)));
  const held = [0, 20, 40].map((start) => writer.recentLines(start));
  const stored = await Promise.all([0, 20, 40].map((start) => readEntries(store.db, start, start + 20)));
  held.forEach((lines, i) => {
    assert.ok(lines !== undefined && lines.length > 64 << 10, `batch ${i} is held in memory with memory of its own`);
    assert.equal(Buffer.compare(lines, stored[i]!), 0);
  });
  // Sink a has everything, sink b only the first batch: only that one is freed.
  await writer.advance('a', 60);
  await writer.advance('b', 20);
  assert.equal(writer.recentLines(0), undefined);
  assert.equal(held[0]!.length, canFree ? 0 : stored[0]!.length, 'batch 0 freed (Node >= 22)');
  for (const i of [1, 2]) {
    assert.equal(writer.recentLines(i * 20), held[i], `batch ${i * 20} still held`);
    assert.equal(Buffer.compare(held[i]!, stored[i]!), 0, `batch ${i * 20} intact: sink b has not got it`);
  }
  const { lines } = await writer.readStoredLines(await writer.readBatch(20));
  assert.equal(Buffer.compare(lines, stored[1]!), 0, 'a forwarder still reads batch 20 whole');
  await writer.advance('b', 60);
  assert.equal(held[1]!.length, canFree ? 0 : stored[1]!.length);
  assert.equal(held[2]!.length, canFree ? 0 : stored[2]!.length);
  await close();
  await fs.rm(dir, { recursive: true, force: true });
});

test('freeing delivered batches deletes every segment: batches of several commits, sealed before and after a restart', async () => {
  const dir = await tempDir();
  let w = await openTestWriter(dir, { maxRecords: 5, sinks: ['a'] });
  // Commits of two entries: each 5-entry batch lies in three segments.
  for (let i = 0; i < 12; i += 2) await w.writer.append([item(i), item(i + 1)]);
  const sealedBefore = w.writer.sealedSize;
  assert.equal(sealedBefore, 10);
  await w.close();
  // After the restart the batches sealed before it are listed from LevelDB when freed.
  w = await openTestWriter(dir, { maxRecords: 5, sinks: ['a'] });
  for (let i = 12; i < 24; i += 2) await w.writer.append([item(i), item(i + 1)]);
  await w.writer.sealNow();
  assert.ok((await segmentKeys(w.store.db)).length > 8);
  for (let start = 0; start < w.writer.sealedSize;) {
    const b = await w.writer.readBatch(start);
    await w.writer.advance('a', b.end);
    start = b.end;
  }
  assert.deepEqual(await segmentKeys(w.store.db), [], 'no segment outlives its batch');
  assert.equal(w.writer.state().entries, 0);
  assert.equal(w.writer.state().bytes, 0);
  await w.close();
  await fs.rm(dir, { recursive: true, force: true });
});

test('a commit bigger than SEGMENT_MAX_BYTES is stored as several segments, cut after the line that reaches it, and reads back whole', async () => {
  const dir = await tempDir();
  let w = await openTestWriter(dir, { maxRecords: 1000, maxBytes: 64 << 20, sinks: ['a'] });
  // One job of 400 entries of about 2 KB: about 800 KB in one group commit.
  const big = (i: number) => ({
    resource: '{}',
    scope: '{}',
    record: JSON.stringify({ body: { stringValue: `r${i}:` + 'x'.repeat(2000) } }),
  });
  await w.writer.append(Array.from({ length: 400 }, (_, i) => big(i)));
  const segs = await w.store.db.iterator({ ...SEGMENT_RANGE }).all();
  assert.ok(segs.length >= 3, `${segs.length} segments`);
  let expect = 0;
  for (const [i, [key, value]] of segs.entries()) {
    assert.equal(key, `e!${String(expect).padStart(16, '0')}`, 'segments are contiguous');
    const lines = value.toString().split('\n').slice(0, -1);
    const withoutLast = value.length - lines[lines.length - 1]!.length - 1;
    if (i < segs.length - 1) {
      assert.ok(value.length >= SEGMENT_MAX_BYTES, 'a segment is cut only once it reaches the size');
      assert.ok(withoutLast < SEGMENT_MAX_BYTES, 'and right after the line that reached it');
    } else assert.ok(value.length < SEGMENT_MAX_BYTES + 2100);
    expect += lines.length;
  }
  assert.equal(expect, 400);
  await w.writer.sealNow();
  await w.close();
  // After a restart the store checks the segments against its head and the batch reads back whole.
  w = await openTestWriter(dir, { maxRecords: 1000, maxBytes: 64 << 20, sinks: ['a'] });
  assert.equal(w.writer.state().chain.size, 400);
  const batch = await w.writer.readBatch(0);
  assert.equal(batch.end, 400);
  const lines = (await w.writer.readStoredLines(batch)).lines.toString().trimEnd().split('\n');
  assert.equal(lines.length, 400);
  let prev = ZERO_HASH_HEX;
  for (const [i, l] of lines.entries()) {
    const e = JSON.parse(l) as { seq: number; prev: string; record: { body: { stringValue: string } } };
    assert.equal(e.seq, i);
    assert.equal(e.prev, prev);
    assert.ok(e.record.body.stringValue.startsWith(`r${i}:`));
    prev = Buffer.from(leafHash(Buffer.from(l))).toString('hex');
  }
  await w.close();
  await fs.rm(dir, { recursive: true, force: true });
});

test('appends queued past COMMIT_MAX_BYTES are written in several commits of the jobs that fit, in order, and a queued cursor move rides the first', async () => {
  const dir = await tempDir();
  const w = await openTestWriter(dir, { maxRecords: 100_000, maxBytes: 256 << 20, sinks: ['a'] });
  // Something to deliver, so there is a cursor move to queue.
  await w.writer.append([item(0), item(1)]);
  await w.writer.sealNow();
  // Every LevelDB batch the writer writes, by the entry bytes it carries and whether it moved the cursor.
  const commits: Array<{ entryBytes: number; cursor: boolean }> = [];
  const db = w.store.db as unknown as { batch: (ops: Array<{ type: string; key: string; value?: Buffer }>, o: object) => Promise<void> };
  const batch = db.batch.bind(db);
  db.batch = (ops, o) => {
    let entryBytes = 0;
    for (const op of ops) if (op.type === 'put' && op.key.startsWith('e!')) entryBytes += op.value!.length;
    commits.push({ entryBytes, cursor: ops.some((op) => op.key.startsWith('c!')) });
    return batch(ops, o);
  };
  // 24 jobs of about 500 KB queued at once (one is written first, the others queue behind it), then a cursor move.
  const job = (j: number) =>
    Array.from({ length: 50 }, (_, i) => ({
      resource: '{}',
      scope: '{}',
      record: JSON.stringify({ body: { stringValue: `j${j}r${i}:` + 'x'.repeat(10_000) } }),
    }));
  const done = Array.from({ length: 24 }, (_, j) => w.writer.append(job(j)));
  const moved = w.writer.advance('a', 2);
  const results = await Promise.all(done);
  await moved;
  assert.deepEqual(
    results.map((r) => r.first),
    Array.from({ length: 24 }, (_, j) => 2 + j * 50),
    'jobs keep their order',
  );
  const withEntries = commits.filter((c) => c.entryBytes > 0);
  assert.ok(withEntries.length >= 3, `${withEntries.length} commits`);
  // A commit takes whole jobs while their tails fit: its lines (tails plus each entry's
  // envelope, under 2 % here) stay under the cap; the old rule took the job that passed it.
  for (const c of withEntries)
    assert.ok(c.entryBytes < COMMIT_MAX_BYTES * 1.02, `a commit of ${c.entryBytes} B holds only the jobs that fit in ${COMMIT_MAX_BYTES}`);
  const cursorAt = commits.findIndex((c) => c.cursor);
  assert.ok(
    cursorAt >= 0 && cursorAt <= 1,
    `the cursor move went in commit ${cursorAt} of ${commits.length}, not after the appends queued before it`,
  );
  assert.equal(w.writer.cursor('a'), 2);
  assert.equal(w.writer.state().chain.size, 2 + 24 * 50);
  await w.close();
  await fs.rm(dir, { recursive: true, force: true });
});

test('a head that disagrees with the stored entries is quarantined, never reset', async () => {
  const dir = await tempDir();
  const w = await openTestWriter(dir);
  await w.writer.append([item(0), item(1)]);
  await w.close();
  const db = await openDb(path.join(dir, 'buffer'));
  const [key, value] = (await db.iterator({ ...SEGMENT_RANGE }).all())[0]!;
  const forged = value.toString().replace('"r1"', '"r9"');
  assert.notEqual(forged, value.toString());
  await db.put(key, Buffer.from(forged), { sync: true });
  await db.close();
  const s = await openStore(path.join(dir, 'buffer'));
  assert.ok(s.quarantined);
  assert.match(s.quarantined.reason, /entry 1 does not match/);
  assert.equal(s.quarantined.previousOrigin, ORIGIN);
  assert.equal(s.chain, null);
  await fs.access(s.quarantined.path);
  await s.db.close();
  await fs.rm(dir, { recursive: true, force: true });
});

test('a ledger of the wrong shape is quarantined as damage, whatever is wrong with it', async () => {
  type L = Record<string, unknown> & { chain: Record<string, unknown> };
  const damages: Array<[string, (l: L) => unknown]> = [
    ['no chain head', (l) => ({ ...l, chain: undefined })],
    ['a size that is not a count', (l) => ({ ...l, chain: { ...l.chain, size: '2' } })],
    ['a negative size', (l) => ({ ...l, chain: { ...l.chain, size: -1 } })],
    ['a short last hash', (l) => ({ ...l, chain: { ...l.chain, lastHash: (l.chain.lastHash as string).slice(2) } })],
    ['a last hash that is not hex', (l) => ({ ...l, chain: { ...l.chain, lastHash: 'zz' + (l.chain.lastHash as string).slice(2) } })],
    ['a frontier hash that is not a string', (l) => ({ ...l, chain: { ...l.chain, frontier: [1] } })],
    [
      'a frontier of the wrong length',
      (l) => ({ ...l, chain: { ...l.chain, frontier: [...(l.chain.frontier as string[]), l.chain.lastHash] } }),
    ],
    ['a sealed size that is not a count', (l) => ({ ...l, sealedSize: '0' })],
    ['a sealed root that is not a hash', (l) => ({ ...l, sealedRoot: 'ab' })],
    ['a ledger that is not an object', () => [1, 2]],
  ];
  for (const [what, damage] of damages) {
    const dir = await tempDir();
    const w = await openTestWriter(dir);
    await w.writer.append([item(0), item(1)]);
    await w.close();
    const db = await openDb(path.join(dir, 'buffer'));
    const ledger = JSON.parse((await db.get(HEAD_KEY))!.toString()) as L;
    await db.put(HEAD_KEY, Buffer.from(JSON.stringify(damage(ledger))), { sync: true });
    await db.close();
    const s = await openStore(path.join(dir, 'buffer'));
    assert.ok(s.quarantined, what);
    assert.match(s.quarantined.reason, /^the ledger in h!head is damaged: /, what);
    // The damaged ledger is not read for the new genesis; h!chain still names the previous chain.
    assert.equal(s.quarantined.previousOrigin, ORIGIN, what);
    await fs.access(s.quarantined.path);
    await s.db.close();
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test('sealed batches are handed to forwarders from memory exactly as stored, never partially', async () => {
  const dir = await tempDir();
  let w = await openTestWriter(dir, { maxRecords: 3 });
  await w.writer.append(Array.from({ length: 7 }, (_, i) => item(i)));
  // Batches [0,3) and [3,6) were sealed in this process: their lines are in memory and equal the buffer.
  for (const start of [0, 3]) {
    assert.deepEqual(w.writer.recentLines(start), await readEntries(w.store.db, start, start + 3));
  }
  await w.close();
  // After a restart, entry 6 is an unsealed tail that memory never held: it must be read back.
  w = await openTestWriter(dir, { maxRecords: 3 });
  await w.writer.append([item(7)]);
  await w.writer.sealNow();
  assert.equal(w.writer.state().sealedSize, 8);
  assert.equal(w.writer.recentLines(6), undefined);
  assert.equal((await readEntries(w.store.db, 6, 8)).toString().split('\n').length, 3);
  await w.close();
  await fs.rm(dir, { recursive: true, force: true });
});

test('commit buffers freed after a seal copied them out: every batch held in memory is still its stored bytes', async () => {
  // Commits of 75-500 KB (big enough to have memory of their own, which a seal frees) and
  // 37-entry batches, so seals land inside commits and batches span several commits. Freeing
  // needs Node >= 22 (lib/own-memory.ts); CI runs this tier on 22 and 24 too.
  const dir = await tempDir();
  const { store, writer, close } = await openTestWriter(dir, { maxRecords: 37 });
  const parts = (i: number) => ({
    resource: '{}',
    scope: '{}',
    record: JSON.stringify({ body: { stringValue: `${i} ${'z'.repeat(5000)}` } }),
  });
  let n = 0;
  for (let round = 0; round < 6; round++) {
    const requests = Array.from({ length: 4 }, () => Array.from({ length: 15 + (round % 3) * 5 }, () => parts(n++)));
    await Promise.all(requests.map((items) => writer.append(items)));
  }
  await writer.sealNow();
  assert.equal(writer.sealedSize, n);
  let batches = 0;
  for (let start = 0; start < writer.sealedSize; batches++) {
    const b = await writer.readBatch(start);
    const mem = writer.recentLines(start);
    assert.ok(mem !== undefined, `batch ${start} is held in memory`);
    assert.equal(Buffer.compare(mem, await readEntries(store.db, b.start, b.end)), 0, `batch [${b.start}, ${b.end})`);
    start = b.end;
  }
  assert.ok(batches >= 10, `${batches} batches`);
  await close();
  await fs.rm(dir, { recursive: true, force: true });
});

test('lines built in place are byte for byte the v1 encoding: non-ASCII text, several resources, seals inside a commit', async () => {
  const dir = await tempDir();
  const { store, writer, close } = await openTestWriter(dir, { maxRecords: 7 });
  const texts = ['plain', 'é ü ß', '日本語 ✓', 'emoji 🧾 and "quotes" \\ ', '\u0000\u001f control', 'x'.repeat(3000)];
  const parts = (i: number) => ({
    resource: i % 3 === 0 ? '{"attributes":[{"key":"service.name","value":{"stringValue":"ü-svc"}}]}' : '{}',
    scope: i % 2 === 0 ? '{"name":"s"}' : '{}',
    record: JSON.stringify({ body: { stringValue: `${texts[i % texts.length]} ${i}` } }),
  });
  // Concurrent appends share commits; 7-entry batches seal in the middle of them.
  const requests = Array.from({ length: 12 }, (_, r) => Array.from({ length: 1 + (r % 4) }, (_, k) => parts(r * 10 + k)));
  const results = await Promise.all(requests.map((items) => writer.append(items)));
  await writer.sealNow();
  const total = requests.reduce((n, r) => n + r.length, 0);
  const raw = await readEntries(store.db, 0, total);
  const lines = raw.toString('utf8').split('\n').slice(0, -1);
  assert.equal(lines.length, total);
  const bySeq = new Map<number, { resource: string; scope: string; record: string }>();
  results.forEach((r, j) => requests[j]!.forEach((p, k) => bySeq.set(r.first + k, p)));
  let prev = ZERO_HASH_HEX;
  for (const [seq, line] of lines.entries()) {
    const time = (JSON.parse(line) as { time: string }).time;
    assert.equal(line, encodeEntry(seq, prev, time, JSON.stringify('test'), bySeq.get(seq)!));
    prev = Buffer.from(leafHash(Buffer.from(line, 'utf8'))).toString('hex');
  }
  assert.equal(writer.state().chain.lastHash, prev);
  // The lines handed to the forwarders (held in memory) are the stored bytes.
  let at = 0;
  for (let start = 0; start < writer.sealedSize;) {
    const b = await writer.readBatch(start);
    const mem = await writer.readLines(b);
    assert.equal(Buffer.compare(mem, await readEntries(store.db, b.start, b.end)), 0);
    at += mem.length;
    start = b.end;
  }
  assert.equal(at, raw.length);
  await close();
  await fs.rm(dir, { recursive: true, force: true });
});

test('when more is sealed than memory keeps, the oldest batches stay in memory and the newest are read back', async () => {
  const dir = await tempDir();
  const w = await openTestWriter(dir, { maxRecords: 4 });
  const big = (i: number) => ({ ...item(i), record: JSON.stringify({ body: { stringValue: `r${i} ${'x'.repeat(256 << 10)}` } }) });
  // 96 entries of ~256 KiB in 24 batches of ~1 MiB: well past the 16 MiB kept for the forwarders.
  for (let i = 0; i < 96; i += 8) await w.writer.append(Array.from({ length: 8 }, (_, k) => big(i + k)));
  assert.equal(w.writer.state().sealedSize, 96);
  const kept = Array.from({ length: 24 }, (_, b) => w.writer.recentLines(b * 4) !== undefined);
  const first = kept.indexOf(false);
  assert.ok(first > 0, 'the oldest batches are in memory');
  assert.deepEqual(kept.slice(0, first), Array<boolean>(first).fill(true), 'a prefix of the oldest');
  assert.deepEqual(kept.slice(first), Array<boolean>(24 - first).fill(false), 'none after the first one left out');
  assert.ok(first * (1 << 20) <= 16 << 20, `${first} batches of ~1 MiB fit in 16 MiB`);
  for (const start of [0, (first - 1) * 4]) assert.deepEqual(w.writer.recentLines(start), await readEntries(w.store.db, start, start + 4));
  // The newest come back from the buffer, intact.
  const last = await w.writer.readStoredLines((await readBatch(w.store.db, 92))!);
  assert.equal(last.unchecked, true);
  assert.equal(last.lines.toString().split('\n').length, 5);
  await w.close();
  await fs.rm(dir, { recursive: true, force: true });
});

test('commit buffers come in eight sizes per power of two: never smaller than asked, at most 12.5 % bigger', () => {
  assert.equal(commitBufferSize(1), 1);
  assert.equal(commitBufferSize(65_535), 65_535, 'small commits are exact');
  assert.equal(commitBufferSize(65_536), 65_536);
  assert.equal(commitBufferSize(358_000), 360_448);
  assert.equal(commitBufferSize(4_200_000), 4_718_592);
  const sizes = new Set<number>();
  for (let bytes = 1 << 20; bytes < 2 << 20; bytes += 997) {
    const size = commitBufferSize(bytes);
    assert.ok(size >= bytes && size <= bytes * 1.125, `${bytes} -> ${size}`);
    sizes.add(size);
  }
  assert.deepEqual(
    [...sizes],
    [8, 9, 10, 11, 12, 13, 14, 15, 16].map((k) => k << 17),
    'from 1 MiB to 2 MiB in steps of 128 KiB',
  );
});
