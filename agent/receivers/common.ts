// What the two OTLP receivers share: options, the returned handle, bearer-token checks,
// TLS material and how agent errors map to gRPC status codes
// (https://opentelemetry.io/docs/specs/otlp/#failures: retryable -> UNAVAILABLE / 503).
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type net from 'node:net';
import { SealtrailError, isSealtrailError } from '../../lib/errors.js';
import type { TlsConfig } from '../../config/types.js';
import type { DecodeLimits } from '../otlp/model.js';
import type { LogFn } from '../../lib/log.js';
import type { InflightBudget } from './inflight.js';

import type { RequestDecoder } from '../otlp/decode-pool.js';

export interface ReceiverOptions {
  /** AnyValue nesting limit (config receivers.maxDepth). */
  maxDepth: number;
  /** The per-request decode budgets (config receivers.otlp.max_*); unset ones take DEFAULT_DECODE_LIMITS. */
  decodeLimits?: Partial<DecodeLimits>;
  log: LogFn;
  /** Counts requests refused as malformed, too large or unauthenticated. */
  metrics?: { requestsRejected: number };
  /** The receiver's in-flight byte budget, shared by its protocols; absent = a private one of the default size. */
  inflight?: InflightBudget;
  /** Decodes bodies off the main thread (agent/otlp/decode-pool.ts); absent = decode here. */
  decoder?: RequestDecoder;
}

export interface ReceiverHandle {
  /** host:port actually bound (the port is real even when the config said 0). */
  address: string;
  /** graceful: finish in-flight calls first; otherwise drop connections now. Safe to call twice. */
  close(graceful: boolean): Promise<void>;
}

/** Seconds a client is told to wait when a retryable error carries no hint of its own. */
export const DEFAULT_RETRY_AFTER_SECONDS = 1;

// gRPC status codes (https://grpc.github.io/grpc/core/md_doc_statuscodes.html).
export const GRPC_OK = 0;
export const GRPC_INVALID_ARGUMENT = 3;
export const GRPC_DEADLINE_EXCEEDED = 4;
export const GRPC_NOT_FOUND = 5;
export const GRPC_RESOURCE_EXHAUSTED = 8;
export const GRPC_UNIMPLEMENTED = 12;
export const GRPC_INTERNAL = 13;
export const GRPC_UNAVAILABLE = 14;
export const GRPC_UNAUTHENTICATED = 16;

/** Splits "host:port" or "[v6]:port"; the port must be 0..65535. */
export function parseEndpoint(endpoint: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+):(\d{1,5})$/.exec(endpoint);
  const port = m ? Number(m[2]) : -1;
  if (!m || port > 65535) throw new SealtrailError('CONFIG', `receiver endpoint "${endpoint}" is not host:port`);
  const host = m[1]!.startsWith('[') ? m[1]!.slice(1, -1) : m[1]!;
  return { host, port };
}

export function formatAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Binds `server` to host:port; a bind failure is a CONFIG error naming the receiver. Returns
 * the address actually bound (port 0 becomes the port the system picked).
 */
export async function listenOn(server: net.Server, host: string, port: number, receiver: string, endpoint: string): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void =>
      reject(new SealtrailError('CONFIG', `${receiver} receiver cannot bind ${endpoint}: ${err.message}`, { cause: err }));
    server.once('error', onError);
    server.listen(port, host, () => {
      server.removeListener('error', onError);
      resolve();
    });
  });
  const addr = server.address();
  return formatAddress(host, typeof addr === 'object' && addr !== null ? addr.port : port);
}

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  ca: Buffer | null;
}

/** Reads the TLS files at start-up, so a bad path fails fast with a CONFIG error. */
export function loadTls(tls: TlsConfig): TlsMaterial {
  const read = (file: string, what: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new SealtrailError('CONFIG', `cannot read TLS ${what} ${file}`, { cause: err });
    }
  };
  return {
    cert: read(tls.certFile, 'certificate'),
    key: read(tls.keyFile, 'key'),
    ca: tls.clientCaFile === null ? null : read(tls.clientCaFile, 'client CA'),
  };
}

/**
 * Returns a checker for "Authorization: Bearer <token>" values; null token = auth disabled.
 * Compares digests in constant time so response timing does not leak the token.
 */
export function bearerChecker(token: string | null): (header: string | undefined) => boolean {
  if (token === null) return () => true;
  const want = createHash('sha256').update(token).digest();
  return (header) => {
    if (header === undefined) return false;
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
    if (!m) return false;
    return timingSafeEqual(createHash('sha256').update(m[1]!).digest(), want);
  };
}

/** How an error from decoding or ingesting is reported. */
export interface Failure {
  grpcCode: number;
  httpStatus: number;
  retryable: boolean;
  retryAfterSeconds: number | undefined;
  message: string;
}

export function classify(err: unknown): Failure {
  if (isSealtrailError(err)) {
    if (err.retryable) {
      return {
        grpcCode: GRPC_UNAVAILABLE,
        httpStatus: 503,
        retryable: true,
        retryAfterSeconds: err.retryAfterSeconds ?? DEFAULT_RETRY_AFTER_SECONDS,
        message: err.message,
      };
    }
    switch (err.code) {
      case 'TOO_LARGE':
        return { grpcCode: GRPC_RESOURCE_EXHAUSTED, httpStatus: 413, retryable: false, retryAfterSeconds: undefined, message: err.message };
      case 'UNAUTHENTICATED':
        return { grpcCode: GRPC_UNAUTHENTICATED, httpStatus: 401, retryable: false, retryAfterSeconds: undefined, message: err.message };
      case 'UNSUPPORTED_MEDIA_TYPE':
        return { grpcCode: GRPC_INVALID_ARGUMENT, httpStatus: 415, retryable: false, retryAfterSeconds: undefined, message: err.message };
      case 'NOT_FOUND':
        return { grpcCode: GRPC_NOT_FOUND, httpStatus: 404, retryable: false, retryAfterSeconds: undefined, message: err.message };
      case 'METHOD_NOT_ALLOWED':
        return { grpcCode: GRPC_UNIMPLEMENTED, httpStatus: 405, retryable: false, retryAfterSeconds: undefined, message: err.message };
      case 'BAD_REQUEST':
      case 'TOO_DEEP':
        return { grpcCode: GRPC_INVALID_ARGUMENT, httpStatus: 400, retryable: false, retryAfterSeconds: undefined, message: err.message };
      default:
        break;
    }
  }
  // Anything else is our fault, and nothing was acknowledged: ask the client to retry rather
  // than have it drop audit records.
  return {
    grpcCode: GRPC_UNAVAILABLE,
    httpStatus: 503,
    retryable: true,
    retryAfterSeconds: DEFAULT_RETRY_AFTER_SECONDS,
    message: 'internal error; retry later',
  };
}
