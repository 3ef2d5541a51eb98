// OTLP/gRPC logs receiver (https://opentelemetry.io/docs/specs/otlp/#otlpgrpc): unary calls to
// /opentelemetry.proto.collector.logs.v1.LogsService/Export, served on node:http2 directly
// (https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md).
//
// Not on grpc-js's server: it reads a call's whole message as the chunks HTTP/2 delivers and
// then concatenates them, so every message is held twice while it arrives, and its size is not
// known until then. Here the message reader (grpc-message.ts) learns the size from the 5-byte
// prefix, takes it from the in-flight budget, and copies each chunk into one buffer as it
// arrives; the raw bytes go to our own hostile-input decoder (decode-protobuf.ts).
//
// Every call holds a lease on the in-flight byte budget from its headers to its answer: one
// HTTP/2 stream window at its headers (what a client may send unasked), the message's declared
// size at its prefix, what gzip or deflate turns it into, then what decoding it is expected to
// take. A call that does not fit gets UNAVAILABLE with RetryInfo at the first step it fails,
// before the bytes of that step are read or decoded; one whose message does not arrive within
// read_timeout gets DEADLINE_EXCEEDED (both retryable). Errors are trailers-only responses
// with google.rpc.Status in grpc-status-details-bin.
import { existsSync } from 'node:fs';
import http2 from 'node:http2';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeProtobufRequest } from '../otlp/decode-protobuf.js';
import type { DecodedRequest } from '../otlp/model.js';
import { encodeExportResponseProto, encodeStatusProto } from '../otlp/response.js';
import { SealtrailError, isSealtrailError } from '../../lib/errors.js';
import { releaseNow } from '../../lib/own-memory.js';
import type { GrpcReceiverConfig } from '../../config/types.js';
import type { Ingestor } from '../pipeline/ingest.js';
import {
  GRPC_DEADLINE_EXCEEDED,
  GRPC_INTERNAL,
  GRPC_OK,
  GRPC_UNIMPLEMENTED,
  bearerChecker,
  classify,
  formatAddress,
  listenOn,
  loadTls,
  parseEndpoint,
  type ReceiverHandle,
  type ReceiverOptions,
} from './common.js';
import { GrpcMessageReader, GrpcProtocolError, binaryHeaderValue, percentEncodeGrpcMessage } from './grpc-message.js';
import { DEFAULT_MAX_INFLIGHT_BYTES, InflightBudget, decodedBytes, overBudget, type Lease } from './inflight.js';
import { inflateWithin, type Compression } from './inflate-within.js';

/** Reserved when a call's headers arrive: HTTP/2's initial stream window, what a client may send unasked. */
const HEADER_RESERVATION = 65_535;

const SERVICE_PROTO = 'opentelemetry/proto/collector/logs/v1/logs_service.proto';
export const EXPORT_PATH = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';
const ACCEPT_ENCODING = 'identity,deflate,gzip';
/** The response to every accepted call: an empty ExportLogsServiceResponse, length-prefixed. */
const OK_MESSAGE = frame(encodeExportResponseProto());
/** How long a client that keeps sending after an early answer is given to stop before its stream is reset. */
const DISCARD_GRACE_MS = 1000;

/** proto/ sits at the repository root: three levels above dist/agent/receivers, two above agent/receivers. */
export function findProtoDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'proto');
    if (existsSync(path.join(candidate, SERVICE_PROTO))) return candidate;
    dir = path.dirname(dir);
  }
  throw new SealtrailError('CONFIG', `cannot find proto/${SERVICE_PROTO} above ${fileURLToPath(import.meta.url)}`);
}

function frame(message: Buffer): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out.writeUInt32BE(message.length, 1);
  message.copy(out, 5);
  return out;
}

/** The message's compression, from grpc-encoding; null when we do not speak it. */
function compressionOf(header: string | string[] | undefined): Compression | 'identity' | null {
  const v = (typeof header === 'string' ? header : 'identity').trim().toLowerCase();
  return v === 'identity' || v === 'gzip' || v === 'deflate' ? v : null;
}

function isGrpcContentType(header: string | string[] | undefined): boolean {
  return typeof header === 'string' && /^application\/grpc($|[+;])/i.test(header);
}

export async function startGrpcReceiver(cfg: GrpcReceiverConfig, ingestor: Ingestor, opts: ReceiverOptions): Promise<ReceiverHandle> {
  const { host, port } = parseEndpoint(cfg.endpoint);
  const authorized = bearerChecker(cfg.auth.bearerToken);
  const limits = { ...opts.decodeLimits, maxDepth: opts.maxDepth };
  const decoder = opts.decoder ?? null;
  const { log } = opts;
  const budget = opts.inflight ?? new InflightBudget(DEFAULT_MAX_INFLIGHT_BYTES);

  /**
   * After an answer sent before the client's side ended: what it still sends is read and
   * dropped (well-behaved clients cancel the call once they have its status), and the stream
   * is reset if it has not ended within DISCARD_GRACE_MS. Resetting at once lost the answer
   * itself on Node 22.
   */
  const discardRest = (stream: http2.ServerHttp2Stream): void => {
    if (stream.readableEnded || stream.destroyed) return;
    stream.resume();
    const t = setTimeout(() => {
      if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_CANCEL);
    }, DISCARD_GRACE_MS);
    stream.once('close', () => clearTimeout(t));
  };

  /** Answers a call with an error status (trailers-only), then drops what else the client sends. */
  const fail = (stream: http2.ServerHttp2Stream, err: unknown, peer: string): void => {
    let code: number;
    let message: string;
    let details: Buffer;
    if (err instanceof GrpcProtocolError) {
      ({ grpcCode: code, message } = err);
      if (opts.metrics && code !== GRPC_DEADLINE_EXCEEDED) opts.metrics.requestsRejected++; // a slow message is retryable
      log('debug', 'otlp/grpc: call rejected', { peer, code, error: message });
      details = encodeStatusProto({ code, message });
    } else {
      const f = classify(err);
      ({ grpcCode: code, message } = f);
      if (f.retryable) log('debug', 'otlp/grpc: export refused (retryable)', { peer, error: f.message });
      else {
        if (opts.metrics) opts.metrics.requestsRejected++;
        log('debug', 'otlp/grpc: export rejected', { peer, code, error: f.message });
      }
      if (!isSealtrailError(err)) log('error', 'otlp/grpc: unexpected error', { error: String(err) });
      details = encodeStatusProto({ code, message, ...(f.retryable ? { retryDelaySeconds: f.retryAfterSeconds } : {}) });
    }
    if (stream.destroyed || stream.headersSent) return;
    stream.respond(
      {
        ':status': 200,
        'content-type': 'application/grpc',
        'grpc-accept-encoding': ACCEPT_ENCODING,
        'grpc-status': String(code),
        'grpc-message': percentEncodeGrpcMessage(message),
        'grpc-status-details-bin': binaryHeaderValue(details),
      },
      { endStream: true },
    );
    discardRest(stream);
  };

  const succeed = (stream: http2.ServerHttp2Stream): void => {
    if (stream.destroyed || stream.headersSent) return;
    stream.respond(
      { ':status': 200, 'content-type': 'application/grpc', 'grpc-accept-encoding': ACCEPT_ENCODING },
      { waitForTrailers: true },
    );
    stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': String(GRPC_OK) }));
    stream.end(OK_MESSAGE);
  };

  /** Decodes and stores one call's message, holding its lease; resolves when the call is answered. */
  async function handle(stream: http2.ServerHttp2Stream, message: Buffer, lease: Lease, refuse: (err: unknown) => void): Promise<void> {
    const bodyBytes = message.length; // a body decoded in the worker is transferred there (detached here)
    // As in otlp-http.ts: check that what decoding is expected to take fits before decoding.
    const expected = budget.expectedDecoded('protobuf', bodyBytes);
    if (!lease.grow(expected)) {
      releaseNow(message); // refused undecoded: free it now, not at the next full collection
      return refuse(overBudget(budget.max));
    }
    let decoded: DecodedRequest | null = decoder ? await decoder.decode(message, 'protobuf') : decodeProtobufRequest(message, limits);
    const took = decodedBytes(decoded);
    budget.noteDecoded('protobuf', bodyBytes, took);
    if (!lease.grow(took - expected)) return refuse(overBudget(budget.max));
    const stored = ingestor.ingest(decoded);
    // eslint-disable-next-line no-useless-assignment -- frees the decoded request for the GC before the fsync
    decoded = null;
    await stored;
    succeed(stream);
  }

  function onStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    const socket = stream.session?.socket;
    const peer = socket ? formatAddress(socket.remoteAddress ?? '?', socket.remotePort ?? 0) : '?';
    stream.on('error', (err) => log('debug', 'otlp/grpc: stream error', { peer, error: err.message }));
    if (headers[':method'] !== 'POST') {
      stream.respond({ ':status': 405, allow: 'POST' }, { endStream: true });
      return discardRest(stream);
    }
    if (!isGrpcContentType(headers['content-type'])) {
      stream.respond({ ':status': 415 }, { endStream: true });
      return discardRest(stream);
    }
    if (headers[':path'] !== EXPORT_PATH) {
      const p = String(headers[':path'] ?? '').slice(0, 200);
      return fail(stream, new GrpcProtocolError(GRPC_UNIMPLEMENTED, `unknown method ${p}; logs go to ${EXPORT_PATH}`), peer);
    }
    const auth = headers.authorization;
    if (!authorized(typeof auth === 'string' ? auth : undefined)) {
      return fail(stream, new SealtrailError('UNAUTHENTICATED', 'missing or wrong bearer token'), peer);
    }
    const encoding = compressionOf(headers['grpc-encoding']);
    const lease = budget.acquire(HEADER_RESERVATION);
    if (lease === null) return fail(stream, overBudget(budget.max), peer);
    stream.once('close', () => {
      clearTimeout(timer);
      lease.release();
    });
    const reader = new GrpcMessageReader(
      cfg.maxRecvMsgSize,
      (bytes) => lease.grow(bytes - lease.bytes),
      () => overBudget(budget.max),
    );
    /** Refuses the call: its lease goes back now, not when the client gets round to closing the stream. */
    const refuse = (err: unknown): void => {
      clearTimeout(timer);
      lease.release();
      fail(stream, err, peer);
    };
    let done = false;
    const stop = (err: unknown): void => {
      if (done) return;
      done = true;
      stream.removeListener('data', onData);
      refuse(err);
    };
    const timer = setTimeout(() => {
      stop(new GrpcProtocolError(GRPC_DEADLINE_EXCEEDED, `request message not received within ${cfg.readTimeoutMs} ms`));
    }, cfg.readTimeoutMs);
    const onData = (chunk: Buffer): void => {
      try {
        reader.push(chunk);
      } catch (err) {
        stop(err);
      }
    };
    stream.on('data', onData);
    stream.once('end', () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      let message: Buffer;
      let compressed: boolean;
      try {
        const m = reader.finish();
        message = m.bytes;
        compressed = m.compressed;
        if (m.compressed && encoding === 'identity') {
          throw new GrpcProtocolError(GRPC_INTERNAL, 'the message is flagged compressed, but grpc-encoding is identity');
        }
        if (m.compressed && encoding === null) {
          throw new GrpcProtocolError(
            GRPC_UNIMPLEMENTED,
            `grpc-encoding ${String(headers['grpc-encoding']).slice(0, 64)} is not supported; use ${ACCEPT_ENCODING}`,
          );
        }
      } catch (err) {
        return refuse(err);
      }
      const inflated =
        compressed && encoding !== 'identity' && encoding !== null
          ? inflateWithin(message, encoding, cfg.maxRecvMsgSize, lease, budget.max).then((m) => {
              const wire = message.length;
              releaseNow(message); // inflated whole: nothing reads the compressed bytes again
              lease.resize(lease.bytes - wire);
              return m;
            })
          : Promise.resolve(message);
      inflated.then((m) => handle(stream, m, lease, refuse)).catch(refuse);
    });
  }

  const sessions = new Set<http2.ServerHttp2Session>();
  const onSession = (session: http2.ServerHttp2Session): void => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
    session.on('error', (err: Error) => log('debug', 'otlp/grpc: connection error', { error: err.message }));
  };
  let server: http2.Http2Server | http2.Http2SecureServer;
  if (cfg.tls) {
    const t = loadTls(cfg.tls);
    server = http2.createSecureServer({
      cert: t.cert,
      key: t.key,
      ...(t.ca ? { ca: t.ca, requestCert: true, rejectUnauthorized: true } : {}),
    });
  } else {
    server = http2.createServer();
  }
  server.on('stream', onStream);
  server.on('session', onSession);

  const address = await listenOn(server, host, port, 'gRPC', cfg.endpoint);
  server.on('error', (err: Error) => log('error', 'otlp/grpc: server error', { error: err.message }));
  log('info', 'otlp/grpc: listening', { address, tls: cfg.tls !== null, auth: cfg.auth.bearerToken !== null });

  let closing: Promise<void> | null = null;
  return {
    address,
    close(graceful: boolean): Promise<void> {
      closing ??= new Promise<void>((resolve) => server.close(() => resolve()));
      // GOAWAY: a graceful close lets the calls in flight finish, the other one ends them now.
      for (const s of sessions) {
        if (graceful) s.close();
        else s.destroy();
      }
      return closing;
    },
  };
}
