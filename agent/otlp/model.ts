// The decoded form of an OTLP ExportLogsServiceRequest that every receiver produces, whatever
// the wire format (protobuf or JSON). Each piece is already canonical OTLP/JSON text
// (proto3 JSON mapping: lowerCamelCase names, int64 as decimal strings, enums as numbers,
// bytes as base64 except traceId/spanId as lowercase hex, default values omitted), so the
// chain only concatenates strings and the same record yields the same entry bytes whether
// it arrived as protobuf or as JSON.

import { entryOverheadBytes } from '../chain/entry.js';
import type { Config } from '../../config/types.js';

/** What the audit filter may test about a record. */
export interface RecordView {
  eventName: string; // '' when absent
  severityNumber: number; // 0 when absent
  severityText: string;
  scopeName: string;
  /**
   * Record attributes by key. Scalar values as strings (bool -> "true"/"false", int as its
   * decimal string, double via JSON number text, bytes as base64); arrays/kvlists -> null.
   */
  attributes: ReadonlyMap<string, string | null>;
  /** Resource attributes, same representation as `attributes`. */
  resourceAttributes: ReadonlyMap<string, string | null>;
}

export interface DecodedRecord {
  /** Canonical OTLP/JSON of the Resource ("{}" when absent). Shared by records of one ResourceLogs. */
  resource: string;
  /** Canonical OTLP/JSON of the InstrumentationScope ("{}" when absent). */
  scope: string;
  /** Canonical OTLP/JSON of the LogRecord. */
  record: string;
  view: RecordView;
}

export interface DecodedRequest {
  records: DecodedRecord[];
  /**
   * schema_url values of ResourceLogs/ScopeLogs that were sent (non-empty) and are not stored:
   * the entry format keeps the Resource, the scope and the record only. Counted in
   * sealtrail_fields_dropped_total{field="schema_url"}.
   */
  schemaUrlsDropped?: number;
  /**
   * Set when the request was decoded and prepared in the decode worker: `records` is then empty
   * and this holds what the pipeline stores (agent/pipeline/prepare.ts).
   */
  prepared?: import('../pipeline/prepare.js').PreparedRequest;
  /** With `prepared`: what it holds on the main thread, from the worker (heldTailBytes in receivers/inflight.ts). */
  decodedBytes?: number;
}

/**
 * Limits applied while decoding hostile input, each checked as the request is decoded (not
 * after), so an amplifying request is refused after a bounded amount of work and memory.
 */
export interface DecodeLimits {
  /** Maximum AnyValue nesting depth (arrays/kvlists inside values). */
  maxDepth: number;
  /** LogRecords per request (receivers.otlp.max_records_per_request). */
  maxRecords: number;
  /** Attributes of one LogRecord, Resource or InstrumentationScope (max_attributes_per_record). */
  maxAttributes: number;
  /**
   * Canonical text per request (max_request_canonical_size): the sum over its records of
   * resource + scope + record JSON, in UTF-16 code units (= bytes for ASCII), i.e. what the
   * request will become in memory and, nearly byte for byte, in the buffer.
   */
  maxCanonicalSize: number;
  /** UTF-8 bytes of one entry line, envelope included, newline excluded (max_entry_size). */
  maxEntryBytes: number;
  /** Bytes the entry envelope adds around resource/scope/record (entryOverheadBytes(env)). */
  entryOverheadBytes: number;
}

export const DEFAULT_DECODE_LIMITS: DecodeLimits = {
  maxDepth: 64,
  maxRecords: 10000,
  maxAttributes: 128,
  maxCanonicalSize: 16 << 20,
  maxEntryBytes: 1 << 20,
  // The agent passes the value for its own environment name.
  entryOverheadBytes: entryOverheadBytes('development'),
};

/** The decode budgets of the receivers' config (receivers.otlp.max_*) for an agent environment. */
export function decodeLimitsFor(r: Config['receivers'], environment: string): DecodeLimits {
  return {
    maxDepth: r.maxDepth,
    maxRecords: r.maxRecordsPerRequest,
    maxAttributes: r.maxAttributesPerRecord,
    maxCanonicalSize: r.maxRequestCanonicalSize,
    maxEntryBytes: r.maxEntrySize,
    entryOverheadBytes: entryOverheadBytes(environment),
  };
}
