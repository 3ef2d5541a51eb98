// Memory of its own: what may be transferred without a copy or freed at once, and what never.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { releaseNow, spansOwnMemory } from '../../lib/own-memory.js';

const canFree = typeof (ArrayBuffer.prototype as { transfer?: unknown }).transfer === 'function';

test('a big buffer of its own (also with a gRPC-like 5-byte prefix) spans its memory; pooled, view and shared memory do not', () => {
  assert.equal(spansOwnMemory(Buffer.alloc(64 << 10)), true);
  assert.equal(spansOwnMemory(Buffer.alloc((64 << 10) + 5).subarray(5)), true);
  assert.equal(spansOwnMemory(Buffer.alloc((64 << 10) - 1)), false, 'below the size');
  assert.equal(spansOwnMemory(Buffer.from('small')), false, 'from Node\u2019s pool');
  assert.equal(spansOwnMemory(Buffer.alloc(1 << 20).subarray(0, 64 << 10)), false, 'a view of a bigger buffer');
  assert.equal(spansOwnMemory(new Uint8Array(new SharedArrayBuffer(64 << 10))), false, 'shared with other threads');
});

test('releaseNow empties every view of memory of its own, where the runtime can free it', () => {
  const b = Buffer.alloc(128 << 10, 7);
  const view = b.subarray(10, 20);
  assert.equal(releaseNow(b), canFree);
  assert.equal(b.byteLength, canFree ? 0 : 128 << 10);
  assert.equal(view.byteLength, canFree ? 0 : 10, 'other views of the same memory too');
  assert.equal(releaseNow(b), false, 'twice is a no-op');
});

test('releaseNow leaves pooled buffers, views of bigger ones and shared memory alone', () => {
  const pooled = Buffer.from('abc');
  const neighbour = Buffer.from('def'); // from the same pool
  assert.equal(releaseNow(pooled), false);
  assert.equal(neighbour.toString(), 'def');
  const big = Buffer.alloc(1 << 20, 1);
  assert.equal(releaseNow(big.subarray(0, 64 << 10)), false);
  assert.equal(big.byteLength, 1 << 20);
  assert.equal(big[100], 1);
  const shared = new Uint8Array(new SharedArrayBuffer(64 << 10));
  assert.equal(releaseNow(shared), false);
  assert.equal(shared.byteLength, 64 << 10);
});
