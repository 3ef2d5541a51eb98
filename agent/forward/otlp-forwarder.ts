// One forwarding exporter: a bounded in-memory queue of accepted requests and a few consumers
// that send them upstream, retrying with capped exponential backoff until max_elapsed_time.
// Best effort by design: offer() is O(1), never awaits and never throws, so the audit path is
// never slowed or blocked by a slow or absent upstream; what cannot be queued or sent is
// dropped and counted by reason (sealtrail_forward_dropped_total).
import type { OtlpForwardExporterConfig } from '../../config/types.js';
import type { DecodedRecord } from '../otlp/model.js';
import type { LogFn } from '../../lib/log.js';
import { groupRecords } from './encode.js';
import type { Transport } from './transport.js';

export type DropReason = 'queue_full' | 'retries_exhausted' | 'rejected' | 'shutdown';

export interface QueuedItem {
  /** Records of one request; filtered lazily by `select` in a consumer, off the ingest path. */
  records: readonly DecodedRecord[];
  select: ((r: DecodedRecord) => boolean) | null;
  /** How many records `select` keeps (known up front, so drops are counted without filtering). */
  count: number;
}

export class OtlpForwarder {
  readonly id: string;
  sentRecords = 0;
  sentRequests = 0;
  failedAttempts = 0;
  readonly dropped: Record<DropReason, number> = { queue_full: 0, retries_exhausted: 0, rejected: 0, shutdown: 0 };
  private readonly queue: Array<QueuedItem | undefined>;
  private head = 0;
  private size = 0;
  private running = true;
  private wakers: Array<() => void> = [];
  private sleepers = new Set<() => void>();
  private readonly consumers: Promise<void>[] = [];
  /** The reason sends are failing right now, logged once per episode. */
  private failing: string | null = null;

  constructor(
    private readonly cfg: OtlpForwardExporterConfig,
    private readonly transport: Transport,
    private readonly log: LogFn,
    private readonly random = Math.random,
  ) {
    this.id = cfg.id;
    this.queue = new Array<QueuedItem | undefined>(cfg.sendingQueue.queueSize);
    for (let i = 0; i < cfg.sendingQueue.numConsumers; i++) this.consumers.push(this.consume());
  }

  get queued(): number {
    return this.size;
  }

  /** Enqueues without waiting; a full queue drops the item (counted), it never blocks. */
  offer(item: QueuedItem): void {
    if (item.count === 0) return;
    if (!this.running || this.size === this.queue.length) {
      this.drop(this.running ? 'queue_full' : 'shutdown', item.count);
      return;
    }
    this.queue[(this.head + this.size) % this.queue.length] = item;
    this.size++;
    this.wakers.shift()?.();
  }

  private take(): QueuedItem | undefined {
    if (this.size === 0) return undefined;
    const item = this.queue[this.head];
    this.queue[this.head] = undefined;
    this.head = (this.head + 1) % this.queue.length;
    this.size--;
    return item;
  }

  private drop(reason: DropReason, n: number): void {
    this.dropped[reason] += n;
  }

  private async consume(): Promise<void> {
    for (;;) {
      const item = this.take();
      if (item === undefined) {
        if (!this.running) return;
        await new Promise<void>((r) => this.wakers.push(r));
        continue;
      }
      const records = item.select ? item.records.filter(item.select) : item.records;
      if (records.length > 0) await this.sendWithRetry(records);
    }
  }

  private async sendWithRetry(records: readonly DecodedRecord[]): Promise<void> {
    const groups = groupRecords(records);
    const r = this.cfg.retryOnFailure;
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      const out = await this.transport.send(groups);
      if (out.ok) {
        this.sentRequests++;
        this.sentRecords += records.length - out.rejected;
        if (out.rejected > 0) this.drop('rejected', out.rejected);
        if (this.failing !== null) {
          this.log('info', 'forwarding works again', { exporter: this.id, after: this.failing });
          this.failing = null;
        }
        return;
      }
      this.failedAttempts++;
      if (this.failing === null) {
        this.failing = out.reason;
        this.log('warn', 'forwarding failed; records are retried and then dropped (best effort, the audit path is not affected)', {
          exporter: this.id,
          reason: out.reason,
        });
      }
      if (!out.retryable) return this.drop('rejected', records.length);
      if (!this.running) return this.drop('shutdown', records.length);
      const cap = Math.min(r.maxIntervalMs, r.initialIntervalMs * Math.pow(2, Math.min(attempt, 32)));
      const delay = Math.max(out.retryAfterMs ?? 0, Math.round(cap / 2 + (this.random() * cap) / 2));
      if (!r.enabled || (r.maxElapsedTimeMs > 0 && Date.now() + delay - started > r.maxElapsedTimeMs))
        return this.drop('retries_exhausted', records.length);
      await this.sleep(delay);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(t);
        this.sleepers.delete(done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.sleepers.add(done);
    });
  }

  /**
   * Sends what is queued for up to `timeoutMs`, then drops the rest (counted as shutdown).
   * Safe to call twice.
   */
  async stop(timeoutMs: number): Promise<void> {
    if (this.running) {
      this.running = false;
      for (const w of this.wakers.splice(0)) w();
    }
    const deadline = new Promise<void>((r) => setTimeout(r, timeoutMs).unref());
    await Promise.race([Promise.all(this.consumers), deadline]);
    // Whatever is still waiting or backing off is given up now.
    for (const s of [...this.sleepers]) s();
    let item: QueuedItem | undefined;
    while ((item = this.take()) !== undefined) this.drop('shutdown', item.count);
    this.transport.close();
  }
}
