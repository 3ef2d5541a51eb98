// The OTLP/gRPC receiver against a raw grpc-js client (bytes in, bytes out) and a raw HTTP/2
// client for a compressed bomb: each bad input gets its exact status code, and the server
// keeps serving afterwards.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import zlib from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { encodeRequest } from '../../helpers/otlp-client.js';
import * as grpc from '@grpc/grpc-js';
import { startGrpcReceiver } from '../../../agent/receivers/otlp-grpc.js';
import { InflightBudget } from '../../../agent/receivers/inflight.js';
import type { ReceiverHandle } from '../../../agent/receivers/common.js';
import type { Ingestor } from '../../../agent/pipeline/ingest.js';
import { SealtrailError } from '../../../lib/errors.js';
import { RETRY_INFO_TYPE_URL } from '../../../agent/otlp/response.js';
import { deepProtobufRequest, loadOtlpRoot, requestType } from '../otlp/otlp-fixtures.js';
import {
  CAN_FREE,
  CountingDecoder,
  OPTS,
  RecordingIngestor,
  grpcConfig,
  gzipBomb,
  manyRecords,
  sendFromWorker,
} from './receiver-fixtures.js';

const EXPORT_PATH = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';
const Req = requestType(loadOtlpRoot());
const VALID = Buffer.from(
  Req.encode(Req.create({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ eventName: 'audit.ok' }] }] }] })).finish(),
);
const MAX = 256 * 1024;

interface CallResult {
  code: number;
  details: string;
  metadata: grpc.Metadata | null;
  response: Buffer | null;
}

function call(address: string, body: Buffer, md = new grpc.Metadata()): Promise<CallResult> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      EXPORT_PATH,
      (b: Buffer) => b,
      (b: Buffer) => b,
      body,
      md,
      (err, response) => {
        client.close();
        if (err) resolve({ code: err.code, details: err.details, metadata: err.metadata, response: null });
        else resolve({ code: 0, details: '', metadata: null, response: response ?? null });
      },
    );
  });
}

interface RawResult {
  httpStatus: number;
  grpcStatus: number | null;
  grpcMessage: string;
  /** The response's DATA bytes. */
  data: Buffer;
}

/** One call over a raw HTTP/2 stream: any headers, any bytes, and what came back. */
async function rawCall(
  address: string,
  headers: http2.OutgoingHttpHeaders,
  body: Buffer | null,
  opts: { end?: boolean } = {},
): Promise<RawResult> {
  const [host, port] = address.split(':');
  const session = http2.connect(`http://${host}:${port}`);
  try {
    const stream = session.request({
      ':method': 'POST',
      ':path': EXPORT_PATH,
      'content-type': 'application/grpc',
      te: 'trailers',
      ...headers,
    });
    return await new Promise<RawResult>((resolve, reject) => {
      const out: RawResult = { httpStatus: 0, grpcStatus: null, grpcMessage: '', data: Buffer.alloc(0) };
      const take = (h: http2.IncomingHttpHeaders): void => {
        if (h['grpc-status'] !== undefined) out.grpcStatus = Number(h['grpc-status']);
        if (h['grpc-message'] !== undefined) out.grpcMessage = decodeURIComponent(String(h['grpc-message']));
      };
      stream.on('response', (h) => {
        out.httpStatus = Number(h[':status']);
        take(h);
      });
      stream.on('trailers', take);
      stream.on('data', (c: Buffer) => (out.data = Buffer.concat([out.data, c])));
      stream.on('close', () => resolve(out));
      stream.on('error', reject);
      if (body !== null) stream.write(body);
      if (opts.end !== false) stream.end();
    });
  } finally {
    session.close();
  }
}

function framed(message: Buffer, flag = 0): Buffer {
  const prefix = Buffer.alloc(5);
  prefix[0] = flag;
  prefix.writeUInt32BE(message.length, 1);
  return Buffer.concat([prefix, message]);
}

let receiver: ReceiverHandle;
const ingestor = new RecordingIngestor();

before(async () => {
  receiver = await startGrpcReceiver(grpcConfig({ maxRecvMsgSize: MAX }), ingestor, OPTS);
});
after(async () => {
  await receiver.close(false);
});

async function assertStillServes(): Promise<void> {
  const n = ingestor.records.length;
  const r = await call(receiver.address, VALID);
  assert.equal(r.code, grpc.status.OK, r.details);
  assert.equal(ingestor.records.length, n + 1);
}

test('a valid request gets OK with an empty ExportLogsServiceResponse', async () => {
  const r = await call(receiver.address, VALID);
  assert.equal(r.code, grpc.status.OK);
  assert.equal(r.response?.length, 0);
  assert.equal(ingestor.records.at(-1)!.record, '{"eventName":"audit.ok"}');
  assert.match(receiver.address, /^127\.0\.0\.1:\d+$/);
  assert.notEqual(receiver.address, '127.0.0.1:0');
});

test('truncated protobuf and garbage get INVALID_ARGUMENT', async () => {
  const t = await call(receiver.address, VALID.subarray(0, VALID.length - 2));
  assert.equal(t.code, grpc.status.INVALID_ARGUMENT);
  assert.match(t.details, /truncated/);
  const g = await call(receiver.address, Buffer.from('\x0f\xff garbage'));
  assert.equal(g.code, grpc.status.INVALID_ARGUMENT);
  await assertStillServes();
});

test('AnyValue nested 10,000 deep gets INVALID_ARGUMENT', async () => {
  const r = await call(receiver.address, deepProtobufRequest(10_000));
  assert.equal(r.code, grpc.status.INVALID_ARGUMENT);
  assert.match(r.details, /nesting exceeds 64/);
  await assertStillServes();
});

test('a message over maxRecvMsgSize gets RESOURCE_EXHAUSTED', async () => {
  const r = await call(receiver.address, Buffer.alloc(MAX + 1024));
  assert.equal(r.code, grpc.status.RESOURCE_EXHAUSTED);
  await assertStillServes();
});

test('a gzip-compressed bomb (1 GiB of zeros) is refused without inflating it', async () => {
  const bomb = await gzipBomb(1 << 30);
  // ~1 MiB compressed, under this receiver's 2 MiB limit: only the inflated size is over it.
  assert.ok(bomb.length < 2 << 20);
  const roomy = await startGrpcReceiver(grpcConfig({ maxRecvMsgSize: 2 << 20 }), ingestor, OPTS);
  try {
    const r = await rawCall(roomy.address, { 'grpc-encoding': 'gzip' }, framed(bomb, 1));
    assert.equal(r.grpcStatus, grpc.status.RESOURCE_EXHAUSTED);
    assert.match(r.grpcMessage, /decompressed body exceeds 2097152 bytes/);
  } finally {
    await roomy.close(false);
  }
  await assertStillServes();
});

test('a retryable ingest error (BUFFER_FULL) gets UNAVAILABLE with google.rpc.RetryInfo', async () => {
  ingestor.fail = new SealtrailError('BUFFER_FULL', 'buffer is full', { retryAfterSeconds: 5 });
  try {
    const r = await call(receiver.address, VALID);
    assert.equal(r.code, grpc.status.UNAVAILABLE);
    assert.equal(r.details, 'buffer is full');
    const [details] = r.metadata!.get('grpc-status-details-bin') as Buffer[];
    assert.ok(details, 'grpc-status-details-bin is present');
    // google.rpc.Status: code 14, then an Any with the RetryInfo type URL and retry_delay 5s.
    assert.equal(details[0], 0x08);
    assert.equal(details[1], 14);
    assert.ok(details.includes(Buffer.from(RETRY_INFO_TYPE_URL)));
    assert.ok(details.subarray(-4).equals(Buffer.from([0x0a, 0x02, 0x08, 0x05])), details.toString('hex'));
  } finally {
    ingestor.fail = null;
  }
  await assertStillServes();
});

test('bearer auth: missing or wrong token gets UNAUTHENTICATED, the right one OK', async () => {
  const ing = new RecordingIngestor();
  const r = await startGrpcReceiver(grpcConfig({ auth: { bearerToken: 'tok-9' } }), ing, OPTS);
  try {
    assert.equal((await call(r.address, VALID)).code, grpc.status.UNAUTHENTICATED);
    const wrong = new grpc.Metadata();
    wrong.set('authorization', 'Bearer tok-8');
    assert.equal((await call(r.address, VALID, wrong)).code, grpc.status.UNAUTHENTICATED);
    assert.equal(ing.records.length, 0);
    const right = new grpc.Metadata();
    right.set('authorization', 'Bearer tok-9');
    assert.equal((await call(r.address, VALID, right)).code, grpc.status.OK);
    assert.equal(ing.records.length, 1);
  } finally {
    await r.close(false);
  }
});

test('close(true) then close(false) resolves and is safe to repeat', async () => {
  const r = await startGrpcReceiver(grpcConfig(), new RecordingIngestor(), OPTS);
  await r.close(true);
  await r.close(false);
  assert.notEqual((await call(r.address, VALID)).code, grpc.status.OK);
});

test('a call whose expected decoded size does not fit the budget gets UNAVAILABLE before it is decoded', async () => {
  const body = manyRecords(2000);
  const decoder = new CountingDecoder();
  const budget = new InflightBudget(1 << 30);
  const r = await startGrpcReceiver(grpcConfig(), new RecordingIngestor(), { ...OPTS, inflight: budget, decoder });
  try {
    assert.equal((await call(r.address, body)).code, grpc.status.OK);
    assert.equal(decoder.calls, 1);
    assert.ok(budget.expectedDecoded('protobuf', body.length) > 3 * body.length);
    // Room for the message and its size again (the old check), not for its expected decoded size.
    // (More than the 64 KiB the call reserves at its headers, so it gets past those.)
    const held = budget.acquire((1 << 30) - 3 * body.length)!;
    const refused = await call(r.address, body);
    assert.equal(refused.code, grpc.status.UNAVAILABLE);
    assert.match(refused.details, /bytes of OTLP requests are in flight/);
    assert.equal(decoder.calls, 1, 'refused before decoding');
    held.release();
    assert.equal((await call(r.address, body)).code, grpc.status.OK);
    assert.equal(decoder.calls, 2);
    assert.equal(budget.bytes, 0, 'every lease is back');
  } finally {
    await r.close(false);
  }
});

test('a refused message is freed at once, not at the next collection', async () => {
  const body = manyRecords(5000); // about 470 KB: memory of its own once received
  const decoder = new CountingDecoder();
  const budget = new InflightBudget(1 << 30);
  const r = await startGrpcReceiver(grpcConfig(), new RecordingIngestor(), { ...OPTS, inflight: budget, decoder });
  const calls = 10;
  try {
    // Refused where the message arrives: the budget has room for its headers' reservation only.
    // Then refused before decoding: room for the message, not for what decoding it takes.
    for (const room of [70_000, 1.5 * body.length]) {
      const held = budget.acquire((1 << 30) - room)!;
      const { answers, grownBytes } = await sendFromWorker('grpc', r.address, body, calls);
      held.release();
      for (const a of answers) assert.match(a, /^14 more than \d+ bytes of OTLP requests are in flight/);
      // Each message arrives in HTTP/2 chunks that only a collection frees (about its size);
      // the message itself, kept until then, would be as much again.
      if (CAN_FREE) assert.ok(grownBytes < 1.4 * calls * body.length, `refused with room ${room}: grew ${grownBytes} B`);
    }
    assert.equal(decoder.calls, 0);
    assert.equal(budget.bytes, 0, 'every lease is back');
  } finally {
    await r.close(false);
  }
});

test('the raw protocol: an empty OK message in DATA, grpc-status 0 in trailers; gzip and deflate messages are inflated', async () => {
  const ok = await rawCall(receiver.address, {}, framed(VALID));
  assert.equal(ok.httpStatus, 200);
  assert.equal(ok.grpcStatus, grpc.status.OK);
  assert.ok(ok.data.equals(Buffer.from([0, 0, 0, 0, 0])), ok.data.toString('hex'));
  const n = ingestor.records.length;
  for (const [encoding, squeeze] of [
    ['gzip', zlib.gzipSync],
    ['deflate', zlib.deflateSync],
  ] as const) {
    const r = await rawCall(receiver.address, { 'grpc-encoding': encoding }, framed(squeeze(VALID), 1));
    assert.equal(r.grpcStatus, grpc.status.OK, `${encoding}: ${r.grpcMessage}`);
  }
  assert.equal(ingestor.records.length, n + 2);
  const corrupt = await rawCall(receiver.address, { 'grpc-encoding': 'gzip' }, framed(Buffer.from('not gzip at all'), 1));
  assert.equal(corrupt.grpcStatus, grpc.status.INVALID_ARGUMENT);
  assert.match(corrupt.grpcMessage, /invalid gzip body/);
});

test('protocol errors get their own status: unknown method, unsupported compression, a second message, a cut message', async () => {
  const n = ingestor.records.length;
  const unknown = await rawCall(
    receiver.address,
    { ':path': '/opentelemetry.proto.collector.trace.v1.TraceService/Export' },
    framed(VALID),
  );
  assert.equal(unknown.grpcStatus, grpc.status.UNIMPLEMENTED);
  assert.match(unknown.grpcMessage, /unknown method \/opentelemetry\.proto\.collector\.trace/);
  const snappy = await rawCall(receiver.address, { 'grpc-encoding': 'snappy' }, framed(VALID, 1));
  assert.equal(snappy.grpcStatus, grpc.status.UNIMPLEMENTED);
  assert.match(snappy.grpcMessage, /grpc-encoding snappy is not supported/);
  // An uncompressed message under an encoding we do not speak is fine: the flag says which.
  assert.equal((await rawCall(receiver.address, { 'grpc-encoding': 'snappy' }, framed(VALID))).grpcStatus, grpc.status.OK);
  const flagged = await rawCall(receiver.address, {}, framed(VALID, 1));
  assert.equal(flagged.grpcStatus, grpc.status.INTERNAL);
  assert.match(flagged.grpcMessage, /flagged compressed, but grpc-encoding is identity/);
  const two = await rawCall(receiver.address, {}, Buffer.concat([framed(VALID), framed(VALID)]));
  assert.equal(two.grpcStatus, grpc.status.INTERNAL);
  assert.match(two.grpcMessage, /one request message/);
  const cut = await rawCall(receiver.address, {}, framed(VALID).subarray(0, 8));
  assert.equal(cut.grpcStatus, grpc.status.INTERNAL);
  assert.match(cut.grpcMessage, /ended inside its request message \(3 of \d+ bytes\)/);
  const none = await rawCall(receiver.address, {}, null);
  assert.equal(none.grpcStatus, grpc.status.INTERNAL);
  assert.equal(ingestor.records.length, n + 1, 'only the uncompressed snappy call stored anything');
  assert.equal((await rawCall(receiver.address, { 'content-type': 'application/json' }, framed(VALID))).httpStatus, 415);
  assert.equal((await rawCall(receiver.address, { ':method': 'PUT' }, framed(VALID))).httpStatus, 405);
  await assertStillServes();
});

test('a message whose declared size does not fit the budget is refused at its prefix, before its bytes arrive', async () => {
  const budget = new InflightBudget(1 << 30);
  const decoder = new CountingDecoder();
  const r = await startGrpcReceiver(grpcConfig({ maxRecvMsgSize: 8 << 20 }), new RecordingIngestor(), {
    ...OPTS,
    inflight: budget,
    decoder,
  });
  try {
    const held = budget.acquire((1 << 30) - (1 << 20))!;
    // The prefix declares 4 MiB; only the prefix and 10 bytes are sent, and the stream stays open.
    const prefix = Buffer.alloc(5);
    prefix.writeUInt32BE(4 << 20, 1);
    const refused = await rawCall(r.address, {}, Buffer.concat([prefix, Buffer.alloc(10)]), { end: false });
    assert.equal(refused.grpcStatus, grpc.status.UNAVAILABLE);
    assert.match(refused.grpcMessage, /bytes of OTLP requests are in flight/);
    held.release();
    assert.equal(decoder.calls, 0);
    assert.equal(budget.bytes, 0, 'every lease is back');
  } finally {
    await r.close(false);
  }
});

test('a message that does not arrive within read_timeout gets DEADLINE_EXCEEDED and its lease back', async () => {
  const budget = new InflightBudget(1 << 30);
  const r = await startGrpcReceiver(grpcConfig({ readTimeoutMs: 300 }), new RecordingIngestor(), { ...OPTS, inflight: budget });
  try {
    const slow = await rawCall(r.address, {}, framed(VALID).subarray(0, 3), { end: false });
    assert.equal(slow.grpcStatus, grpc.status.DEADLINE_EXCEEDED);
    assert.match(slow.grpcMessage, /not received within 300 ms/);
    assert.equal(budget.bytes, 0);
  } finally {
    await r.close(false);
  }
});

test('a graceful close lets a call in flight finish, then refuses new connections', async () => {
  const ing = new RecordingIngestor();
  let entered!: () => void;
  const reached = new Promise<void>((resolve) => (entered = resolve));
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const slow: Ingestor = {
    ingest: async (req) => {
      entered();
      await gate;
      return ing.ingest(req);
    },
  };
  const r = await startGrpcReceiver(grpcConfig(), slow, OPTS);
  const inFlight = call(r.address, VALID);
  await reached;
  const closed = r.close(true);
  release();
  assert.equal((await inFlight).code, grpc.status.OK, 'the call in flight was answered');
  await closed;
  assert.equal(ing.records.length, 1);
  assert.notEqual((await call(r.address, VALID)).code, grpc.status.OK);
});

test('a compressed message holds its inflated size in the budget, not its wire size as well', async () => {
  const budget = new InflightBudget(1 << 30);
  const held: number[] = [];
  const decoder = new (class extends CountingDecoder {
    override decode(body: Buffer, format: 'protobuf' | 'json') {
      held.push(budget.bytes);
      return super.decode(body, format);
    }
  })();
  const r = await startGrpcReceiver(grpcConfig(), new RecordingIngestor(), { ...OPTS, inflight: budget, decoder });
  try {
    // Random text, so the compressed message is over 64 KiB: memory of its own, freed at once.
    const body = encodeRequest(
      Array.from({ length: 2000 }, () => ({ body: randomBytes(60).toString('hex'), attributes: { audit: true } })),
    );
    const squeezed = zlib.gzipSync(body);
    assert.ok(squeezed.length > 64 << 10, `${squeezed.length} B compressed`);
    const expected = budget.expectedDecoded('protobuf', body.length);
    assert.equal((await rawCall(r.address, { 'grpc-encoding': 'gzip' }, framed(squeezed, 1))).grpcStatus, grpc.status.OK);
    // At the decode: the inflated message and what decoding it is expected to take; the
    // compressed bytes were freed and their share given back.
    assert.deepEqual(held, [body.length + expected], `wire ${squeezed.length} B, inflated ${body.length} B`);
    assert.equal(budget.bytes, 0);
  } finally {
    await r.close(false);
  }
});
