// Per-request budgets and exact values (issue 10): each budget refuses with its code and names
// its config key, at the limit the request passes; every line the decoders let through fits
// max_entry_size once chained; numbers keep the value sent or are refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeProtobufRequest } from '../../../agent/otlp/decode-protobuf.js';
import { decodeJsonRequest } from '../../../agent/otlp/decode-json.js';
import { DEFAULT_DECODE_LIMITS, type DecodeLimits, type DecodedRequest } from '../../../agent/otlp/model.js';
import { encodeEntry, entryOverheadBytes } from '../../../agent/chain/entry.js';
import { isSealtrailError, type ErrorCode } from '../../../lib/errors.js';
import { lenField, long, requestType } from './otlp-fixtures.js';

const Req = requestType();

function encode(obj: object): Buffer {
  const err = Req.verify(obj);
  assert.equal(err, null, String(err));
  return Buffer.from(Req.encode(Req.create(obj as never)).finish());
}

function assertCode(fn: () => unknown, code: ErrorCode, message?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isSealtrailError(err), `expected a SealtrailError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message, message);
    return true;
  });
}

type Decode = (b: Buffer, l?: Partial<DecodeLimits>) => DecodedRequest;
/** Both decoders on the same logical request (protobuf via protobufjs, JSON via JSON.stringify). */
const both: Array<[string, (obj: object) => Buffer, Decode]> = [
  ['protobuf', encode, decodeProtobufRequest],
  // JSON.stringify writes -0 as 0: a -0 number is spelled out as the literal -0.0.
  [
    'JSON',
    (o) =>
      Buffer.from(JSON.stringify(o, (_k, v: unknown) => (Object.is(v, -0) ? '\u0000NEGZERO' : v)).replaceAll('"\\u0000NEGZERO"', '-0.0')),
    decodeJsonRequest,
  ],
];

const kv = (key: string, value: object) => ({ key, value });
const req = (records: object[], resource: object = {}, scope: object = {}) => ({
  resourceLogs: [{ resource, scopeLogs: [{ scope, logRecords: records }] }],
});
const attrs = (n: number) => Array.from({ length: n }, (_, i) => kv(`k${i}`, { boolValue: true }));

for (const [name, enc, decode] of both) {
  test(`${name}: max_records_per_request: one over is TOO_LARGE, at the limit it passes`, () => {
    const recs = (n: number) => req(Array.from({ length: n }, () => ({ eventName: 'e' })));
    assert.equal(decode(enc(recs(50)), { maxRecords: 50 }).records.length, 50);
    assertCode(() => decode(enc(recs(51)), { maxRecords: 50 }), 'TOO_LARGE', /more than 50 log records \(max_records_per_request\)/);
  });

  test(`${name}: max_attributes_per_record applies to records, resources and scopes`, () => {
    assert.equal(decode(enc(req([{ attributes: attrs(128) }], { attributes: attrs(128) }, { attributes: attrs(128) }))).records.length, 1);
    assertCode(
      () => decode(enc(req([{ attributes: attrs(129) }]))),
      'TOO_LARGE',
      /LogRecord has more than 128 attributes \(max_attributes_per_record\)/,
    );
    assertCode(() => decode(enc(req([{}], { attributes: attrs(129) }))), 'TOO_LARGE', /Resource has more than 128 attributes/);
    assertCode(
      () => decode(enc(req([{}], {}, { attributes: attrs(129) }))),
      'TOO_LARGE',
      /InstrumentationScope has more than 128 attributes/,
    );
  });

  test(`${name}: max_request_canonical_size counts resource + scope + record of every record`, () => {
    const r = { attributes: [kv('s', { stringValue: 'x'.repeat(1000) })] };
    const ten = req(Array.from({ length: 10 }, () => r));
    const one = decode(enc(ten)).records[0]!;
    const perRecord = one.resource.length + one.scope.length + one.record.length;
    assert.equal(decode(enc(ten), { maxCanonicalSize: perRecord * 10 }).records.length, 10);
    assertCode(() => decode(enc(ten), { maxCanonicalSize: perRecord * 10 - 1 }), 'TOO_LARGE', /max_request_canonical_size/);
  });

  test(`${name}: max_entry_size bounds the escaped line: control bytes count 6 each`, () => {
    const limits = { maxEntryBytes: 8192 };
    let lastAccepted = -1;
    let firstRefused = -1;
    let lastLine = 0;
    // 1200 to 1400 control bytes: 7200 to 8400 escaped bytes, around the 8192 limit.
    for (let n = 1200; n <= 1400; n += 5) {
      const obj = req([{ body: { stringValue: '\u0001'.repeat(n) } }], { attributes: [kv('service.name', { stringValue: 'svc' })] });
      let out: DecodedRequest;
      try {
        out = decode(enc(obj), limits);
      } catch (err) {
        assert.ok(isSealtrailError(err, 'TOO_LARGE'), String(err));
        assert.match((err as Error).message, /max_entry_size/);
        if (firstRefused < 0) firstRefused = n;
        continue;
      }
      assert.equal(firstRefused, -1, `n=${n} accepted after n=${firstRefused} was refused`);
      lastAccepted = n;
      const r = out.records[0]!;
      // The longest envelope this record can get: largest seq, longest time, the default env.
      const line = Buffer.byteLength(
        encodeEntry(Number.MAX_SAFE_INTEGER, 'f'.repeat(64), new Date(8.64e15).toISOString(), JSON.stringify('development'), r),
      );
      assert.ok(line <= limits.maxEntryBytes, `n=${n}: line of ${line} bytes`);
      lastLine = line;
    }
    assert.equal(firstRefused, lastAccepted + 5);
    // The bound is exact: 5 more control bytes (30 escaped bytes) did not fit.
    assert.ok(lastLine > limits.maxEntryBytes - 30, `longest accepted line: ${lastLine} bytes`);
    assert.ok(DEFAULT_DECODE_LIMITS.entryOverheadBytes > 100);
  });

  test(`${name}: a string over the entry budget, raw or once escaped, is refused`, () => {
    assertCode(() => decode(enc(req([{ body: { stringValue: 'a'.repeat(1 << 20) } }]))), 'TOO_LARGE', /max_entry_size/);
    assertCode(
      () => decode(enc(req([{}], { attributes: [kv('big', { stringValue: '\u0000'.repeat(200_000) })] }))),
      'TOO_LARGE',
      /max_entry_size/,
    );
  });

  test(`${name}: -0.0 keeps its sign`, () => {
    const r = decode(enc(req([{ body: { doubleValue: -0 }, attributes: [kv('z', { doubleValue: -0 })] }]))).records[0]!;
    assert.equal(r.record, '{"body":{"doubleValue":-0},"attributes":[{"key":"z","value":{"doubleValue":-0}}]}');
    assert.deepEqual([...r.view.attributes], [['z', '-0']]);
  });

  test(`${name}: Resource.entity_refs are stored in the resource`, () => {
    const ref = { schemaUrl: 'https://s', type: 'k8s.pod', idKeys: ['k8s.pod.uid'], descriptionKeys: ['k8s.pod.name', 'x'] };
    const r = decode(enc(req([{}], { attributes: [kv('k8s.pod.uid', { stringValue: 'u' })], entityRefs: [ref, { type: 'host' }] })))
      .records[0]!;
    assert.equal(
      r.resource,
      '{"attributes":[{"key":"k8s.pod.uid","value":{"stringValue":"u"}}],"entityRefs":[' +
        '{"schemaUrl":"https://s","type":"k8s.pod","idKeys":["k8s.pod.uid"],"descriptionKeys":["k8s.pod.name","x"]},{"type":"host"}]}',
    );
  });

  test(`${name}: schema_url values are counted as not stored`, () => {
    const obj = { resourceLogs: [{ schemaUrl: 'r', scopeLogs: [{ schemaUrl: 's', logRecords: [{}] }, { logRecords: [{}] }] }] };
    assert.equal(decode(enc(obj)).schemaUrlsDropped, 2);
  });
}

test('protobuf: 1.6 million empty records (the amplification case) stop at the record budget', () => {
  // Each record is 2 bytes (tag, length 0): 3.2 MB, what a 30 KiB gzip body can expand to.
  const records = Buffer.alloc(1_600_000 * 2);
  for (let i = 0; i < records.length; i += 2) records[i] = 0x12; // ScopeLogs.log_records, LEN
  const body = lenField(1, lenField(2, records));
  assertCode(() => decodeProtobufRequest(body), 'TOO_LARGE', /more than 10000 log records/);
});

test('JSON: 1.6 million empty records are refused by the pre-scan, before JSON.parse builds them', () => {
  const body = Buffer.from(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[${'{},'.repeat(1_600_000)}{}]}]}]}`);
  assertCode(() => decodeJsonRequest(body), 'TOO_LARGE', /values/);
  // Within the value budget the record budget still holds.
  assertCode(() => decodeJsonRequest(body, { maxCanonicalSize: 1 << 30 }), 'TOO_LARGE', /max_records_per_request/);
});

test('protobuf: a 100,000-attribute record is refused at attribute 129', () => {
  const kvBytes = lenField(6, lenField(1, Buffer.from('k')));
  const body = lenField(1, lenField(2, lenField(2, Buffer.concat(Array.from({ length: 100_000 }, () => kvBytes)))));
  assertCode(() => decodeProtobufRequest(body), 'TOO_LARGE', /more than 128 attributes/);
});

test('JSON: numbers are exact or refused', () => {
  const rec = (r: string) => Buffer.from(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[${r}]}]}]}`);
  const one = (r: string) => decodeJsonRequest(rec(r)).records[0]!.record;
  // 64-bit integers beyond 2^53 sent as JSON numbers keep their digits.
  assert.equal(one('{"timeUnixNano":18446744073709551615}'), '{"timeUnixNano":"18446744073709551615"}');
  assert.equal(one('{"body":{"intValue":9007199254740993}}'), '{"body":{"intValue":"9007199254740993"}}');
  assert.equal(one('{"body":{"intValue":-9223372036854775808}}'), '{"body":{"intValue":"-9223372036854775808"}}');
  assert.equal(one('{"body":{"intValue":1.5e3}}'), '{"body":{"intValue":"1500"}}');
  assertCode(() => one('{"timeUnixNano":18446744073709551616}'), 'BAD_REQUEST', /uint64 range/);
  assertCode(() => one('{"body":{"intValue":9223372036854775808}}'), 'BAD_REQUEST', /int64 range/);
  assertCode(() => one('{"body":{"intValue":1e999999999999}}'), 'BAD_REQUEST', /int64 range/);
  assertCode(() => one('{"body":{"intValue":1.25e1}}'), 'BAD_REQUEST', /intValue: expected an integer/);
  // Doubles: overflow is refused, not stored as Infinity; -0 keeps its sign; long literals round as a double would.
  assertCode(() => one('{"body":{"doubleValue":1e400}}'), 'BAD_REQUEST', /overflows a double/);
  assertCode(() => one('{"body":{"doubleValue":-1e400}}'), 'BAD_REQUEST', /overflows a double/);
  assert.equal(one('{"body":{"doubleValue":-0.0}}'), '{"body":{"doubleValue":-0}}');
  assert.equal(one('{"body":{"doubleValue":1e-400}}'), '{"body":{"doubleValue":0}}');
  assert.equal(one('{"body":{"doubleValue":0.12345678901234567890}}'), '{"body":{"doubleValue":0.12345678901234568}}');
  assert.equal(one('{"body":{"doubleValue":"Infinity"}}'), '{"body":{"doubleValue":"Infinity"}}');
  // A rewritten literal is not a string; and a sent string that looks like one is not a number.
  assertCode(() => one('{"eventName":12345678901234567890}'), 'BAD_REQUEST', /eventName: expected a string/);
  assertCode(() => one('{"body":{"intValue":"\\udbff12"}}'), 'BAD_REQUEST', /intValue/);
  assertCode(() => one('{"body":{"intValue":"\\udbff12"},"timeUnixNano":1e20}'), 'BAD_REQUEST', /\\udbff/);
});

test('protobuf and JSON give the same text for exact 64-bit values and -0', () => {
  const obj = req([
    {
      timeUnixNano: long(18446744073709551615n),
      body: { kvlistValue: { values: [kv('i', { intValue: long(-9223372036854775807n, false) }), kv('d', { doubleValue: -0 })] } },
    },
  ]);
  const p = decodeProtobufRequest(encode(obj)).records[0]!;
  const j = decodeJsonRequest(
    Buffer.from(
      '{"resourceLogs":[{"resource":{},"scopeLogs":[{"scope":{},"logRecords":[{"timeUnixNano":18446744073709551615,"body":{"kvlistValue":{"values":[{"key":"i","value":{"intValue":-9223372036854775807}},{"key":"d","value":{"doubleValue":-0}}]}}}]}]}]}',
    ),
  ).records[0]!;
  assert.equal(j.record, p.record);
  assert.equal(
    p.record,
    '{"timeUnixNano":"18446744073709551615","body":{"kvlistValue":{"values":[{"key":"i","value":{"intValue":"-9223372036854775807"}},{"key":"d","value":{"doubleValue":-0}}]}}}',
  );
});

test('the default budgets pass an OTel SDK batch of 2048 records with attributes', () => {
  const r = {
    timeUnixNano: '1700000000000000000',
    severityNumber: 9,
    body: { stringValue: 'user logged in from 10.0.0.1' },
    attributes: attrs(20),
  };
  const obj = req(
    Array.from({ length: 2048 }, () => r),
    { attributes: attrs(30) },
    { name: 'audit', attributes: attrs(5) },
  );
  assert.equal(decodeJsonRequest(Buffer.from(JSON.stringify(obj))).records.length, 2048);
  const pr = { ...r, timeUnixNano: long(1700000000000000000n) };
  assert.equal(
    decodeProtobufRequest(
      encode(
        req(
          Array.from({ length: 2048 }, () => pr),
          { attributes: attrs(30) },
          { name: 'audit', attributes: attrs(5) },
        ),
      ),
    ).records.length,
    2048,
  );
  // JSON's value pre-scan (max_request_canonical_size / 8) leaves room for 100 attributes on each of 2048 records.
  const wide = req(Array.from({ length: 2048 }, () => ({ ...r, attributes: attrs(100) })));
  assert.equal(decodeJsonRequest(Buffer.from(JSON.stringify(wide))).records.length, 2048);
});

test('entryOverheadBytes grows with the environment name and is what the envelope adds', () => {
  const parts = { resource: '{}', scope: '{}', record: '{}' };
  for (const env of ['development', 'prod', 'ü'.repeat(100)]) {
    const line = encodeEntry(Number.MAX_SAFE_INTEGER, '0'.repeat(64), new Date(8.64e15).toISOString(), JSON.stringify(env), parts);
    assert.equal(Buffer.byteLength(line), entryOverheadBytes(env) + 6);
  }
});
