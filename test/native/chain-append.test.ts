// The chain helper (native/chain-append.c): the shipped binary is what its source builds, it
// loads here, and it writes exactly the entries and heads of the JavaScript implementation,
// whose roots match the verifier's own Merkle code. Rebuilding needs a C compiler (see
// page-cache.test.ts).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { Chain, type ChainHead } from '../../agent/chain/chain.js';
import {
  STATE_BYTES,
  appendEntryJs,
  appendEntryNative,
  chainHelperUnavailable,
  setStateSize,
  stateSize,
  type AppendEntry,
} from '../../agent/chain/chain-append.js';
import { encodeTails } from '../../agent/chain/entry.js';
import { binaryOf } from '../../native/build.js';
import { leafHash, rootOfLeaves } from '../../verify/merkle.js';
import { assertShippedIsFreshBuild, nativeTestDir } from '../helpers/native.js';

const BINARY = binaryOf('chain-append');
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Entry tails of varied lengths and bytes: escapes, multi-byte UTF-8, empty strings. */
function tailsOf(n: number): { bytes: Buffer; ends: Uint32Array } {
  const words = ['', 'a', 'é', '日本', '🙂', '\\"q\\"', 'x'.repeat(300)];
  return encodeTails(
    Array.from({ length: n }, (_, i) => ({
      resource: '{}',
      scope: `{"name":"${words[i % words.length]!}"}`,
      record: `{"body":{"stringValue":"${randomBytes(i % 23).toString('base64')}${words[(i * 3) % words.length]!}"}}`,
    })),
  );
}

/** Appends every tail with `chain` into one buffer; the lines and the head after each. */
function writeAll(chain: Chain, tails: { bytes: Buffer; ends: Uint32Array }): { lines: Buffer; heads: ChainHead[] } {
  const out = Buffer.alloc(1 + tails.bytes.length + tails.ends.length * (chain.overheadBytes + 1));
  const timeEnv = chain.timeEnv('2026-12-03T12:00:00.000Z');
  const heads: ChainHead[] = [];
  let pos = 1;
  let ts = 0;
  for (const te of tails.ends) {
    pos = chain.appendTail(out, pos, timeEnv, tails.bytes, ts, te);
    ts = te;
    heads.push(chain.head());
  }
  return { lines: out.subarray(1, pos), heads };
}

describe('chain helper', () => {
  let dir: string;
  before(async () => {
    dir = await nativeTestDir('chain-append');
  });
  after(() => fsp.rm(dir, { recursive: true, force: true }));

  it('the shipped binary is byte for byte what chain-append.c builds to', async () => {
    await assertShippedIsFreshBuild('chain-append', dir);
  });

  it('loads on this platform, and chains use it', () => {
    assert.equal(`${process.platform}-${process.arch}`, 'linux-x64', 'the tests run where a binary ships');
    assert.equal(chainHelperUnavailable, '');
    assert.notEqual(appendEntryNative, null);
    assert.equal(new Chain(Chain.empty(), 'prod').native, true);
    assert.equal(new Chain(Chain.empty(), 'prod', { native: false }).native, false);
  });

  it('writes the same lines and heads as the JavaScript implementation, with the Merkle roots of the verifier', () => {
    const tails = tailsOf(300);
    const a = writeAll(new Chain(Chain.empty(), 'prod', { native: false }), tails);
    const b = writeAll(new Chain(Chain.empty(), 'prod'), tails);
    assert.equal(b.lines.length, a.lines.length);
    assert.ok(b.lines.equals(a.lines), 'the lines differ');
    assert.deepEqual(b.heads, a.heads);
    // The verifier's tree over the lines' leaf hashes, at sizes where 0 to 8 merges happen.
    const lines = a.lines.toString('utf8').split('\n').slice(0, -1);
    const leaves = lines.map((l) => leafHash(Buffer.from(l, 'utf8')));
    for (const size of [1, 2, 3, 4, 7, 8, 64, 255, 256, 300]) {
      const head = a.heads[size - 1]!;
      assert.equal(hex(new Chain(head, 'prod').root()), hex(rootOfLeaves(leaves.slice(0, size))), `root at size ${size}`);
      assert.equal(head.lastHash, hex(leaves[size - 1]!));
    }
  });

  it('continues a restored head identically, including sizes past 2^32', () => {
    const tails = tailsOf(40);
    // A head with 2^32 + 2^31 - 3 entries: its frontier needs popcount(size) hashes (any will do).
    const size = 2 ** 32 + 2 ** 31 - 3;
    const count = size.toString(2).replaceAll('0', '').length;
    const head: ChainHead = { size, lastHash: hex(randomBytes(32)), frontier: Array.from({ length: count }, () => hex(randomBytes(32))) };
    const a = writeAll(new Chain(head, 'prod', { native: false }), tails);
    const b = writeAll(new Chain(head, 'prod'), tails);
    assert.ok(b.lines.equals(a.lines));
    assert.deepEqual(b.heads, a.heads);
    assert.match(a.lines.toString('utf8'), new RegExp(`^\\{"v":1,"seq":${size},"prev":"${head.lastHash}"`));
    assert.equal(a.heads.at(-1)!.size, size + 40);
  });

  for (const [name, impl] of [
    ['native', () => appendEntryNative!],
    ['JavaScript', () => appendEntryJs],
  ] as const) {
    it(`${name}: refuses, changing nothing, an output without room or a tail out of range`, () => {
      const append: AppendEntry = impl();
      const state = new Uint8Array(STATE_BYTES);
      const timeEnv = Buffer.from(',"time":"t","env":"e"');
      const tails = Buffer.from(',"resource":{},"scope":{},"record":{}}');
      const out = Buffer.alloc(200, 0x2a);
      const end = append(out, 0, timeEnv, tails, 0, tails.length, state);
      const [stateBefore, outBefore] = [Buffer.from(state), Buffer.from(out)];
      assert.throws(() => append(out, end, timeEnv, tails, 0, tails.length, state), {
        name: 'RangeError',
        message: 'append: out of range',
      });
      assert.throws(() => append(Buffer.alloc(400), 0, timeEnv, tails, 0, tails.length + 1, state), {
        name: 'RangeError',
        message: 'append: out of range',
      });
      assert.throws(() => append(Buffer.alloc(400), 0, timeEnv, tails, 5, 4, state), {
        name: 'RangeError',
        message: 'append: out of range',
      });
      assert.ok(Buffer.from(state).equals(stateBefore), 'the state changed');
      assert.ok(out.equals(outBefore), 'the output changed');
    });

    it(`${name}: appends up to Number.MAX_SAFE_INTEGER entries, and refuses one more`, () => {
      const append: AppendEntry = impl();
      const state = new Uint8Array(STATE_BYTES);
      setStateSize(state, Number.MAX_SAFE_INTEGER - 1);
      const timeEnv = Buffer.from(',"time":"t","env":"e"');
      const tails = Buffer.from(',"resource":{},"scope":{},"record":{}}');
      const out = Buffer.alloc(400);
      const end = append(out, 0, timeEnv, tails, 0, tails.length, state);
      assert.match(out.subarray(0, end).toString(), /^\{"v":1,"seq":9007199254740990,"prev":/);
      assert.equal(stateSize(state), Number.MAX_SAFE_INTEGER);
      const before = Buffer.from(state);
      assert.throws(() => append(out, end, timeEnv, tails, 0, tails.length, state), {
        name: 'RangeError',
        message: 'append: the chain is full',
      });
      assert.ok(Buffer.from(state).equals(before), 'the state changed');
    });
  }

  it('native: refuses arguments of the wrong kind', () => {
    const append = createRequire(import.meta.url)(BINARY) as { append(...a: unknown[]): number };
    const ok: unknown[] = [Buffer.alloc(400), 0, Buffer.alloc(0), Buffer.alloc(0), 0, 0, new Uint8Array(STATE_BYTES)];
    const message = 'append(out, pos, timeEnv, tails, ts, te, state): bad arguments';
    for (const [i, bad] of [
      [0, 'out'],
      [1, -1],
      [1, 1.5],
      [4, '0'],
      [6, new Uint8Array(STATE_BYTES - 1)],
      [6, new Uint16Array(STATE_BYTES)],
    ] as const) {
      const args = [...ok];
      args[i] = bad;
      assert.throws(() => append.append(...args), { name: 'TypeError', message }, `argument ${i}: ${String(bad)}`);
    }
    assert.throws(() => append.append(...ok.slice(0, 6)), { name: 'TypeError', message });
    assert.equal(append.append(...ok), 0 + 13 + 1 + 9 + 64 + 1);
  });
});
