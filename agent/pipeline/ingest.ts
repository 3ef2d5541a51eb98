// The contract between receivers and the rest of the agent.
import type { DecodedRequest } from '../otlp/model.js';

export interface IngestResult {
  /** Audit records chained and durably written (fsync) before this promise resolved. */
  accepted: number;
  /** Non-audit records, counted; dropped, or forwarded best effort by a forwarding pipeline. */
  filtered: number;
}

export interface Ingestor {
  /**
   * Filters the request, chains its audit records and resolves only after they are on disk.
   * All or nothing: on failure no record of the request is acknowledged or kept, and it
   * rejects with a SealtrailError — BUFFER_FULL, SHUTTING_DOWN or STORAGE (all retryable),
   * or BAD_REQUEST (permanent) when an audit_context `reject` rule refuses the request.
   */
  ingest(req: DecodedRequest): Promise<IngestResult>;
}
