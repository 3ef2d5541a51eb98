import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeEntry, entryHash, ZERO_HASH_HEX } from '../../../agent/chain/entry.js';
import { Chain } from '../../../agent/chain/chain.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const PARTS = { resource: '{}', scope: '{}', record: '{"body":{"stringValue":"hi"}}' };
const LINE0 =
  '{"v":1,"seq":0,"prev":"0000000000000000000000000000000000000000000000000000000000000000","time":"2026-01-01T00:00:00.000Z","env":"prod","resource":{},"scope":{},"record":{"body":{"stringValue":"hi"}}}';

test('entry line has the v1 layout with fixed key order', () => {
  assert.equal(encodeEntry(0, ZERO_HASH_HEX, '2026-01-01T00:00:00.000Z', JSON.stringify('prod'), PARTS), LINE0);
});

test('entry hash is SHA-256(0x00 || line) (known answer)', () => {
  // printf '\x00%s' "$LINE0" | sha256sum
  assert.equal(hex(entryHash(Buffer.from(LINE0))), 'c324813f578c80f25021357f2a2cbab56b0206fb8f0074108a316ab678d51ad6');
});

test('chain links prev to the previous entry hash and numbers seq from 0', () => {
  const c = new Chain(Chain.empty(), 'prod');
  const e0 = c.append('2026-01-01T00:00:00.000Z', PARTS);
  const e1 = c.append('2026-01-01T00:00:00.000Z', PARTS);
  assert.equal(e0.record.toString(), LINE0 + '\n');
  assert.equal(e1.seq, 1);
  const parsed = JSON.parse(e1.record.toString()) as { prev: string; seq: number };
  assert.equal(parsed.prev, 'c324813f578c80f25021357f2a2cbab56b0206fb8f0074108a316ab678d51ad6');
  assert.equal(c.head().lastHash, hex(entryHash(e1.record.subarray(0, -1))));
});

test('a chain restored from its head continues identically', () => {
  const a = new Chain(Chain.empty(), 'prod');
  for (let i = 0; i < 5; i++) a.append('t', PARTS);
  const b = new Chain(a.head(), 'prod');
  const la = a.append('t', PARTS).record.toString();
  const lb = b.append('t', PARTS).record.toString();
  assert.equal(lb, la);
  assert.equal(hex(b.root()), hex(a.root()));
});

test('reset rolls the chain back to an earlier head', () => {
  const c = new Chain(Chain.empty(), 'prod');
  c.append('t', PARTS);
  const saved = c.head();
  const root = hex(c.root());
  c.append('t', PARTS);
  c.reset(saved);
  assert.equal(c.size, 1);
  assert.equal(hex(c.root()), root);
});
