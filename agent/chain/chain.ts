// The in-memory head of one hash chain: next seq, the previous entry's hash and the RFC 6962
// compact frontier. Pure state; the buffer persists it with every write (see buffer/store.ts).
import { CompactFrontier } from '../../verify/merkle.js';
import { encodeEntry, entryHash, ZERO_HASH_HEX } from './entry.js';

export interface ChainHead {
  size: number; // next seq
  lastHash: string; // hex hash of entry size-1, 64 zeros when size = 0
  frontier: string[]; // hex subtree roots, leftmost first
}

export interface AppendedEntry {
  seq: number;
  line: Buffer; // without '\n'
}

export class Chain {
  private frontier: CompactFrontier;
  private lastHashHex: string;
  private readonly envJson: string;

  constructor(head: ChainHead, env: string) {
    this.frontier = new CompactFrontier(head.size, head.frontier.map((h) => Buffer.from(h, 'hex')));
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
  append(time: string, parts: { resource: string; scope: string; record: string }): AppendedEntry {
    const seq = this.frontier.size;
    const line = Buffer.from(encodeEntry(seq, this.lastHashHex, time, this.envJson, parts), 'utf8');
    const h = entryHash(line);
    this.frontier.append(h);
    this.lastHashHex = Buffer.from(h.buffer, h.byteOffset, h.byteLength).toString('hex');
    return { seq, line };
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
    this.frontier = new CompactFrontier(head.size, head.frontier.map((h) => Buffer.from(h, 'hex')));
    this.lastHashHex = head.lastHash;
  }
}
