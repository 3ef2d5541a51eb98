// RFC 6962 / RFC 9162 Merkle tree hashing (section 2.1), and the compact frontier the agent
// keeps so that the root of the whole log is computable without storing interior nodes.
//   leaf hash = SHA-256(0x00 || data)       node hash = SHA-256(0x01 || left || right)
// The tree over n leaves splits at the largest power of two strictly below n.
import { sha256, sha256One } from './sha256.js';

export const RFC6962_LEAF_HASH_PREFIX = 0x00;
export const RFC6962_NODE_HASH_PREFIX = 0x01;
const LEAF = Uint8Array.of(RFC6962_LEAF_HASH_PREFIX);
const NODE = Uint8Array.of(RFC6962_NODE_HASH_PREFIX);

/** SHA-256 of the empty string: the root of the empty tree (RFC 9162 section 2.1.1). */
export const EMPTY_ROOT: Uint8Array = sha256();

export function leafHash(data: Uint8Array): Uint8Array {
  return sha256(LEAF, data);
}

// Scratch input of nodeHash: the hash is synchronous, so one buffer serves every call (a fresh
// 65-byte typed array per entry is an off-heap ArrayBuffer the GC must track and sweep).
const NODE_INPUT = new Uint8Array(65);
NODE_INPUT[0] = RFC6962_NODE_HASH_PREFIX;

export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  // A one-shot hash: this runs about once per appended entry.
  if (left.length === 32 && right.length === 32) {
    NODE_INPUT.set(left, 1);
    NODE_INPUT.set(right, 33);
    return sha256One(NODE_INPUT);
  }
  return sha256(NODE, left, right);
}

/**
 * The compact frontier of a tree of `size` leaves: the roots of its perfect subtrees, one per
 * set bit of `size`, from the largest (leftmost) to the smallest. About log2(size) hashes.
 */
export class Frontier<H> {
  size: number;
  /** Subtree roots, leftmost (largest) first. frontier.length === popcount(size). */
  hashes: H[];

  constructor(
    size: number,
    hashes: H[],
    private readonly node: (left: H, right: H) => H,
    private readonly emptyRoot: H,
  ) {
    if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`bad tree size ${size}`);
    if (hashes.length !== popcount(size)) {
      throw new RangeError(`frontier of size ${size} needs ${popcount(size)} hashes, got ${hashes.length}`);
    }
    this.size = size;
    this.hashes = hashes;
  }

  /** Appends one leaf hash (already leaf-hashed). */
  append(leaf: H): void {
    let h = leaf;
    // Merge with equal-sized subtrees: one merge per trailing 1-bit of the old size.
    let s = this.size;
    while (s % 2 === 1) {
      h = this.node(this.hashes.pop() as H, h);
      s = Math.floor(s / 2);
    }
    this.hashes.push(h);
    this.size += 1;
  }

  /** The RFC 6962 root hash of the whole tree. */
  root(): H {
    if (this.size === 0) return this.emptyRoot;
    let h = this.hashes[this.hashes.length - 1] as H;
    for (let i = this.hashes.length - 2; i >= 0; i--) h = this.node(this.hashes[i] as H, h);
    return h;
  }
}

/** The frontier with hashes as bytes: the verifier's. */
export class CompactFrontier extends Frontier<Uint8Array> {
  constructor(size = 0, hashes: Uint8Array[] = []) {
    super(size, hashes, nodeHash, EMPTY_ROOT);
  }
}

export function popcount(n: number): number {
  let c = 0;
  while (n > 0) {
    c += n % 2;
    n = Math.floor(n / 2);
  }
  return c;
}

/** Root of the tree over `leaves` (leaf hashes), computed directly; for tests and small trees. */
export function rootOfLeaves(leaves: readonly Uint8Array[]): Uint8Array {
  const f = new CompactFrontier();
  for (const l of leaves) f.append(l);
  return f.root();
}
