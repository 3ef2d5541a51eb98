// A plain OTLP client for tests that need per-request acknowledgements (durability, load):
// requests are encoded with protobufjs from the project's proto/ files and sent over real
// HTTP (fetch) or real gRPC (@grpc/grpc-js).
import path from 'node:path';
import protobuf from 'protobufjs';
import * as grpc from '@grpc/grpc-js';
import { REPO_ROOT } from './agent.js';

const root = new protobuf.Root();
root.resolvePath = (_origin, target) => path.join(REPO_ROOT, 'proto', target);
root.loadSync('opentelemetry/proto/collector/logs/v1/logs_service.proto');
export const ExportLogsServiceRequest = root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest');
export const ExportLogsServiceResponse = root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse');

export interface SimpleRecord {
  body: string;
  attributes?: Record<string, string | boolean | number>;
  eventName?: string;
  severityNumber?: number;
}

function anyValue(v: string | boolean | number): Record<string, unknown> {
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'number') return Number.isInteger(v) ? { intValue: v } : { doubleValue: v };
  return { stringValue: v };
}

/** Encodes one ExportLogsServiceRequest with one resource and one scope. */
export function encodeRequest(records: SimpleRecord[], service = 'load-app'): Buffer {
  const now = BigInt(Date.now()) * 1_000_000n;
  const msg = ExportLogsServiceRequest.fromObject({
    resourceLogs: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
        scopeLogs: [
          {
            scope: { name: 'load', version: '1' },
            logRecords: records.map((r) => ({
              timeUnixNano: now.toString(),
              severityNumber: r.severityNumber ?? 9,
              body: { stringValue: r.body },
              attributes: Object.entries(r.attributes ?? {}).map(([key, v]) => ({ key, value: anyValue(v) })),
              eventName: r.eventName ?? '',
            })),
          },
        ],
      },
    ],
  });
  return Buffer.from(ExportLogsServiceRequest.encode(msg).finish());
}

export async function postHttp(httpAddr: string, body: Buffer): Promise<{ status: number; headers: Headers; body: Buffer }> {
  // Bounded so a stuck agent fails the test that sent the request instead of holding it.
  const res = await fetch(`http://${httpAddr}/v1/logs`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-protobuf' },
    body,
    signal: AbortSignal.timeout(60_000),
  });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

const EXPORT_PATH = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';

export class GrpcLogsClient {
  private readonly client: grpc.Client;
  constructor(addr: string) {
    this.client = new grpc.Client(addr, grpc.credentials.createInsecure());
  }
  /** `metadata`: the trailers of a failed call (grpc-status-details-bin and the like). */
  export(body: Buffer, deadlineMs = 30000): Promise<{ code: number; details: string; metadata?: grpc.Metadata }> {
    return new Promise((resolve) => {
      this.client.makeUnaryRequest(
        EXPORT_PATH,
        (b: Buffer) => b,
        (b: Buffer) => b,
        body,
        new grpc.Metadata(),
        { deadline: Date.now() + deadlineMs },
        (err: grpc.ServiceError | null) =>
          resolve(err ? { code: err.code, details: err.details, metadata: err.metadata } : { code: grpc.status.OK, details: '' }),
      );
    });
  }
  close(): void {
    this.client.close();
  }
}
