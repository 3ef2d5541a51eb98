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
import { countLines, type BatchRecord } from '../buffer/store.js';
import type { LogFn } from '../../lib/log.js';
import { Backoff } from './backoff.js';

export type SinkState = 'delivering' | 'idle' | 'retrying' | 'conflict' | 'stopped';

interface ReadBatch {
  batch: BatchRecord;
  lines: Buffer;
  unchecked: boolean;
  /** Nothing else holds the lines: a sink in a worker takes their memory instead of a copy. */
  own: boolean;
}

/** Cursor moves a forwarder may have waiting in the buffer's queue (one commit takes all queued; see docs/architecture.md). */
const MAX_ADVANCING = 16;

/** Batches handed to a sink that queues deliveries (Sink.queuesDeliveries) before the first is done. */
const MAX_DELIVERING = 2;

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
   * Cursor moves of the batches delivered last, while the buffer writes them (in order, at most
   * MAX_ADVANCING): the next batches are delivered meanwhile, so a sink does not wait for a
   * group commit per batch (under heavy ingest one takes 100 ms and more). They never reject; a
   * failure is kept in advanceError and thrown by settleAdvance().
   */
  private advancing: Array<Promise<void>> = [];
  private advanceError: Error | null = null;
  /** Where the next delivery starts while moves are pending (the durable cursor lags it). */
  private ahead = 0;

  /** Set when a cursor move failed: the next delivery starts from the durable cursor. */
  private restartFromCursor = false;

  /** Waits for the pending cursor moves (all, or only the oldest ones beyond `keep`). */
  private async settleAdvance(keep = 0): Promise<void> {
    while (this.advancing.length > keep) await this.advancing.shift();
    const err = this.advanceError;
    this.advanceError = null;
    if (err !== null) {
      await Promise.all(this.advancing.splice(0)); // later moves ride on the failed one's state
      this.restartFromCursor = true;
      throw err;
    }
  }

  /** Queues the cursor move past `batch`, which is in the sink; the next delivery starts after it. */
  private async queueAdvance(batch: BatchRecord): Promise<void> {
    await this.settleAdvance(MAX_ADVANCING - 1);
    this.advancing.push(
      this.writer.advance(this.sink.id, batch.end).then(
        () => {
          this.batchesDelivered++;
        },
        (err: unknown) => {
          this.advanceError ??= err instanceof Error ? err : new Error(String(err));
        },
      ),
    );
    this.ahead = batch.end;
  }

  /** The sealed batch at `start` and its lines (`unchecked`: read back, checkLinks still to run). */
  private async read(start: number): Promise<ReadBatch> {
    const batch = await this.writer.readBatch(start);
    // Taken: a batch is handed over once; a retry reads it again (from LevelDB if taken).
    const { lines, unchecked, own } = await this.writer.readStoredLines(batch, true);
    if (countLines(lines) !== batch.end - batch.start)
      throw new Error(`batch [${batch.start}, ${batch.end}) has ${countLines(lines)} lines`);
    return { batch, lines, unchecked, own };
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
    // The batch after the last one handed over, read meanwhile (a lagging sink's batches come
    // from LevelDB: reading one and delivering the one before then overlap).
    let prefetch: { at: number; read: Promise<ReadBatch> } | null = null;
    // Batches handed to the sink and not yet settled, in log order. A sink that queues
    // deliveries gets the next batch while it writes one, so it never waits for this thread
    // between batches; it runs them in order and attempts none after a failed one.
    const delivering: Array<{ batch: BatchRecord; done: Promise<void> }> = [];
    const depth = this.sink.queuesDeliveries ? MAX_DELIVERING : 1;
    try {
      while (!this.stopping) {
        const next = Math.max(this.cursor, this.ahead);
        if (delivering.length === 0 && next >= this.writer.sealedSize && this.advancing.length === 0) {
          this.state = 'idle';
          await this.sleep(null);
          continue;
        }
        this.state = this.backoff.failures > 0 ? 'retrying' : 'delivering';
        // The batch whose read or delivery is awaited, named in a failure's log.
        let at = next;
        try {
          if (delivering.length === 0 && next >= this.writer.sealedSize) {
            await this.settleAdvance();
            continue;
          }
          if (this.needsStart) {
            await this.sink.start();
            this.needsStart = false;
          }
          let posted = delivering.length > 0 ? delivering[delivering.length - 1]!.batch.end : next;
          while (delivering.length < depth && posted < this.writer.sealedSize) {
            at = posted;
            const got: Promise<ReadBatch> = prefetch !== null && prefetch.at === posted ? prefetch.read : this.read(posted);
            prefetch = null;
            const read = await got;
            if (read.batch.end < this.writer.sealedSize) {
              prefetch = { at: read.batch.end, read: this.read(read.batch.end) };
              prefetch.read.catch(() => undefined); // a failed read is reported when its batch is taken up
            }
            const done = this.hand(read);
            done.catch(() => undefined); // awaited below, in order
            delivering.push({ batch: read.batch, done });
            posted = read.batch.end;
          }
          const { batch, done } = delivering[0]!;
          at = batch.start;
          await done;
          delivering.shift();
          await this.queueAdvance(batch);
          if (this.backoff.failures > 0) this.log('info', 'sink recovered', { sink: this.sink.id, batch_start: batch.start });
          this.backoff.reset();
          this.lastError = null;
        } catch (err) {
          prefetch = null;
          // Batches handed over after the failed one are not attempted; wait for their answers.
          // Those handed over before it that landed (the read of a later batch failed meanwhile)
          // keep their place: their cursor moves are queued, so they are not delivered again.
          const handed = delivering.splice(0);
          const answers = await Promise.allSettled(handed.map((d) => d.done));
          for (let i = 0; i < handed.length && answers[i]!.status === 'fulfilled' && !this.restartFromCursor; i++)
            await this.queueAdvance(handed[i]!.batch).catch(() => undefined); // a failed move sets restartFromCursor
          if (this.restartFromCursor) this.ahead = 0; // start again from the durable cursor
          this.restartFromCursor = false;
          this.errors++;
          this.lastError = errorMessage(err);
          if (isSealtrailError(err, 'SINK_CONFLICT')) {
            this.state = 'conflict';
            this.log(
              'error',
              'sink conflict: a different object already exists under a batch name; this sink is stopped and will not overwrite it',
              {
                sink: this.sink.id,
                batch_start: at,
                error: this.lastError,
              },
            );
            return;
          }
          const delay = this.backoff.next();
          this.log(isSealtrailError(err, 'SINK_TRANSIENT') ? 'warn' : 'error', 'sink delivery failed; will retry', {
            sink: this.sink.id,
            batch_start: at,
            retry_in_ms: delay,
            attempt: this.backoff.failures,
            error: this.lastError,
            code: isSealtrailError(err) ? err.code : undefined,
          });
          this.state = 'retrying';
          await this.sleep(delay);
        }
      }
    } finally {
      // Stopping: let what was handed over finish (stop() closes the sink after its grace time).
      await Promise.allSettled(delivering.map((d) => d.done));
    }
  }

  /** Hands one batch to the sink; lines read back from LevelDB are checked where they are delivered. */
  private hand({ batch, lines, unchecked, own }: ReadBatch): Promise<void> {
    const sealed = { origin: this.writer.origin, start: batch.start, end: batch.end, lines, checkpoint: batch.checkpoint };
    const opts = { gzip: this.gzip, checkLinks: unchecked, transferLines: own };
    return this.sink.deliverBatch ? this.sink.deliverBatch(sealed, opts) : deliverBatch(this.sink, sealed, opts);
  }
}
