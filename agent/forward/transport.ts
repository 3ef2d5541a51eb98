// The two wire transports of the forwarding exporters: OTLP/gRPC (grpc-js) and OTLP/HTTP
// (node:http/https). Each send() resolves an outcome and never throws; which failures are
// retryable follows https://opentelemetry.io/docs/specs/otlp/#failures.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import { SealtrailError } from '../../lib/errors.js';
import type { OtlpForwardExporterConfig } from '../../config/types.js';
import { encodeRequestJson, encodeRequestProto, rejectedFromJson, rejectedFromProto, type ResourceGroup } from './encode.js';

const gzipAsync = promisify(gzip);

export type SendOutcome = { ok: true; rejected: number } | { ok: false; retryable: boolean; reason: string; retryAfterMs?: number };

export interface Transport {
  send(groups: readonly ResourceGroup[]): Promise<SendOutcome>;
  close(): void;
}

function readTlsFile(file: string | null, what: string, id: string): Buffer | undefined {
  if (file === null) return undefined;
  try {
    return readFileSync(file);
  } catch (err) {
    throw new SealtrailError('CONFIG', `exporters.${id}.tls.${what}: cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
}

const EXPORT_PATH = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';
// Retryable gRPC codes per the OTLP spec (RESOURCE_EXHAUSTED only with retry info; treated as retryable here).
const GRPC_RETRYABLE = new Set([1, 4, 8, 10, 11, 14, 15]);

export function grpcTransport(cfg: OtlpForwardExporterConfig): Transport {
  const ca = readTlsFile(cfg.tls.caFile, 'ca_file', cfg.id);
  const cert = readTlsFile(cfg.tls.certFile, 'cert_file', cfg.id);
  const key = readTlsFile(cfg.tls.keyFile, 'key_file', cfg.id);
  const creds = cfg.tls.insecure ? grpc.credentials.createInsecure() : grpc.credentials.createSsl(ca ?? null, key ?? null, cert ?? null);
  const client = new grpc.Client(cfg.endpoint, creds, {
    'grpc.default_compression_algorithm': cfg.compression === 'gzip' ? 2 : 0,
    'grpc.max_send_message_length': -1,
  });
  return {
    send(groups) {
      let body: Buffer;
      try {
        body = Buffer.from(encodeRequestProto(groups));
      } catch (err) {
        return Promise.resolve({ ok: false, retryable: false, reason: `encode: ${(err as Error).message}` });
      }
      const md = new grpc.Metadata();
      for (const [k, v] of Object.entries(cfg.headers)) md.set(k, v);
      return new Promise((resolve) => {
        client.makeUnaryRequest<Buffer, Buffer>(
          EXPORT_PATH,
          (b) => b,
          (b) => b,
          body,
          md,
          { deadline: Date.now() + cfg.timeoutMs },
          (err, res) => {
            if (err)
              resolve({
                ok: false,
                retryable: GRPC_RETRYABLE.has(err.code),
                reason: `grpc ${grpc.status[err.code] ?? err.code}: ${err.details}`,
              });
            else resolve({ ok: true, rejected: rejectedFromProto(res ?? Buffer.alloc(0)) });
          },
        );
      });
    },
    close: () => client.close(),
  };
}

export function httpTransport(cfg: OtlpForwardExporterConfig): Transport {
  const url = new URL(cfg.endpoint);
  const secure = url.protocol === 'https:';
  const tlsOpts = secure
    ? {
        ca: readTlsFile(cfg.tls.caFile, 'ca_file', cfg.id),
        cert: readTlsFile(cfg.tls.certFile, 'cert_file', cfg.id),
        key: readTlsFile(cfg.tls.keyFile, 'key_file', cfg.id),
      }
    : {};
  const agent = secure ? new https.Agent({ keepAlive: true, ...tlsOpts }) : new http.Agent({ keepAlive: true });
  const contentType = cfg.encoding === 'json' ? 'application/json' : 'application/x-protobuf';
  return {
    async send(groups) {
      let body: Buffer;
      try {
        body = cfg.encoding === 'json' ? Buffer.from(encodeRequestJson(groups)) : Buffer.from(encodeRequestProto(groups));
        if (cfg.compression === 'gzip') body = await gzipAsync(body);
      } catch (err) {
        return { ok: false, retryable: false, reason: `encode: ${(err as Error).message}` };
      }
      const headers: Record<string, string | number> = { ...cfg.headers, 'content-type': contentType, 'content-length': body.length };
      if (cfg.compression === 'gzip') headers['content-encoding'] = 'gzip';
      return new Promise<SendOutcome>((resolve) => {
        const req = (secure ? https : http).request(url, { method: 'POST', headers, agent, timeout: cfg.timeoutMs }, (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            // The answer is small; a server sending megabytes back is not read further.
            if ((size += c.length) <= 1 << 20) chunks.push(c);
          });
          res.on('error', (err) => resolve({ ok: false, retryable: true, reason: `http response: ${err.message}` }));
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            const text = Buffer.concat(chunks);
            if (status >= 200 && status < 300) {
              const json = String(res.headers['content-type'] ?? '').startsWith('application/json');
              resolve({ ok: true, rejected: json ? rejectedFromJson(text.toString('utf8')) : rejectedFromProto(text) });
              return;
            }
            const retryable = status === 429 || status === 502 || status === 503 || status === 504;
            const ra = Number(res.headers['retry-after']);
            resolve({
              ok: false,
              retryable,
              reason: `http ${status}`,
              ...(retryable && Number.isFinite(ra) && ra >= 0 ? { retryAfterMs: ra * 1000 } : {}),
            });
          });
        });
        req.on('timeout', () => req.destroy(new Error(`no answer within ${cfg.timeoutMs}ms`)));
        req.on('error', (err) => resolve({ ok: false, retryable: true, reason: `http: ${err.message}` }));
        req.end(body);
      });
    },
    close: () => agent.destroy(),
  };
}
