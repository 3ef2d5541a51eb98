// The Ingestor behind both receivers: audit filter, audit context checks (optional), then the
// buffer writer (chain + fsync).
import type { AuditContextProcessor, ContextTally } from '../context/audit-context.js';
import type { DecodedRequest } from '../otlp/model.js';
import type { AuditFilter } from '../filter/audit-filter.js';
import type { BufferWriter } from '../buffer/writer.js';
import type { EntryTails } from '../chain/entry.js';
import { prepareRequest, type PreparedRequest } from './prepare.js';
import { SealtrailError, isSealtrailError } from '../../lib/errors.js';
import { releaseNow } from '../../lib/own-memory.js';
import type { Metrics } from '../telemetry/metrics.js';
import type { LogFn } from '../../lib/log.js';
import type { IngestResult, Ingestor } from './ingest.js';

/**
 * Decoded audit bytes allowed to wait for the buffer writer at once. Past it, requests are
 * refused as retryable (OVERLOADED) instead of queueing without bound, which keeps the
 * agent's memory bounded under overload.
 */
export const DEFAULT_MAX_PENDING_BYTES = 64 << 20;

export class AuditPipeline implements Ingestor {
  private accepting = true;
  private pendingBytes = 0;
  /** The reason records are being refused right now, logged once per episode (not per request). */
  private refusing: string | null = null;
  /** Forwarding pipelines, told of each acknowledged request (agent/forward/); never awaited. */
  tap: { accepted(req: DecodedRequest, auditCount: number): void } | null = null;

  constructor(
    private readonly filter: AuditFilter,
    private readonly writer: BufferWriter,
    private readonly metrics: Metrics,
    private readonly maxPendingBytes = DEFAULT_MAX_PENDING_BYTES,
    private readonly log: LogFn = () => {},
    private readonly context: AuditContextProcessor | null = null,
  ) {}

  private refused(count: number, code: string, message: string): void {
    this.metrics.recordsRefused += count;
    if (this.refusing === code) return;
    this.refusing = code;
    this.log('warn', 'refusing audit records with a retryable error until this clears', { code, reason: message });
  }

  private acceptedAgain(): void {
    if (this.refusing === null) return;
    this.log('info', 'accepting audit records again', { after: this.refusing });
    this.refusing = null;
  }

  /** Refuse new records from now on (graceful shutdown). */
  stopAccepting(): void {
    this.accepting = false;
  }

  // Async without an await: the frame ends at the return, so `req` is not kept while the write
  // is in flight (unless a forwarding tap needs it afterwards).
  async ingest(req: DecodedRequest): Promise<IngestResult> {
    // Throws BAD_REQUEST (nothing stored) when a record breaks an audit_context `reject` rule.
    const p: PreparedRequest = req.prepared ?? prepareRequest(req, this.filter, this.context);
    if (p.tails !== null && !this.accepting) {
      this.metrics.recordsRefused += p.audit; // shutting down: the stop is logged already
      throw new SealtrailError('SHUTTING_DOWN', 'the agent is shutting down; retry against the restarted agent', {
        retryAfterSeconds: 5,
      });
    }
    const done = this.store(p.tails, p.tally ?? undefined, p.filtered, p.schemaUrlsDropped);
    const tap = this.tap;
    if (tap === null) return done;
    const count = p.audit;
    return done.then((r) => {
      tap.accepted(req, count);
      return r;
    });
  }

  /** Writes the audit entries of one request (none when `tails` is null) and counts them. */
  private async store(
    tails: EntryTails | null,
    tally: ContextTally | undefined,
    filtered: number,
    schemaUrlsDropped: number,
  ): Promise<IngestResult> {
    const count = tails === null ? 0 : tails.ends.length;
    if (tails !== null) {
      const bytes = tails.bytes.length;
      if (this.pendingBytes > 0 && this.pendingBytes + bytes > this.maxPendingBytes) {
        const err = new SealtrailError(
          'OVERLOADED',
          `agent overloaded: ${this.pendingBytes} bytes of records are waiting for the disk; retry later`,
          { retryAfterSeconds: 1 },
        );
        this.refused(count, err.code, err.message);
        throw err;
      }
      this.pendingBytes += bytes;
      try {
        await this.writer.append(tails);
      } catch (err) {
        if (isSealtrailError(err)) this.refused(count, err.code, err.message);
        throw err;
      } finally {
        this.pendingBytes -= bytes;
        // The writer copied them into its entry lines (or refused them): free them now.
        releaseNow(tails.bytes);
      }
      this.acceptedAgain();
      if (tally) this.context!.stored(tally);
      this.metrics.recordsAccepted += count;
    }
    this.metrics.recordsFiltered += filtered;
    this.metrics.schemaUrlsDropped += schemaUrlsDropped;
    return { accepted: count, filtered };
  }
}
