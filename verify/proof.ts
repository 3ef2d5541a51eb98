// RFC 9162 Merkle inclusion and consistency proofs (sections 2.1.3 and 2.1.4), over the
// RFC 6962 hashing of merkle.ts. Generation is split in two so that it can stream: first the
// list of subtree ranges [start, end) whose hashes form the proof (pure arithmetic), then the
// hashes of those ranges, computed from an array or from a stream of leaf hashes.
// Sizes and indexes are JS numbers (safe integers); tree sizes beyond 2^53 are not supported.
// Everything handed to the verify* functions may come from an attacker; they return false on
// any malformed input rather than throwing.
import { CompactFrontier, nodeHash } from './merkle.js';

export type Range = readonly [start: number, end: number];

/** Largest power of two strictly below n. Requires n > 1. */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function isPowerOfTwo(n: number): boolean {
  while (n > 1 && n % 2 === 0) n /= 2;
  return n === 1;
}

function odd(x: number): boolean {
  return x % 2 === 1;
}

function half(x: number): number {
  return Math.floor(x / 2);
}

/**
 * Subtree ranges of the inclusion proof PATH(index, D[0:size]) (RFC 9162 section 2.1.3.1),
 * in proof order (nearest the leaf first). Requires 0 <= index < size.
 */
export function inclusionRanges(index: number, size: number): Range[] {
  if (!(Number.isSafeInteger(index) && Number.isSafeInteger(size) && index >= 0 && index < size)) {
    throw new RangeError(`inclusion proof needs 0 <= index < size (index ${index}, size ${size})`);
  }
  const out: Range[] = [];
  let lo = 0;
  let hi = size;
  const stack: Range[] = [];
  // Walk down from the root, remembering the sibling of each step; the proof lists them bottom-up.
  while (hi - lo > 1) {
    const k = splitPoint(hi - lo);
    if (index < lo + k) {
      stack.push([lo + k, hi]);
      hi = lo + k;
    } else {
      stack.push([lo, lo + k]);
      lo = lo + k;
    }
  }
  while (stack.length > 0) out.push(stack.pop()!);
  return out;
}

/**
 * Subtree ranges of the consistency proof PROOF(size1, D[0:size2]) (RFC 9162 section 2.1.4.1),
 * in proof order. Requires 0 < size1 <= size2; the proof for size1 == size2 is empty.
 */
export function consistencyRanges(size1: number, size2: number): Range[] {
  if (!(Number.isSafeInteger(size1) && Number.isSafeInteger(size2) && size1 > 0 && size1 <= size2)) {
    throw new RangeError(`consistency proof needs 0 < size1 <= size2 (size1 ${size1}, size2 ${size2})`);
  }
  if (size1 === size2) return [];
  // SUBPROOF(m, D[lo:hi], b), unrolled: descend, collecting siblings; they come out bottom-up.
  const stack: Range[] = [];
  let m = size1;
  let lo = 0;
  let hi = size2;
  let b = true;
  for (;;) {
    const n = hi - lo;
    if (m === n) {
      if (!b) stack.push([lo, hi]);
      break;
    }
    const k = splitPoint(n);
    if (m <= k) {
      stack.push([lo + k, hi]);
      hi = lo + k;
    } else {
      stack.push([lo, lo + k]);
      m -= k;
      lo += k;
      b = false;
    }
  }
  return stack.reverse();
}

/** Root hashes of `ranges` over an in-memory list of leaf hashes. Requires every range within leaves. */
export function rangeHashes(leaves: readonly Uint8Array[], ranges: readonly Range[]): Uint8Array[] {
  return ranges.map(([s, e]) => {
    if (!(0 <= s && s < e && e <= leaves.length)) throw new RangeError(`range [${s}, ${e}) outside ${leaves.length} leaves`);
    const f = new CompactFrontier();
    for (let i = s; i < e; i++) f.append(leaves[i]!);
    return f.root();
  });
}

/**
 * Accumulates the hashes of `ranges` from leaf hashes fed in order (index 0, 1, 2, ...), so a
 * proof over a huge log needs only one pass and O(log n) memory per range.
 * Ranges produced by inclusionRanges / consistencyRanges are disjoint.
 */
export class RangeHasher {
  private readonly frontiers: (CompactFrontier | null)[];
  private next = 0;

  constructor(private readonly ranges: readonly Range[]) {
    this.frontiers = ranges.map(() => null);
  }

  /** Number of leaves fed so far. */
  get size(): number {
    return this.next;
  }

  add(leaf: Uint8Array): void {
    const i = this.next++;
    for (let r = 0; r < this.ranges.length; r++) {
      const [s, e] = this.ranges[r]!;
      if (i >= s && i < e) {
        const f = (this.frontiers[r] ??= new CompactFrontier());
        f.append(leaf);
      }
    }
  }

  /** The range hashes; requires that every leaf up to the largest range end was added. */
  hashes(): Uint8Array[] {
    return this.ranges.map(([s, e], r) => {
      const f = this.frontiers[r];
      if (!f || f.size !== e - s) throw new RangeError(`range [${s}, ${e}) incomplete`);
      return f.root();
    });
  }
}

/** Inclusion proof for leaf `index` in the tree of the first `size` leaves. Requires 0 <= index < size <= leaves.length. */
export function inclusionProof(leaves: readonly Uint8Array[], index: number, size: number): Uint8Array[] {
  if (size > leaves.length) throw new RangeError(`size ${size} > ${leaves.length} leaves`);
  return rangeHashes(leaves, inclusionRanges(index, size));
}

/** Consistency proof between the trees of sizes size1 and size2. Requires 0 < size1 <= size2 <= leaves.length. */
export function consistencyProof(leaves: readonly Uint8Array[], size1: number, size2: number): Uint8Array[] {
  if (size2 > leaves.length) throw new RangeError(`size ${size2} > ${leaves.length} leaves`);
  return rangeHashes(leaves, consistencyRanges(size1, size2));
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

const HASH_LEN = 32;

function wellFormed(proof: readonly Uint8Array[]): boolean {
  return proof.every((p) => p instanceof Uint8Array && p.length === HASH_LEN);
}

/**
 * The root implied by an inclusion proof (RFC 9162 section 2.1.3.2), or null when the proof
 * cannot belong to a tree of that shape (wrong length, index out of range).
 */
export function rootFromInclusionProof(index: number, size: number, leaf: Uint8Array, proof: readonly Uint8Array[]): Uint8Array | null {
  if (!(Number.isSafeInteger(index) && Number.isSafeInteger(size) && index >= 0 && index < size)) return null;
  if (leaf.length !== HASH_LEN || !wellFormed(proof)) return null;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return null; // proof longer than the path
    if (odd(fn) || fn === sn) {
      r = nodeHash(p, r);
      if (!odd(fn)) {
        while (!odd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 ? r : null; // sn !== 0: proof shorter than the path
}

/** True when `proof` shows leaf hash `leaf` at `index` in the tree of `size` leaves with root `root`. */
export function verifyInclusion(index: number, size: number, leaf: Uint8Array, proof: readonly Uint8Array[], root: Uint8Array): boolean {
  const r = rootFromInclusionProof(index, size, leaf, proof);
  return r !== null && bytesEqual(r, root);
}

/**
 * True when `proof` shows that the tree (size1, root1) is a prefix of the tree (size2, root2)
 * (RFC 9162 section 2.1.4.2). Requires 0 < size1 <= size2 (else false); for size1 == size2 the
 * proof must be empty and the roots equal. A consistency check from the empty tree proves
 * nothing and is rejected.
 */
export function verifyConsistency(
  size1: number,
  size2: number,
  root1: Uint8Array,
  root2: Uint8Array,
  proof: readonly Uint8Array[],
): boolean {
  if (!(Number.isSafeInteger(size1) && Number.isSafeInteger(size2) && size1 > 0 && size1 <= size2)) return false;
  if (size1 === size2) return proof.length === 0 && bytesEqual(root1, root2);
  if (proof.length === 0 || !wellFormed(proof)) return false;
  let path = proof;
  // If size1 is a power of two, the old root is itself a node on the path and is not sent.
  if (isPowerOfTwo(size1)) path = [root1, ...proof];
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (odd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (let i = 1; i < path.length; i++) {
    const c = path[i]!;
    if (sn === 0) return false;
    if (odd(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (!odd(fn)) {
        while (!odd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && bytesEqual(fr, root1) && bytesEqual(sr, root2);
}
