// Writing and linking one entry: the bytes of its line, its hash, and the Merkle frontier.
// Two implementations of one function over one state layout: native/chain-append.c (the
// prebuilt helper, one Node-API call per entry) and the JavaScript below, used where the helper
// does not load (another platform) and as the reference the helper is checked against on load.
import { createRequire } from 'node:module';
import { errorMessage } from '../../lib/errors.js';
import { RFC6962_NODE_HASH_PREFIX, popcount } from '../../verify/merkle.js';
import { sha256String } from '../../verify/sha256.js';

/**
 * The chain's head in one byte array, the layout both implementations work on:
 * [0, 8) size (entries so far), uint64 little-endian; [8, 40) the last entry's hash;
 * [40, ...) the frontier: popcount(size) subtree roots, leftmost (largest) first.
 */
export const SIZE_AT = 0;
export const LAST_AT = 8;
export const FRONTIER_AT = 40;
export const STATE_BYTES = FRONTIER_AT + 64 * 32;

/**
 * Writes entry number size(state) into `out` at `pos`: `{"v":1,"seq":N,"prev":"<hex>"`, then
 * timeEnv, then tails[ts, te), then '\n'. Hashes the line (without its '\n') as the leaf
 * SHA-256(0x00 || line), makes it the last hash and appends it to the frontier. Returns the
 * position after the '\n'. Throws, changing nothing, when `out` has no room.
 */
export type AppendEntry = (
  out: Uint8Array,
  pos: number,
  timeEnv: Uint8Array,
  tails: Uint8Array,
  ts: number,
  te: number,
  state: Uint8Array,
) => number;

const TWO_32 = 2 ** 32;

export function stateSize(state: Uint8Array): number {
  const lo = (state[SIZE_AT]! | (state[SIZE_AT + 1]! << 8) | (state[SIZE_AT + 2]! << 16) | (state[SIZE_AT + 3]! << 24)) >>> 0;
  const hi = (state[SIZE_AT + 4]! | (state[SIZE_AT + 5]! << 8) | (state[SIZE_AT + 6]! << 16) | (state[SIZE_AT + 7]! << 24)) >>> 0;
  return hi * TWO_32 + lo;
}

export function setStateSize(state: Uint8Array, size: number): void {
  const lo = size % TWO_32;
  const hi = Math.floor(size / TWO_32);
  for (let i = 0; i < 4; i++) {
    state[SIZE_AT + i] = (lo >>> (8 * i)) & 0xff;
    state[SIZE_AT + 4 + i] = (hi >>> (8 * i)) & 0xff;
  }
}

const HEX = Buffer.from('0123456789abcdef', 'latin1');
const SEQ_OPEN = Buffer.from('{"v":1,"seq":', 'latin1');
const PREV_OPEN = Buffer.from(',"prev":"', 'latin1');
const LEAF_INPUT_PREFIX = 0x00;
// Scratch input of a node hash: synchronous, so one serves every call.
const NODE_INPUT = new Uint8Array(65);
NODE_INPUT[0] = RFC6962_NODE_HASH_PREFIX;

/** Stores a 32-character latin1 digest (a string digest costs a third of a Buffer one) as bytes. */
function setHash(state: Uint8Array, at: number, digest: string): void {
  for (let i = 0; i < 32; i++) state[at + i] = digest.charCodeAt(i);
}

function put(out: Uint8Array, pos: number, src: Uint8Array): number {
  for (let i = 0; i < src.length; i++) out[pos + i] = src[i]!;
  return pos + src.length;
}

/** Decimal digits of the non-negative safe integer `n`. */
function decimalDigits(n: number): number {
  let digits = 1;
  for (let x = n; x >= 10; x = Math.floor(x / 10)) digits++;
  return digits;
}

/** The JavaScript implementation of AppendEntry. */
export const appendEntryJs: AppendEntry = (out, pos, timeEnv, tails, ts, te, state) => {
  if (state.length !== STATE_BYTES) throw new TypeError('append: bad state');
  const size = stateSize(state);
  if (size >= Number.MAX_SAFE_INTEGER) throw new RangeError('append: the chain is full');
  const digits = decimalDigits(size);
  const need = SEQ_OPEN.length + digits + PREV_OPEN.length + 64 + timeEnv.length + (te - ts) + 1;
  if (!(ts >= 0 && ts <= te && te <= tails.length && pos >= 0 && pos + need <= out.length)) throw new RangeError('append: out of range');
  const start = pos;
  pos = put(out, pos, SEQ_OPEN);
  for (let n = size, p = pos + digits - 1; p >= pos; p--, n = Math.floor(n / 10)) out[p] = 48 + (n % 10);
  pos += digits;
  pos = put(out, pos, PREV_OPEN);
  for (let i = LAST_AT; i < LAST_AT + 32; i++) {
    const b = state[i]!;
    out[pos++] = HEX[b >> 4]!;
    out[pos++] = HEX[b & 15]!;
  }
  pos = put(out, pos, timeEnv);
  out.set(tails.subarray(ts, te), pos);
  pos += te - ts;
  // The leaf input 0x00 || line: in place, in the byte before the line, where there is one.
  if (start > 0) {
    const saved = out[start - 1]!;
    out[start - 1] = LEAF_INPUT_PREFIX;
    setHash(state, LAST_AT, sha256String(out.subarray(start - 1, pos)));
    out[start - 1] = saved;
  } else {
    setHash(state, LAST_AT, sha256String(Buffer.concat([Uint8Array.of(LEAF_INPUT_PREFIX), out.subarray(start, pos)])));
  }
  out[pos++] = 0x0a;
  // One merge per trailing 1-bit of the old size (verify/merkle.ts Frontier.append):
  // node = SHA-256(0x01 || left || right), the new hash on the right.
  let count = popcount(size);
  let h = LAST_AT;
  for (let s = size; s % 2 === 1; s = Math.floor(s / 2)) {
    count--;
    const left = FRONTIER_AT + 32 * count;
    for (let i = 0; i < 32; i++) {
      NODE_INPUT[1 + i] = state[left + i]!;
      NODE_INPUT[33 + i] = state[h + i]!;
    }
    // The merged hash replaces its left half, the subtree root it absorbed.
    setHash(state, left, sha256String(NODE_INPUT));
    h = left;
  }
  if (h !== FRONTIER_AT + 32 * count) state.copyWithin(FRONTIER_AT + 32 * count, h, h + 32);
  setStateSize(state, size + 1);
  return pos;
};

/** The prebuilt helper for this platform, relative to dist/agent/chain/. */
const HELPER_PATH = `../../../native/prebuilds/${process.platform}-${process.arch}/chain-append.node`;

/** Writes a few entries with both implementations; true when bytes and state agree. */
function agreesWithJs(native: AppendEntry): boolean {
  const timeEnv = Buffer.from(',"time":"2026-01-01T00:00:00.000Z","env":"check"', 'utf8');
  const tails = Buffer.from(',"resource":{},"scope":{},"record":{"body":{"stringValue":"é\\n"}}}', 'utf8');
  const a = { out: Buffer.alloc(4096), state: new Uint8Array(STATE_BYTES), pos: 0 };
  const b = { out: Buffer.alloc(4096), state: new Uint8Array(STATE_BYTES), pos: 0 };
  // Seven entries: sizes 0..6 merge zero, one and two frontier hashes.
  for (let i = 0; i < 7; i++) {
    a.pos = appendEntryJs(a.out, a.pos, timeEnv, tails, 0, tails.length, a.state);
    b.pos = native(b.out, b.pos, timeEnv, tails, 0, tails.length, b.state);
  }
  return a.pos === b.pos && a.out.equals(b.out) && Buffer.from(a.state).equals(Buffer.from(b.state));
}

function load(): { append: AppendEntry | null; reason: string } {
  try {
    const binding = createRequire(import.meta.url)(HELPER_PATH) as { append?: AppendEntry };
    const native = binding.append;
    if (typeof native !== 'function') return { append: null, reason: 'append is missing' };
    if (!agreesWithJs(native)) return { append: null, reason: 'its entries differ from the JavaScript implementation' };
    return { append: native, reason: '' };
  } catch (err) {
    return { append: null, reason: errorMessage(err) };
  }
}

const loaded = load();

/** The helper's append, or null where it cannot load. */
export const appendEntryNative: AppendEntry | null = loaded.append;

/** Why the helper is not in use ('' when it is). */
export const chainHelperUnavailable = loaded.reason;
