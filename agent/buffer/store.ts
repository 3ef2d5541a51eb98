// The durable buffer: one LevelDB database (classic-level) per agent.
//
// Layout (keys.ts):
//   h!chain          {origin, agentName, chainId, keyName, keyId, createdAt}   written once
//   h!head           the ledger: chain head (size, lastHash, frontier), sealed size and root,
//                    buffered entry bytes/count, oldest batch still buffered    every write
//   e!<first seq>    a segment: the lines of entries first, first+1, ... each ending in '\n',
//                    written by one group commit; never crosses a batch boundary  until delivered
//   b!<start>        sealed batch {start, end, root, checkpoint}               until delivered
//   c!<sink id>      {next}: start of the next batch this sink must receive
//
// Rules:
//  - Entries are stored per segment, not per key: one LevelDB value per group commit (cut at
//    batch boundaries) costs about a quarter of the CPU of one key per entry.
//  - Every mutation (entries + head, or a seal, or a cursor move) is one atomic LevelDB batch
//    written with sync: true (fsync) before anyone is told it happened. Concurrent appends share
//    one batch (group commit, writer.ts).
//  - Counters live in h!head, so start-up reads two keys and never scans.
//  - Entries and batch records are deleted only after every configured sink's cursor passed them.
//  - Start-up validates the head against the newest stored entry (one reverse seek to the last
//    segment, not a scan); a database that cannot be
//    opened or whose head does not match is quarantined (renamed aside, reported) and a new chain
//    starts. The buffer is never silently reset and quarantined data is never deleted.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ClassicLevel } from 'classic-level';
import { SealtrailError } from '../../lib/errors.js';
import type { ChainHead } from '../chain/chain.js';
import { entryHash } from '../chain/entry.js';
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

export interface BatchRecord {
  start: number;
  end: number;
  root: string; // hex
  bytes: number; // entry bytes of [start, end), for the ledger when the batch leaves the buffer
  checkpoint: string; // signed note
}

export type Db = ClassicLevel<string, Buffer>;

export interface OpenedStore {
  db: Db;
  chain: ChainInfo | null; // null: empty database, genesis needed
  ledger: Ledger | null;
  /** Set when a damaged buffer was moved aside at this start. */
  quarantined: { path: string; reason: string; previousOrigin: string | null } | null;
}

export async function openStore(dir: string): Promise<OpenedStore> {
  await fs.mkdir(path.dirname(dir), { recursive: true });
  let quarantined: OpenedStore['quarantined'] = null;
  let db: Db;
  try {
    db = await openDb(dir);
  } catch (err) {
    quarantined = await quarantine(dir, `cannot open LevelDB: ${(err as Error).message}`, null);
    db = await openDb(dir);
  }
  let chain: ChainInfo | null;
  let ledger: Ledger | null;
  try {
    chain = await getJson<ChainInfo>(db, CHAIN_KEY);
    ledger = await getJson<Ledger>(db, HEAD_KEY);
    await checkConsistency(db, chain, ledger);
  } catch (err) {
    const reason = (err as Error).message;
    const prev = await getJson<ChainInfo>(db, CHAIN_KEY).then((c) => c?.origin ?? null, () => null);
    await db.close();
    quarantined = await quarantine(dir, reason, prev);
    db = await openDb(dir);
    chain = null;
    ledger = null;
  }
  return { db, chain, ledger, quarantined };
}

async function openDb(dir: string): Promise<Db> {
  const db = new ClassicLevel<string, Buffer>(dir, { keyEncoding: 'utf8', valueEncoding: 'buffer' });
  await db.open();
  return db;
}

async function quarantine(dir: string, reason: string, previousOrigin: string | null): Promise<NonNullable<OpenedStore['quarantined']>> {
  const target = `${dir}.quarantine-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  await fs.rename(dir, target);
  return { path: target, reason, previousOrigin };
}

/** Throws BUFFER_CORRUPT when the stored head and entries disagree. */
async function checkConsistency(db: Db, chain: ChainInfo | null, ledger: Ledger | null): Promise<void> {
  if (chain === null && ledger === null) {
    // An empty database is fine; one with entries but no head is not.
    for await (const _k of db.keys({ limit: 1 })) {
      throw new SealtrailError('BUFFER_CORRUPT', 'buffer holds data but no chain head');
    }
    return;
  }
  if (chain === null || ledger === null) throw new SealtrailError('BUFFER_CORRUPT', 'buffer has only one of h!chain and h!head');
  const { size, lastHash } = ledger.chain;
  let last: [string, Buffer] | undefined;
  for await (const kv of db.iterator({ ...SEGMENT_RANGE, reverse: true, limit: 1 })) last = kv;
  if (last !== undefined) {
    const first = Number(last[0].slice(2));
    const [key, seg] = last;
    if (seg.length === 0 || seg[seg.length - 1] !== 0x0a) throw new SealtrailError('BUFFER_CORRUPT', `segment ${key} does not end with a newline`);
    const count = countLines(seg);
    if (first + count !== size) throw new SealtrailError('BUFFER_CORRUPT', `the last segment ends at entry ${first + count - 1} but the chain head says ${size - 1}`);
    const lastLine = seg.subarray(seg.lastIndexOf(0x0a, seg.length - 2) + 1, seg.length - 1);
    const h = Buffer.from(entryHash(lastLine)).toString('hex');
    if (h !== lastHash) throw new SealtrailError('BUFFER_CORRUPT', `entry ${size - 1} does not match the chain head`);
  } else if (ledger.sealedSize < size || ledger.lowWater < size) {
    throw new SealtrailError('BUFFER_CORRUPT', `entries up to ${size - 1} are not delivered but missing from the buffer`);
  }
  if (ledger.lowWater < ledger.sealedSize) {
    const b = await db.get(batchKey(ledger.lowWater));
    if (b === undefined) throw new SealtrailError('BUFFER_CORRUPT', `batch at ${ledger.lowWater} is missing`);
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
