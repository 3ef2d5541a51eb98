// The in-memory head of one hash chain: next seq, the previous entry's hash and the RFC 6962
// compact frontier. Pure state; the buffer persists it with every write (see buffer/store.ts).
// Entries are written and linked by chain-append.ts: the prebuilt helper where it loads.
import { CompactFrontier, popcount } from '../../verify/merkle.js';
import {
  FRONTIER_AT,
  LAST_AT,
  STATE_BYTES,
  appendEntryJs,
  appendEntryNative,
  setStateSize,
  stateSize,
  type AppendEntry,
} from './chain-append.js';
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

export interface ChainOptions {
  /** false: the JavaScript implementation even where the helper loads (tests compare the two). */
  native?: boolean;
}

const HASH_HEX = /^[0-9a-f]{64}$/;

/** Why `head` (read from disk: hostile) is not a well-formed chain head, or null when it is. */
export function headProblem(head: unknown): string | null {
  if (typeof head !== 'object' || head === null) return 'there is no chain head';
  const { size, lastHash, frontier } = head as Record<string, unknown>;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) return `the chain size ${String(size)} is not a count`;
  if (typeof lastHash !== 'string' || !HASH_HEX.test(lastHash)) return 'the last hash is not 64 hex digits';
  if (!Array.isArray(frontier) || !frontier.every((h) => typeof h === 'string' && HASH_HEX.test(h))) {
    return 'the frontier is not a list of 64-hex-digit hashes';
  }
  if (frontier.length !== popcount(size)) return `a tree of size ${size} has ${popcount(size)} frontier hashes, not ${frontier.length}`;
  return null;
}

export class Chain {
  /** Size, last hash and frontier, in chain-append.ts's layout. */
  private readonly state = new Uint8Array(STATE_BYTES);
  private readonly appendEntry: AppendEntry;
  private readonly envJson: string;
  /** Upper bound of the envelope's bytes per entry (see entryOverheadBytes). */
  readonly overheadBytes: number;

  constructor(head: ChainHead, env: string, opts: ChainOptions = {}) {
    this.appendEntry = opts.native === false ? appendEntryJs : (appendEntryNative ?? appendEntryJs);
    this.envJson = JSON.stringify(env);
    this.overheadBytes = entryOverheadBytes(env);
    this.reset(head);
  }

  static empty(): ChainHead {
    return { size: 0, lastHash: ZERO_HASH_HEX, frontier: [] };
  }

  /** True when entries are written by the prebuilt helper. */
  get native(): boolean {
    return this.appendEntry !== appendEntryJs;
  }

  get size(): number {
    return stateSize(this.state);
  }

  /** The bytes every entry of one commit carries after its prev hash: time and environment. */
  timeEnv(time: string): Buffer {
    return Buffer.from(`","time":"${time}","env":${this.envJson}`, 'utf8');
  }

  /**
   * Writes the next entry line and its '\n' into `out` at `pos` (at most overheadBytes + the
   * tail's length + 1 bytes) and links it: the envelope, then tail bytes [ts, te) of `tails`.
   * Returns the position after the '\n'.
   */
  appendTail(out: Buffer, pos: number, timeEnv: Buffer, tails: Buffer, ts: number, te: number): number {
    return this.appendEntry(out, pos, timeEnv, tails, ts, te, this.state);
  }

  /** Encodes, hashes and links the next entry (one at a time; the writer uses appendTail). */
  append(time: string, parts: EntryParts): AppendedEntry {
    const seq = this.size;
    const t = encodeTails([parts]);
    const out = Buffer.allocUnsafe(this.overheadBytes + t.bytes.length + 1);
    const end = this.appendTail(out, 0, this.timeEnv(time), t.bytes, 0, t.bytes.length);
    return { seq, record: out.subarray(0, end) };
  }

  root(): Uint8Array {
    return this.frontier().root();
  }

  head(): ChainHead {
    return {
      size: this.size,
      lastHash: Buffer.from(this.state.subarray(LAST_AT, LAST_AT + 32)).toString('hex'),
      frontier: this.frontier().hashes.map((h) => Buffer.from(h).toString('hex')),
    };
  }

  /** Sets the head (at construction, and to roll back when a buffer write fails). */
  reset(head: ChainHead): void {
    // The buffer checks a stored head before it gets here (store.ts checkConsistency).
    const problem = headProblem(head);
    if (problem !== null) throw new RangeError(`bad chain head: ${problem}`);
    this.state.fill(0);
    setStateSize(this.state, head.size);
    this.state.set(Buffer.from(head.lastHash, 'hex'), LAST_AT);
    head.frontier.forEach((h, i) => this.state.set(Buffer.from(h, 'hex'), FRONTIER_AT + 32 * i));
  }

  private frontier(): CompactFrontier {
    const hashes: Uint8Array[] = [];
    const size = this.size;
    const count = popcount(size);
    for (let i = 0; i < count; i++) hashes.push(this.state.slice(FRONTIER_AT + 32 * i, FRONTIER_AT + 32 * i + 32));
    return new CompactFrontier(size, hashes);
  }
}
