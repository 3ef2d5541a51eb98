// The in-memory head of one hash chain: next seq, the previous entry's hash and the RFC 6962
// compact frontier. Pure state; the buffer persists it with every write (see buffer/store.ts).
import { StringFrontier } from '../../verify/merkle.js';
import { sha256String } from '../../verify/sha256.js';
import { encodeTails, entryOverheadBytes, ZERO_HASH_HEX, type EntryParts } from './entry.js';

export interface ChainHead {
  size: number; // next seq
  lastHash: string; // hex hash of entry size-1, 64 zeros when size = 0
  frontier: string[]; // hex subtree roots, leftmost first
}

export interface AppendedEntry {
  seq: number;
  /** The entry line followed by '\n', as stored in the buffer and in archive objects. */
  record: Buffer;
}

const HEX = Buffer.from('0123456789abcdef', 'latin1');
const SEQ_OPEN = Buffer.from('{"v":1,"seq":', 'latin1');
const PREV_OPEN = Buffer.from(',"prev":"', 'latin1');

function put(out: Buffer, pos: number, src: Buffer): number {
  for (let i = 0; i < src.length; i++) out[pos + i] = src[i]!;
  return pos + src.length;
}

// Hashes are held as 32-character latin1 strings (StringFrontier says why); the head converts
// them to hex.
const fromHex = (h: string): string => Buffer.from(h, 'hex').toString('latin1');
const toHex = (h: string): string => Buffer.from(h, 'latin1').toString('hex');

export class Chain {
  private frontier: StringFrontier;
  private lastHash: string;
  private readonly envJson: string;
  /** Upper bound of the envelope's bytes per entry (see entryOverheadBytes). */
  readonly overheadBytes: number;

  constructor(head: ChainHead, env: string) {
    this.frontier = new StringFrontier(head.size, head.frontier.map(fromHex));
    this.lastHash = fromHex(head.lastHash);
    this.envJson = JSON.stringify(env);
    this.overheadBytes = entryOverheadBytes(env);
  }

  static empty(): ChainHead {
    return { size: 0, lastHash: ZERO_HASH_HEX, frontier: [] };
  }

  get size(): number {
    return this.frontier.size;
  }

  /** The bytes every entry of one commit carries after its prev hash: time and environment. */
  timeEnv(time: string): Buffer {
    return Buffer.from(`","time":"${time}","env":${this.envJson}`, 'utf8');
  }

  /**
   * Writes the next entry line and its '\n' into `out` at `pos` (at most overheadBytes + the
   * tail's length + 1 bytes) and links it: the envelope, then tail bytes [ts, te) of `tails`.
   * out[pos - 1] must exist: it briefly holds the leaf prefix 0x00, so the line is hashed where
   * it lies, without a copy. Returns the position after the '\n'.
   */
  appendTail(out: Buffer, pos: number, timeEnv: Buffer, tails: Buffer, ts: number, te: number): number {
    const start = pos;
    pos = put(out, pos, SEQ_OPEN);
    pos = writeDecimal(out, pos, this.frontier.size);
    pos = put(out, pos, PREV_OPEN);
    const h = this.lastHash;
    for (let i = 0; i < 32; i++) {
      const b = h.charCodeAt(i);
      out[pos++] = HEX[b >> 4]!;
      out[pos++] = HEX[b & 15]!;
    }
    pos = put(out, pos, timeEnv);
    pos += tails.copy(out, pos, ts, te);
    const saved = out[start - 1]!;
    out[start - 1] = 0x00;
    const leaf = sha256String(out.subarray(start - 1, pos));
    out[start - 1] = saved;
    out[pos++] = 0x0a;
    this.frontier.append(leaf);
    this.lastHash = leaf;
    return pos;
  }

  /** Encodes, hashes and links the next entry (one at a time; the writer uses appendTail). */
  append(time: string, parts: EntryParts): AppendedEntry {
    const seq = this.frontier.size;
    const t = encodeTails([parts]);
    const out = Buffer.allocUnsafe(1 + this.overheadBytes + t.bytes.length + 1);
    const end = this.appendTail(out, 1, this.timeEnv(time), t.bytes, 0, t.bytes.length);
    return { seq, record: out.subarray(1, end) };
  }

  root(): Uint8Array {
    return Buffer.from(this.frontier.root(), 'latin1');
  }

  head(): ChainHead {
    return {
      size: this.frontier.size,
      lastHash: toHex(this.lastHash),
      frontier: this.frontier.hashes.map(toHex),
    };
  }

  /** Restores a head taken earlier (used to roll back when a buffer write fails). */
  reset(head: ChainHead): void {
    this.frontier = new StringFrontier(head.size, head.frontier.map(fromHex));
    this.lastHash = fromHex(head.lastHash);
  }
}

/** Writes the decimal digits of the non-negative safe integer `n`. */
function writeDecimal(out: Buffer, pos: number, n: number): number {
  let digits = 1;
  for (let x = n; x >= 10; x = Math.floor(x / 10)) digits++;
  let p = pos + digits;
  do {
    out[--p] = 48 + (n % 10);
    n = Math.floor(n / 10);
  } while (n > 0);
  return pos + digits;
}
