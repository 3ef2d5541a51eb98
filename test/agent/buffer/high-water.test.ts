// The high-water mark file: two slots, the newest valid one wins, a torn or scribbled slot
// falls back to the other, and a file with no valid slot is reported, not trusted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { HighWaterFile, decodeSlot, encodeSlot, type HighWater } from '../../../agent/buffer/high-water.js';
import { tempDir } from '../../helpers/agent.js';

const mark = (n: number): HighWater => ({
  origin: 'sealtrail/t/0123456789abcdef0123456789abcdef',
  committedSize: n,
  committedRoot: n === 0 ? '' : n.toString(16).padStart(64, '0'),
  sealedSize: Math.max(0, n - 1),
  sealedRoot: n <= 1 ? '' : (n - 1).toString(16).padStart(64, 'a'),
  deliveredSize: Math.max(0, n - 2),
});

test('a slot round-trips, and any flipped byte makes it invalid', () => {
  const b = encodeSlot(mark(5), 7n);
  assert.deepEqual(decodeSlot(b), { hw: mark(5), counter: 7n });
  for (const at of [0, 9, 17, 41, 104, 110, 240]) {
    const c = Buffer.from(b);
    c[at] = c[at]! ^ 0x01;
    assert.equal(decodeSlot(c), null, `byte ${at} flipped`);
  }
});

test('the newest write wins; a torn newest slot falls back to the previous mark', async () => {
  const dir = await tempDir();
  const file = path.join(dir, 'buffer.hwm');
  assert.deepEqual(await HighWaterFile.read(file), { state: 'missing' });
  const f = await HighWaterFile.open(file);
  for (let n = 1; n <= 4; n++) await f.write(mark(n));
  await f.close();
  assert.deepEqual(await HighWaterFile.read(file), { state: 'ok', hw: mark(4) });
  // Write 4 went to slot 0 (counter 4); tear it: the mark of write 3 remains.
  const data = await fs.readFile(file);
  data.fill(0, 100, 256);
  await fs.writeFile(file, data);
  assert.deepEqual(await HighWaterFile.read(file), { state: 'ok', hw: mark(3) });
  // Reopened, the next write goes to the torn slot, never over the surviving one.
  const g = await HighWaterFile.open(file);
  await g.write(mark(9));
  await g.close();
  assert.deepEqual(await HighWaterFile.read(file), { state: 'ok', hw: mark(9) });
  await fs.writeFile(file, Buffer.alloc(512, 0x41));
  const r = await HighWaterFile.read(file);
  assert.equal(r.state, 'unreadable');
  await fs.rm(dir, { recursive: true, force: true });
});

test('a mark whose sizes contradict each other is rejected', () => {
  const bad = { ...mark(5), deliveredSize: 6 };
  assert.equal(decodeSlot(encodeSlot(bad, 1n)), null);
});
