// The single writer of the buffer. Every mutation goes through its queue; whatever is queued
// while a write is in flight is applied together, up to COMMIT_MAX_BYTES of entries, and
// written as ONE LevelDB batch with sync: true (group commit). A job's promise settles only
// after that batch is on disk, so an acknowledged append survives kill -9. If the write fails,
// the in-memory head is rolled back and every job of the batch is rejected: nothing of it was
// acknowledged.
//
// What others see is the durable snapshot: state(), cursor() and recentBatch() change only after
// the batch that made them true is synced, and after the high-water mark (high-water.ts)
// records it. After a failed write nothing more is appended to that LevelDB log (a failed
// write can leave a partial record, and LevelDB's recovery drops whatever follows it): the
// writer closes the database, reopens it (a fresh log) and reloads its state from what is
// stored, refusing writes with a retryable STORAGE error until that succeeds. It retries on its
// own, so the agent recovers when space returns.
//
// Sealing happens here too, so checkpoints are signed over exactly the chain state that is
// being persisted: a batch closes after the entry that reaches max_records or max_bytes, when
// max_age passes, or on request (shutdown, start-up tail).
import { EventEmitter } from 'node:events';
import { SealtrailError, errorMessage, isSealtrailError } from '../../lib/errors.js';
import { Chain } from '../chain/chain.js';
import { encodeTails, type EntryParts, type EntryTails } from '../chain/entry.js';
import { checkLinks } from './check-links.js';
import type { NoteSigner } from '../keys/signer.js';
import { formatCheckpointBody } from '../../verify/note.js';
import type { SealConfig } from '../../config/types.js';
import { CHAIN_KEY, HEAD_KEY, batchKey, cursorKey, segmentKey } from './keys.js';
import type { HighWaterFile } from './high-water.js';
import { releaseNow, spansOwnMemory } from '../../lib/own-memory.js';
import {
  checkConsistency,
  getJson,
  json,
  openDb,
  readBatch,
  readCursor,
  readEntries,
  type BatchRecord,
  type ChainInfo,
  type Db,
  type Ledger,
} from './store.js';

type Op = { type: 'put'; key: string; value: Buffer } | { type: 'del'; key: string };

type Job =
  | {
      kind: 'append';
      items: EntryTails;
      own: boolean;
      resolve: (r: { first: number; count: number }) => void;
      reject: (e: unknown) => void;
    }
  | { kind: 'seal'; resolve: (sealed: boolean) => void; reject: (e: unknown) => void }
  | { kind: 'advance'; sinkId: string; next: number; resolve: () => void; reject: (e: unknown) => void }
  | { kind: 'init'; resolve: () => void; reject: (e: unknown) => void };

/** Memory for sealed batches kept for the forwarders (older ones are read back from LevelDB). */
const RECENT_MAX_BYTES = 16 << 20;

/**
 * A group commit takes queued appends up to this many bytes of entry tails; the rest wait for
 * the next one. Unbounded, commits under 2000-record requests reached 15-18 MiB, and every one
 * is held two to three times over while it is written (its line buffer, classic-level's batch,
 * LevelDB's memtable): measured, peak RSS 60-100 MiB lower under 2000-record requests
 * (docs/architecture.md, "The hot path").
 */
export const COMMIT_MAX_BYTES = 4 << 20;

/**
 * The size of a commit's line buffer for `bytes` of lines: rounded up to one of eight steps per
 * power of two (at most 12.5 % more). malloc hands a freed buffer of the same size straight
 * back to the next commit instead of splitting a bigger free block; with exact sizes, peak RSS
 * of the open-loop overload step was 8 MiB higher on average (docs/architecture.md).
 */
export function commitBufferSize(bytes: number): number {
  if (bytes < 64 << 10) return bytes;
  const step = 2 ** (Math.floor(Math.log2(bytes)) - 3);
  return Math.ceil(bytes / step) * step;
}

/**
 * A segment is cut once it holds this many bytes. LevelDB allocates every value whole in its own
 * threads (memtable, table blocks, compaction reads), so multi-MB values grew their malloc arena
 * to its 64 MiB cap: measured, 256 KiB segments took 35-60 MiB off peak RSS under 500-record
 * requests at the same CPU (docs/architecture.md, "The hot path").
 */
export const SEGMENT_MAX_BYTES = 256 << 10;

/** Per-entry overhead of the envelope around resource/scope/record, for the capacity check. */
const ENVELOPE_ESTIMATE = 200;

/** Pause between attempts to reopen the database after a failed write. */
const REOPEN_INTERVAL_MS = 1000;

export interface WriterOptions {
  db: Db;
  /** The database's directory, to reopen it after a failed write (null: stay refusing). */
  dir: string | null;
  chainInfo: ChainInfo;
  ledger: Ledger;
  /** Configured sinks only; null = new to this buffer, starts at the low-water mark. */
  cursors: Map<string, number | null>;
  /** True when h!chain is not stored yet: initialize() writes it with the first head. */
  newChain?: boolean;
  highWater?: HighWaterFile | null;
  env: string;
  signer: NoteSigner;
  seal: SealConfig;
  maxBufferBytes: number;
  now?: () => number;
  log?: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
}

interface Snapshot {
  ledger: Ledger; // chain head included
  cursors: Map<string, number>;
}

export class BufferWriter extends EventEmitter<{ sealed: [batch: BatchRecord]; freed: []; recovered: [] }> {
  private db: Db;
  private readonly dir: string | null;
  private readonly chain: Chain;
  /** Working state: ahead of `durable` only while a commit is being built or written. */
  private ledger: Ledger;
  private cursors: Map<string, number>;
  private durable: Snapshot;
  private readonly newSinks: string[];
  private newChain: boolean;
  private readonly info: ChainInfo;
  private readonly highWater: HighWaterFile | null;
  private readonly signer: NoteSigner;
  private readonly sealCfg: SealConfig;
  private readonly maxBufferBytes: number;
  private readonly now: () => number;
  private readonly log: NonNullable<WriterOptions['log']>;
  private queue: Job[] = [];
  private running: Promise<void> | null = null;
  private draining = false;
  private ageTimer: NodeJS.Timeout | null = null;
  private closed = false;
  /** Set after a failed write until the database is reopened and reloaded. */
  private broken: SealtrailError | null = null;
  private recovering: Promise<void> | null = null;
  private reopenTimer: { timer: NodeJS.Timeout; wake: () => void } | null = null;
  /**
   * The lines of the commit being built, written in place (byte 0 is the first line's hashing
   * scratch). A fresh buffer per commit: the open batch keeps ranges of earlier ones.
   */
  private out: Buffer = Buffer.alloc(1);
  private outPos = 1;
  /** The segment being built by the current commit (see store.ts): its first seq and offset in `out`. */
  private segment: { first: number; from: number } | null = null;
  /** Lines of the open batch (ranges of earlier commits' buffers), so forwarders need not read them back. */
  private openBatch: Buffer[] = [];
  /** The commit buffers openBatch's parts lie in: freed once a seal has copied them out. */
  private openOuts = new Set<Buffer>();
  /** Entries in openBatch, plus the part of `out` from openFrom. */
  private openEntries = 0;
  private openFrom = 1;
  /** False while openBatch lacks entries of the open batch (a crash tail, a rolled-back write). */
  private openBatchComplete: boolean;
  /** Sealed batches kept for the forwarders; lines null once the only sink's forwarder took them. */
  private readonly recent = new Map<number, { batch: BatchRecord; lines: Buffer | null }>();
  private recentBytes = 0;
  /** Batches sealed by the commit being built; published only once it is durable. */
  private pendingRecent: Array<{ batch: BatchRecord; lines: Buffer | null }> = [];

  constructor(o: WriterOptions) {
    super();
    this.db = o.db;
    this.dir = o.dir;
    this.info = o.chainInfo;
    this.ledger = { ...o.ledger };
    this.newSinks = [...o.cursors].filter(([, v]) => v === null).map(([k]) => k);
    this.cursors = new Map([...o.cursors].map(([k, v]) => [k, v ?? o.ledger.lowWater]));
    this.durable = { ledger: { ...o.ledger }, cursors: new Map(this.cursors) };
    this.newChain = o.newChain ?? false;
    this.chain = new Chain(o.ledger.chain, o.env);
    this.highWater = o.highWater ?? null;
    this.signer = o.signer;
    this.sealCfg = o.seal;
    this.maxBufferBytes = o.maxBufferBytes;
    this.now = o.now ?? Date.now;
    this.log = o.log ?? (() => {});
    this.openBatchComplete = o.ledger.chain.size === o.ledger.sealedSize;
  }

  get origin(): string {
    return this.info.origin;
  }

  /** A copy of the ledger as of the last durable write. */
  state(): Ledger {
    const l = this.durable.ledger;
    return { ...l, chain: { ...l.chain, frontier: [...l.chain.frontier] } };
  }

  /** Tree size of the last checkpoint that is durable. */
  get sealedSize(): number {
    return this.durable.ledger.sealedSize;
  }

  /** Durable delivery cursor of a sink. */
  cursor(sinkId: string): number {
    return this.durable.cursors.get(sinkId) ?? this.durable.ledger.lowWater;
  }

  /** Null while writes are accepted; the reason otherwise (for /readyz and logs). */
  get storageError(): string | null {
    return this.broken?.message ?? null;
  }

  /**
   * Writes what the buffer does not hold yet: h!chain for a new chain, cursors of new sinks and
   * the head; then the first high-water mark. Call once, before anything else.
   */
  initialize(): Promise<void> {
    return new Promise((resolve, reject) => this.push({ kind: 'init', resolve, reject }));
  }

  /** Chains `items` and resolves once they are on disk. Own entries bypass the size limit. */
  append(items: EntryParts[] | EntryTails, own = false): Promise<{ first: number; count: number }> {
    const tails = Array.isArray(items) ? encodeTails(items) : items;
    return new Promise((resolve, reject) => this.push({ kind: 'append', items: tails, own, resolve, reject }));
  }

  /** The sealed, durable batch starting at `start`, from memory or the buffer. */
  async readBatch(start: number): Promise<BatchRecord> {
    if (start >= this.sealedSize)
      throw new SealtrailError('BUFFER_CORRUPT', `no sealed batch starts at ${start} (sealed size ${this.sealedSize})`);
    const mem = this.recent.get(start)?.batch;
    if (mem) return mem;
    this.throwIfBroken();
    const b = await readBatch(this.db, start);
    if (b === null) throw new SealtrailError('BUFFER_CORRUPT', `batch at ${start} is not in the buffer`);
    return b;
  }

  /** The stored lines of a sealed batch, each followed by '\n'. */
  async readLines(batch: BatchRecord): Promise<Buffer> {
    const r = await this.readStoredLines(batch);
    if (r.unchecked) checkLinks(r.lines, batch.start);
    return r.lines;
  }

  /**
   * The lines of a sealed batch: from memory when this process sealed it recently, else read
   * back from LevelDB and `unchecked`: the caller runs checkLinks before any sink gets them (the
   * forwarder has its sink worker do it, off this thread). `own`: nothing else holds them, so
   * their memory may be handed to another thread. With `take`, lines in memory that only one
   * sink needs (one sink configured) are given up here and returned as `own`; a later read
   * (a retry) gets them from LevelDB.
   */
  async readStoredLines(batch: BatchRecord, take = false): Promise<{ lines: Buffer; unchecked: boolean; own: boolean }> {
    const mem = this.recent.get(batch.start);
    if (mem && mem.lines !== null && mem.batch.end === batch.end) {
      const lines = mem.lines;
      if (!take || this.cursors.size !== 1 || !spansOwnMemory(lines)) return { lines, unchecked: false, own: false };
      mem.lines = null;
      this.recentBytes -= lines.length;
      return { lines, unchecked: false, own: true };
    }
    this.throwIfBroken();
    return { lines: await readEntries(this.db, batch.start, batch.end), unchecked: true, own: true };
  }

  /**
   * The stored lines of the sealed batch starting at `start`, when still held in memory
   * (at most RECENT_MAX_BYTES of recent batches); undefined means read them from the buffer.
   */
  recentLines(start: number): Buffer | undefined {
    return this.recent.get(start)?.lines ?? undefined;
  }

  /** The sealed batch record starting at `start`, when still held in memory. */
  recentBatch(start: number): BatchRecord | undefined {
    return this.recent.get(start)?.batch;
  }

  /** Seals the open batch, if any entry is unsealed. */
  sealNow(): Promise<boolean> {
    return new Promise((resolve, reject) => this.push({ kind: 'seal', resolve, reject }));
  }

  /** Records that `sinkId` has every batch before `next` (a batch boundary); frees batches all sinks have. */
  advance(sinkId: string, next: number): Promise<void> {
    return new Promise((resolve, reject) => this.push({ kind: 'advance', sinkId, next, resolve, reject }));
  }

  /** Waits for queued writes, refuses new ones, then closes the database. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.ageTimer) clearTimeout(this.ageTimer);
    this.ageTimer = null;
    this.reopenTimer?.wake();
    while (this.running) await this.running;
    if (this.recovering) await this.recovering;
    await this.db.close().catch(() => undefined);
  }

  private throwIfBroken(): void {
    if (this.broken) throw this.broken;
  }

  private push(job: Job): void {
    if (this.closed) {
      job.reject(new SealtrailError('SHUTTING_DOWN', 'the buffer is closed', { retryAfterSeconds: 5 }));
      return;
    }
    if (this.broken) {
      job.reject(this.broken);
      return;
    }
    this.queue.push(job);
    if (!this.draining) {
      this.draining = true;
      this.running = this.drain();
    }
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const jobs = this.takeCommit();
      try {
        await this.commit(jobs);
      } catch (err) {
        // A bug, not a disk error (those are handled in commit): fail the jobs, keep serving.
        for (const j of jobs) j.reject(err);
      }
    }
    // Cleared in the same synchronous step as the last empty-queue check, so a job pushed
    // from any continuation either sees draining=false and starts a drain, or is picked up.
    this.draining = false;
    this.running = null;
  }

  /**
   * The next commit's jobs: the queue in order while their entry tails fit in COMMIT_MAX_BYTES
   * (at least one job, however big), plus every queued cursor move, which touches no entry being appended and would
   * otherwise hold its forwarder back.
   */
  private takeCommit(): Job[] {
    let bytes = 0;
    let n = 0;
    for (; n < this.queue.length; n++) {
      const j = this.queue[n]!;
      const size = j.kind === 'append' ? j.items.bytes.length : 0;
      if (n > 0 && bytes + size > COMMIT_MAX_BYTES) break;
      bytes += size;
    }
    if (n === this.queue.length) {
      const all = this.queue;
      this.queue = [];
      return all;
    }
    const jobs = this.queue.slice(0, n);
    const rest: Job[] = [];
    for (let i = n; i < this.queue.length; i++) {
      const j = this.queue[i]!;
      (j.kind === 'advance' ? jobs : rest).push(j);
    }
    this.queue = rest;
    return jobs;
  }

  private async commit(jobs: Job[]): Promise<void> {
    if (this.broken) {
      for (const j of jobs) j.reject(this.broken);
      return;
    }
    const ops: Op[] = [];
    const sealed: BatchRecord[] = [];
    const settle: Array<() => void> = [];
    const failures: Array<(err: SealtrailError) => void> = [];
    const timeEnv = this.chain.timeEnv(new Date(this.now()).toISOString());
    let freed = false;
    let init = false;
    let room = 1;
    for (const job of jobs)
      if (job.kind === 'append') room += job.items.bytes.length + job.items.ends.length * (this.chain.overheadBytes + 1);
    this.out = Buffer.allocUnsafe(commitBufferSize(room));
    this.outPos = 1;
    this.openFrom = 1;

    for (const job of jobs) {
      try {
        if (job.kind === 'append') {
          const r = this.applyAppend(job.items, job.own, timeEnv, ops, sealed);
          settle.push(() => job.resolve(r));
          failures.push((e) => job.reject(e));
        } else if (job.kind === 'seal') {
          const s = this.applySeal(ops, sealed);
          settle.push(() => job.resolve(s !== null));
          failures.push((e) => job.reject(e));
        } else if (job.kind === 'advance') {
          freed = (await this.applyAdvance(job.sinkId, job.next, ops)) || freed;
          settle.push(() => job.resolve());
          failures.push((e) => job.reject(e));
        } else {
          init = true;
          settle.push(() => job.resolve());
          failures.push((e) => job.reject(e));
        }
      } catch (err) {
        job.reject(err);
      }
    }
    this.flushSegment(ops);
    this.keepOpenLines();
    if (init) {
      if (this.newChain) ops.push({ type: 'put', key: CHAIN_KEY, value: json(this.info) });
      for (const id of this.newSinks) ops.push({ type: 'put', key: cursorKey(id), value: json({ next: this.cursors.get(id) }) });
    }
    if (ops.length === 0) {
      for (const s of settle) s();
      return;
    }
    const head = this.workingLedger();
    ops.push({ type: 'put', key: HEAD_KEY, value: json(head) });
    try {
      await this.db.batch(ops, { sync: true });
      await this.writeHighWater(head);
    } catch (err) {
      this.rollBack();
      const e = new SealtrailError('STORAGE', `buffer write failed: ${errorMessage(err)}`, { cause: err, retryAfterSeconds: 1 });
      for (const f of failures) f(e);
      this.fail(e);
      return;
    }
    if (init) {
      this.newChain = false;
      this.newSinks.length = 0;
    }
    this.durable = { ledger: head, cursors: new Map(this.cursors) };
    for (const p of this.pendingRecent) if (p.lines) this.remember(p.batch, p.lines);
    this.pendingRecent = [];
    for (const s of settle) s();
    for (const b of sealed) this.emit('sealed', b);
    if (freed) this.emit('freed');
    this.armAgeTimer();
  }

  private workingLedger(): Ledger {
    return { ...this.ledger, chain: this.chain.head() };
  }

  /** Puts the working state back to the durable snapshot after a failed write. */
  private rollBack(): void {
    this.segment = null;
    this.pendingRecent = [];
    // The open batch's lines in memory no longer match the buffer: read it back when sealed.
    this.openBatch = [];
    this.openOuts.clear();
    this.openEntries = 0;
    this.openBatchComplete = false;
    this.chain.reset(this.durable.ledger.chain);
    this.ledger = { ...this.durable.ledger };
    this.cursors = new Map(this.durable.cursors);
  }

  private async writeHighWater(l: Ledger): Promise<void> {
    if (!this.highWater) return;
    await this.highWater.write({
      origin: this.info.origin,
      committedSize: l.chain.size,
      committedRoot: l.chain.size === 0 ? '' : Buffer.from(this.chain.root()).toString('hex'),
      sealedSize: l.sealedSize,
      sealedRoot: l.sealedRoot,
      deliveredSize: l.lowWater,
    });
  }

  /** Marks the writer broken and starts reopening the database. */
  private fail(err: SealtrailError): void {
    if (this.broken) return;
    this.broken = err;
    this.log('error', 'buffer write failed; refusing writes (retryable) until the buffer is reopened', { error: err.message });
    this.recovering = this.recover().finally(() => {
      this.recovering = null;
    });
  }

  private async recover(): Promise<void> {
    if (this.dir === null) return;
    for (let attempt = 1; !this.closed; attempt++) {
      await this.db.close().catch(() => undefined);
      try {
        await this.reload(await openDb(this.dir));
        this.broken = null;
        this.log('info', 'buffer reopened after a failed write; accepting writes again', {
          attempts: attempt,
          chain_size: this.chain.size,
        });
        this.emit('recovered');
        this.armAgeTimer();
        return;
      } catch (err) {
        if (isSealtrailError(err, 'BUFFER_CORRUPT')) {
          // Not a passing fault: keep refusing; the next start quarantines it.
          this.broken = new SealtrailError('STORAGE', `buffer is damaged after a failed write: ${err.message}; restart the agent`, {
            retryAfterSeconds: 30,
          });
          this.log('error', 'the reopened buffer fails its checks; refusing writes until restart', { error: err.message });
          return;
        }
        if (attempt === 1 || attempt % 30 === 0)
          this.log('warn', 'cannot reopen the buffer yet; retrying', { attempt, error: errorMessage(err) });
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, REOPEN_INTERVAL_MS);
          this.reopenTimer = {
            timer,
            wake: () => {
              clearTimeout(timer);
              resolve();
            },
          };
        });
        this.reopenTimer = null;
      }
    }
  }

  /** Adopts what the reopened database holds: the durable state, or the failed write if it landed. */
  private async reload(db: Db): Promise<void> {
    try {
      const chainInfo = await getJson<ChainInfo>(db, CHAIN_KEY);
      const ledger = await getJson<Ledger>(db, HEAD_KEY);
      const before = this.durable.ledger;
      if (this.newChain && chainInfo === null && ledger === null) {
        // initialize() never landed: still nothing stored.
      } else {
        if (chainInfo === null || ledger === null || chainInfo.origin !== this.info.origin) {
          throw new SealtrailError('BUFFER_CORRUPT', 'the reopened buffer lost its chain head');
        }
        await checkConsistency(db, chainInfo, ledger);
        if (ledger.chain.size < before.chain.size || ledger.sealedSize < before.sealedSize || ledger.lowWater < before.lowWater) {
          throw new SealtrailError(
            'BUFFER_CORRUPT',
            `the reopened buffer is behind what was written (size ${ledger.chain.size} < ${before.chain.size})`,
          );
        }
        const cursors = new Map<string, number>();
        for (const id of this.durable.cursors.keys()) cursors.set(id, (await readCursor(db, id)) ?? this.durable.cursors.get(id)!);
        this.chain.reset(ledger.chain);
        this.ledger = { ...ledger };
        this.cursors = cursors;
        this.durable = { ledger: { ...ledger }, cursors: new Map(cursors) };
        if (ledger.chain.size !== before.chain.size) this.newChain = false;
      }
      this.db = db;
      this.recent.clear();
      this.recentBytes = 0;
      this.openBatch = [];
      this.openOuts.clear();
      this.openEntries = 0;
      this.openBatchComplete = this.ledger.chain.size === this.ledger.sealedSize;
      if (!this.newChain) await this.writeHighWater(this.durable.ledger);
    } catch (err) {
      await db.close().catch(() => undefined);
      throw err;
    }
  }

  private applyAppend(
    items: EntryTails,
    own: boolean,
    timeEnv: Buffer,
    ops: Op[],
    sealed: BatchRecord[],
  ): { first: number; count: number } {
    const count = items.ends.length;
    if (!own) {
      const estimate = items.bytes.length + count * ENVELOPE_ESTIMATE;
      if (this.ledger.bytes + estimate > this.maxBufferBytes) {
        throw new SealtrailError('BUFFER_FULL', `buffer is full (${this.ledger.bytes} of ${this.maxBufferBytes} bytes); retry later`, {
          // OTel JS HTTP exporters let Retry-After replace their backoff within a 10 s export
          // timeout: 2 s gives them about four tries while a sink recovers.
          retryAfterSeconds: 2,
        });
      }
    }
    const first = this.chain.size;
    const out = this.out;
    let ts = 0;
    for (let i = 0; i < count; i++) {
      const te = items.ends[i]!;
      if (this.segment === null) this.segment = { first: this.chain.size, from: this.outPos };
      const from = this.outPos;
      this.outPos = this.chain.appendTail(out, from, timeEnv, items.bytes, ts, te);
      ts = te;
      if (this.outPos - this.segment.from >= SEGMENT_MAX_BYTES) this.flushSegment(ops);
      const len = this.outPos - from;
      this.openEntries += 1;
      this.ledger.bytes += len;
      this.ledger.entries += 1;
      this.ledger.unsealedBytes += len;
      if (this.ledger.unsealedSince === 0) this.ledger.unsealedSince = this.now();
      if (this.chain.size - this.ledger.sealedSize >= this.sealCfg.maxRecords || this.ledger.unsealedBytes >= this.sealCfg.maxBytes) {
        this.applySeal(ops, sealed);
      }
    }
    return { first, count };
  }

  /** Ends the current segment: at the end of a commit, at every seal (no segment crosses a batch boundary) and at SEGMENT_MAX_BYTES. */
  private flushSegment(ops: Op[]): void {
    if (this.segment === null) return;
    ops.push({ type: 'put', key: segmentKey(this.segment.first), value: this.out.subarray(this.segment.from, this.outPos) });
    this.segment = null;
  }

  /** Moves this commit's lines of the open batch into openBatch (the commit's buffer is never written again). */
  private keepOpenLines(): void {
    if (this.outPos > this.openFrom) {
      this.openBatch.push(this.out.subarray(this.openFrom, this.outPos));
      this.openOuts.add(this.out);
    }
    this.openFrom = this.outPos;
  }

  private applySeal(ops: Op[], sealed: BatchRecord[]): BatchRecord | null {
    this.flushSegment(ops);
    const start = this.ledger.sealedSize;
    const end = this.chain.size;
    if (end === start) return null;
    // Checkpoints of one origin must never disagree: sizes only grow, over one linear log.
    const mark = this.highWater?.current;
    const signedBefore = mark && mark.origin === this.info.origin ? mark.sealedSize : 0;
    if (end < start || end <= signedBefore) {
      throw new SealtrailError('BUFFER_CORRUPT', `refusing to sign size ${end}: size ${Math.max(start, signedBefore)} was signed before`);
    }
    const root = Buffer.from(this.chain.root()).toString('hex');
    const checkpoint = this.signer.signNote(formatCheckpointBody(this.info.origin, end, Buffer.from(root, 'hex')));
    const batch: BatchRecord = { start, end, root, bytes: this.ledger.unsealedBytes, checkpoint };
    ops.push({ type: 'put', key: batchKey(start), value: json(batch) });
    this.ledger.sealedSize = end;
    this.ledger.sealedRoot = root;
    this.ledger.unsealedBytes = 0;
    this.ledger.unsealedSince = 0;
    sealed.push(batch);
    this.keepOpenLines();
    const complete = this.openBatchComplete && this.openEntries === end - start;
    this.pendingRecent.push({ batch, lines: complete ? Buffer.concat(this.openBatch) : null });
    this.openBatch = [];
    this.releaseOpenOuts();
    this.openEntries = 0;
    this.openBatchComplete = true;
    return batch;
  }

  /**
   * Frees the earlier commits' buffers whose lines the open batch no longer holds. LevelDB
   * copied them when their commit's batch was written (classic-level copies every value before
   * its write is queued), and nothing else keeps them; freed now, their megabytes stop counting
   * towards the external memory that triggers V8's full collections. The current commit's
   * buffer is still being written.
   */
  private releaseOpenOuts(): void {
    for (const b of this.openOuts) if (b !== this.out) releaseNow(b);
    this.openOuts.clear();
  }

  /**
   * Keeps a sealed batch's lines for the forwarders while there is room. They take batches
   * oldest first, so when the cache is full the newest batch is the one left out: evicting the
   * oldest instead dropped the very batch needed next, and a forwarder that fell behind then
   * read every batch back from LevelDB and never caught up (measured: 127 of 133 reads in 10 s
   * of 2000-record HTTP requests).
   */
  private remember(batch: BatchRecord, lines: Buffer): void {
    if (this.recentBytes + lines.length > RECENT_MAX_BYTES) return;
    this.recent.set(batch.start, { batch, lines });
    this.recentBytes += lines.length;
  }

  private forget(start: number): void {
    const v = this.recent.get(start);
    if (v === undefined) return;
    this.recent.delete(start);
    if (v.lines === null) return; // the forwarder took them
    this.recentBytes -= v.lines.length;
    // Every sink has this batch, and sinks got copies (they run in workers): free the lines
    // now instead of at the next full collection.
    releaseNow(v.lines);
  }

  /** The batch record at `start` as this commit sees it (sealed earlier, or in this commit). */
  private async batchAt(start: number): Promise<BatchRecord | null> {
    const pending = this.pendingRecent.find((p) => p.batch.start === start);
    return pending?.batch ?? this.recent.get(start)?.batch ?? (await readBatch(this.db, start));
  }

  private async applyAdvance(sinkId: string, next: number, ops: Op[]): Promise<boolean> {
    const cur = this.cursors.get(sinkId);
    if (cur === undefined) throw new Error(`unknown sink ${sinkId}`);
    if (next <= cur) return false;
    // A cursor may only land on a batch boundary of what is durably sealed.
    if (next > this.durable.ledger.sealedSize) {
      throw new SealtrailError(
        'BUFFER_CORRUPT',
        `sink ${sinkId}: cannot advance to ${next}, beyond the sealed size ${this.durable.ledger.sealedSize}`,
      );
    }
    for (let at = cur; at !== next;) {
      const b = at < next ? await this.batchAt(at) : null;
      if (b === null || b.end > next)
        throw new SealtrailError('BUFFER_CORRUPT', `sink ${sinkId}: ${next} is not a batch boundary after ${cur}`);
      at = b.end;
    }
    this.cursors.set(sinkId, next);
    ops.push({ type: 'put', key: cursorKey(sinkId), value: json({ next }) });
    // Free every batch that all configured sinks have received.
    const minNext = Math.min(...this.cursors.values());
    let freed = false;
    while (this.ledger.lowWater < minNext && this.ledger.lowWater < this.ledger.sealedSize) {
      const b = await readBatch(this.db, this.ledger.lowWater);
      if (b === null) throw new SealtrailError('BUFFER_CORRUPT', `batch at ${this.ledger.lowWater} is missing`);
      for await (const key of this.db.keys({ gte: segmentKey(b.start), lt: segmentKey(b.end) })) ops.push({ type: 'del', key });
      ops.push({ type: 'del', key: batchKey(b.start) });
      this.forget(b.start);
      this.ledger.bytes -= b.bytes;
      this.ledger.entries -= b.end - b.start;
      this.ledger.lowWater = b.end;
      freed = true;
    }
    return freed;
  }

  private armAgeTimer(): void {
    if (this.closed || this.broken || this.ageTimer || this.ledger.unsealedSince === 0) return;
    const due = Math.max(0, this.ledger.unsealedSince + this.sealCfg.maxAgeMs - this.now());
    this.ageTimer = setTimeout(() => {
      this.ageTimer = null;
      this.sealNow().catch(() => {
        /* a failed seal leaves the tail unsealed; the next write or timer retries */
      });
    }, due);
  }
}
