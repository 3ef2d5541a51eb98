// The in-memory head of one hash chain: next seq, the previous entry's hash and the RFC 6962
// compact frontier. Pure state; the buffer persists it with every write (see buffer/store.ts).
import { CompactFrontier, leafHashOfPrefixed } from '../../verify/merkle.js';
import { encodeEntry, ZERO_HASH_HEX, type EntryParts } from './entry.js';

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

export class Chain {
  private frontier: CompactFrontier;
  private lastHashHex: string;
  private readonly envJson: string;

  constructor(head: ChainHead, env: string) {
    this.frontier = new CompactFrontier(
      head.size,
      head.frontier.map((h) => Buffer.from(h, 'hex')),
    );
    this.lastHashHex = head.lastHash;
    this.envJson = JSON.stringify(env);
  }

  static empty(): ChainHead {
    return { size: 0, lastHash: ZERO_HASH_HEX, frontier: [] };
  }

  get size(): number {
    return this.frontier.size;
  }

  /** Encodes, hashes and links the next entry. */
  append(time: string, parts: EntryParts): AppendedEntry {
    const seq = this.frontier.size;
    const text = encodeEntry(seq, this.lastHashHex, time, this.envJson, parts);
    // One buffer holds 0x00 || line || '\n': the leaf hash covers the first part, the buffer
    // and the archive keep the last two, and nothing is copied.
    const len = Buffer.byteLength(text, 'utf8');
    const buf = Buffer.allocUnsafe(len + 2);
    buf[0] = 0x00;
    buf.write(text, 1, 'utf8');
    buf[len + 1] = 0x0a;
    const h = leafHashOfPrefixed(buf.subarray(0, len + 1));
    this.frontier.append(h);
    this.lastHashHex = Buffer.from(h.buffer, h.byteOffset, h.byteLength).toString('hex');
    return { seq, record: buf.subarray(1) };
  }

  root(): Uint8Array {
    return this.frontier.root();
  }

  head(): ChainHead {
    return {
      size: this.frontier.size,
      lastHash: this.lastHashHex,
      frontier: this.frontier.hashes.map((h) => Buffer.from(h.buffer, h.byteOffset, h.byteLength).toString('hex')),
    };
  }

  /** Restores a head taken earlier (used to roll back when a buffer write fails). */
  reset(head: ChainHead): void {
    this.frontier = new CompactFrontier(
      head.size,
      head.frontier.map((h) => Buffer.from(h, 'hex')),
    );
    this.lastHashHex = head.lastHash;
  }
}
