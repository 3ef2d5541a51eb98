// Proof documents printed by `sealtrail prove` / `sealtrail consistency` and checked by
// `sealtrail verify-proof`: self-contained JSON carrying the signed checkpoint(s), so anyone
// with the verifier key can check them without the archive.
//   inclusion:   {"type":"inclusion","origin","index","size","leafHash","entry","proof":[b64],"checkpoint":note}
//   consistency: {"type":"consistency","origin","size1","size2","proof":[b64],"checkpoint1":note,"checkpoint2":note}
// A document is attacker-controlled: verifyProofDoc never throws on its content.
import type { ArchiveReader } from './archive.js';
import { VerifyError } from './errors.js';
import { parseEntryHead } from './entry-line.js';
import type { Decompressor } from './gunzip.js';
import { webGunzip } from './gunzip.js';
import { catalog, sortedBatches } from './verifier.js';
import { splitLines } from './lines.js';
import { CompactFrontier, leafHash } from './merkle.js';
import { NoteError, b64, parseCheckpointBody, parseNote, unb64, verifyNote, type Checkpoint, type VerifierKey } from './note.js';
import { RangeHasher, bytesEqual, consistencyRanges, inclusionRanges, verifyConsistency, verifyInclusion } from './proof.js';

export interface InclusionProofDoc {
  type: 'inclusion';
  origin: string;
  index: number;
  size: number;
  leafHash: string;
  entry: string;
  proof: string[];
  checkpoint: string;
}

export interface ConsistencyProofDoc {
  type: 'consistency';
  origin: string;
  size1: number;
  size2: number;
  proof: string[];
  checkpoint1: string;
  checkpoint2: string;
}

export type ProofDoc = InclusionProofDoc | ConsistencyProofDoc;

interface OriginIndex {
  origin: string;
  /** Contiguous batches from 0 in order. */
  batches: { start: number; end: number; entries?: string; checkpoint?: string }[];
}

/** Picks the origin (the only one, or the one named) and its contiguous batches. */
async function indexOrigin(reader: ArchiveReader, origin: string | undefined): Promise<OriginIndex> {
  const cat = await catalog(reader);
  const names = [...cat.origins.keys()].sort();
  if (names.length === 0) throw new VerifyError('NOT_FOUND', `${reader.location} holds no batches`);
  if (origin === undefined) {
    if (names.length > 1)
      throw new VerifyError('USAGE', `${reader.location} holds several origins; choose one with --origin (${names.join(', ')})`);
    origin = names[0]!;
  }
  const batches = cat.origins.get(origin);
  if (!batches) throw new VerifyError('NOT_FOUND', `origin ${origin} is not in ${reader.location}`);
  const out: OriginIndex['batches'] = [];
  let expected = 0;
  for (const b of sortedBatches(batches)) {
    if (b.start !== expected) break; // proofs only over the contiguous prefix; `verify` names the gap
    out.push({ start: b.start, end: b.end, entries: b.entries[0], checkpoint: b.checkpoint });
    expected = b.end;
  }
  return { origin, batches: out };
}

async function readText(reader: ArchiveReader, name: string): Promise<string> {
  const parts: Uint8Array[] = [];
  let n = 0;
  for await (const c of reader.open(name)) {
    n += c.length;
    if (n > 64 * 1024) throw new VerifyError('ARCHIVE_INVALID', `${name} is too large for a checkpoint`);
    parts.push(c);
  }
  return new TextDecoder().decode(concat(parts, n));
}

function concat(parts: Uint8Array[], n: number): Uint8Array {
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

async function checkpointAt(reader: ArchiveReader, idx: OriginIndex, size: number | undefined): Promise<{ note: string; cp: Checkpoint }> {
  const withCp = idx.batches.filter((b) => b.checkpoint !== undefined);
  const b = size === undefined ? withCp[withCp.length - 1] : withCp.find((x) => x.end === size);
  if (!b) {
    const sizes = withCp.map((x) => x.end);
    throw new VerifyError(
      'NOT_FOUND',
      `no checkpoint of size ${size ?? '(any)'} in origin ${idx.origin}; checkpointed sizes: ${sizes.length > 12 ? [...sizes.slice(0, 6), '…', ...sizes.slice(-6)].join(', ') : sizes.join(', ')}`,
    );
  }
  const note = await readText(reader, b.checkpoint!);
  let cp: Checkpoint;
  try {
    cp = parseCheckpointBody(parseNote(note).text);
  } catch (err) {
    throw new VerifyError('ARCHIVE_INVALID', `${b.checkpoint}: ${(err as Error).message}`);
  }
  if (cp.size !== b.end || cp.origin !== idx.origin)
    throw new VerifyError('ARCHIVE_INVALID', `${b.checkpoint} does not match its name; run sealtrail verify`);
  return { note, cp };
}

/** Streams the leaf hashes 0..size-1 of an origin into `visit`. */
async function forEachLeaf(
  reader: ArchiveReader,
  idx: OriginIndex,
  size: number,
  gunzip: Decompressor,
  visit: (i: number, hash: Uint8Array, line: Uint8Array) => void,
): Promise<void> {
  let i = 0;
  for (const b of idx.batches) {
    if (b.start >= size) break;
    if (!b.entries) throw new VerifyError('ARCHIVE_INVALID', `entries [${b.start}, ${b.end}) are missing; run sealtrail verify`);
    let src: AsyncIterable<Uint8Array> = reader.open(b.entries);
    if (b.entries.endsWith('.gz')) src = gunzip(src);
    try {
      for await (const line of splitLines(src)) {
        if (i >= size) break;
        visit(i, leafHash(line), line);
        i++;
      }
    } catch (err) {
      if (err instanceof VerifyError) throw err;
      throw new VerifyError('ARCHIVE_INVALID', `${b.entries}: ${(err as Error).message}; run sealtrail verify`);
    }
    if (i !== Math.min(b.end, size))
      throw new VerifyError('ARCHIVE_INVALID', `${b.entries} holds the wrong number of entries; run sealtrail verify`);
  }
  if (i !== size) throw new VerifyError('ARCHIVE_INVALID', `archive holds only ${i} of ${size} entries`);
}

/** Builds an inclusion proof for entry `seq` against the checkpoint of size `size` (default: the latest). */
export async function buildInclusionProof(
  reader: ArchiveReader,
  opts: { seq: number; size?: number; origin?: string; gunzip?: Decompressor },
): Promise<InclusionProofDoc> {
  const idx = await indexOrigin(reader, opts.origin);
  const { note, cp } = await checkpointAt(reader, idx, opts.size);
  if (!(opts.seq >= 0 && opts.seq < cp.size))
    throw new VerifyError('USAGE', `--seq ${opts.seq} is not below the checkpoint size ${cp.size}`);
  const hasher = new RangeHasher(inclusionRanges(opts.seq, cp.size));
  const root = new CompactFrontier();
  let leaf: Uint8Array | null = null;
  let entry = '';
  await forEachLeaf(reader, idx, cp.size, opts.gunzip ?? webGunzip, (i, h, line) => {
    hasher.add(h);
    root.append(h);
    if (i === opts.seq) {
      leaf = h;
      entry = new TextDecoder().decode(line);
    }
  });
  if (!bytesEqual(root.root(), cp.root))
    throw new VerifyError('ARCHIVE_INVALID', `the entries do not match the checkpoint of size ${cp.size}; run sealtrail verify`);
  return {
    type: 'inclusion',
    origin: idx.origin,
    index: opts.seq,
    size: cp.size,
    leafHash: b64(leaf!),
    entry,
    proof: hasher.hashes().map(b64),
    checkpoint: note,
  };
}

/** Builds a consistency proof between two checkpointed sizes of one origin. */
export async function buildConsistencyProof(
  reader: ArchiveReader,
  opts: { from: number; to: number; origin?: string; gunzip?: Decompressor },
): Promise<ConsistencyProofDoc> {
  const idx = await indexOrigin(reader, opts.origin);
  if (!(opts.from > 0 && opts.from <= opts.to)) throw new VerifyError('USAGE', `need 0 < --from <= --to (got ${opts.from}, ${opts.to})`);
  const c1 = await checkpointAt(reader, idx, opts.from);
  const c2 = await checkpointAt(reader, idx, opts.to);
  const hasher = new RangeHasher(consistencyRanges(opts.from, opts.to));
  const f = new CompactFrontier();
  let root1: Uint8Array | null = null;
  await forEachLeaf(reader, idx, opts.to, opts.gunzip ?? webGunzip, (_i, h) => {
    hasher.add(h);
    f.append(h);
    if (f.size === opts.from) root1 = f.root();
  });
  if (!bytesEqual(root1!, c1.cp.root) || !bytesEqual(f.root(), c2.cp.root)) {
    throw new VerifyError('ARCHIVE_INVALID', 'the entries do not match the checkpoints; run sealtrail verify');
  }
  return {
    type: 'consistency',
    origin: idx.origin,
    size1: opts.from,
    size2: opts.to,
    proof: hasher.hashes().map(b64),
    checkpoint1: c1.note,
    checkpoint2: c2.note,
  };
}

export type ProofCheck = { ok: true; type: ProofDoc['type']; origin: string; detail: string } | { ok: false; reason: string };

function authCheckpoint(note: unknown, keys: readonly VerifierKey[], what: string): Checkpoint | string {
  if (typeof note !== 'string') return `${what} is missing`;
  try {
    const parsed = parseNote(note);
    const cp = parseCheckpointBody(parsed.text);
    verifyNote(parsed, keys);
    return cp;
  } catch (err) {
    if (err instanceof NoteError) return `${what}: ${err.code}: ${err.message}`;
    throw err;
  }
}

function hashList(v: unknown): Uint8Array[] | null {
  if (!Array.isArray(v) || v.length > 64) return null;
  const out: Uint8Array[] = [];
  for (const s of v) {
    const h = typeof s === 'string' ? unb64(s) : null;
    if (h === null || h.length !== 32) return null;
    out.push(h);
  }
  return out;
}

const isSize = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Checks a proof document (parsed JSON of unknown shape) against the verifier keys. */
export function verifyProofDoc(doc: unknown, keys: readonly VerifierKey[]): ProofCheck {
  if (typeof doc !== 'object' || doc === null) return { ok: false, reason: 'proof is not a JSON object' };
  const d = doc as Record<string, unknown>;
  if (d.type === 'inclusion') {
    if (!isSize(d.index) || !isSize(d.size) || typeof d.origin !== 'string')
      return { ok: false, reason: 'index, size and origin are required' };
    const cp = authCheckpoint(d.checkpoint, keys, 'checkpoint');
    if (typeof cp === 'string') return { ok: false, reason: cp };
    if (cp.origin !== d.origin || cp.size !== d.size)
      return { ok: false, reason: `the checkpoint is for ${cp.origin} size ${cp.size}, not ${d.origin} size ${d.size}` };
    const leaf = typeof d.leafHash === 'string' ? unb64(d.leafHash) : null;
    const proof = hashList(d.proof);
    if (leaf === null || leaf.length !== 32 || proof === null)
      return { ok: false, reason: 'leafHash and proof must be base64 SHA-256 hashes' };
    if (d.entry !== undefined) {
      if (typeof d.entry !== 'string') return { ok: false, reason: 'entry must be a string' };
      const line = new TextEncoder().encode(d.entry);
      if (!bytesEqual(leafHash(line), leaf)) return { ok: false, reason: 'the entry does not hash to leafHash' };
      const head = parseEntryHead(line);
      if (!head.ok || head.seq !== d.index) return { ok: false, reason: `the entry's seq is not the proof index ${d.index}` };
    }
    if (!verifyInclusion(d.index, d.size, leaf, proof, cp.root))
      return { ok: false, reason: 'the inclusion proof does not lead to the signed root' };
    return { ok: true, type: 'inclusion', origin: cp.origin, detail: `entry ${d.index} is included in ${cp.origin} at size ${cp.size}` };
  }
  if (d.type === 'consistency') {
    if (!isSize(d.size1) || !isSize(d.size2) || typeof d.origin !== 'string')
      return { ok: false, reason: 'size1, size2 and origin are required' };
    const c1 = authCheckpoint(d.checkpoint1, keys, 'checkpoint1');
    if (typeof c1 === 'string') return { ok: false, reason: c1 };
    const c2 = authCheckpoint(d.checkpoint2, keys, 'checkpoint2');
    if (typeof c2 === 'string') return { ok: false, reason: c2 };
    if (c1.origin !== d.origin || c2.origin !== d.origin || c1.size !== d.size1 || c2.size !== d.size2) {
      return { ok: false, reason: 'the checkpoints do not match origin, size1 and size2' };
    }
    const proof = hashList(d.proof);
    if (proof === null) return { ok: false, reason: 'proof must be a list of base64 SHA-256 hashes' };
    if (!verifyConsistency(d.size1, d.size2, c1.root, c2.root, proof))
      return { ok: false, reason: 'the consistency proof does not connect the two signed roots' };
    return { ok: true, type: 'consistency', origin: c1.origin, detail: `${c1.origin}: size ${c1.size} is a prefix of size ${c2.size}` };
  }
  return { ok: false, reason: 'type must be "inclusion" or "consistency"' };
}
