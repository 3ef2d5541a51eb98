// The decoded form of an OTLP ExportLogsServiceRequest that every receiver produces, whatever
// the wire format (protobuf or JSON). Each piece is already canonical OTLP/JSON text
// (proto3 JSON mapping: lowerCamelCase names, int64 as decimal strings, enums as numbers,
// bytes as base64 except traceId/spanId as lowercase hex, default values omitted), so the
// chain only concatenates strings and the same record yields the same entry bytes whether
// it arrived as protobuf or as JSON.

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
}

/** Limits applied while decoding hostile input. */
export interface DecodeLimits {
  /** Maximum AnyValue nesting depth (arrays/kvlists inside values). */
  maxDepth: number;
}

export const DEFAULT_DECODE_LIMITS: DecodeLimits = { maxDepth: 64 };
