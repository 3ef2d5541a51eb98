// Verifies an archive (layout.ts) read through an ArchiveReader, in one streaming pass:
// per origin, batches in log order; per batch, every line's hash, prev link and seq, then the
// batch checkpoint's signature, origin, size and root against the recomputed tree. Memory is
// the object list plus one compact frontier per origin, whatever the archive size.
//
// Consistency between successive checkpoints follows from recomputation: every checkpoint
// root is compared with the root of one tree recomputed from the archived entries, so two
// accepted checkpoints are prefixes of the same log. A trusted checkpoint from elsewhere is
// compared the same way (at any size, not only batch boundaries), which catches tail
// truncation and forks.
//
// After a structural break in an origin (missing batch, wrong line count) later roots cannot
// be recomputed and are not compared; after the first ROOT_MISMATCH, later checkpoints of
// that origin are not compared either (they would all differ). Lines, links and signatures
// are still checked everywhere, so every problem is found once, where it is.
//
// Besides the layout's own checkpoints, every other signed checkpoint the run can find is
// compared with the recomputed tree the same way: --checkpoint notes, any object outside the
// layout that is a checkpoint signed by a given key, and the last checkpoint of a previous
// chain that a genesis records. Then the chains are checked against each other
// (continuity.ts): every chain ends in a stop entry or is named by a later genesis, and a
// genesis that records lost entries is a problem. On stores that keep versions (S3), names
// written over or delete-marked are problems too: the first version is what was verified.
import type { ArchiveReader, VersionHistory } from './archive.js';
import { GENESIS_EVENT, STOP_EVENT, eventNameOf, genesisFacts, type GenesisFacts } from './continuity.js';
import { VerifyError } from './errors.js';
import { genesisInfo, parseEntryHead, prevHexOf, prevMatches, toHex } from './entry-line.js';
import { webGunzip, type Decompressor } from './gunzip.js';
import { checkpointObjectName, parseObjectName, pos } from './layout.js';
import { LineError, splitLines, DEFAULT_MAX_LINE_BYTES } from './lines.js';
import { suggestArchiveRoot } from './locate.js';
import { CompactFrontier, leafHash } from './merkle.js';
import { NoteError, b64, parseCheckpointBody, parseNote, verifyNote, type Checkpoint, type VerifierKey } from './note.js';
import { bytesEqual } from './proof.js';
import type { OriginReport, Problem, ProblemCode, Progress, Report, Warning } from './report.js';

export interface VerifyOptions {
  keys: readonly VerifierKey[];
  /** Signed checkpoint notes obtained elsewhere (e.g. from a witness or an earlier run). */
  trusted?: readonly string[];
  onProgress?: (p: Progress) => void;
  /** Streaming gunzip for .gz objects; defaults to DecompressionStream. */
  gunzip?: Decompressor;
  maxLineBytes?: number;
  /** The archive of an agent that is still running: a chain without a stop entry is a warning, not a problem. */
  live?: boolean;
}

export { GENESIS_EVENT, STOP_EVENT };
const MAX_CHECKPOINT_BYTES = 64 * 1024;
const ZERO = new Uint8Array(32);
const PROGRESS_EVERY = 65536;

interface Batch {
  start: number;
  end: number;
  entries: string[]; // entries object names (.entries.jsonl and/or .entries.jsonl.gz)
  checkpoint?: string;
}

interface Catalog {
  origins: Map<string, Map<string, Batch>>;
  unreferenced: string[];
}

/** Groups the archive's object names by origin and batch; anything else is unreferenced. */
export async function catalog(reader: ArchiveReader): Promise<Catalog> {
  const origins = new Map<string, Map<string, Batch>>();
  const unreferenced: string[] = [];
  for await (const name of ioGuardList(reader.list(), reader.location)) {
    const p = parseObjectName(name);
    if (!p) {
      unreferenced.push(name);
      continue;
    }
    let batches = origins.get(p.origin);
    if (!batches) origins.set(p.origin, (batches = new Map<string, Batch>()));
    const key = `${p.start}-${p.end}`;
    let b = batches.get(key);
    if (!b) batches.set(key, (b = { start: p.start, end: p.end, entries: [] }));
    if (p.kind === 'checkpoint') b.checkpoint = name;
    else b.entries.push(name);
  }
  return { origins, unreferenced };
}

/** The batches of one origin in log order (by start, then end). */
export function sortedBatches(batches: Map<string, Batch>): Batch[] {
  return [...batches.values()].sort((a, b) => a.start - b.start || a.end - b.end);
}

/** A signed checkpoint from outside the layout's batch checkpoints, compared with the recomputed tree. */
interface Witness {
  /** Who vouches for it, for messages: "trusted checkpoint #1", "signed checkpoint <object>", ... */
  label: string;
  kind: 'trusted' | 'object' | 'genesis';
  cp: Checkpoint;
  /** 'object': the object holding the note; 'genesis': the entries object of the genesis recording it. */
  object?: string;
  /** 'genesis': the loss [from, to) that genesis records for this origin. */
  lost?: [number, number] | null;
}

/** How an origin's verified run ends, for the continuity checks. */
interface ChainEnd {
  /** The last entry of the last batch, when that batch read cleanly. */
  last: { line: Uint8Array; seq: number; object: string } | null;
  /** A trusted or signed checkpoint already showed entries missing past the end. */
  truncated: boolean;
}

interface SignedRoot {
  root: Uint8Array;
  object: string;
  seq: number;
}

class Run {
  readonly problems: Problem[] = [];
  readonly warnings: Warning[] = [];
  readonly origins: OriginReport[] = [];
  readonly ends = new Map<string, ChainEnd>();
  entries = 0;
  bytes = 0;

  constructor(
    readonly reader: ArchiveReader,
    readonly opts: VerifyOptions,
  ) {}

  problem(code: ProblemCode, object: string, seq: number | undefined, message: string): void {
    this.problems.push(seq === undefined ? { code, object, message } : { code, object, seq, message });
  }

  progress(origin: string, object: string): void {
    this.opts.onProgress?.({ origin, object, entries: this.entries, bytes: this.bytes });
  }

  /** Reads a small object whole; reader failures are I/O errors of the run, not findings. */
  async readSmall(name: string, limit: number): Promise<Uint8Array | null> {
    const parts: Uint8Array[] = [];
    let n = 0;
    for await (const c of ioGuard(this.reader.open(name), name)) {
      n += c.length;
      if (n > limit) return null;
      parts.push(c);
    }
    const out = new Uint8Array(n);
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }

  /** Parses and authenticates a checkpoint note; records a problem and returns null when it is not acceptable. */
  async readCheckpoint(name: string, seq: number): Promise<Checkpoint | null> {
    const bytes = await this.readSmall(name, MAX_CHECKPOINT_BYTES);
    if (bytes === null) {
      this.problem('MALFORMED_CHECKPOINT', name, seq, `checkpoint is larger than ${MAX_CHECKPOINT_BYTES} bytes`);
      return null;
    }
    return this.checkNote(bytes, name, seq);
  }

  warning(code: Warning['code'], object: string, seq: number | undefined, message: string): void {
    this.warnings.push(seq === undefined ? { code, object, message } : { code, object, seq, message });
  }

  checkNote(bytes: Uint8Array, object: string, seq: number | undefined): Checkpoint | null {
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      this.problem('MALFORMED_CHECKPOINT', object, seq, 'checkpoint is not valid UTF-8');
      return null;
    }
    try {
      const note = parseNote(text);
      const cp = parseCheckpointBody(note.text);
      verifyNote(note, this.opts.keys);
      return cp;
    } catch (err) {
      if (err instanceof NoteError) {
        const code: ProblemCode =
          err.code === 'UNKNOWN_KEY' ? 'UNKNOWN_KEY' : err.code === 'BAD_SIGNATURE' ? 'BAD_SIGNATURE' : 'MALFORMED_CHECKPOINT';
        const what =
          code === 'UNKNOWN_KEY'
            ? 'checkpoint is not signed by any of the given keys: '
            : code === 'BAD_SIGNATURE'
              ? 'checkpoint signature does not verify: '
              : '';
        this.problem(code, object, seq, what + err.message);
        return null;
      }
      throw err;
    }
  }
}

async function* ioGuardList(src: AsyncIterable<string>, location: string): AsyncGenerator<string> {
  try {
    yield* src;
  } catch (err) {
    if (err instanceof VerifyError) throw err;
    throw new VerifyError('IO', `cannot list ${location}: ${(err as Error).message}`, { cause: err });
  }
}

/** Wraps a reader stream so its failures surface as VerifyError IO (exit 2), not as findings. */
async function* ioGuard(src: AsyncIterable<Uint8Array>, name: string): AsyncGenerator<Uint8Array> {
  const it = src[Symbol.asyncIterator]();
  for (;;) {
    let r: IteratorResult<Uint8Array>;
    try {
      r = await it.next();
    } catch (err) {
      throw new VerifyError('IO', `cannot read ${name}: ${(err as Error).message}`, { cause: err });
    }
    if (r.done) return;
    yield r.value;
  }
}

export async function verifyArchive(reader: ArchiveReader, opts: VerifyOptions): Promise<Report> {
  const run = new Run(reader, opts);
  const cat = await catalog(reader);
  if (cat.origins.size === 0) {
    // Nothing of the layout: a path mistake, not tampering (exit 2), unless a trusted
    // checkpoint says entries should be here.
    const hint = suggestArchiveRoot(reader.location, cat.unreferenced);
    if (hint !== null) throw new VerifyError('NOT_FOUND', `no sealtrail archive found under ${reader.location}; ${hint}`);
    if ((opts.trusted ?? []).length === 0) {
      throw new VerifyError(
        'NOT_FOUND',
        `no sealtrail archive found under ${reader.location}: it holds no <origin>/<start>-<end>.entries.jsonl or .checkpoint objects${cat.unreferenced.length === 0 ? ' (it is empty)' : ''}`,
      );
    }
  }

  // Trusted checkpoints are authenticated first; only valid ones are compared.
  const witnesses = new Map<string, Witness[]>();
  const addWitness = (w: Witness): void => {
    let list = witnesses.get(w.cp.origin);
    if (!list) witnesses.set(w.cp.origin, (list = []));
    list.push(w);
  };
  (opts.trusted ?? []).forEach((note, i) => {
    const label = `trusted checkpoint #${i + 1}`;
    const cp = run.checkNote(new TextEncoder().encode(note), label, undefined);
    if (cp) addWitness({ label, kind: 'trusted', cp });
  });

  // Objects outside the layout: a checkpoint signed by a given key is compared with its
  // chain wherever it lies; anything else is only a warning.
  for (const name of cat.unreferenced) {
    const found = await signedNoteIn(run, name);
    if (found.cp) addWitness({ label: `signed checkpoint ${name}`, kind: 'object', cp: found.cp, object: name });
    else run.warning('UNREFERENCED_OBJECT', name, undefined, `object is not part of the archive layout and was not verified${found.why}`);
  }

  // Genesis entries first (entry 0 of each origin): a successor may vouch for its predecessor.
  const geneses: GenesisFacts[] = [];
  for (const origin of [...cat.origins.keys()].sort()) {
    const first = sortedBatches(cat.origins.get(origin)!)[0]!;
    if (first.start !== 0 || first.entries.length === 0) continue;
    const line = await firstLine(run, first.entries[0]!);
    const g = line && genesisFacts(origin, first.entries[0]!, line);
    if (!g) continue; // the chain pass reports a missing or damaged genesis
    geneses.push(g);
    if (g.previousCheckpoint === null) continue;
    const cp = authenticate(new TextEncoder().encode(g.previousCheckpoint), opts.keys).cp;
    if (cp)
      addWitness({
        label: `the genesis of ${origin} (${g.object})`,
        kind: 'genesis',
        cp,
        object: g.object,
        lost: cp.origin === g.previousOrigin ? g.lost : null,
      });
  }

  for (const origin of [...cat.origins.keys()].sort()) {
    await verifyOrigin(run, origin, sortedBatches(cat.origins.get(origin)!), witnesses.get(origin) ?? []);
  }
  for (const [origin, list] of witnesses) {
    if (cat.origins.has(origin)) continue;
    for (const t of list) {
      // A genesis naming a chain archived elsewhere is a warning below, not a truncation.
      if (t.cp.size > 0 && t.kind !== 'genesis')
        run.problem(
          'TRUNCATED',
          `${origin}/${pos(0)}-${pos(t.cp.size)}`,
          0,
          `${t.label} has ${t.cp.size} entries of origin ${origin}, which the archive does not hold at all`,
        );
    }
  }
  checkContinuity(run, geneses);
  for (const h of reader.history?.() ?? []) reportHistory(run, h);
  return { ok: run.problems.length === 0, location: reader.location, origins: run.origins, problems: run.problems, warnings: run.warnings };
}

/** A checkpoint note signed by one of `keys`, or why `bytes` are not one. */
function authenticate(bytes: Uint8Array, keys: readonly VerifierKey[]): { cp: Checkpoint | null; why: string } {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return { cp: null, why: '' };
  }
  try {
    const note = parseNote(text);
    const cp = parseCheckpointBody(note.text);
    verifyNote(note, keys);
    return { cp, why: '' };
  } catch (err) {
    if (!(err instanceof NoteError)) throw err;
    if (err.code === 'UNKNOWN_KEY') return { cp: null, why: ' (a checkpoint not signed by any of the given keys)' };
    if (err.code === 'BAD_SIGNATURE') return { cp: null, why: ' (a checkpoint whose signature by a given key does not verify)' };
    return { cp: null, why: '' };
  }
}

/** Reads an object outside the layout as a possible signed checkpoint. Unreadable is not an error: it is reported as unreferenced. */
async function signedNoteIn(run: Run, name: string): Promise<{ cp: Checkpoint | null; why: string }> {
  let bytes: Uint8Array | null;
  try {
    bytes = await run.readSmall(name, MAX_CHECKPOINT_BYTES);
  } catch (err) {
    if (!(err instanceof VerifyError)) throw err;
    return { cp: null, why: ` (${err.message})` };
  }
  return bytes === null ? { cp: null, why: '' } : authenticate(bytes, run.opts.keys);
}

/** The first line of an entries object, or null when it cannot be read (the chain pass reports why). */
async function firstLine(run: Run, name: string): Promise<Uint8Array | null> {
  let src: AsyncIterable<Uint8Array> = ioGuard(run.reader.open(name), name);
  if (name.endsWith('.gz')) src = (run.opts.gunzip ?? webGunzip)(src);
  try {
    for await (const line of splitLines(src, run.opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES)) return line.slice();
  } catch (err) {
    if (err instanceof VerifyError) throw err;
  }
  return null;
}

/** Chains that end without a stop entry and without a successor; losses recorded by a genesis. */
function checkContinuity(run: Run, geneses: GenesisFacts[]): void {
  const succeeded = new Set(geneses.map((g) => g.previousOrigin).filter((o): o is string => o !== null));
  for (const [origin, end] of [...run.ends].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (end.last === null || end.truncated || succeeded.has(origin)) continue;
    const event = eventNameOf(end.last.line);
    if (event === STOP_EVENT) continue;
    const { seq, object } = end.last;
    const msg = `chain ${origin} ends at entry ${seq} (${event === null ? 'no event name' : event}) without a ${STOP_EVENT} entry, and no later chain in the archive records its end: entries acknowledged after seq ${seq} may be lost or not yet delivered, or the agent is still running`;
    if (run.opts.live) run.warning('CHAIN_UNTERMINATED', object, seq, msg);
    else run.problem('CHAIN_UNTERMINATED', object, seq, `${msg} (for the archive of a running agent, pass --live)`);
  }
  const held = new Map(run.origins.map((o) => [o.origin, o.size]));
  for (const g of geneses) {
    if (g.previousOrigin === null) continue;
    const prev = g.previousOrigin;
    if (!held.has(prev)) {
      run.warning(
        'PREVIOUS_ORIGIN_MISSING',
        g.object,
        0,
        `the genesis of ${g.origin} names the previous chain ${prev}, which this archive does not hold (it may be archived elsewhere)`,
      );
    }
    if (g.lost === null) continue;
    const [from, to] = g.lost;
    const have = held.get(prev) ?? 0;
    if (have >= to) continue; // delivered before the buffer was lost: the archive holds them all
    const why =
      g.quarantineReason === null
        ? ''
        : ` (${g.quarantineReason}${g.quarantinedBuffer === null ? '' : `; the damaged buffer was kept at ${g.quarantinedBuffer}`})`;
    run.problem(
      'RECORDED_LOSS',
      g.object,
      0,
      `the agent recorded in the genesis of ${g.origin} that entries [${from}, ${to}) of the previous chain ${prev}, acknowledged to clients, could not be recovered${why}; the archive holds that chain up to ${have}, so entries [${Math.max(from, have)}, ${to}) are lost`,
    );
  }
}

function describe(v: { size: number | null; etag: string | null }): string {
  return `${v.size === null ? 'unknown size' : `${v.size} bytes`}, ETag ${v.etag ?? 'unknown'}`;
}

/** Later versions and delete markers of one name (S3): what a plain GET reader would see. */
function reportHistory(run: Run, h: VersionHistory): void {
  const verified = h.first === null ? 'no version of it is stored' : `the first version (${describe(h.first)}) is what was verified`;
  if (h.laterVersions > 0) {
    const cur = h.current;
    const sees =
      cur === null
        ? 'a plain GET finds it deleted (the newest is a delete marker)'
        : h.first !== null && cur.size === h.first.size && cur.etag !== null && cur.etag === h.first.etag
          ? `a plain GET returns the newest (${describe(cur)}: same size and ETag as the first)`
          : `a plain GET returns the newest, whose bytes differ (${describe(cur)})`;
    run.problem(
      'OBJECT_OVERWRITTEN',
      h.name,
      undefined,
      `${h.laterVersions} later version${h.laterVersions === 1 ? ' was' : 's were'} written over this name; ${sees}; ${verified}`,
    );
  }
  if (h.deleteMarkers > 0) {
    const sees =
      h.current === null ? 'a plain GET or listing finds the object deleted' : 'a later version follows it, which a plain GET returns';
    run.problem(
      'OBJECT_DELETE_MARKER',
      h.name,
      undefined,
      `${h.deleteMarkers === 1 ? 'a delete marker was' : `${h.deleteMarkers} delete markers were`} placed on this name; ${sees}; ${verified}`,
    );
  }
}

interface ChainState {
  /** Recomputed tree; null once a structural break makes recomputation impossible. */
  frontier: CompactFrontier | null;
  /** Hash of the previous entry and the object holding it; null when unknown (after a gap). */
  prevHash: Uint8Array | null;
  prevObject: string;
  prevSeq: number;
  diverged: boolean;
  /** Trusted sizes still to reach, ascending, and roots recorded on reaching them. */
  targets: number[];
  rootsAt: Map<number, { root: Uint8Array; object: string }>;
  /** The last entry of the batch just read, when it read cleanly. */
  last: ChainEnd['last'];
}

async function verifyOrigin(run: Run, origin: string, batches: Batch[], trusted: Witness[]): Promise<void> {
  const st: ChainState = {
    frontier: new CompactFrontier(),
    prevHash: ZERO,
    prevObject: '',
    prevSeq: -1,
    diverged: false,
    targets: [...new Set(trusted.map((t) => t.cp.size).filter((n) => n > 0))].sort((a, b) => a - b),
    rootsAt: new Map(),
    last: null,
  };
  const signed = new Map<number, SignedRoot[]>();
  let expected = 0;
  let nBatches = 0;
  for (const b of batches) {
    const anyName = b.checkpoint ?? b.entries[0]!;
    if (b.start < expected) {
      run.problem('OVERLAPPING_BATCH', anyName, b.start, `batch [${b.start}, ${b.end}) overlaps entries already covered up to ${expected}`);
      if (b.checkpoint) {
        const cp = await run.readCheckpoint(b.checkpoint, b.start);
        if (cp && cp.origin === origin) addSigned(signed, cp, b.checkpoint, b.start);
      }
      continue;
    }
    if (b.start > expected) {
      run.problem(
        'MISSING_BATCH',
        `${origin}/${pos(expected)}-${pos(b.start)}`,
        expected,
        `entries [${expected}, ${b.start}) are missing: no entries object and no checkpoint`,
      );
      breakChain(st);
    }
    nBatches++;
    st.last = null;
    if (b.entries.length > 1) {
      run.problem(
        'DUPLICATE_OBJECT',
        b.entries[1]!,
        b.start,
        `batch has two entries objects (${b.entries.join(', ')}); only ${b.entries[0]} was verified`,
      );
    }
    if (b.entries.length > 0) {
      await verifyEntries(run, origin, b, b.entries[0]!, st);
    } else {
      run.problem(
        'MISSING_ENTRIES',
        b.checkpoint!,
        b.start,
        `checkpoint has no entries object: entries [${b.start}, ${b.end}) are missing`,
      );
      breakChain(st);
    }
    if (b.checkpoint) {
      const cp = await run.readCheckpoint(b.checkpoint, b.start);
      if (cp) checkBatchCheckpoint(run, origin, b, b.checkpoint, cp, st, signed);
    } else {
      run.problem(
        'MISSING_CHECKPOINT',
        b.entries[0]!,
        b.start,
        `entries [${b.start}, ${b.end}) have no checkpoint ${checkpointObjectName(origin, b.start, b.end)}`,
      );
    }
    expected = b.end;
    run.progress(origin, anyName);
  }

  for (const [size, list] of signed) {
    const first = list[0]!;
    for (const other of list.slice(1)) {
      if (!bytesEqual(first.root, other.root)) {
        run.problem(
          'FORK',
          other.object,
          other.seq,
          `checkpoints ${first.object} and ${other.object} both sign size ${size} with different roots`,
        );
      }
    }
  }
  let truncated = false;
  for (const t of trusted) {
    if (t.cp.size === 0) continue;
    if (t.cp.size > expected) {
      // A genesis vouching for entries it also records as lost: RECORDED_LOSS names them.
      if (t.lost && t.lost[0] <= expected && t.cp.size <= t.lost[1]) continue;
      truncated = true;
      run.problem(
        'TRUNCATED',
        `${origin}/${pos(expected)}-${pos(t.cp.size)}`,
        expected,
        `${t.label} covers ${t.cp.size} entries but the archive holds only ${expected}: entries [${expected}, ${t.cp.size}) are missing`,
      );
      continue;
    }
    let at = st.rootsAt.get(t.cp.size);
    if (!at && t.kind !== 'trusted') {
      // The tree was broken before that size (already a problem), but a batch checkpoint of
      // that size may still disagree with this one: two signed roots for one size.
      const other = signed.get(t.cp.size)?.[0];
      if (other) at = { root: other.root, object: other.object };
    }
    // No recorded root: the tree was broken before that size; the break is already a problem.
    if (!at) continue;
    if (bytesEqual(at.root, t.cp.root)) {
      if (t.kind === 'object')
        run.warning(
          'UNREFERENCED_OBJECT',
          t.object!,
          undefined,
          `object is not part of the archive layout: a checkpoint of ${origin} at size ${t.cp.size} signed by a given key, which agrees with the archive`,
        );
      continue;
    }
    if (t.kind === 'trusted') {
      run.problem(
        'FORK',
        at.object,
        t.cp.size - 1,
        `${t.label} signs a different root for size ${t.cp.size} than the archive's entries give`,
      );
      continue;
    }
    // Name the archive's own checkpoint of that size when there is one that matches the entries.
    const ours = signed.get(t.cp.size)?.find((x) => bytesEqual(x.root, at.root))?.object ?? at.object;
    const two = `${t.label} signs root ${b64(t.cp.root)} for size ${t.cp.size} of ${origin}, but the archive's ${ours} gives ${b64(at.root)}: two histories of one log`;
    if (t.kind === 'object') run.problem('FORK', t.object!, undefined, two);
    else run.problem('FORK', t.object!, 0, `${two} (the genesis records the last checkpoint the agent signed for the previous chain)`);
  }
  run.ends.set(origin, { last: expected > 0 && st.last !== null && st.last.seq === expected - 1 ? st.last : null, truncated });
  run.origins.push({
    origin,
    size: expected,
    root: st.frontier && st.frontier.size === expected ? b64(st.frontier.root()) : null,
    batches: nBatches,
    entries: expected,
  });
}

function breakChain(st: ChainState): void {
  st.frontier = null;
  st.prevHash = null;
}

function addSigned(signed: Map<number, SignedRoot[]>, cp: Checkpoint, object: string, seq: number): void {
  let list = signed.get(cp.size);
  if (!list) signed.set(cp.size, (list = []));
  list.push({ root: cp.root, object, seq });
}

function checkBatchCheckpoint(
  run: Run,
  origin: string,
  b: Batch,
  name: string,
  cp: Checkpoint,
  st: ChainState,
  signed: Map<number, SignedRoot[]>,
): void {
  if (cp.origin !== origin) {
    run.problem(
      'ORIGIN_MISMATCH',
      name,
      b.start,
      `checkpoint origin ${JSON.stringify(cp.origin)} differs from the object's origin ${JSON.stringify(origin)}`,
    );
    return;
  }
  if (cp.size !== b.end) {
    run.problem('CHECKPOINT_SIZE_MISMATCH', name, b.start, `checkpoint size ${cp.size} differs from the batch end ${b.end}`);
    return;
  }
  addSigned(signed, cp, name, b.start);
  if (st.frontier && st.frontier.size === b.end && !st.diverged) {
    if (!bytesEqual(st.frontier.root(), cp.root)) {
      st.diverged = true;
      run.problem(
        'ROOT_MISMATCH',
        name,
        b.start,
        `signed root for size ${b.end} differs from the root recomputed from the entries: an entry in [${b.start}, ${b.end}) or before was changed or the history was rewritten (later checkpoints of this origin are not compared)`,
      );
    }
  }
}

type SeqFinding = { code: 'SEQ_GAP'; at: number; found: number } | null;

async function verifyEntries(run: Run, origin: string, b: Batch, name: string, st: ChainState): Promise<void> {
  let src: AsyncIterable<Uint8Array> = ioGuard(run.reader.open(name), name);
  if (name.endsWith('.gz')) src = (run.opts.gunzip ?? webGunzip)(src);
  const want = b.end - b.start;
  let count = 0;
  let seqTrouble = false;
  let pendingGap: SeqFinding = null;
  let expectSeq = b.start;
  let lastLineTrouble = false; // the previous line was malformed or out of sequence
  try {
    for await (const line of splitLines(src, run.opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES)) {
      const at = b.start + count; // position by line count
      count++;
      run.bytes += line.length + 1;
      const hash = leafHash(line);
      const head = parseEntryHead(line);
      const afterTrouble = lastLineTrouble;
      lastLineTrouble = true;
      if (!head.ok) {
        run.problem('MALFORMED_ENTRY', name, at, `line ${count} is not a v1 entry: ${head.reason}`);
        seqTrouble = true;
      } else {
        // seq continuity, judged by content: a missing, repeated or moved entry is named once.
        let seqOk = true;
        const s = head.seq;
        if (pendingGap) {
          if (s === pendingGap.at) {
            run.problem('SEQ_REORDER', name, pendingGap.at, `entry ${pendingGap.at} appears after entry ${pendingGap.found}`);
            pendingGap = null;
            seqOk = false;
            expectSeq = Math.max(expectSeq, s + 1);
          } else {
            run.problem('SEQ_GAP', name, pendingGap.at, `entry ${pendingGap.at} is missing (found seq ${pendingGap.found} there)`);
            pendingGap = null;
          }
        }
        if (seqOk) {
          if (s === expectSeq) {
            expectSeq = s + 1;
          } else if (s > expectSeq) {
            pendingGap = { code: 'SEQ_GAP', at: expectSeq, found: s };
            seqTrouble = true;
            seqOk = false;
            expectSeq = s + 1;
          } else if (s === st.prevSeq) {
            run.problem('SEQ_DUPLICATE', name, s, `seq ${s} appears twice (line ${count})`);
            seqTrouble = true;
            seqOk = false;
          } else {
            run.problem('SEQ_REORDER', name, s, `entry ${s} appears after entry ${st.prevSeq}`);
            seqTrouble = true;
            seqOk = false;
          }
        } else {
          seqTrouble = true;
        }
        // prev link. A seq anomaly already explains a broken link; do not report it twice.
        if (at === 0 && s === 0) {
          if (!prevMatches(head, ZERO)) run.problem('PREV_MISMATCH', name, 0, 'entry 0 must have prev of 64 zeros');
        } else if (st.prevHash !== null && seqOk && !afterTrouble && !prevMatches(head, st.prevHash)) {
          run.problem(
            'ENTRY_HASH_MISMATCH',
            st.prevObject,
            st.prevSeq,
            `entry ${st.prevSeq} hashes to ${toHex(st.prevHash)} but entry ${s} records prev ${prevHexOf(head)}: entry ${st.prevSeq} was changed (or entry ${s}'s prev was)`,
          );
        }
        if (at === 0) {
          // The genesis entry names its chain: a genesis copied from another chain does not match.
          const g = genesisInfo(line);
          if (g.eventName !== GENESIS_EVENT) run.problem('GENESIS_MISSING', name, 0, `entry 0 is not a ${GENESIS_EVENT} entry`);
          else if (g.origin !== origin)
            run.problem('GENESIS_MISSING', name, 0, `entry 0 records origin ${JSON.stringify(g.origin)}, not ${origin}`);
        }
        st.prevSeq = s;
        lastLineTrouble = !seqOk;
      }
      if (count === want) st.last = { line: line.slice(), seq: b.end - 1, object: name };
      st.prevHash = hash;
      st.prevObject = name;
      const f = st.frontier;
      if (f) {
        f.append(hash);
        if (st.targets.length > 0 && f.size === st.targets[0]) {
          st.rootsAt.set(f.size, { root: f.root(), object: name });
          st.targets.shift();
        }
      }
      if (++run.entries % PROGRESS_EVERY === 0) run.progress(origin, name);
    }
  } catch (err) {
    if (err instanceof VerifyError) throw err;
    st.last = null;
    if (err instanceof LineError) {
      run.problem('MALFORMED_ENTRY', name, b.start + count, `after line ${count}: ${err.message}`);
    } else {
      run.problem('CORRUPT_OBJECT', name, b.start, `cannot decode: ${(err as Error).message}`);
    }
    breakChain(st);
    return;
  }
  if (pendingGap) {
    run.problem('SEQ_GAP', name, pendingGap.at, `entry ${pendingGap.at} is missing (found seq ${pendingGap.found} there)`);
  }
  if (count !== want) {
    // With a seq finding in this object the count is its consequence; otherwise name it here
    // (e.g. the last line deleted: no later line in the object showed the gap).
    st.last = null;
    if (!seqTrouble) {
      run.problem('BATCH_LENGTH_MISMATCH', name, b.start + Math.min(count, want), `object holds ${count} entries, its name says ${want}`);
    }
    breakChain(st);
  } else if (!seqTrouble && expectSeq !== b.end) {
    run.problem('BATCH_LENGTH_MISMATCH', name, b.start, `entries carry seqs up to ${expectSeq - 1}, the name says ${b.end - 1}`);
  }
}
