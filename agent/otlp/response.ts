// Encoders for what the receivers send back: ExportLogsServiceResponse (logs_service.proto)
// and google.rpc.Status (https://github.com/googleapis/googleapis google/rpc/status.proto),
// optionally carrying a google.rpc.RetryInfo detail (google/rpc/error_details.proto), in
// protobuf and in the proto3 JSON mapping. The messages are tiny, so they are written by hand.

export interface PartialSuccess {
  rejectedLogRecords: number;
  errorMessage: string;
}

export interface RpcStatus {
  code: number; // google.rpc.Code (gRPC status code)
  message: string;
  /** Adds a google.rpc.RetryInfo detail with this retry delay. */
  retryDelaySeconds?: number;
}

export const RETRY_INFO_TYPE_URL = 'type.googleapis.com/google.rpc.RetryInfo';

function varint(n: number): number[] {
  // Only non-negative integers below 2^53 are written here.
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return out;
}

function lenField(field: number, payload: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([(field << 3) | 2, ...varint(payload.length)]), payload]);
}

function varintField(field: number, n: number): Buffer {
  return Buffer.from([(field << 3) | 0, ...varint(n)]);
}

/** Protobuf ExportLogsServiceResponse; empty (zero bytes) for full success. */
export function encodeExportResponseProto(partial?: PartialSuccess): Buffer {
  if (partial === undefined || (partial.rejectedLogRecords === 0 && partial.errorMessage === '')) return Buffer.alloc(0);
  const parts: Buffer[] = [];
  if (partial.rejectedLogRecords !== 0) parts.push(varintField(1, partial.rejectedLogRecords));
  if (partial.errorMessage !== '') parts.push(lenField(2, Buffer.from(partial.errorMessage, 'utf8')));
  return lenField(1, Buffer.concat(parts));
}

/** OTLP/JSON ExportLogsServiceResponse; "{}" for full success. */
export function encodeExportResponseJson(partial?: PartialSuccess): string {
  if (partial === undefined || (partial.rejectedLogRecords === 0 && partial.errorMessage === '')) return '{}';
  const ps: Record<string, string> = {};
  if (partial.rejectedLogRecords !== 0) ps.rejectedLogRecords = String(partial.rejectedLogRecords);
  if (partial.errorMessage !== '') ps.errorMessage = partial.errorMessage;
  return JSON.stringify({ partialSuccess: ps });
}

function retryInfoProto(seconds: number): Buffer {
  // RetryInfo { Duration retry_delay = 1 }, Duration { int64 seconds = 1; int32 nanos = 2 }
  const duration = seconds > 0 ? varintField(1, Math.floor(seconds)) : Buffer.alloc(0);
  return lenField(1, duration);
}

/** Protobuf google.rpc.Status (the grpc-status-details-bin payload and the HTTP error body). */
export function encodeStatusProto(status: RpcStatus): Buffer {
  const parts: Buffer[] = [];
  if (status.code !== 0) parts.push(varintField(1, status.code));
  if (status.message !== '') parts.push(lenField(2, Buffer.from(status.message, 'utf8')));
  if (status.retryDelaySeconds !== undefined) {
    // Any { string type_url = 1; bytes value = 2 }
    const any = Buffer.concat([lenField(1, Buffer.from(RETRY_INFO_TYPE_URL)), lenField(2, retryInfoProto(status.retryDelaySeconds))]);
    parts.push(lenField(3, any));
  }
  return Buffer.concat(parts);
}

/** google.rpc.Status in the proto3 JSON mapping (Any carries "@type"; Duration is "<n>s"). */
export function encodeStatusJson(status: RpcStatus): string {
  const out: Record<string, unknown> = {};
  if (status.code !== 0) out.code = status.code;
  if (status.message !== '') out.message = status.message;
  if (status.retryDelaySeconds !== undefined) {
    out.details = [{ '@type': RETRY_INFO_TYPE_URL, retryDelay: `${Math.max(0, Math.floor(status.retryDelaySeconds))}s` }];
  }
  return JSON.stringify(out);
}
