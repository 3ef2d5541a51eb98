// OTLP/gRPC logs receiver (https://opentelemetry.io/docs/specs/otlp/#otlpgrpc):
// /opentelemetry.proto.collector.logs.v1.LogsService/Export on @grpc/grpc-js.
//
// The service definition comes from proto/ via @grpc/proto-loader, but the request
// deserializer is replaced by the identity so the raw bytes reach our own hostile-input
// decoder (decode-protobuf.ts) and the canonical text is built straight from the wire.
// grpc-js handles framing, gzip and the receive size limit (RESOURCE_EXHAUSTED).
//
// grpc-js reads a call's whole message before the handler runs, but leaves the stream paused
// until the call is started; an interceptor runs on the call's headers, before any of the
// message is read. It checks the bearer token and takes a lease on the in-flight byte budget:
// one HTTP/2 stream window at first (the message size is not known yet, and reserving
// max_recv_msg_size would refuse the many small concurrent exports SDKs send), then the
// message's size once it arrived, plus its decoded size in the handler. A call that does not
// fit gets UNAVAILABLE with RetryInfo, at its headers without its message being read; one
// whose message does not arrive within read_timeout gets DEADLINE_EXCEEDED (both retryable).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { decodeProtobufRequest } from '../otlp/decode-protobuf.js';
import type { DecodedRequest } from '../otlp/model.js';
import { encodeExportResponseProto, encodeStatusProto } from '../otlp/response.js';
import { SealtrailError } from '../../lib/errors.js';
import { releaseNow } from '../../lib/own-memory.js';
import type { GrpcReceiverConfig } from '../../config/types.js';
import type { Ingestor } from '../pipeline/ingest.js';
import {
  GRPC_DEADLINE_EXCEEDED,
  bearerChecker,
  classify,
  formatAddress,
  loadTls,
  parseEndpoint,
  type ReceiverHandle,
  type ReceiverOptions,
} from './common.js';
import { DEFAULT_MAX_INFLIGHT_BYTES, InflightBudget, decodedBytes, overBudget, type Lease } from './inflight.js';

/** Reserved when a call's headers arrive: HTTP/2's initial stream window, what a client may send unasked. */
const HEADER_RESERVATION = 65_535;

const SERVICE_PROTO = 'opentelemetry/proto/collector/logs/v1/logs_service.proto';
const SERVICE_NAME = 'opentelemetry.proto.collector.logs.v1.LogsService';

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

function logsServiceDefinition(): grpc.ServiceDefinition {
  const pkg = protoLoader.loadSync(SERVICE_PROTO, { includeDirs: [findProtoDir()] });
  const loaded = pkg[SERVICE_NAME] as grpc.ServiceDefinition | undefined;
  const exp = loaded?.Export;
  if (!exp) throw new SealtrailError('CONFIG', `${SERVICE_NAME}.Export missing from ${SERVICE_PROTO}`);
  return {
    Export: {
      ...exp,
      requestDeserialize: (bytes: Buffer) => bytes,
      responseSerialize: (bytes: Buffer) => bytes,
    },
  };
}

export async function startGrpcReceiver(cfg: GrpcReceiverConfig, ingestor: Ingestor, opts: ReceiverOptions): Promise<ReceiverHandle> {
  const { host, port } = parseEndpoint(cfg.endpoint);
  const authorized = bearerChecker(cfg.auth.bearerToken);
  const limits = { ...opts.decodeLimits, maxDepth: opts.maxDepth };
  const decoder = opts.decoder ?? null;
  const { log } = opts;
  const budget = opts.inflight ?? new InflightBudget(DEFAULT_MAX_INFLIGHT_BYTES);
  /** Each call's lease, found by the handler through the metadata object grpc-js hands on. */
  const leases = new WeakMap<grpc.Metadata, Lease>();

  /** The status for an error (google.rpc.Status with RetryInfo in grpc-status-details-bin). */
  const statusOf = (err: unknown, peer: string): grpc.StatusObject => {
    const f = classify(err);
    if (f.retryable) log('debug', 'otlp/grpc: export refused (retryable)', { peer, error: f.message });
    else {
      if (opts.metrics) opts.metrics.requestsRejected++;
      log('debug', 'otlp/grpc: export rejected', { peer, code: f.grpcCode, error: f.message });
    }
    if (!(err instanceof SealtrailError)) log('error', 'otlp/grpc: unexpected error', { error: String(err) });
    const metadata = new grpc.Metadata();
    metadata.set(
      'grpc-status-details-bin',
      encodeStatusProto({ code: f.grpcCode, message: f.message, ...(f.retryable ? { retryDelaySeconds: f.retryAfterSeconds } : {}) }),
    );
    return { code: f.grpcCode, details: f.message, metadata };
  };
  const fail = (callback: grpc.sendUnaryData<Buffer>, err: unknown, peer: string): void => callback(statusOf(err, peer), null);

  const admission: grpc.ServerInterceptor = (_method, call) => {
    let lease: Lease | null = null;
    let timer: NodeJS.Timeout | undefined;
    const done = (): void => {
      clearTimeout(timer);
      lease?.release();
    };
    return new grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, nextMetadata) => {
            const peer = call.getPeer();
            const auth = metadata.get('authorization');
            if (!authorized(auth.length === 1 && typeof auth[0] === 'string' ? auth[0] : undefined)) {
              call.sendStatus(statusOf(new SealtrailError('UNAUTHENTICATED', 'missing or wrong bearer token'), peer));
              return;
            }
            lease = budget.acquire(HEADER_RESERVATION);
            if (lease === null) {
              call.sendStatus(statusOf(overBudget(budget.max), peer));
              return;
            }
            leases.set(metadata, lease);
            timer = setTimeout(() => {
              done();
              log('debug', 'otlp/grpc: request message too slow', { peer });
              call.sendStatus({ code: GRPC_DEADLINE_EXCEEDED, details: `request message not received within ${cfg.readTimeoutMs} ms` });
            }, cfg.readTimeoutMs);
            nextMetadata(metadata);
          },
          onReceiveMessage: (message: Buffer, nextMessage) => {
            clearTimeout(timer);
            // The lease becomes what arrived (grpc-js has dropped the compressed copy).
            if (lease && !lease.grow(message.length - lease.bytes)) {
              releaseNow(message); // refused unread: free it now, not at the next full collection
              done();
              call.sendStatus(statusOf(overBudget(budget.max), call.getPeer()));
              return;
            }
            nextMessage(message);
          },
          onCancel: done,
        }),
      sendStatus: (status, next) => {
        done();
        next(status);
      },
    });
  };

  const handler: grpc.handleUnaryCall<Buffer, Buffer> = (call, callback) => {
    const peer = call.getPeer();
    const lease = leases.get(call.metadata);
    // As in otlp-http.ts: check that what decoding is expected to take fits before decoding.
    const bodyBytes = call.request.length;
    const expected = budget.expectedDecoded('protobuf', bodyBytes);
    if (lease && !lease.grow(expected)) {
      releaseNow(call.request); // refused undecoded, as in the admission interceptor
      fail(callback, overBudget(budget.max), peer);
      return;
    }
    const ingest = (req: DecodedRequest): Promise<unknown> => {
      const took = decodedBytes(req);
      budget.noteDecoded('protobuf', bodyBytes, took);
      if (lease && !lease.grow(took - expected)) return Promise.reject(overBudget(budget.max));
      return ingestor.ingest(req);
    };
    const stored = decoder
      ? decoder.decode(call.request, 'protobuf').then(ingest)
      : (async () => ingest(decodeProtobufRequest(call.request, limits)))();
    stored.then(
      () => callback(null, encodeExportResponseProto()),
      (err: unknown) => fail(callback, err, peer),
    );
  };

  const server = new grpc.Server({
    'grpc.max_receive_message_length': cfg.maxRecvMsgSize,
    interceptors: [admission],
  });
  server.addService(logsServiceDefinition(), { Export: handler });

  let creds: grpc.ServerCredentials;
  if (cfg.tls) {
    const t = loadTls(cfg.tls);
    creds = grpc.ServerCredentials.createSsl(t.ca, [{ cert_chain: t.cert, private_key: t.key }], t.ca !== null);
  } else {
    creds = grpc.ServerCredentials.createInsecure();
  }

  const boundPort = await new Promise<number>((resolve, reject) => {
    server.bindAsync(formatAddress(host, port), creds, (err, p) =>
      err ? reject(new SealtrailError('CONFIG', `gRPC receiver cannot bind ${cfg.endpoint}: ${err.message}`, { cause: err })) : resolve(p),
    );
  });
  const address = formatAddress(host, boundPort);
  log('info', 'otlp/grpc: listening', { address, tls: cfg.tls !== null, auth: cfg.auth.bearerToken !== null });

  let closing: Promise<void> | null = null;
  return {
    address,
    close(graceful: boolean): Promise<void> {
      if (!graceful) server.forceShutdown();
      closing ??= new Promise<void>((resolve) => {
        if (!graceful) return resolve();
        server.tryShutdown(() => resolve());
      });
      return closing;
    },
  };
}
