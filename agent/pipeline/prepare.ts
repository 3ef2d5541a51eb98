// What a decoded request becomes before it reaches the buffer writer: its audit records as
// entry tails (bytes), the context tally, and the counts. Pure, so it runs on the main thread
// or in the decode worker (agent/otlp/decode-worker.ts) alike.
import type { AuditContextProcessor, ContextTally } from '../context/audit-context.js';
import type { AuditFilter } from '../filter/audit-filter.js';
import { encodeTails, type EntryParts, type EntryTails } from '../chain/entry.js';
import type { DecodedRequest } from '../otlp/model.js';

export interface PreparedRequest {
  /** The audit records as entry tails; null when the request has none. */
  tails: EntryTails | null;
  audit: number;
  filtered: number;
  schemaUrlsDropped: number;
  /** `count` problems of the audit_context checks, applied once stored. */
  tally: ContextTally | null;
}

/**
 * Filters the records, runs the audit_context checks (throws BAD_REQUEST on a `reject` problem;
 * nothing is stored) and encodes the audit records. The decoded strings die here, young,
 * instead of waiting for the group commit's fsync.
 */
export function prepareRequest(req: DecodedRequest, filter: AuditFilter, context: AuditContextProcessor | null): PreparedRequest {
  // Decoded records carry resource, scope and record already: no per-record copy.
  const audit: EntryParts[] = [];
  const indices: number[] = [];
  const records = req.records;
  for (let i = 0; i < records.length; i++) {
    if (!filter(records[i]!.view)) continue;
    audit.push(records[i]!);
    indices.push(i);
  }
  const tally = audit.length > 0 && context !== null ? context.check(records, indices) : null;
  return {
    tails: audit.length > 0 ? encodeTails(audit) : null,
    audit: audit.length,
    filtered: records.length - audit.length,
    schemaUrlsDropped: req.schemaUrlsDropped ?? 0,
    tally,
  };
}
