// The OTLP/gRPC receiver against a raw grpc-js client (bytes in, bytes out) and a raw HTTP/2
// client for a compressed bomb: each bad input gets its exact status code, and the server
// keeps serving afterwards.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { startGrpcReceiver } from '../../../agent/receivers/otlp-grpc.js';
import { InflightBudget } from '../../../agent/receivers/inflight.js';
import type { ReceiverHandle } from '../../../agent/receivers/common.js';
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
  const [host, port] = roomy.address.split(':');
  const session = http2.connect(`http://${host}:${port}`);
  try {
    const frame = Buffer.alloc(5);
    frame[0] = 1; // compressed
    frame.writeUInt32BE(bomb.length, 1);
    const stream = session.request({
      ':method': 'POST',
      ':path': EXPORT_PATH,
      'content-type': 'application/grpc',
      'grpc-encoding': 'gzip',
      te: 'trailers',
    });
    const status = await new Promise<string>((resolve, reject) => {
      let code: string | undefined;
      stream.on('response', (h) => {
        if (h['grpc-status'] !== undefined) code = String(h['grpc-status']);
      });
      stream.on('trailers', (h) => {
        if (h['grpc-status'] !== undefined) code = String(h['grpc-status']);
      });
      stream.on('data', () => {});
      stream.on('close', () => (code === undefined ? reject(new Error('no grpc-status')) : resolve(code)));
      stream.on('error', reject);
      stream.end(Buffer.concat([frame, bomb]));
    });
    assert.equal(Number(status), grpc.status.RESOURCE_EXHAUSTED);
  } finally {
    session.close();
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
