// Re-encodes decoded records as an ExportLogsServiceRequest, for forwarding. The decoded pieces
// are canonical OTLP/JSON (agent/otlp/model.ts), so the JSON body is built by concatenation
// and the protobuf body by protobufjs from the parsed JSON; both keep every field the decoder
// kept. Adjacent records that share a resource and a scope are grouped into one ResourceLogs
// and one ScopeLogs, which restores the sender's grouping (ResourceLogs/ScopeLogs schema_url
// is not kept by the decoder, so it is not forwarded).
import path from 'node:path';
import protobuf from 'protobufjs';
import type { DecodedRecord } from '../otlp/model.js';
import { findProtoDir } from '../receivers/otlp-grpc.js';

export interface ScopeGroup {
  scope: string;
  records: string[];
}

export interface ResourceGroup {
  resource: string;
  scopes: ScopeGroup[];
}

/** Groups consecutive records by resource, then by scope, keeping their order. */
export function groupRecords(records: readonly DecodedRecord[]): ResourceGroup[] {
  const out: ResourceGroup[] = [];
  let res: ResourceGroup | null = null;
  let scope: ScopeGroup | null = null;
  for (const r of records) {
    if (res === null || res.resource !== r.resource) {
      res = { resource: r.resource, scopes: [] };
      out.push(res);
      scope = null;
    }
    if (scope === null || scope.scope !== r.scope) {
      scope = { scope: r.scope, records: [] };
      res.scopes.push(scope);
    }
    scope.records.push(r.record);
  }
  return out;
}

/** OTLP/JSON ExportLogsServiceRequest text. */
export function encodeRequestJson(groups: readonly ResourceGroup[]): string {
  let s = '{"resourceLogs":[';
  groups.forEach((g, i) => {
    if (i > 0) s += ',';
    s += `{"resource":${g.resource},"scopeLogs":[`;
    g.scopes.forEach((sc, j) => {
      if (j > 0) s += ',';
      s += `{"scope":${sc.scope},"logRecords":[${sc.records.join(',')}]}`;
    });
    s += ']}';
  });
  return s + ']}';
}

let types: { request: protobuf.Type; response: protobuf.Type } | null = null;

/** The OTLP request/response message types, loaded once from proto/. */
export function otlpTypes(): { request: protobuf.Type; response: protobuf.Type } {
  if (types) return types;
  const dir = findProtoDir();
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => path.join(dir, target);
  root.loadSync('opentelemetry/proto/collector/logs/v1/logs_service.proto');
  types = {
    request: root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest'),
    response: root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse'),
  };
  return types;
}

/** OTLP/JSON writes traceId/spanId as hex where protobuf's JSON form would use base64. */
function recordObject(text: string): Record<string, unknown> {
  const r = JSON.parse(text) as Record<string, unknown>;
  if (typeof r.traceId === 'string') r.traceId = Buffer.from(r.traceId, 'hex');
  if (typeof r.spanId === 'string') r.spanId = Buffer.from(r.spanId, 'hex');
  return r;
}

/** Binary protobuf ExportLogsServiceRequest. */
export function encodeRequestProto(groups: readonly ResourceGroup[]): Uint8Array {
  const { request } = otlpTypes();
  const obj = {
    resourceLogs: groups.map((g) => ({
      resource: JSON.parse(g.resource) as unknown,
      scopeLogs: g.scopes.map((sc) => ({ scope: JSON.parse(sc.scope) as unknown, logRecords: sc.records.map(recordObject) })),
    })),
  };
  return request.encode(request.fromObject(obj)).finish();
}

/** rejected_log_records from an ExportLogsServiceResponse body (0 when absent or unreadable). */
export function rejectedFromProto(body: Uint8Array): number {
  if (body.length === 0) return 0;
  try {
    const m = otlpTypes().response.toObject(otlpTypes().response.decode(body), { longs: Number }) as {
      partialSuccess?: { rejectedLogRecords?: number };
    };
    return Number(m.partialSuccess?.rejectedLogRecords ?? 0);
  } catch {
    return 0;
  }
}

export function rejectedFromJson(body: string): number {
  try {
    const m = JSON.parse(body) as { partialSuccess?: { rejectedLogRecords?: number | string } };
    const n = Number(m?.partialSuccess?.rejectedLogRecords ?? 0);
    return Number.isFinite(n) ? n : 0;
  } catch {
    return 0;
  }
}
