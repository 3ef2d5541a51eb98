// The durable buffer: one LevelDB database (classic-level) per agent.
//
// Layout (keys.ts):
//   h!chain          {origin, agentName, chainId, keyName, keyId, createdAt}   written once
//   h!head           the ledger: chain head (size, lastHash, frontier), sealed size and root,
//                    buffered entry bytes/count, oldest batch still buffered    every write
//   e!<first seq>    a segment: the lines of entries first, first+1, ... each ending in '\n',
//                    written by one group commit; never crosses a batch boundary  until delivered
//                    and is cut at 256 KiB (SEGMENT_MAX_BYTES in writer.ts)
//   b!<start>        sealed batch {start, end, root, checkpoint}               until delivered
//   c!<sink id>      {next}: start of the next batch this sink must receive
//
// Rules:
//  - Entries are stored per segment, not per key: values of up to 256 KiB per group commit (cut
//    at batch boundaries) cost about a quarter of the CPU of one key per entry, and LevelDB's
//    threads hold far less malloc memory than with one multi-MB value per commit.
//  - Every mutation (entries + head, or a seal, or a cursor move) is one atomic LevelDB batch
//    written with sync: true (fsync) before anyone is told it happened. Concurrent appends share
//    one batch (group commit, writer.ts).
//  - Counters live in h!head, so start-up never scans what was delivered; it reads the
//    undelivered part once to check that no commit is missing from it.
//  - Entries and batch records are deleted only after every configured sink's cursor passed them.
//  - Start-up validates the head against the newest stored entry (one reverse seek to the last
//    segment, not a scan) and against the high-water mark kept outside LevelDB
//    (high-water.ts). A database that is damaged, or behind the mark (it lost acknowledged
//    entries or went back in time), is quarantined (renamed aside, reported) and a new chain
//    starts whose genesis names the previous origin, its last signed checkpoint and the
//    acknowledged entries that could not be recovered. The buffer is never silently reset and
//    quarantined data is never deleted. A held lock or an I/O error is not damage.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ClassicLevel } from './level.js';
import { SealtrailError, errorMessage, isSealtrailError } from '../../lib/errors.js';
import { CompactFrontier } from '../../verify/merkle.js';
import type { HighWater, HighWaterRead } from './high-water.js';
import { Chain, headProblem, type ChainHead } from '../chain/chain.js';
import { entryHash } from '../chain/entry.js';
import { unmapTableReads } from './leveldb-mmap.js';
import { CHAIN_KEY, HEAD_KEY, SEGMENT_RANGE, batchKey, cursorKey, segmentKey } from './keys.js';

export interface ChainInfo {
  origin: string;
  agentName: string;
  chainId: string;
  keyName: string;
  keyId: string; // hex
  createdAt: string;
}

export interface Ledger {
  chain: ChainHead;
  sealedSize: number; // size of the last signed checkpoint
  sealedRoot: string; // its root (hex); '' when nothing sealed yet
  bytes: number; // entry bytes currently buffered
  entries: number; // entries currently buffered
  lowWater: number; // start of the oldest batch still buffered (= sealedSize when none)
  unsealedSince: number; // ms epoch when the oldest unsealed entry was written (0 = none)
  unsealedBytes: number; // entry bytes appended since the last seal
}

const COUNTS = ['sealedSize', 'bytes', 'entries', 'lowWater', 'unsealedSince', 'unsealedBytes'] as const;

/** Why a ledger read from disk (hostile: JSON of any shape) is not well-formed, or null. */
export function ledgerProblem(ledger: unknown): string | null {
  if (typeof ledger !== 'object' || ledger === null) return 'it is not an object';
  const l = ledger as Record<string, unknown>;
  const head = headProblem(l.chain);
  if (head !== null) return `chain head: ${head}`;
  for (const k of COUNTS) {
    const v = l[k];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) return `${k} ${String(v)} is not a count`;
  }
  if (typeof l.sealedRoot !== 'string' || !/^([0-9a-f]{64})?$/.test(l.sealedRoot)) return 'sealedRoot is not a hash';
  return null;
}

/** The ledger of a chain with no entries yet. */
export function emptyLedger(): Ledger {
  return { chain: Chain.empty(), sealedSize: 0, sealedRoot: '', bytes: 0, entries: 0, lowWater: 0, unsealedSince: 0, unsealedBytes: 0 };
}

export interface BatchRecord {
  start: number;
  end: number;
  root: string; // hex
  bytes: number; // entry bytes of [start, end), for the ledger when the batch leaves the buffer
  checkpoint: string; // signed note
}

export type Db = ClassicLevel<string, Buffer>;

export interface Quarantine {
  path: string;
  reason: string;
  /** What is known of the chain that was abandoned (from the buffer or the high-water mark). */
  previousOrigin: string | null;
  /** Its last signed checkpoint, when known. */
  previousSealed: { size: number; root: string } | null;
  /** Acknowledged entries [from, to) of the previous origin that no sink had and that could not be recovered. */
  lost: { from: number; to: number } | null;
}

export interface OpenedStore {
  db: Db;
  chain: ChainInfo | null; // null: empty database, genesis needed
  ledger: Ledger | null;
  /** Set when a damaged buffer, or one behind its high-water mark, was moved aside at this start. */
  quarantined: Quarantine | null;
  /** Set when the high-water mark was missing or unreadable for a non-empty buffer. */
  highWaterWarning: string | null;
}

/**
 * Opens the buffer in `dir` and checks it against itself and against the high-water mark.
 * Damage (LevelDB corruption, a head that disagrees with the entries, a buffer behind the mark)
 * is quarantined: renamed aside, never deleted. A held lock, a permission problem or a full
 * disk is not damage: they throw (DATA_DIR_IN_USE, STORAGE) and nothing is moved.
 */
export async function openStore(dir: string, mark: HighWaterRead = { state: 'missing' }): Promise<OpenedStore> {
  await fs.mkdir(path.dirname(dir), { recursive: true });
  const hw = mark.state === 'ok' ? mark.hw : null;
  let damage: string | null = null;
  let db: Db | null = null;
  try {
    db = await openDb(dir);
  } catch (err) {
    damage = classifyOpenError(dir, err);
  }
  let chain: ChainInfo | null = null;
  let ledger: Ledger | null = null;
  if (db !== null) {
    try {
      chain = await getJson<ChainInfo>(db, CHAIN_KEY);
      ledger = await getJson<Ledger>(db, HEAD_KEY);
      await checkConsistency(db, chain, ledger);
      if (hw !== null) damage = behindMark(chain, ledger, hw);
    } catch (err) {
      if (!isSealtrailError(err, 'BUFFER_CORRUPT')) {
        await db.close();
        throw err;
      }
      damage = err.message;
      // Keep what can still be read, to name the previous chain in the new genesis.
      chain = await getJson<ChainInfo>(db, CHAIN_KEY).catch(() => null);
      if (typeof chain?.origin !== 'string') chain = null;
      ledger = await getJson<Ledger>(db, HEAD_KEY).catch(() => null);
      if (ledgerProblem(ledger) !== null) ledger = null;
    }
  }
  let highWaterWarning: string | null = null;
  if (damage === null && chain !== null && mark.state !== 'ok') {
    highWaterWarning = mark.state === 'missing' ? 'the high-water mark is missing' : `the high-water mark is unreadable: ${mark.reason}`;
  }
  if (damage === null) return { db: db!, chain, ledger, quarantined: null, highWaterWarning };

  await db?.close();
  const quarantined = await quarantine(dir, damage, previousChain(chain, ledger, hw));
  return { db: await openDb(dir), chain: null, ledger: null, quarantined, highWaterWarning: null };
}

/** A reason to quarantine, or null when the stored chain is at or ahead of the mark. */
function behindMark(chain: ChainInfo | null, ledger: Ledger | null, hw: HighWater): string | null {
  if (hw.committedSize === 0 && hw.sealedSize === 0 && chain === null) return null;
  if (chain === null || ledger === null) {
    return `the buffer is empty but the high-water mark records ${hw.committedSize} acknowledged entries of ${hw.origin}`;
  }
  if (chain.origin !== hw.origin) return `the buffer holds chain ${chain.origin} but the high-water mark records ${hw.origin}`;
  const size = ledger.chain.size;
  if (size < hw.committedSize)
    return `the buffer went back in time: it ends at size ${size} but ${hw.committedSize} entries were acknowledged`;
  if (ledger.sealedSize < hw.sealedSize)
    return `the buffer went back in time: its last checkpoint is at size ${ledger.sealedSize} but size ${hw.sealedSize} was signed`;
  if (ledger.sealedSize === hw.sealedSize && hw.sealedSize > 0 && ledger.sealedRoot !== hw.sealedRoot) {
    return `the buffer's checkpoint at size ${hw.sealedSize} has another root than the one signed`;
  }
  if (size === hw.committedSize && size > 0) {
    const root = Buffer.from(
      new CompactFrontier(
        size,
        ledger.chain.frontier.map((h) => Buffer.from(h, 'hex')),
      ).root(),
    ).toString('hex');
    if (root !== hw.committedRoot) return `the buffer's tree at size ${size} has another root than the one acknowledged`;
  }
  return null;
}

function previousChain(chain: ChainInfo | null, ledger: Ledger | null, hw: HighWater | null): Omit<Quarantine, 'path' | 'reason'> {
  // The mark is the authority on what was acknowledged and signed; a readable buffer may add a
  // newer commit the mark did not record (a crash between the two syncs).
  const origin = hw?.origin ?? chain?.origin ?? null;
  const sameChain = hw === null || (chain !== null && chain.origin === hw.origin);
  const fromBuffer = sameChain && ledger !== null ? ledger : null;
  let sealed: Quarantine['previousSealed'] = null;
  if (hw !== null && hw.sealedSize > 0) sealed = { size: hw.sealedSize, root: hw.sealedRoot };
  if (fromBuffer && fromBuffer.sealedSize > (sealed?.size ?? 0)) sealed = { size: fromBuffer.sealedSize, root: fromBuffer.sealedRoot };
  let lost: Quarantine['lost'] = null;
  const acked = Math.max(hw?.committedSize ?? 0, fromBuffer?.chain.size ?? 0);
  const delivered = Math.max(hw?.deliveredSize ?? 0, fromBuffer?.lowWater ?? 0);
  if (origin !== null && (hw !== null || fromBuffer !== null)) lost = { from: Math.min(delivered, acked), to: acked };
  return { previousOrigin: origin, previousSealed: sealed, lost };
}

/** Damage (quarantine) or an operational error (thrown) for a failed LevelDB open. */
function classifyOpenError(dir: string, err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const code = cause?.code ?? (err as { code?: string }).code;
  const msg = cause?.message ?? errorMessage(err);
  if (code === 'LEVEL_LOCKED' || /\block\b.*(held|temporarily unavailable)/i.test(msg)) {
    throw new SealtrailError('DATA_DIR_IN_USE', `the buffer ${dir} is locked by another process (${msg})`, { cause: err });
  }
  if (code === 'LEVEL_CORRUPTION' || (code === 'LEVEL_IO_ERROR' && /No such file or directory/i.test(msg))) {
    return `cannot open LevelDB: ${msg}`;
  }
  throw new SealtrailError('STORAGE', `cannot open the buffer ${dir}: ${msg}`, { cause: err, retryAfterSeconds: 1 });
}

/**
 * LevelDB options of the buffer. LevelDB maps every table file it keeps open into memory, and
 * entries pass through its tables (flush, compaction): with the default of 1000 open files, the
 * agent's file-backed resident memory reached 295-338 MiB (55 of it the Node binary) under
 * closed-loop HTTP requests of 500 1 KB records; with 32 (22 tables; LevelDB keeps 10 files for
 * itself) it stayed at 137-143 MiB, at the same throughput.
 */
export const DB_OPTIONS = { keyEncoding: 'utf8', valueEncoding: 'buffer', maxOpenFiles: 32 } as const;

export async function openDb(dir: string): Promise<Db> {
  unmapTableReads(); // before LevelDB's first open in the process (leveldb-mmap.ts)
  const db = new ClassicLevel<string, Buffer>(dir, DB_OPTIONS);
  await db.open();
  return db;
}

async function quarantine(dir: string, reason: string, previous: Omit<Quarantine, 'path' | 'reason'>): Promise<Quarantine> {
  const target = `${dir}.quarantine-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  await fs.rename(dir, target).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
  return { path: target, reason, ...previous };
}

/** Throws BUFFER_CORRUPT when the stored head and entries disagree. */
export async function checkConsistency(db: Db, chain: ChainInfo | null, ledger: Ledger | null): Promise<void> {
  if (chain === null && ledger === null) {
    // An empty database is fine; one with entries but no head is not.
    for await (const _k of db.keys({ limit: 1 })) {
      throw new SealtrailError('BUFFER_CORRUPT', 'buffer holds data but no chain head');
    }
    return;
  }
  if (chain === null || ledger === null) throw new SealtrailError('BUFFER_CORRUPT', 'buffer has only one of h!chain and h!head');
  const damaged = ledgerProblem(ledger);
  if (damaged !== null) throw new SealtrailError('BUFFER_CORRUPT', `the ledger in h!head is damaged: ${damaged}`);
  if (typeof chain.origin !== 'string') throw new SealtrailError('BUFFER_CORRUPT', 'h!chain names no origin');
  const { size, lastHash } = ledger.chain;
  let last: [string, Buffer] | undefined;
  for await (const kv of db.iterator({ ...SEGMENT_RANGE, reverse: true, limit: 1 })) last = kv;
  if (last !== undefined) {
    const first = Number(last[0].slice(2));
    const [key, seg] = last;
    if (seg.length === 0 || seg[seg.length - 1] !== 0x0a)
      throw new SealtrailError('BUFFER_CORRUPT', `segment ${key} does not end with a newline`);
    const count = countLines(seg);
    if (first + count !== size)
      throw new SealtrailError('BUFFER_CORRUPT', `the last segment ends at entry ${first + count - 1} but the chain head says ${size - 1}`);
    const lastLine = seg.subarray(seg.lastIndexOf(0x0a, seg.length - 2) + 1, seg.length - 1);
    const h = Buffer.from(entryHash(lastLine)).toString('hex');
    if (h !== lastHash) throw new SealtrailError('BUFFER_CORRUPT', `entry ${size - 1} does not match the chain head`);
  } else if (ledger.sealedSize < size || ledger.lowWater < size) {
    throw new SealtrailError('BUFFER_CORRUPT', `entries up to ${size - 1} are not delivered but missing from the buffer`);
  }
  // Every entry and batch not yet delivered must be there, in order. LevelDB's recovery skips a
  // damaged log block and keeps the records after it, so a commit can vanish from the middle
  // while the head (written by a later commit) still matches the newest entry.
  let expect = ledger.lowWater;
  for await (const [key, value] of db.iterator({ gte: segmentKey(ledger.lowWater), lt: segmentKey(size) })) {
    if (key !== segmentKey(expect))
      throw new SealtrailError('BUFFER_CORRUPT', `entries from ${expect} are missing from the buffer (next stored segment is ${key})`);
    expect += countLines(value);
  }
  if (expect !== size) throw new SealtrailError('BUFFER_CORRUPT', `entries ${expect}..${size - 1} are missing from the buffer`);
  for (let at = ledger.lowWater; at < ledger.sealedSize;) {
    const b = await getJson<BatchRecord>(db, batchKey(at));
    if (b === null || b.start !== at || !(b.end > at && b.end <= ledger.sealedSize)) {
      throw new SealtrailError('BUFFER_CORRUPT', `batch at ${at} is missing or damaged`);
    }
    at = b.end;
  }
}

export async function getJson<T>(db: Db, key: string): Promise<T | null> {
  const v = await db.get(key);
  if (v === undefined) return null;
  try {
    return JSON.parse(v.toString('utf8')) as T;
  } catch {
    throw new SealtrailError('BUFFER_CORRUPT', `buffer key ${key} is not valid JSON`);
  }
}

export function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

export async function readBatch(db: Db, start: number): Promise<BatchRecord | null> {
  return getJson<BatchRecord>(db, batchKey(start));
}

/** Reads entries [start, end) as stored: each line followed by '\n'. */
export async function readEntries(db: Db, start: number, end: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let expect = start;
  for await (const [key, value] of db.iterator({ gte: segmentKey(start), lt: segmentKey(end) })) {
    if (key !== segmentKey(expect)) throw new SealtrailError('BUFFER_CORRUPT', `entry ${expect} is missing from the buffer (found ${key})`);
    parts.push(value);
    expect += countLines(value);
  }
  if (expect !== end) throw new SealtrailError('BUFFER_CORRUPT', `entries ${expect}..${end - 1} are missing from the buffer`);
  return Buffer.concat(parts);
}

export function countLines(b: Buffer): number {
  let n = 0;
  for (let i = b.indexOf(0x0a); i >= 0; i = b.indexOf(0x0a, i + 1)) n++;
  return n;
}

export async function readCursor(db: Db, sinkId: string): Promise<number | null> {
  const c = await getJson<{ next: number }>(db, cursorKey(sinkId));
  return c === null ? null : c.next;
}
