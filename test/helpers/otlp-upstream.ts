// Real OTLP log receivers standing in for the "rest of the pipeline" in forwarding tests: an
// OTLP/gRPC server on @grpc/grpc-js and an OTLP/HTTP server on node:http. They decode each
// request with protobufjs straight from proto/ (not through sealtrail's decoders) and keep it
// as a plain object (int64 as decimal strings, bytes as base64).
import http from 'node:http';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { REPO_ROOT } from './agent.js';

export interface Received {
  headers: Record<string, string>;
  request: OtlpRequestObject;
}

export interface OtlpRequestObject {
  resourceLogs?: Array<{
    resource?: unknown;
    schemaUrl?: string;
    scopeLogs?: Array<{ scope?: unknown; schemaUrl?: string; logRecords?: Array<Record<string, unknown>> }>;
  }>;
}

export interface Upstream {
  /** host:port */
  address: string;
  received: Received[];
  close(): Promise<void>;
}

let types: { req: protobuf.Type; res: protobuf.Type } | null = null;
function otlp(): { req: protobuf.Type; res: protobuf.Type } {
  if (types) return types;
  const root = new protobuf.Root();
  root.resolvePath = (_o, target) => path.join(REPO_ROOT, 'proto', target);
  root.loadSync('opentelemetry/proto/collector/logs/v1/logs_service.proto');
  types = {
    req: root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest'),
    res: root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse'),
  };
  return types;
}

export function decodeOtlpRequest(bytes: Uint8Array): OtlpRequestObject {
  const t = otlp().req;
  return t.toObject(t.decode(bytes), { longs: String, bytes: String, enums: Number, defaults: false, arrays: false });
}

const emptyResponse = (): Buffer => Buffer.from(otlp().res.encode(otlp().res.create({})).finish());

export async function startGrpcUpstream(): Promise<Upstream> {
  const received: Received[] = [];
  const server = new grpc.Server();
  server.addService(
    {
      Export: {
        path: '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
        requestStream: false,
        responseStream: false,
        requestSerialize: (b: Buffer) => b,
        requestDeserialize: (b: Buffer) => b,
        responseSerialize: (b: Buffer) => b,
        responseDeserialize: (b: Buffer) => b,
      },
    },
    {
      Export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(call.metadata.getMap())) headers[k] = String(v);
        received.push({ headers, request: decodeOtlpRequest(call.request) });
        cb(null, emptyResponse());
      },
    },
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    address: `127.0.0.1:${port}`,
    received,
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}

export async function startHttpUpstream(): Promise<Upstream> {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      if (req.url !== '/v1/logs' || req.headers['content-type'] !== 'application/x-protobuf') {
        res.writeHead(400).end();
        return;
      }
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) headers[k] = String(v);
      received.push({ headers, request: decodeOtlpRequest(body) });
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end(emptyResponse());
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address() as { port: number };
  return {
    address: `127.0.0.1:${addr.port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
