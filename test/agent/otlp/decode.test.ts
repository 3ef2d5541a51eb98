// Decoder tests: protobuf built by protobufjs from our proto/ files (an encoder we did not write)
// and hand-written OTLP/JSON must give the same, known canonical text; every malformed class
// gets its own coded error.
import type { RecordView } from '../../../agent/otlp/model.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeProtobufRequest } from '../../../agent/otlp/decode-protobuf.js';
import { decodeJsonRequest } from '../../../agent/otlp/decode-json.js';
import { u64ToDecimal, i64ToDecimal } from '../../../agent/otlp/canonical.js';
import { isSealtrailError, type ErrorCode } from '../../../lib/errors.js';
import { deepJsonRequest, deepProtobufRequest, lenField, long, requestType } from './otlp-fixtures.js';

const Req = requestType();

function encode(obj: object): Buffer {
  const err = Req.verify(obj);
  assert.equal(err, null, String(err));
  return Buffer.from(Req.encode(Req.create(obj as never)).finish());
}

const kv = (key: string, value: object) => ({ key, value });

// One record carrying every field and every AnyValue kind.
const fullProtoObject = {
  resourceLogs: [
    {
      resource: {
        attributes: [kv('service.name', { stringValue: 'billing' }), kv('host.cpus', { intValue: long(8n, false) })],
        droppedAttributesCount: 2,
      },
      schemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
      scopeLogs: [
        {
          scope: { name: 'audit-lib', version: '1.2.3', attributes: [kv('k', { boolValue: false })], droppedAttributesCount: 1 },
          logRecords: [
            {
              timeUnixNano: long(1700000000123456789n),
              severityNumber: 17,
              severityText: 'ERROR',
              body: {
                kvlistValue: {
                  values: [
                    kv('s', { stringValue: 'héllo "q"\n✓' }),
                    kv('b', { boolValue: true }),
                    kv('i', { intValue: long(-9223372036854775808n, false) }),
                    kv('d', { doubleValue: 1.5 }),
                    kv('nan', { doubleValue: NaN }),
                    kv('ninf', { doubleValue: -Infinity }),
                    kv('bytes', { bytesValue: Buffer.from([0, 1, 2, 255]) }),
                    kv('arr', { arrayValue: { values: [{ intValue: long(1n, false) }, { stringValue: '' }, {}] } }),
                    kv('emptyArr', { arrayValue: {} }),
                    { key: 'novalue' },
                  ],
                },
              },
              attributes: [kv('audit', { boolValue: true }), kv('user.id', { intValue: long(9007199254740993n, false) })],
              droppedAttributesCount: 3,
              flags: 1,
              traceId: Buffer.from('0102030405060708090a0b0c0d0e0f10', 'hex'),
              spanId: Buffer.from('a1a2a3a4a5a6a7a8', 'hex'),
              observedTimeUnixNano: long(18446744073709551615n),
              eventName: 'audit.login',
            },
          ],
        },
      ],
    },
  ],
};

// The same request as a client might send it in OTLP/JSON: int64 as numbers or strings, an
// enum by name, snake_case keys, upper-case hex, unknown fields, defaults spelled out.
const fullJson = JSON.stringify({
  resourceLogs: [
    {
      resource: {
        attributes: [kv('service.name', { stringValue: 'billing' }), kv('host.cpus', { intValue: 8 })],
        dropped_attributes_count: 2,
        schemaUrl: 'ignored-unknown-field',
      },
      schemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
      scopeLogs: [
        {
          scope: { name: 'audit-lib', version: '1.2.3', attributes: [kv('k', { boolValue: false })], droppedAttributesCount: '1' },
          logRecords: [
            {
              timeUnixNano: '1700000000123456789',
              observedTimeUnixNano: '18446744073709551615',
              severityNumber: 'SEVERITY_NUMBER_ERROR',
              severityText: 'ERROR',
              body: {
                kvlistValue: {
                  values: [
                    kv('s', { stringValue: 'héllo "q"\n✓' }),
                    kv('b', { boolValue: true }),
                    kv('i', { intValue: '-9223372036854775808' }),
                    kv('d', { doubleValue: 1.5 }),
                    kv('nan', { doubleValue: 'NaN' }),
                    kv('ninf', { double_value: '-Infinity' }),
                    kv('bytes', { bytesValue: 'AAEC_w' }),
                    kv('arr', { arrayValue: { values: [{ intValue: 1 }, { stringValue: '' }, {}] } }),
                    kv('emptyArr', { arrayValue: { values: [] } }),
                    { key: 'novalue', value: null },
                  ],
                },
              },
              attributes: [kv('audit', { boolValue: true }), kv('user.id', { intValue: '9007199254740993' })],
              droppedAttributesCount: 3,
              flags: 1,
              traceId: '0102030405060708090A0B0C0D0E0F10',
              span_id: 'a1a2a3a4a5a6a7a8',
              eventName: 'audit.login',
              somethingNew: { nested: [1, 2, 3] },
            },
          ],
        },
      ],
    },
  ],
});

const EXPECTED_RESOURCE =
  '{"attributes":[{"key":"service.name","value":{"stringValue":"billing"}},{"key":"host.cpus","value":{"intValue":"8"}}],"droppedAttributesCount":2}';
const EXPECTED_SCOPE =
  '{"name":"audit-lib","version":"1.2.3","attributes":[{"key":"k","value":{"boolValue":false}}],"droppedAttributesCount":1}';
const EXPECTED_RECORD =
  '{"timeUnixNano":"1700000000123456789","severityNumber":17,"severityText":"ERROR","body":{"kvlistValue":{"values":[' +
  '{"key":"s","value":{"stringValue":"héllo \\"q\\"\\n✓"}},' +
  '{"key":"b","value":{"boolValue":true}},' +
  '{"key":"i","value":{"intValue":"-9223372036854775808"}},' +
  '{"key":"d","value":{"doubleValue":1.5}},' +
  '{"key":"nan","value":{"doubleValue":"NaN"}},' +
  '{"key":"ninf","value":{"doubleValue":"-Infinity"}},' +
  '{"key":"bytes","value":{"bytesValue":"AAEC/w=="}},' +
  '{"key":"arr","value":{"arrayValue":{"values":[{"intValue":"1"},{"stringValue":""},{}]}}},' +
  '{"key":"emptyArr","value":{"arrayValue":{}}},' +
  '{"key":"novalue"}]}},' +
  '"attributes":[{"key":"audit","value":{"boolValue":true}},{"key":"user.id","value":{"intValue":"9007199254740993"}}],' +
  '"droppedAttributesCount":3,"flags":1,"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"a1a2a3a4a5a6a7a8",' +
  '"observedTimeUnixNano":"18446744073709551615","eventName":"audit.login"}';

function assertCode(fn: () => unknown, code: ErrorCode, msg?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isSealtrailError(err), `expected SealtrailError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (msg) assert.match(err.message, msg);
    return true;
  });
}

test('64-bit decimal conversion matches BigInt on edge values', () => {
  const values = [
    0n,
    1n,
    (1n << 53n) - 1n,
    1n << 53n,
    (1n << 53n) + 1n,
    1700000000123456789n,
    9999999999999999999n,
    (1n << 64n) - 1n,
    1n << 63n,
    10n ** 19n,
  ];
  for (let i = 0; i < 2000; i++)
    values.push(BigInt.asUintN(64, (BigInt(Math.floor(Math.random() * 2 ** 32)) << 32n) | BigInt(Math.floor(Math.random() * 2 ** 32))));
  for (const v of values) {
    const lo = Number(v & 0xffffffffn);
    const hi = Number(v >> 32n);
    assert.equal(u64ToDecimal(lo, hi), v.toString());
    assert.equal(i64ToDecimal(lo, hi), BigInt.asIntN(64, v).toString());
  }
});

test('protobuf: a record with every field type gives the known canonical OTLP/JSON', () => {
  const { records } = decodeProtobufRequest(encode(fullProtoObject));
  assert.equal(records.length, 1);
  const r = records[0]!;
  assert.equal(r.resource, EXPECTED_RESOURCE);
  assert.equal(r.scope, EXPECTED_SCOPE);
  assert.equal(r.record, EXPECTED_RECORD);
  // Canonical text is valid JSON.
  JSON.parse(r.record);
  assert.equal(r.view.eventName, 'audit.login');
  assert.equal(r.view.severityNumber, 17);
  assert.equal(r.view.severityText, 'ERROR');
  assert.equal(r.view.scopeName, 'audit-lib');
  assert.deepEqual(
    [...r.view.attributes],
    [
      ['audit', 'true'],
      ['user.id', '9007199254740993'],
    ],
  );
  assert.deepEqual(
    [...r.view.resourceAttributes],
    [
      ['service.name', 'billing'],
      ['host.cpus', '8'],
    ],
  );
});

test('JSON: the same logical request gives byte-identical canonical text and view', () => {
  const fromProto = decodeProtobufRequest(encode(fullProtoObject)).records[0]!;
  const fromJson = decodeJsonRequest(Buffer.from(fullJson)).records[0]!;
  assert.equal(fromJson.resource, EXPECTED_RESOURCE);
  assert.equal(fromJson.scope, EXPECTED_SCOPE);
  assert.equal(fromJson.record, EXPECTED_RECORD);
  // Same content; the containers differ (the protobuf decoder keeps a flat list, see AttrList).
  const plain = (v: RecordView) => ({ ...v, attributes: [...v.attributes], resourceAttributes: [...v.resourceAttributes] });
  assert.deepEqual(plain(fromJson.view), plain(fromProto.view));
});

test('resource and scope JSON strings are shared by the records of one ResourceLogs/ScopeLogs', () => {
  const obj = {
    resourceLogs: [
      {
        resource: { attributes: [kv('a', { stringValue: 'x' })] },
        scopeLogs: [{ scope: { name: 's' }, logRecords: [{ eventName: 'e1' }, { eventName: 'e2' }, {}] }],
      },
    ],
  };
  const { records } = decodeProtobufRequest(encode(obj));
  assert.equal(records.length, 3);
  assert.equal(records[2]!.record, '{}');
  assert.equal(records[0]!.view.resourceAttributes, records[1]!.view.resourceAttributes);
  assert.equal(records[0]!.resource, '{"attributes":[{"key":"a","value":{"stringValue":"x"}}]}');
  assert.equal(records[1]!.scope, '{"name":"s"}');
});

test('protobuf: unknown fields of every wire type are skipped', () => {
  const unknown = Buffer.concat([
    Buffer.from([0xf8, 0x06, 0x96, 0x01]), // field 111 varint 150
    Buffer.from([0xf9, 0x06, 1, 2, 3, 4, 5, 6, 7, 8]), // field 111 fixed64
    Buffer.from([0xfd, 0x06, 1, 2, 3, 4]), // field 111 fixed32
    lenField(111, Buffer.from('zz')),
  ]);
  const record = Buffer.concat([unknown, lenField(12, Buffer.from('ev')), unknown]);
  const scopeLogs = Buffer.concat([unknown, lenField(2, record)]);
  const rl = Buffer.concat([lenField(2, scopeLogs), unknown]);
  const req = Buffer.concat([unknown, lenField(1, rl)]);
  const { records } = decodeProtobufRequest(req);
  assert.equal(records.length, 1);
  assert.equal(records[0]!.record, '{"eventName":"ev"}');
});

test('protobuf: repeated singular message fields merge as proto3 requires', () => {
  // body appears twice, both times an array: the merge concatenates the values.
  const arr = (s: string) => lenField(5, lenField(1, lenField(1, Buffer.from(s))));
  const record = Buffer.concat([lenField(5, arr('a')), lenField(5, arr('b'))]);
  const req = lenField(1, lenField(2, lenField(2, record)));
  const { records } = decodeProtobufRequest(req);
  assert.equal(records[0]!.record, '{"body":{"arrayValue":{"values":[{"stringValue":"a"},{"stringValue":"b"}]}}}');
});

test('protobuf: empty request is valid and has no records', () => {
  assert.deepEqual(decodeProtobufRequest(new Uint8Array(0)).records, []);
});

test('protobuf: malformed input is BAD_REQUEST naming the field', () => {
  const good = encode(fullProtoObject);
  for (let cut = 1; cut < good.length; cut += 7) {
    assertCode(() => decodeProtobufRequest(good.subarray(0, good.length - cut)), 'BAD_REQUEST');
  }
  assertCode(() => decodeProtobufRequest(Buffer.from([0x0a, 0x05, 0x01])), 'BAD_REQUEST', /truncated/);
  // 11-byte varint
  assertCode(
    () => decodeProtobufRequest(Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])),
    'BAD_REQUEST',
    /overflow/,
  );
  // tenth byte with bits beyond 64
  assertCode(
    () => decodeProtobufRequest(Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02])),
    'BAD_REQUEST',
    /overflow/,
  );
  // field number 0, wire types 3/4 (groups), 6 and 7
  assertCode(() => decodeProtobufRequest(Buffer.from([0x00, 0x00])), 'BAD_REQUEST', /tag/);
  for (const wt of [3, 4, 6, 7]) assertCode(() => decodeProtobufRequest(Buffer.from([(2 << 3) | wt, 0])), 'BAD_REQUEST', /wire type/);
  // resource_logs sent as a varint
  assertCode(() => decodeProtobufRequest(Buffer.from([0x08, 0x01])), 'BAD_REQUEST', /resource_logs: unexpected wire type/);
  const inRecord = (rec: Buffer) => lenField(1, lenField(2, lenField(2, rec)));
  assertCode(() => decodeProtobufRequest(inRecord(Buffer.from([0x0a, 0x00]))), 'BAD_REQUEST', /time_unix_nano/);
  assertCode(() => decodeProtobufRequest(inRecord(lenField(9, Buffer.alloc(15)))), 'BAD_REQUEST', /trace_id/);
  assertCode(() => decodeProtobufRequest(inRecord(lenField(10, Buffer.alloc(9)))), 'BAD_REQUEST', /span_id/);
  assertCode(() => decodeProtobufRequest(inRecord(lenField(12, Buffer.from([0x61, 0xff])))), 'BAD_REQUEST', /event_name: invalid UTF-8/);
  assertCode(() => decodeProtobufRequest(inRecord(lenField(12, Buffer.from([0xed, 0xa0, 0x80])))), 'BAD_REQUEST', /invalid UTF-8/); // encoded surrogate
  assertCode(
    () => decodeProtobufRequest(inRecord(lenField(5, lenField(1, Buffer.from([0xc3]))))),
    'BAD_REQUEST',
    /string_value: invalid UTF-8/,
  );
  // a length prefix pointing past the enclosing message
  assertCode(() => decodeProtobufRequest(inRecord(Buffer.from([0x2a, 0x10, 0x0a, 0x00]))), 'BAD_REQUEST', /truncated/);
  // pure garbage
  assertCode(() => decodeProtobufRequest(Buffer.from('this is not protobuf at all')), 'BAD_REQUEST');
});

test('protobuf: AnyValue nesting over maxDepth is TOO_DEEP, at the limit it is accepted', () => {
  assertCode(() => decodeProtobufRequest(deepProtobufRequest(10_000)), 'TOO_DEEP');
  assert.equal(decodeProtobufRequest(deepProtobufRequest(64), { maxDepth: 64 }).records.length, 1);
  assertCode(() => decodeProtobufRequest(deepProtobufRequest(65), { maxDepth: 64 }), 'TOO_DEEP');
  assertCode(() => decodeProtobufRequest(deepProtobufRequest(5), { maxDepth: 4 }), 'TOO_DEEP');
});

test('JSON: nesting depth is counted exactly as in protobuf', () => {
  assertCode(() => decodeJsonRequest(Buffer.from(deepJsonRequest(10_000))), 'TOO_DEEP');
  assertCode(() => decodeJsonRequest(Buffer.from(deepJsonRequest(65)), { maxDepth: 64 }), 'TOO_DEEP');
  const p = decodeProtobufRequest(deepProtobufRequest(64), { maxDepth: 64 }).records[0]!;
  const j = decodeJsonRequest(Buffer.from(deepJsonRequest(64)), { maxDepth: 64 }).records[0]!;
  assert.equal(j.record, p.record);
});

test('JSON: a 1.1-million-deep document is rejected without overflowing the stack', () => {
  const text = '['.repeat(1_100_000) + ']'.repeat(1_100_000);
  // With the default budget the pre-scan refuses it before JSON.parse; with a larger one,
  // JSON.parse's own failure must still come out as BAD_REQUEST.
  assertCode(() => decodeJsonRequest(Buffer.from(text)), 'TOO_LARGE', /more than 2097152 values/);
  assertCode(() => decodeJsonRequest(Buffer.from(text), { maxCanonicalSize: 1 << 30 }), 'BAD_REQUEST');
  assertCode(() => decodeJsonRequest(Buffer.from(deepJsonRequest(200_000)), { maxCanonicalSize: 1 << 30 }), 'TOO_DEEP');
});

test('JSON: malformed input is BAD_REQUEST naming the field path', () => {
  const rec = (r: object) => Buffer.from(JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: [r] }] }] }));
  assertCode(() => decodeJsonRequest(Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d])), 'BAD_REQUEST', /UTF-8/);
  assertCode(() => decodeJsonRequest(Buffer.from('{"resourceLogs":[')), 'BAD_REQUEST');
  assertCode(() => decodeJsonRequest(Buffer.from('')), 'BAD_REQUEST');
  assertCode(() => decodeJsonRequest(Buffer.from('[]')), 'BAD_REQUEST', /JSON object/);
  assertCode(() => decodeJsonRequest(Buffer.from('{"resourceLogs":{}}')), 'BAD_REQUEST', /resourceLogs: expected an array/);
  assertCode(
    () => decodeJsonRequest(rec({ timeUnixNano: true })),
    'BAD_REQUEST',
    /resourceLogs\[0\]\.scopeLogs\[0\]\.logRecords\[0\]\.timeUnixNano/,
  );
  assertCode(() => decodeJsonRequest(rec({ timeUnixNano: '-5' })), 'BAD_REQUEST', /timeUnixNano/);
  assertCode(() => decodeJsonRequest(rec({ timeUnixNano: '18446744073709551616' })), 'BAD_REQUEST', /uint64 range/);
  assertCode(() => decodeJsonRequest(rec({ severityNumber: 1.5 })), 'BAD_REQUEST', /severityNumber/);
  assertCode(() => decodeJsonRequest(rec({ traceId: 'xyz' })), 'BAD_REQUEST', /traceId/);
  assertCode(() => decodeJsonRequest(rec({ spanId: '0102' })), 'BAD_REQUEST', /spanId/);
  assertCode(() => decodeJsonRequest(rec({ flags: -1 })), 'BAD_REQUEST', /flags/);
  assertCode(() => decodeJsonRequest(rec({ eventName: 7 })), 'BAD_REQUEST', /eventName/);
  assertCode(() => decodeJsonRequest(rec({ eventName: '\ud800' })), 'BAD_REQUEST', /lone surrogate/);
  assertCode(() => decodeJsonRequest(rec({ body: { stringValue: 'a', intValue: 1 } })), 'BAD_REQUEST', /body: more than one value/);
  assertCode(() => decodeJsonRequest(rec({ body: { intValue: '9223372036854775808' } })), 'BAD_REQUEST', /body\.intValue: out of int64/);
  assertCode(() => decodeJsonRequest(rec({ body: { bytesValue: 'a' } })), 'BAD_REQUEST', /bytesValue/);
  assertCode(
    () => decodeJsonRequest(rec({ attributes: [{ key: 'k', value: { arrayValue: { values: [{ boolValue: 'yes' }] } } }] })),
    'BAD_REQUEST',
    /logRecords\[0\]\.attributes\[0\]\.value\.arrayValue\.values\[0\]\.boolValue: expected a boolean/,
  );
});

test('protobuf: repeated attribute keys read as a Map built in order would (first position, last value)', () => {
  const msg = Req.fromObject({
    resourceLogs: [
      {
        scopeLogs: [
          {
            logRecords: [
              {
                attributes: [
                  { key: 'a', value: { stringValue: '1' } },
                  { key: 'b', value: { stringValue: '2' } },
                  { key: 'a', value: { stringValue: '3' } },
                ],
              },
            ],
          },
        ],
      },
    ],
  });
  const [r] = decodeProtobufRequest(Buffer.from(Req.encode(msg).finish())).records;
  const attrs = r!.view.attributes;
  assert.equal(attrs.get('a'), '3');
  assert.equal(attrs.get('b'), '2');
  assert.equal(attrs.has('a'), true);
  assert.equal(attrs.has('c'), false);
  assert.equal(attrs.get('c'), undefined);
  assert.equal(attrs.size, 2);
  assert.deepEqual(
    [...attrs],
    [
      ['a', '3'],
      ['b', '2'],
    ],
  );
});
