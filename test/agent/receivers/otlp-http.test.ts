// The OTLP/HTTP receiver against raw HTTP clients sending hostile input: each case gets its
// exact status and a google.rpc.Status body, and the server keeps serving afterwards.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import zlib from 'node:zlib';
import { startHttpReceiver } from '../../../agent/receivers/otlp-http.js';
import { InflightBudget } from '../../../agent/receivers/inflight.js';
import type { ReceiverHandle } from '../../../agent/receivers/common.js';
import { SealtrailError } from '../../../lib/errors.js';
import { deepJsonRequest, deepProtobufRequest, requestType } from '../otlp/otlp-fixtures.js';
import {
  CAN_FREE,
  CountingDecoder,
  OPTS,
  RecordingIngestor,
  gzipBomb,
  httpConfig,
  manyRecords,
  sendFromWorker,
} from './receiver-fixtures.js';

const Req = requestType();

const VALID_PB = Buffer.from(
  Req.encode(
    Req.create({
      resourceLogs: [{ scopeLogs: [{ logRecords: [{ eventName: 'audit.ok', severityNumber: 9 }] }] }],
    }),
  ).finish(),
);
const VALID_JSON = Buffer.from('{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"eventName":"audit.ok","severityNumber":9}]}]}]}');

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

function request(
  address: string,
  opts: { path?: string; method?: string; headers?: Record<string, string>; body?: Buffer; chunked?: boolean },
): Promise<Reply> {
  const [host, port] = address.split(':');
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (opts.body && !opts.chunked) headers['Content-Length'] = String(opts.body.length);
    const req = http.request(
      { host, port: Number(port), path: opts.path ?? '/v1/logs', method: opts.method ?? 'POST', headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (opts.body && opts.chunked) {
      // Several writes without Content-Length: Transfer-Encoding: chunked.
      for (let i = 0; i < opts.body.length; i += 16384) req.write(opts.body.subarray(i, i + 16384));
      req.end();
    } else req.end(opts.body);
  });
}

const pb = { 'Content-Type': 'application/x-protobuf' };
const json = { 'Content-Type': 'application/json' };

/** google.rpc.Status code from a protobuf body (field 1 varint), 0 when absent. */
function statusCodeFromProto(body: Buffer): number {
  return body.length >= 2 && body[0] === 0x08 ? body[1]! : 0;
}

let receiver: ReceiverHandle;
const ingestor = new RecordingIngestor();
const LIMIT = 512 * 1024;

before(async () => {
  receiver = await startHttpReceiver(httpConfig({ maxRequestBodySize: LIMIT, maxDecompressedSize: 1 << 20 }), ingestor, OPTS);
});
after(async () => {
  await receiver.close(false);
});

async function assertStillServes(): Promise<void> {
  const before = ingestor.records.length;
  const r = await request(receiver.address, { headers: pb, body: VALID_PB });
  assert.equal(r.status, 200);
  assert.equal(ingestor.records.length, before + 1);
}

test('valid protobuf and JSON requests get 200 with an ExportLogsServiceResponse in their content type', async () => {
  const p = await request(receiver.address, { headers: pb, body: VALID_PB });
  assert.equal(p.status, 200);
  assert.equal(p.headers['content-type'], 'application/x-protobuf');
  assert.equal(p.body.length, 0); // empty ExportLogsServiceResponse = full success
  const j = await request(receiver.address, { headers: { 'Content-Type': 'application/json; charset=utf-8' }, body: VALID_JSON });
  assert.equal(j.status, 200);
  assert.equal(j.headers['content-type'], 'application/json');
  assert.deepEqual(JSON.parse(j.body.toString()), {});
  const n = ingestor.records.length;
  assert.equal(ingestor.records[n - 1]!.record, ingestor.records[n - 2]!.record);
  assert.equal(ingestor.records[n - 1]!.record, '{"severityNumber":9,"eventName":"audit.ok"}');
});

test('truncated protobuf gets 400 with google.rpc.Status INVALID_ARGUMENT', async () => {
  const r = await request(receiver.address, { headers: pb, body: VALID_PB.subarray(0, VALID_PB.length - 3) });
  assert.equal(r.status, 400);
  assert.equal(r.headers['content-type'], 'application/x-protobuf');
  assert.equal(statusCodeFromProto(r.body), 3);
  assert.match(r.body.toString('latin1'), /truncated/);
  await assertStillServes();
});

test('garbage gets 400 for protobuf and for JSON', async () => {
  const garbage = Buffer.from('\x07\xff\xfe garbage \x00\x01');
  assert.equal((await request(receiver.address, { headers: pb, body: garbage })).status, 400);
  const j = await request(receiver.address, { headers: json, body: Buffer.from('{"resourceLogs": [ nope') });
  assert.equal(j.status, 400);
  assert.equal(JSON.parse(j.body.toString()).code, 3);
  await assertStillServes();
});

test('invalid UTF-8 in a JSON body gets 400', async () => {
  const body = Buffer.concat([
    Buffer.from('{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"eventName":"'),
    Buffer.from([0xc3, 0x28]),
    Buffer.from('"}]}]}]}'),
  ]);
  const r = await request(receiver.address, { headers: json, body });
  assert.equal(r.status, 400);
  assert.match(JSON.parse(r.body.toString()).message, /UTF-8/);
  await assertStillServes();
});

test('AnyValue nested 10,000 deep gets 400 (protobuf and JSON)', async () => {
  const p = await request(receiver.address, { headers: pb, body: deepProtobufRequest(10_000) });
  assert.equal(p.status, 400);
  assert.match(p.body.toString('latin1'), /nesting/);
  const j = await request(receiver.address, { headers: json, body: Buffer.from(deepJsonRequest(10_000)) });
  assert.equal(j.status, 400);
  assert.match(JSON.parse(j.body.toString()).message, /nesting exceeds 64/);
  await assertStillServes();
});

test('wrong content type or content encoding gets 415', async () => {
  const t = await request(receiver.address, { headers: { 'Content-Type': 'text/plain' }, body: VALID_PB });
  assert.equal(t.status, 415);
  const none = await request(receiver.address, { body: VALID_PB });
  assert.equal(none.status, 415);
  const br = await request(receiver.address, { headers: { ...pb, 'Content-Encoding': 'br' }, body: VALID_PB });
  assert.equal(br.status, 415);
  await assertStillServes();
});

test('a body over maxRequestBodySize gets 413, with and without Content-Length', async () => {
  const big = Buffer.alloc(LIMIT * 3, 0x41);
  const declared = await request(receiver.address, { headers: pb, body: big });
  assert.equal(declared.status, 413);
  assert.equal(statusCodeFromProto(declared.body), 8);
  const chunked = await request(receiver.address, { headers: pb, body: big, chunked: true });
  assert.equal(chunked.status, 413);
  await assertStillServes();
});

test('a gzip bomb (1 GiB of zeros) gets 413 and costs at most maxDecompressedSize', async () => {
  const bomb = await gzipBomb(1 << 30);
  const r = await request(receiver.address, { headers: { ...pb, 'Content-Encoding': 'gzip' }, body: bomb });
  // The bomb is ~1 MiB compressed, over this receiver's 512 KiB body limit; a second receiver
  // with a larger body limit shows the decompression limit itself.
  assert.equal(r.status, 413);
  const roomy = await startHttpReceiver(httpConfig({ maxRequestBodySize: 4 << 20, maxDecompressedSize: 1 << 20 }), ingestor, OPTS);
  try {
    const r2 = await request(roomy.address, { headers: { ...json, 'Content-Encoding': 'gzip' }, body: bomb });
    assert.equal(r2.status, 413);
    assert.match(JSON.parse(r2.body.toString()).message, /decompressed body exceeds 1048576/);
    const ok = await request(roomy.address, { headers: { ...pb, 'Content-Encoding': 'gzip' }, body: zlib.gzipSync(VALID_PB) });
    assert.equal(ok.status, 200);
  } finally {
    await roomy.close(false);
  }
  await assertStillServes();
});

test('a corrupt gzip body gets 400', async () => {
  const gz = zlib.gzipSync(VALID_PB);
  gz[gz.length - 6] = gz.at(-6)! ^ 0xff; // break the CRC
  const r = await request(receiver.address, { headers: { ...pb, 'Content-Encoding': 'gzip' }, body: gz });
  assert.equal(r.status, 400);
  await assertStillServes();
});

test('unknown path gets 404 and a wrong method 405', async () => {
  assert.equal((await request(receiver.address, { path: '/v1/traces', headers: pb, body: VALID_PB })).status, 404);
  assert.equal((await request(receiver.address, { path: '/', method: 'GET' })).status, 404);
  const g = await request(receiver.address, { method: 'GET' });
  assert.equal(g.status, 405);
  assert.equal(g.headers.allow, 'POST');
  await assertStillServes();
});

test('malformed HTTP gets 400 from the server and it keeps serving', async () => {
  const net = await import('node:net');
  const [host, port] = receiver.address.split(':');
  const reply = await new Promise<string>((resolve, reject) => {
    const s = net.connect(Number(port), host, () => s.end('NOT HTTP AT ALL\r\n\r\n'));
    let data = '';
    s.on('data', (d) => (data += d.toString()));
    s.on('end', () => resolve(data));
    s.on('error', reject);
  });
  assert.match(reply, /^HTTP\/1\.1 400/);
  await assertStillServes();
});

test('a retryable ingest error (BUFFER_FULL) gets 503 with Retry-After', async () => {
  ingestor.fail = new SealtrailError('BUFFER_FULL', 'buffer is full', { retryAfterSeconds: 7 });
  try {
    const p = await request(receiver.address, { headers: pb, body: VALID_PB });
    assert.equal(p.status, 503);
    assert.equal(p.headers['retry-after'], '7');
    assert.equal(statusCodeFromProto(p.body), 14);
    const j = await request(receiver.address, { headers: json, body: VALID_JSON });
    assert.equal(j.status, 503);
    assert.equal(j.headers['retry-after'], '7');
    assert.deepEqual(JSON.parse(j.body.toString()), {
      code: 14,
      message: 'buffer is full',
      details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '7s' }],
    });
    ingestor.fail = new SealtrailError('SHUTTING_DOWN', 'stopping');
    const s = await request(receiver.address, { headers: pb, body: VALID_PB });
    assert.equal(s.status, 503);
    assert.equal(s.headers['retry-after'], '1');
  } finally {
    ingestor.fail = null;
  }
  await assertStillServes();
});

test('bearer auth: missing or wrong token gets 401, the right one 200', async () => {
  const ing = new RecordingIngestor();
  const r = await startHttpReceiver(httpConfig({ auth: { bearerToken: 'tok-123' } }), ing, OPTS);
  try {
    const none = await request(r.address, { headers: pb, body: VALID_PB });
    assert.equal(none.status, 401);
    assert.equal(none.headers['www-authenticate'], 'Bearer');
    assert.equal(statusCodeFromProto(none.body), 16);
    assert.equal((await request(r.address, { headers: { ...pb, Authorization: 'Bearer tok-124' }, body: VALID_PB })).status, 401);
    assert.equal((await request(r.address, { headers: { ...pb, Authorization: 'Basic tok-123' }, body: VALID_PB })).status, 401);
    assert.equal(ing.records.length, 0);
    assert.equal((await request(r.address, { headers: { ...pb, Authorization: 'Bearer tok-123' }, body: VALID_PB })).status, 200);
    assert.equal(ing.records.length, 1);
  } finally {
    await r.close(false);
  }
});

test('a request whose expected decoded size does not fit the budget is refused with 503 before it is decoded', async () => {
  const body = manyRecords(2000);
  const decoder = new CountingDecoder();
  const budget = new InflightBudget(1 << 30);
  const r = await startHttpReceiver(httpConfig(), new RecordingIngestor(), { ...OPTS, inflight: budget, decoder });
  try {
    assert.equal((await request(r.address, { headers: pb, body })).status, 200);
    assert.equal(decoder.calls, 1);
    const expansion = budget.expectedDecoded('protobuf', body.length) / body.length;
    assert.ok(expansion > 3, `a decoded protobuf request is several times its body (${expansion})`);
    // An older lease holds the budget so that the body and its size again fit beside it (the
    // old check), but not the body and its expected decoded size.
    const held = budget.acquire((1 << 30) - 3 * body.length)!;
    const refused = await request(r.address, { headers: pb, body });
    assert.equal(refused.status, 503);
    assert.equal(refused.headers['retry-after'], '1');
    assert.equal(decoder.calls, 1, 'refused before decoding');
    held.release();
    assert.equal((await request(r.address, { headers: pb, body })).status, 200);
    assert.equal(decoder.calls, 2);
    assert.equal(budget.bytes, 0, 'every lease is back');
  } finally {
    await r.close(false);
  }
});

test('a body refused before decoding is freed at once, not at the next collection', async () => {
  const body = manyRecords(5000); // about 470 KB: memory of its own once read
  const decoder = new CountingDecoder();
  const budget = new InflightBudget(1 << 30);
  const r = await startHttpReceiver(httpConfig(), new RecordingIngestor(), { ...OPTS, inflight: budget, decoder });
  const calls = 10;
  try {
    // Room for the body, not for what decoding it is expected to take.
    const held = budget.acquire((1 << 30) - 1.5 * body.length)!;
    const { answers, grownBytes } = await sendFromWorker('http', r.address, body, calls);
    held.release();
    for (const a of answers) assert.match(a, /^503 .*bytes of OTLP requests are in flight/);
    // The chunks it was read in are freed once copied (read-body.ts); kept until a collection,
    // each refused body would add its size.
    if (CAN_FREE) assert.ok(grownBytes < 0.4 * calls * body.length, `grew ${grownBytes} B`);
    assert.equal(decoder.calls, 0);
    assert.equal(budget.bytes, 0, 'every lease is back');
  } finally {
    await r.close(false);
  }
});
