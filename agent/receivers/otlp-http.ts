// OTLP/HTTP logs receiver (https://opentelemetry.io/docs/specs/otlp/#otlphttp): POST /v1/logs
// with application/x-protobuf or application/json bodies, identity or gzip encoded. Responses
// (ExportLogsServiceResponse, or google.rpc.Status on error) use the request's content type.
//
// Every byte from the client is hostile: the body is counted while it streams and never
// buffered past maxRequestBodySize (the rest is read and thrown away, up to a bound, so the
// client can see the 413; past that bound the connection is dropped); gunzip stops at
// maxDecompressedSize, so a decompression bomb costs at most that much. Each request holds a
// lease on the receiver's in-flight byte budget (inflight.ts) from its headers to its answer;
// one that does not fit is refused (503 + Retry-After) before its body is read.
//
// Framing: `Expect: 100-continue` gets its 100 only after every header check and the budget
// passed; headers and whole requests have deadlines (read_header_timeout, read_timeout); and a
// parse error on a pipelined connection is answered after the responses before it (order.ts).
import http from 'node:http';
import https from 'node:https';
import { decodeJsonRequest } from '../otlp/decode-json.js';
import { decodeProtobufRequest } from '../otlp/decode-protobuf.js';
import { encodeExportResponseJson, encodeExportResponseProto, encodeStatusJson, encodeStatusProto } from '../otlp/response.js';
import { SealtrailError, isSealtrailError } from '../../lib/errors.js';
import { releaseNow } from '../../lib/own-memory.js';
import type { HttpReceiverConfig } from '../../config/types.js';
import type { Ingestor } from '../pipeline/ingest.js';
import type { DecodedRequest } from '../otlp/model.js';
import type { BodyFormat } from '../otlp/decode-pool.js';
import { bearerChecker, classify, listenOn, loadTls, parseEndpoint, type ReceiverHandle, type ReceiverOptions } from './common.js';
import { DEFAULT_MAX_INFLIGHT_BYTES, InflightBudget, decodedBytes, overBudget } from './inflight.js';
import { inflateWithin } from './inflate-within.js';
import { ResponseOrder } from './order.js';
import { readBody, type BodyResult } from './read-body.js';

const EMPTY_BODY = Buffer.alloc(0);

export const LOGS_PATH = '/v1/logs';
const CT_PROTOBUF = 'application/x-protobuf';
const CT_JSON = 'application/json';

/** Media type without parameters, lower-cased ("application/json; charset=utf-8" -> "application/json"). */
function mediaType(header: string | undefined): string {
  if (header === undefined) return '';
  const semi = header.indexOf(';');
  return (semi < 0 ? header : header.slice(0, semi)).trim().toLowerCase();
}

function formatOf(header: string | undefined): BodyFormat | null {
  const mt = mediaType(header);
  return mt === CT_PROTOBUF ? 'protobuf' : mt === CT_JSON ? 'json' : null;
}

/** Node's timer that enforces headersTimeout/requestTimeout runs this often: a fraction of the shorter deadline, at most 1 s. */
function checkingInterval(cfg: HttpReceiverConfig): number {
  return Math.max(50, Math.min(1000, Math.floor(Math.min(cfg.readHeaderTimeoutMs, cfg.readTimeoutMs) / 4)));
}

export async function startHttpReceiver(cfg: HttpReceiverConfig, ingestor: Ingestor, opts: ReceiverOptions): Promise<ReceiverHandle> {
  const { host, port } = parseEndpoint(cfg.endpoint);
  const authorized = bearerChecker(cfg.auth.bearerToken);
  const limits = { ...opts.decodeLimits, maxDepth: opts.maxDepth };
  const decoder = opts.decoder ?? null;
  const { log } = opts;
  const budget = opts.inflight ?? new InflightBudget(DEFAULT_MAX_INFLIGHT_BYTES);
  const order = new ResponseOrder(log);
  // Bytes we are willing to read and throw away after a refusal, so the client sees our answer.
  const drainLimit = Math.max(cfg.maxRequestBodySize, 1 << 20);

  function send(
    res: http.ServerResponse,
    status: number,
    format: BodyFormat,
    body: Buffer | string,
    headers: Record<string, string> = {},
  ): void {
    if (res.headersSent || res.destroyed) return;
    res.writeHead(status, {
      'Content-Type': format === 'json' ? CT_JSON : CT_PROTOBUF,
      'Content-Length': String(Buffer.byteLength(body)),
      ...headers,
    });
    res.end(body);
  }

  /** `drained` false: the body was not read to its end, so the connection is dropped after the answer. */
  function sendError(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    format: BodyFormat,
    err: unknown,
    drained = true,
    close = false,
  ): void {
    const f = classify(err);
    const headers: Record<string, string> = {};
    if (f.retryable) {
      headers['Retry-After'] = String(f.retryAfterSeconds);
      log('debug', 'otlp/http: export refused (retryable)', { remote: req.socket.remoteAddress, error: f.message });
    } else {
      if (opts.metrics) opts.metrics.requestsRejected++;
      log('debug', 'otlp/http: request rejected', { remote: req.socket.remoteAddress, status: f.httpStatus, error: f.message });
    }
    if (!isSealtrailError(err)) log('error', 'otlp/http: unexpected error', { error: String(err) });
    if (f.httpStatus === 405) headers.Allow = 'POST';
    if (f.httpStatus === 401) headers['WWW-Authenticate'] = 'Bearer';
    if (!drained || close) headers.Connection = 'close';
    const status = { code: f.grpcCode, message: f.message, ...(f.retryable ? { retryDelaySeconds: f.retryAfterSeconds } : {}) };
    send(res, f.httpStatus, format, format === 'json' ? encodeStatusJson(status) : encodeStatusProto(status), headers);
    if (!drained) res.once('finish', () => req.socket.destroy());
  }

  /**
   * Refuses before reading the body: discard what the client sends (bounded), then answer.
   * A client that sent `Expect: 100-continue` has not sent its body and waits for our word, so
   * it gets the final status at once, with Connection: close (Node discards whatever body still
   * comes until the client closes, instead of parsing it as the next request).
   */
  async function refuse(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    format: BodyFormat,
    err: SealtrailError,
    expectContinue: boolean,
  ): Promise<void> {
    if (expectContinue) return sendError(req, res, format, err, true, true);
    const r = await readBody(req, 0, drainLimit).catch(() => null);
    if (r === null) return; // the client went away
    sendError(req, res, format, err, !('drained' in r) || r.drained);
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse, expectContinue: boolean): Promise<void> {
    const format = formatOf(req.headers['content-type']) ?? 'json';
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const pathname = q < 0 ? url : url.slice(0, q);
    const no = (err: SealtrailError): Promise<void> => refuse(req, res, format, err, expectContinue);
    if (pathname !== LOGS_PATH)
      return no(new SealtrailError('NOT_FOUND', `no such endpoint ${pathname.slice(0, 200)}; logs go to POST ${LOGS_PATH}`));
    if (req.method !== 'POST') return no(new SealtrailError('METHOD_NOT_ALLOWED', `${LOGS_PATH} accepts POST only`));
    if (!authorized(req.headers.authorization)) return no(new SealtrailError('UNAUTHENTICATED', 'missing or wrong bearer token'));
    if (formatOf(req.headers['content-type']) === null) {
      return no(new SealtrailError('UNSUPPORTED_MEDIA_TYPE', `Content-Type must be ${CT_PROTOBUF} or ${CT_JSON}`));
    }
    const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
    if (encoding !== 'identity' && encoding !== 'gzip' && encoding !== '') {
      return no(new SealtrailError('UNSUPPORTED_MEDIA_TYPE', 'Content-Encoding must be gzip or identity'));
    }
    const declared = Number(req.headers['content-length'] ?? '0');
    const tooLarge = new SealtrailError('TOO_LARGE', `request body exceeds ${cfg.maxRequestBodySize} bytes`);
    if (declared > cfg.maxRequestBodySize) return no(tooLarge);
    // A chunked body has no declared length: reserve the most it may be, shrink once it is read.
    const chunked = req.headers['transfer-encoding'] !== undefined;
    const lease = budget.acquire(chunked ? cfg.maxRequestBodySize : declared);
    if (lease === null) return no(overBudget(budget.max));
    res.once('close', () => lease.release());
    if (expectContinue) res.writeContinue();

    let r: BodyResult;
    try {
      r = await readBody(req, cfg.maxRequestBodySize, drainLimit, chunked ? null : declared);
    } catch {
      return; // the client aborted; nothing to answer
    }
    if ('tooLarge' in r) return sendError(req, res, format, tooLarge, r.drained);
    let body = r.body;
    lease.resize(body.length);
    if (encoding === 'gzip') {
      try {
        body = await inflateWithin(body, 'gzip', cfg.maxDecompressedSize, lease, budget.max);
      } catch (err) {
        return sendError(req, res, format, err);
      }
      releaseNow(r.body); // inflated whole: zlib has read all of it, and nothing else will
    }
    // Refuse before spending the CPU on decoding when what the decoded records are expected to
    // take does not fit (inflight.ts), then count what they really take.
    const bodyBytes = body.length; // a body decoded in the worker is transferred there (detached here)
    const expected = budget.expectedDecoded(format, bodyBytes);
    if (!lease.grow(expected)) {
      releaseNow(body); // refused undecoded: free it now, not at the next full collection
      return sendError(req, res, format, overBudget(budget.max));
    }
    let decoded: DecodedRequest | null;
    try {
      if (decoder) decoded = await decoder.decode(body, format);
      else decoded = format === 'json' ? decodeJsonRequest(body, limits) : decodeProtobufRequest(body, limits);
    } catch (err) {
      return sendError(req, res, format, err);
    }
    const took = decodedBytes(decoded);
    budget.noteDecoded(format, bodyBytes, took);
    if (!lease.grow(took - expected)) return sendError(req, res, format, overBudget(budget.max));
    const stored = ingestor.ingest(decoded);
    // The records are bytes in the writer's queue now: let the decoded request and the bodies go,
    // or this frame keeps them (promoted to V8's old space) until the fsync.
    // eslint-disable-next-line no-useless-assignment -- frees the decoded request for the GC
    decoded = null;
    // eslint-disable-next-line no-useless-assignment -- frees the body for the GC
    body = r.body = EMPTY_BODY;
    try {
      await stored;
    } catch (err) {
      return sendError(req, res, format, err);
    }
    send(res, 200, format, format === 'json' ? encodeExportResponseJson() : encodeExportResponseProto());
  }

  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse, expectContinue = false): void => {
    order.track(req, res);
    handle(req, res, expectContinue).catch((err: unknown) => {
      // Last line of defence: answer and keep serving.
      try {
        sendError(req, res, 'json', err);
      } catch {
        res.destroy();
      }
    });
  };

  // Deadlines for a request's headers and for the whole request (a 1 B/s drip is cut); the
  // connection gets 408 and is closed (Node reports both through 'clientError').
  const timeouts = {
    headersTimeout: cfg.readHeaderTimeoutMs,
    requestTimeout: cfg.readTimeoutMs,
    connectionsCheckingInterval: checkingInterval(cfg),
  };
  let server: http.Server;
  if (cfg.tls) {
    const t = loadTls(cfg.tls);
    server = https.createServer(
      { ...timeouts, cert: t.cert, key: t.key, ...(t.ca ? { ca: t.ca, requestCert: true, rejectUnauthorized: true } : {}) },
      onRequest,
    );
  } else {
    server = http.createServer(timeouts, onRequest);
  }
  // With this listener Node no longer sends 100 Continue by itself; handle() does, after the checks.
  server.on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) => onRequest(req, res, true));
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => order.clientError(err, socket));

  const address = await listenOn(server, host, port, 'HTTP', cfg.endpoint);
  server.on('error', (err) => log('error', 'otlp/http: server error', { error: err.message }));
  log('info', 'otlp/http: listening', { address, tls: cfg.tls !== null, auth: cfg.auth.bearerToken !== null });

  let closing: Promise<void> | null = null;
  return {
    address,
    close(graceful: boolean): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      if (!graceful) server.closeAllConnections();
      return closing;
    },
  };
}
