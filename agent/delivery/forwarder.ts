// Store and forward: one loop per sink. Each sink has its own cursor in the buffer and
// receives sealed batches strictly in log order, at least once. A failed delivery is retried
// forever with capped backoff; the cursor moves only after the batch (entries, then checkpoint)
// is durable in the sink. A conflict stops this sink loudly and leaves its cursor where it is;
// the batch stays buffered and the other sinks go on.
import { deliverBatch } from '../../exporters/deliver.js';
import type { Sink } from '../../exporters/sink.js';
import type { RetryConfig } from '../../config/types.js';
import { isSealtrailError, errorMessage } from '../../lib/errors.js';
import type { BufferWriter } from '../buffer/writer.js';
import { countLines } from '../buffer/store.js';
import type { LogFn } from '../../lib/log.js';
import { Backoff } from './backoff.js';

export type SinkState = 'delivering' | 'idle' | 'retrying' | 'conflict' | 'stopped';

export class Forwarder {
  state: SinkState = 'idle';
  errors = 0;
  batchesDelivered = 0;
  lastError: string | null = null;
  private stopping = false;
  private wake: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  private readonly backoff: Backoff;

  constructor(
    readonly sink: Sink,
    private readonly writer: BufferWriter,
    private readonly gzip: boolean,
    retry: RetryConfig,
    private readonly log: LogFn,
  ) {
    this.backoff = new Backoff(retry);
    // A new batch wakes an idle forwarder; it never cuts a retry backoff short.
    writer.on('sealed', () => {
      if (this.state === 'idle') this.poke();
    });
  }

  start(): void {
    if (!this.loop) this.loop = this.run();
  }

  /** Delivered position: every batch before it is in the sink. */
  get cursor(): number {
    return this.writer.cursor(this.sink.id);
  }

  /** True when the sink has every sealed batch. */
  caughtUp(): boolean {
    return this.cursor >= this.writer.sealedSize;
  }

  /**
   * Stops at once when idle or backing off, else after the current attempt; an attempt still
   * running after `graceMs` is cut short by closing the sink. Undelivered batches stay in the
   * buffer. Resolves only when the loop has ended, so the buffer can be closed after it.
   */
  async stop(graceMs = 5000): Promise<void> {
    this.stopping = true;
    this.poke();
    if (this.loop) {
      let timer: NodeJS.Timeout | undefined;
      const ended = await Promise.race([
        this.loop.then(() => true),
        new Promise<boolean>((r) => {
          timer = setTimeout(() => r(false), graceMs);
        }),
      ]);
      clearTimeout(timer);
      if (!ended) {
        this.log('warn', 'sink attempt still running at shutdown; closing the sink', { sink: this.sink.id });
        await this.sink.close().catch(() => undefined);
        await this.loop;
      }
    }
    this.state = 'stopped';
  }

  private poke(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  private sleep(ms: number | null): Promise<void> {
    // A stop that came during the attempt must not wait out the backoff that follows it.
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const t = ms === null ? null : setTimeout(() => this.poke(), ms);
      t?.unref();
      this.wake = () => {
        if (t) clearTimeout(t);
        resolve();
      };
    });
  }

  /** Set when sink.start() could not reach the store at agent start-up; its checks run again first. */
  needsStart = false;

  /**
   * The cursor move of the batch delivered last, while the buffer writes it (at most one, in
   * order): the next batch is delivered meanwhile, so a sink is not idle for a group commit per
   * batch. It never rejects; a failure is kept in advanceError and thrown by settleAdvance().
   */
  private advancing: Promise<void> | null = null;
  private advanceError: Error | null = null;
  /** Where the next delivery starts while `advancing` is pending (the durable cursor lags it). */
  private ahead = 0;

  private async settleAdvance(): Promise<void> {
    const a = this.advancing;
    this.advancing = null;
    if (a !== null) await a;
    const err = this.advanceError;
    this.advanceError = null;
    if (err !== null) throw err;
  }

  private async run(): Promise<void> {
    try {
      await this.deliverLoop();
    } finally {
      // The loop ends only once its last cursor move is written (or has failed).
      await this.settleAdvance().catch(() => undefined);
    }
  }

  private async deliverLoop(): Promise<void> {
    while (!this.stopping) {
      const next = Math.max(this.cursor, this.ahead);
      if (next >= this.writer.sealedSize && this.advancing === null) {
        this.state = 'idle';
        await this.sleep(null);
        continue;
      }
      this.state = this.backoff.failures > 0 ? 'retrying' : 'delivering';
      try {
        if (next >= this.writer.sealedSize) {
          await this.settleAdvance();
          continue;
        }
        if (this.needsStart) {
          await this.sink.start();
          this.needsStart = false;
        }
        const batch = await this.writer.readBatch(next);
        const lines = await this.writer.readLines(batch);
        if (countLines(lines) !== batch.end - batch.start)
          throw new Error(`batch [${batch.start}, ${batch.end}) has ${countLines(lines)} lines`);
        const sealed = { origin: this.writer.origin, start: batch.start, end: batch.end, lines, checkpoint: batch.checkpoint };
        if (this.sink.deliverBatch) await this.sink.deliverBatch(sealed, { gzip: this.gzip });
        else await deliverBatch(this.sink, sealed, { gzip: this.gzip });
        await this.settleAdvance();
        this.advancing = this.writer.advance(this.sink.id, batch.end).then(
          () => {
            this.batchesDelivered++;
          },
          (err: unknown) => {
            this.advanceError = err instanceof Error ? err : new Error(String(err));
          },
        );
        this.ahead = batch.end;
        if (this.backoff.failures > 0) this.log('info', 'sink recovered', { sink: this.sink.id, batch_start: batch.start });
        this.backoff.reset();
        this.lastError = null;
      } catch (err) {
        this.ahead = 0; // start again from the durable cursor
        this.errors++;
        this.lastError = errorMessage(err);
        if (isSealtrailError(err, 'SINK_CONFLICT')) {
          this.state = 'conflict';
          this.log(
            'error',
            'sink conflict: a different object already exists under a batch name; this sink is stopped and will not overwrite it',
            {
              sink: this.sink.id,
              batch_start: next,
              error: this.lastError,
            },
          );
          return;
        }
        const delay = this.backoff.next();
        this.log(isSealtrailError(err, 'SINK_TRANSIENT') ? 'warn' : 'error', 'sink delivery failed; will retry', {
          sink: this.sink.id,
          batch_start: next,
          retry_in_ms: delay,
          attempt: this.backoff.failures,
          error: this.lastError,
          code: isSealtrailError(err) ? err.code : undefined,
        });
        this.state = 'retrying';
        await this.sleep(delay);
      }
    }
  }
}
