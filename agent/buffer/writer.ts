// The single writer of the buffer. Every mutation goes through its queue; whatever is queued
// while a write is in flight is applied together and written as ONE LevelDB batch with
// sync: true (group commit). A job's promise settles only after that batch is on disk, so an
// acknowledged append survives kill -9. If the write fails, the in-memory head is rolled back
// and every job of the batch is rejected: nothing of it was acknowledged.
//
// Sealing happens here too, so checkpoints are signed over exactly the chain state that is
// being persisted: a batch closes after the entry that reaches max_records or max_bytes, when
// max_age passes, or on request (shutdown, start-up tail).
import { EventEmitter } from 'node:events';
import { SealtrailError, errorMessage } from '../../lib/errors.js';
import { Chain } from '../chain/chain.js';
import type { EntryParts } from '../chain/entry.js';
import type { NoteSigner } from '../keys/signer.js';
import { formatCheckpointBody } from '../../verify/note.js';
import type { SealConfig } from '../../config/types.js';
import { HEAD_KEY, batchKey, cursorKey, segmentKey } from './keys.js';
import { json, readBatch, type BatchRecord, type ChainInfo, type Db, type Ledger } from './store.js';

type Op = { type: 'put'; key: string; value: Buffer } | { type: 'del'; key: string };

type Job =
  | { kind: 'append'; items: EntryParts[]; own: boolean; resolve: (r: { first: number; count: number }) => void; reject: (e: unknown) => void }
  | { kind: 'seal'; resolve: (sealed: boolean) => void; reject: (e: unknown) => void }
  | { kind: 'advance'; sinkId: string; next: number; resolve: () => void; reject: (e: unknown) => void };

/** Memory for sealed batches kept for the forwarders (older ones are read back from LevelDB). */
const RECENT_MAX_BYTES = 64 << 20;

/** Per-entry overhead of the envelope around resource/scope/record, for the capacity check. */
const ENVELOPE_ESTIMATE = 200;

export interface WriterOptions {
  db: Db;
  chainInfo: ChainInfo;
  ledger: Ledger;
  cursors: Map<string, number>; // configured sinks only
  env: string;
  signer: NoteSigner;
  seal: SealConfig;
  maxBufferBytes: number;
  now?: () => number;
}

export class BufferWriter extends EventEmitter<{ sealed: [batch: BatchRecord]; freed: [] }> {
  private readonly db: Db;
  private readonly chain: Chain;
  private ledger: Ledger;
  private cursors: Map<string, number>;
  private readonly info: ChainInfo;
  private readonly signer: NoteSigner;
  private readonly sealCfg: SealConfig;
  private readonly maxBufferBytes: number;
  private readonly now: () => number;
  private queue: Job[] = [];
  private running: Promise<void> | null = null;
  private draining = false;
  private ageTimer: NodeJS.Timeout | null = null;
  private closed = false;
  /** The segment being built by the current commit (see store.ts: one value per commit). */
  private segment: { first: number; parts: Buffer[] } | null = null;
  /** Lines of the open batch, and of recently sealed batches, so forwarders need not read them back. */
  private openBatch: Buffer[] = [];
  /** False while openBatch lacks entries of the open batch (a crash tail, a rolled-back write). */
  private openBatchComplete: boolean;
  private readonly recent = new Map<number, { batch: BatchRecord; lines: Buffer }>();
  private recentBytes = 0;

  constructor(o: WriterOptions) {
    super();
    this.db = o.db;
    this.info = o.chainInfo;
    this.ledger = { ...o.ledger };
    this.cursors = new Map(o.cursors);
    this.chain = new Chain(o.ledger.chain, o.env);
    this.signer = o.signer;
    this.sealCfg = o.seal;
    this.maxBufferBytes = o.maxBufferBytes;
    this.now = o.now ?? Date.now;
    this.openBatchComplete = o.ledger.chain.size === o.ledger.sealedSize;
  }

  get origin(): string {
    return this.info.origin;
  }

  /** A copy of the ledger as of the last durable write. */
  state(): Ledger {
    return { ...this.ledger, chain: this.chain.head() };
  }

  cursor(sinkId: string): number {
    return this.cursors.get(sinkId) ?? this.ledger.lowWater;
  }

  /** Chains `items` and resolves once they are on disk. Own entries bypass the size limit. */
  append(items: EntryParts[], own = false): Promise<{ first: number; count: number }> {
    return new Promise((resolve, reject) => this.push({ kind: 'append', items, own, resolve, reject }));
  }

  /**
   * The stored lines of the sealed batch starting at `start`, when still held in memory
   * (at most RECENT_MAX_BYTES of recent batches); undefined means read them from the buffer.
   */
  recentLines(start: number): Buffer | undefined {
    return this.recent.get(start)?.lines;
  }

  /** The sealed batch record starting at `start`, when still held in memory. */
  recentBatch(start: number): BatchRecord | undefined {
    return this.recent.get(start)?.batch;
  }

  /** Seals the open batch, if any entry is unsealed. */
  sealNow(): Promise<boolean> {
    return new Promise((resolve, reject) => this.push({ kind: 'seal', resolve, reject }));
  }

  /** Records that `sinkId` has every batch before `next`; frees batches all sinks have. */
  advance(sinkId: string, next: number): Promise<void> {
    return new Promise((resolve, reject) => this.push({ kind: 'advance', sinkId, next, resolve, reject }));
  }

  /** Waits for queued writes, then refuses new ones. The database is closed by the owner. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.ageTimer) clearTimeout(this.ageTimer);
    this.ageTimer = null;
    while (this.running) await this.running;
  }

  private push(job: Job): void {
    if (this.closed) {
      job.reject(new SealtrailError('SHUTTING_DOWN', 'the buffer is closed', { retryAfterSeconds: 5 }));
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
      const jobs = this.queue;
      this.queue = [];
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

  private async commit(jobs: Job[]): Promise<void> {
    const savedHead = this.chain.head();
    const savedLedger = { ...this.ledger };
    const savedCursors = new Map(this.cursors);
    const ops: Op[] = [];
    const sealed: BatchRecord[] = [];
    const settle: Array<() => void> = [];
    const failures: Array<(err: SealtrailError) => void> = [];
    const time = new Date(this.now()).toISOString();
    let freed = false;

    for (const job of jobs) {
      try {
        if (job.kind === 'append') {
          const r = this.applyAppend(job.items, job.own, time, ops, sealed);
          settle.push(() => job.resolve(r));
          failures.push((e) => job.reject(e));
        } else if (job.kind === 'seal') {
          const s = this.applySeal(ops, sealed);
          settle.push(() => job.resolve(s !== null));
          failures.push((e) => job.reject(e));
        } else {
          freed = (await this.applyAdvance(job.sinkId, job.next, ops)) || freed;
          settle.push(() => job.resolve());
          failures.push((e) => job.reject(e));
        }
      } catch (err) {
        job.reject(err);
      }
    }
    this.flushSegment(ops);
    if (ops.length === 0) {
      for (const s of settle) s();
      return;
    }
    ops.push({ type: 'put', key: HEAD_KEY, value: json(this.state()) });
    let lastErr: unknown;
    try {
      await this.db.batch(ops, { sync: true });
    } catch (err) {
      lastErr = err;
    }
    if (lastErr !== undefined) {
      this.segment = null;
      // The open batch's lines in memory no longer match the buffer: read it back when sealed.
      this.openBatch = [];
      this.openBatchComplete = false;
      for (const b of sealed) this.forget(b.start);
      this.chain.reset(savedHead);
      this.ledger = savedLedger;
      this.cursors = savedCursors;
      const err = new SealtrailError('STORAGE', `buffer write failed: ${errorMessage(lastErr)}`, { cause: lastErr, retryAfterSeconds: 1 });
      for (const f of failures) f(err);
      return;
    }
    for (const s of settle) s();
    for (const b of sealed) this.emit('sealed', b);
    if (freed) this.emit('freed');
    this.armAgeTimer();
  }

  private applyAppend(items: EntryParts[], own: boolean, time: string, ops: Op[], sealed: BatchRecord[]): { first: number; count: number } {
    if (!own) {
      let estimate = 0;
      for (const it of items) estimate += it.resource.length + it.scope.length + it.record.length + ENVELOPE_ESTIMATE;
      if (this.ledger.bytes + estimate > this.maxBufferBytes) {
        throw new SealtrailError('BUFFER_FULL', `buffer is full (${this.ledger.bytes} of ${this.maxBufferBytes} bytes); retry later`, {
          // OTel JS HTTP exporters let Retry-After replace their backoff within a 10 s export
          // timeout: 2 s gives them about four tries while a sink recovers.
          retryAfterSeconds: 2,
        });
      }
    }
    const first = this.chain.size;
    for (const it of items) {
      const { seq, record } = this.chain.append(time, it);
      if (this.segment === null) this.segment = { first: seq, parts: [] };
      this.segment.parts.push(record);
      this.openBatch.push(record);
      this.ledger.bytes += record.length;
      this.ledger.entries += 1;
      this.ledger.unsealedBytes += record.length;
      if (this.ledger.unsealedSince === 0) this.ledger.unsealedSince = this.now();
      if (this.chain.size - this.ledger.sealedSize >= this.sealCfg.maxRecords || this.ledger.unsealedBytes >= this.sealCfg.maxBytes) {
        this.applySeal(ops, sealed);
      }
    }
    return { first, count: items.length };
  }

  /** Ends the current segment; called at every seal so no segment crosses a batch boundary. */
  private flushSegment(ops: Op[]): void {
    if (this.segment === null) return;
    ops.push({ type: 'put', key: segmentKey(this.segment.first), value: Buffer.concat(this.segment.parts) });
    this.segment = null;
  }

  private applySeal(ops: Op[], sealed: BatchRecord[]): BatchRecord | null {
    this.flushSegment(ops);
    const start = this.ledger.sealedSize;
    const end = this.chain.size;
    if (end === start) return null;
    // Checkpoints of one origin must never disagree: sizes only grow, over one linear log.
    if (end < start) throw new SealtrailError('BUFFER_CORRUPT', `refusing to seal size ${end} below sealed size ${start}`);
    const root = Buffer.from(this.chain.root()).toString('hex');
    const checkpoint = this.signer.signNote(formatCheckpointBody(this.info.origin, end, Buffer.from(root, 'hex')));
    const batch: BatchRecord = { start, end, root, bytes: this.ledger.unsealedBytes, checkpoint };
    ops.push({ type: 'put', key: batchKey(start), value: json(batch) });
    this.ledger.sealedSize = end;
    this.ledger.sealedRoot = root;
    this.ledger.unsealedBytes = 0;
    this.ledger.unsealedSince = 0;
    sealed.push(batch);
    if (this.openBatchComplete && this.openBatch.length === end - start) {
      const lines = Buffer.concat(this.openBatch);
      this.recent.set(start, { batch, lines });
      this.recentBytes += lines.length;
      for (const [k, v] of this.recent) {
        if (this.recentBytes <= RECENT_MAX_BYTES) break;
        this.recent.delete(k);
        this.recentBytes -= v.lines.length;
      }
    }
    this.openBatch = [];
    this.openBatchComplete = true;
    return batch;
  }

  private forget(start: number): void {
    const v = this.recent.get(start);
    if (v === undefined) return;
    this.recent.delete(start);
    this.recentBytes -= v.lines.length;
  }

  private async applyAdvance(sinkId: string, next: number, ops: Op[]): Promise<boolean> {
    if (!this.cursors.has(sinkId)) throw new Error(`unknown sink ${sinkId}`);
    const cur = this.cursors.get(sinkId) as number;
    if (next <= cur) return false;
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
    if (this.closed || this.ageTimer || this.ledger.unsealedSince === 0) return;
    const due = Math.max(0, this.ledger.unsealedSince + this.sealCfg.maxAgeMs - this.now());
    this.ageTimer = setTimeout(() => {
      this.ageTimer = null;
      this.sealNow().catch(() => {
        /* a failed seal leaves the tail unsealed; the next write or timer retries */
      });
    }, due);
  }
}
