// The durable buffer: one LevelDB database (classic-level) per agent.
//
// Layout (keys.ts):
//   h!chain          {origin, agentName, chainId, keyName, keyId, createdAt}   written once
//   h!head           the ledger: chain head (size, lastHash, frontier), sealed size and root,
//                    buffered entry bytes/count, oldest batch still buffered    every write
//   e!<seq>          one entry line (no '\n')                                   until delivered
//   b!<start>        sealed batch {start, end, root, checkpoint}               until delivered
//   c!<sink id>      {next}: start of the next batch this sink must receive
//
// Rules:
//  - Every mutation (entries + head, or a seal, or a cursor move) is one atomic LevelDB batch
//    written with sync: true (fsync) before anyone is told it happened. Concurrent appends share
//    one batch (group commit, writer.ts).
//  - Counters live in h!head, so start-up reads two keys and never scans.
//  - Entries and batch records are deleted only after every configured sink's cursor passed them.
//  - Start-up validates the head against the newest stored entry; a database that cannot be
//    opened or whose head does not match is quarantined (renamed aside, reported) and a new chain
//    starts. The buffer is never silently reset and quarantined data is never deleted.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ClassicLevel } from 'classic-level';
import { SealtrailError } from '../errors.js';
import type { ChainHead } from '../chain/chain.js';
import { entryHash } from '../chain/entry.js';
import { CHAIN_KEY, HEAD_KEY, batchKey, cursorKey, entryKey } from './keys.js';

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
  if (size > 0) {
    const last = await db.get(entryKey(size - 1));
    if (last !== undefined) {
      const h = Buffer.from(entryHash(last)).toString('hex');
      if (h !== lastHash) throw new SealtrailError('BUFFER_CORRUPT', `entry ${size - 1} does not match the chain head`);
    } else if (ledger.sealedSize < size) {
      throw new SealtrailError('BUFFER_CORRUPT', `unsealed entry ${size - 1} is missing`);
    }
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

/** Reads entries [start, end) and returns them joined, each followed by '\n'. */
export async function readEntries(db: Db, start: number, end: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  const nl = Buffer.from('\n');
  let expect = start;
  for await (const [key, value] of db.iterator({ gte: entryKey(start), lt: entryKey(end) })) {
    if (key !== entryKey(expect)) throw new SealtrailError('BUFFER_CORRUPT', `entry ${expect} is missing from the buffer (found ${key})`);
    parts.push(value, nl);
    expect++;
  }
  if (expect !== end) throw new SealtrailError('BUFFER_CORRUPT', `entries ${expect}..${end - 1} are missing from the buffer`);
  return Buffer.concat(parts);
}

export async function readCursor(db: Db, sinkId: string): Promise<number | null> {
  const c = await getJson<{ next: number }>(db, cursorKey(sinkId));
  return c === null ? null : c.next;
}
