// The decode worker (decode-pool.ts starts it): decodes an OTLP request body, filters it,
// runs the audit_context checks and encodes the audit records as entry tails, all off the
// agent's main thread, which is left to chain, hash and commit. The tails come back as one
// transferred buffer, so nothing per record crosses the thread boundary.
import { parentPort, workerData } from 'node:worker_threads';
import { decodeProtobufRequest } from './decode-protobuf.js';
import { decodeJsonRequest } from './decode-json.js';
import { compileFilter } from '../filter/audit-filter.js';
import { AuditContextProcessor } from '../context/audit-context.js';
import { prepareRequest } from '../pipeline/prepare.js';
import { transcodeProtobuf } from './transcode-protobuf.js';
import { heldTailBytes } from '../receivers/inflight.js';
import { errorMessage, isSealtrailError } from '../../lib/errors.js';
import { releaseNow } from '../../lib/own-memory.js';
import type { DecodeCall, DecodeInit, DecodeReply } from './decode-protocol.js';
import type { ContextReject } from '../context/audit-context.js';

const init = workerData as DecodeInit;
const filter = compileFilter(init.filterRules);
// Its counters are never read: a reject is counted by the main thread's processor (contextReject).
const context = init.context === null ? null : new AuditContextProcessor(init.context, init.environment);
const port = parentPort!;

port.on('message', (m: DecodeCall) => {
  let reply: DecodeReply;
  const transfer: ArrayBuffer[] = [];
  try {
    const body = Buffer.from(m.body.buffer, m.body.byteOffset, m.body.byteLength);
    // Protobuf goes straight to entry bytes when it can; the full decoder decides the rest.
    let prepared = m.format === 'protobuf' ? transcodeProtobuf(body, init.limits, filter, context) : null;
    if (prepared === null) {
      const req = m.format === 'json' ? decodeJsonRequest(body, init.limits) : decodeProtobufRequest(body, init.limits);
      prepared = prepareRequest(req, filter, context);
    }
    // The decoded objects stay here and die young; the main thread holds the tails.
    const size = heldTailBytes(prepared.tails);
    const tails = prepared.tails;
    if (tails !== null) {
      // Small Buffers are slices of Node's shared pool, which cannot be transferred: those are
      // copied into memory of their own (a typed array, never pooled).
      let bytes: Uint8Array = tails.bytes;
      if (bytes.byteOffset !== 0 || bytes.byteLength !== bytes.buffer.byteLength) bytes = new Uint8Array(bytes);
      tails.bytes = bytes as Buffer;
      transfer.push(bytes.buffer as ArrayBuffer, tails.ends.buffer as ArrayBuffer);
    }
    reply = { id: m.id, ok: true, prepared, decodedBytes: size };
  } catch (err) {
    reply = {
      id: m.id,
      ok: false,
      error: {
        code: isSealtrailError(err) ? err.code : null,
        message: errorMessage(err),
        contextReject: (err as { contextReject?: ContextReject }).contextReject,
      },
    };
  }
  try {
    port.postMessage(reply, transfer);
  } catch (err) {
    // Never leave a request unanswered (a reply that cannot be sent would kill the worker).
    port.postMessage({ id: m.id, ok: false, error: { code: null, message: `decode worker: ${errorMessage(err)}` } } satisfies DecodeReply);
  }
  // The reply is serialized: the body (this thread's own copy or transfer) has no use left.
  releaseNow(m.body);
});
