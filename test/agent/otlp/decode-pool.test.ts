// The decode worker against the same decoders on this thread: identical entry tails and
// counts, the decoders' errors with their codes, audit_context rejects counted on the main
// thread's processor, requests answered in order, and a dead worker replaced.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DecodePool, transferable } from '../../../agent/otlp/decode-pool.js';
import { decodeProtobufRequest } from '../../../agent/otlp/decode-protobuf.js';
import { decodeJsonRequest } from '../../../agent/otlp/decode-json.js';
import { DEFAULT_DECODE_LIMITS, type DecodedRequest } from '../../../agent/otlp/model.js';
import { compileFilter, DEFAULT_RULES } from '../../../agent/filter/audit-filter.js';
import { AuditContextProcessor } from '../../../agent/context/audit-context.js';
import { prepareRequest } from '../../../agent/pipeline/prepare.js';
import { auditContextProcessor } from '../../../config/audit-context.js';
import { INVALID, type Ctx } from '../../../config/schema.js';
import type { AuditContextConfig } from '../../../config/types.js';
import { isSealtrailError, type ErrorCode } from '../../../lib/errors.js';
import { encodeRequest } from '../../helpers/otlp-client.js';
import { deepProtobufRequest } from './otlp-fixtures.js';

const LIMITS = { ...DEFAULT_DECODE_LIMITS, maxRecords: 1000 };
const filter = compileFilter(DEFAULT_RULES);

function pool(context: AuditContextConfig | null = null, processor: AuditContextProcessor | null = null): DecodePool {
  return new DecodePool({ limits: LIMITS, filterRules: DEFAULT_RULES, context, environment: 'prod' }, processor, () => {});
}

const body = (n: number, first = 0) =>
  encodeRequest(
    Array.from({ length: n }, (_, i) => ({
      body: `ü record ${first + i} 🧾 "q"`,
      attributes: { audit: (first + i) % 3 !== 0, id: String(first + i) },
    })),
  );

function sameAsInline(got: DecodedRequest, inline: DecodedRequest): void {
  const want = prepareRequest(inline, filter, null);
  const p = got.prepared!;
  assert.equal(got.records.length, 0);
  assert.equal(p.audit, want.audit);
  assert.equal(p.filtered, want.filtered);
  // The main thread holds the tails (and the writer's copy), not the decoded objects.
  assert.equal(got.decodedBytes, want.tails === null ? 0 : 2 * want.tails.bytes.length + 4 * want.tails.ends.length);
  if (want.tails === null) {
    assert.equal(p.tails, null);
    return;
  }
  assert.ok(Buffer.isBuffer(p.tails!.bytes));
  assert.equal(Buffer.compare(p.tails!.bytes, want.tails.bytes), 0);
  assert.deepEqual([...p.tails!.ends], [...want.tails.ends]);
}

async function rejectsWith(p: Promise<unknown>, code: ErrorCode, message: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(isSealtrailError(err, code), `${String(err)} is not ${code}`);
    assert.match((err as Error).message, message);
    return true;
  });
}

test('decode worker: the same tails, counts and sizes as decoding here, for protobuf and JSON', async () => {
  const d = pool();
  try {
    const pb = body(50);
    const copy = Buffer.from(pb);
    sameAsInline(await d.decode(pb, 'protobuf'), decodeProtobufRequest(pb, LIMITS));
    const json = Buffer.from(
      JSON.stringify({
        resourceLogs: [
          {
            scopeLogs: [
              {
                logRecords: [
                  { body: { stringValue: 'é' }, attributes: [{ key: 'audit', value: { boolValue: true } }] },
                  { body: { stringValue: 'not audit' } },
                ],
              },
            ],
          },
        ],
      }),
    );
    sameAsInline(await d.decode(json, 'json'), decodeJsonRequest(json, LIMITS));
    // A request with no audit record comes back with no tails.
    const none = await d.decode(encodeRequest([{ body: 'x', attributes: { audit: false } }]), 'protobuf');
    assert.equal(none.prepared!.tails, null);
    assert.equal(none.prepared!.filtered, 1);
    // A small body may share Node's Buffer pool: the worker gets a copy and it stays intact.
    assert.equal(Buffer.compare(pb, copy), 0);
  } finally {
    await d.close();
  }
});

test('transferable: a body that spans its own memory is handed over as is, anything else is copied', () => {
  // As grpc-js hands over a message: its own buffer, after a 5-byte prefix.
  const framed = Buffer.alloc(5 + (100 << 10), 0x61);
  const message = framed.subarray(5);
  const t = transferable(message);
  assert.equal(t.buffer, framed.buffer, 'the same memory, not a copy');
  assert.equal(t.byteOffset, 5);
  assert.equal(t.byteLength, message.byteLength);
  // A small body from the shared pool, and a view of a much bigger buffer, are copied.
  const pooled = Buffer.from('small body');
  const neighbour = Buffer.from('its neighbour in the pool');
  assert.equal(pooled.buffer, neighbour.buffer, 'both come from the shared pool');
  const small = transferable(pooled);
  assert.notEqual(small.buffer, pooled.buffer);
  assert.equal(Buffer.compare(Buffer.from(small), pooled), 0);
  const big = Buffer.alloc(1 << 20, 0x62);
  const view = big.subarray(1000, 1000 + (100 << 10));
  const copied = transferable(view);
  assert.notEqual(copied.buffer, big.buffer);
  assert.equal(Buffer.compare(Buffer.from(copied), view), 0);
});

test('decode worker: a big body is transferred, not copied, and decodes the same; a pooled one leaves its neighbours intact', async () => {
  const d = pool();
  try {
    const pb = body(1000);
    assert.ok(pb.byteLength >= 64 << 10 && pb.buffer.byteLength === pb.byteLength, 'a body that spans its own memory');
    const inline = decodeProtobufRequest(Buffer.from(pb), LIMITS);
    const got = await d.decode(pb, 'protobuf');
    assert.equal(pb.byteLength, 0, 'the body was transferred to the worker (detached here)');
    sameAsInline(got, inline);
    // A small body from the pool: copied, so the pool's other buffers are untouched.
    const small = encodeRequest([{ body: 'tiny', attributes: { audit: true } }]);
    const neighbour = Buffer.from('a neighbour in the pool');
    const smallCopy = Buffer.from(small);
    sameAsInline(await d.decode(small, 'protobuf'), decodeProtobufRequest(smallCopy, LIMITS));
    assert.equal(neighbour.toString(), 'a neighbour in the pool');
    assert.equal(Buffer.compare(small, smallCopy), 0);
  } finally {
    await d.close();
  }
});

test('decode worker: answers come back in request order', async () => {
  const d = pool();
  try {
    const sizes = [400, 1, 200, 3, 50, 1];
    let first = 0;
    const bodies = sizes.map((n) => {
      const b = body(n, first);
      first += n;
      return b;
    });
    const got = await Promise.all(bodies.map((b) => d.decode(b, 'protobuf')));
    got.forEach((g, i) => sameAsInline(g, decodeProtobufRequest(bodies[i]!, LIMITS)));
  } finally {
    await d.close();
  }
});

test("decode worker: the decoders' errors keep their codes and messages", async () => {
  const d = pool();
  try {
    await rejectsWith(d.decode(Buffer.from([0x0a, 0x05, 0x01]), 'protobuf'), 'BAD_REQUEST', /invalid protobuf/);
    await rejectsWith(d.decode(deepProtobufRequest(LIMITS.maxDepth + 5), 'protobuf'), 'TOO_DEEP', /nesting exceeds 64/);
    await rejectsWith(d.decode(body(LIMITS.maxRecords + 1), 'protobuf'), 'TOO_LARGE', /more than 1000 log records/);
    await rejectsWith(d.decode(Buffer.from('{"resourceLogs": ['), 'json'), 'BAD_REQUEST', /JSON/i);
    // Still serving after errors.
    assert.equal((await d.decode(body(3), 'protobuf')).prepared!.audit, 2);
  } finally {
    await d.close();
  }
});

test('decode worker: an audit_context reject is counted and logged by the main thread processor', async () => {
  const ctx: Ctx = { errors: [], cwd: '/' };
  const cfg = auditContextProcessor({ fields: { actor: { missing: 'reject' } } }, 'processors.audit_context', ctx);
  assert.notEqual(cfg, INVALID, ctx.errors.join('\n'));
  const warnings: string[] = [];
  const processor = new AuditContextProcessor(cfg as AuditContextConfig, 'prod', (level, msg) => warnings.push(`${level} ${msg}`));
  const d = pool(cfg as AuditContextConfig, processor);
  try {
    await rejectsWith(d.decode(body(2, 1), 'protobuf'), 'BAD_REQUEST', /audit context: record 0: missing actor/);
    assert.match(processor.renderMetrics(), /^sealtrail_audit_context_rejected_total\{field="actor",reason="missing"\} 1$/m);
    assert.deepEqual(warnings, ['warn refusing audit requests whose records lack required context']);
  } finally {
    await d.close();
  }
});

test('decode worker: when the worker dies, its requests fail as retryable and the next request starts a new one', async () => {
  const d = pool();
  try {
    assert.equal((await d.decode(body(3), 'protobuf')).prepared!.audit, 2);
    const inFlight = d.decode(body(500), 'protobuf');
    await d['worker']!.terminate();
    await rejectsWith(inFlight, 'OVERLOADED', /decode worker exited/);
    assert.equal((await d.decode(body(3), 'protobuf')).prepared!.audit, 2);
  } finally {
    await d.close();
  }
});
